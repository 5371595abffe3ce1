"""Sitting an exam: pages and JSON endpoints (My exams, start and resume on another device,
saving answers, focus events, submit, result before and after release, access across
classes)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.context import change_context, system_actor
from shuyuan.learning.actions import sitting as actions
from shuyuan.learning.models import (
    Attempt,
    AttemptStatus,
    FocusEvent,
    ItemKind,
    PaperItem,
    Response,
    ResponseLog,
    SubmittedBy,
)

from .exam_world import ExamWorld, ew, make_assessment, sw  # noqa: F401  # fixtures

pytestmark = pytest.mark.django_db


def pid(ew: ExamWorld, kind: str) -> int:  # noqa: F811  # fixture name as a parameter
    found: int = PaperItem.objects.get(paper=ew.paper, item_version__item=ew.items[kind]).pk
    return found


def post_json(client: Client, url: str, data: Any) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def start(client: Client, ew: ExamWorld) -> Attempt:  # noqa: F811  # fixture name as a parameter
    response = client.post(reverse("learning:exam_sit", args=[ew.assessment.pk]))
    assert response.status_code == 303
    attempt = Attempt.objects.latest("pk")
    assert response["Location"] == reverse("learning:attempt_detail", args=[attempt.pk])
    return attempt


def test_my_exams_lists_open_upcoming_and_done(ew, client_for):  # noqa: F811  # pytest fixture argument
    now = timezone.now()
    upcoming = make_assessment(
        ew.w, ew.paper, opens_at=now + dt.timedelta(days=1), closes_at=now + dt.timedelta(days=2)
    )
    closed = make_assessment(
        ew.w, ew.paper, opens_at=now - dt.timedelta(days=2), closes_at=now - dt.timedelta(days=1)
    )
    other_class = make_assessment(ew.w, ew.paper, class_org=ew.w.tree.class_b)
    client = client_for(ew.student)
    page = client.get(reverse("learning:my_exams"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="start-{ew.assessment.pk}"' in html
    assert f'data-testid="exam-{upcoming.pk}"' in html
    assert f'data-testid="exam-{closed.pk}"' in html
    assert f'data-testid="exam-{other_class.pk}"' not in html
    start(client, ew)
    html = client.get(reverse("learning:my_exams")).content.decode()
    assert f'data-testid="resume-{ew.assessment.pk}"' in html


def test_resume_on_another_device_shows_saved_answers(ew, client_for):  # noqa: F811  # pytest fixture argument
    laptop = client_for(ew.student)
    attempt = start(laptop, ew)
    answer_url = reverse("learning:attempt_answer", args=[attempt.pk])
    saved = post_json(
        laptop,
        answer_url,
        {"paper_item": pid(ew, ItemKind.SINGLE), "answer": "A", "revision": 0, "device": "lap"},
    )
    assert saved.status_code == 200
    assert saved.json()["status"] == "saved"
    assert saved.json()["revision"] == 1
    post_json(
        laptop,
        answer_url,
        {"paper_item": pid(ew, ItemKind.SHORT_ANSWER), "answer": "Because 25 + 144 = 169",
         "revision": 0, "device": "lap"},
    )  # fmt: skip
    phone = client_for(ew.student)
    again = start(phone, ew)
    assert again.pk == attempt.pk
    page = phone.get(reverse("learning:attempt_detail", args=[attempt.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    single = pid(ew, ItemKind.SINGLE)
    assert f'value="A" checked data-testid="option-{single}-A"' in html
    assert "Because 25 + 144 = 169</textarea>" in html
    assert f'id="save-state-{single}"' in html
    assert 'id="submit-exam"' in html
    assert f'data-question="{single}"' in html
    assert 'data-revision="1" data-number' in html
    # The answer key never reaches the page.
    assert "model_answer" not in html
    assert "25 + 144 = 169 = 13 squared" not in html


def test_stale_save_from_second_device(ew, client_for):  # noqa: F811  # pytest fixture argument
    laptop, phone = client_for(ew.student), client_for(ew.student)
    attempt = start(laptop, ew)
    url = reverse("learning:attempt_answer", args=[attempt.pk])
    item = pid(ew, ItemKind.TRUE_FALSE)
    post_json(laptop, url, {"paper_item": item, "answer": True, "revision": 0, "device": "lap"})
    stale = post_json(
        phone, url, {"paper_item": item, "answer": False, "revision": 0, "device": "phone"}
    )
    assert stale.status_code == 200
    assert (stale.json()["status"], stale.json()["answer"], stale.json()["revision"]) == (
        "stale",
        True,
        1,
    )
    assert Response.objects.get(attempt=attempt, paper_item=item).answer is True
    assert list(ResponseLog.objects.order_by("pk").values_list("answer", "accepted")) == [
        (True, True),
        (False, False),
    ]


def test_answer_endpoint_errors(ew, client_for, settings):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.student)
    attempt = start(client, ew)
    url = reverse("learning:attempt_answer", args=[attempt.pk])
    item = pid(ew, ItemKind.SINGLE)
    tampered_option = post_json(client, url, {"paper_item": item, "answer": "Q", "revision": 0})
    assert tampered_option.status_code == 422
    assert tampered_option.json()["code"] == "UNKNOWN_OPTION"
    assert tampered_option.json()["field"] == "answer"
    tampered_item = post_json(client, url, {"paper_item": 10**9, "answer": "A", "revision": 0})
    assert (tampered_item.status_code, tampered_item.json()["code"]) == (422, "UNKNOWN_ITEM")
    bad_body = client.post(url, "not json", content_type="application/json")
    assert (bad_body.status_code, bad_body.json()["code"]) == (422, "BAD_JSON")
    too_big = post_json(client, url, {"paper_item": item, "answer": "A" * 70_000, "revision": 0})
    assert (too_big.status_code, too_big.json()["code"]) == (422, "TOO_LARGE")
    assert ResponseLog.objects.filter(attempt=attempt, answer="Q", accepted=False).exists()
    settings.LEARNING_EXAM_GRACE_SECONDS = 5
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - dt.timedelta(seconds=6))
    late = post_json(client, url, {"paper_item": item, "answer": "A", "revision": 0})
    assert (late.status_code, late.json()["code"]) == (409, "DEADLINE_PASSED")
    assert ResponseLog.objects.filter(attempt=attempt, answer="A", accepted=False).exists()
    # Signed out: 401 JSON, not a redirect to the sign-in page.
    anonymous = post_json(Client(), url, {"paper_item": item, "answer": "A", "revision": 0})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "LOGIN_REQUIRED")


def test_json_endpoints_check_csrf(ew, client_for):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    client = Client(enforce_csrf_checks=True)
    client.force_login(ew.student, backend="shuyuan.identity.backends.IdentifierBackend")
    url = reverse("learning:attempt_answer", args=[attempt.pk])
    data = {"paper_item": pid(ew, ItemKind.SINGLE), "answer": "A", "revision": 0}
    assert post_json(client, url, data).status_code == 403
    client.get(reverse("learning:attempt_detail", args=[attempt.pk]))
    token = client.cookies["csrftoken"].value
    response = client.post(
        url, json.dumps(data), content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200


def test_other_class_and_other_student_get_404(ew, client_for):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    outsider = client_for(ew.sw.student_b)
    assert outsider.post(reverse("learning:exam_sit", args=[ew.assessment.pk])).status_code == 404
    classmate = client_for(ew.sw.student_a2)
    for client in (outsider, classmate):
        assert client.get(reverse("learning:attempt_detail", args=[attempt.pk])).status_code == 404
        assert client.get(reverse("learning:attempt_result", args=[attempt.pk])).status_code == 404
        assert client.post(reverse("learning:attempt_submit", args=[attempt.pk])).status_code == 404
        answer = post_json(
            client,
            reverse("learning:attempt_answer", args=[attempt.pk]),
            {"paper_item": pid(ew, ItemKind.SINGLE), "answer": "B", "revision": 0},
        )
        assert answer.status_code == 404
        events = post_json(
            client,
            reverse("learning:attempt_events", args=[attempt.pk]),
            {"events": [{"kind": "blur", "at": timezone.now().isoformat()}]},
        )
        assert events.status_code == 404
    assert not ResponseLog.objects.exists()
    assert not FocusEvent.objects.exists()
    html = outsider.get(reverse("learning:my_exams")).content.decode()
    assert f'data-testid="exam-{ew.assessment.pk}"' not in html


def test_events_endpoint(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.student)
    attempt = start(client, ew)
    url = reverse("learning:attempt_events", args=[attempt.pk])
    now = timezone.now().isoformat()
    ok = post_json(
        client, url, {"events": [{"kind": "hidden", "at": now}, {"kind": "visible", "at": now}]}
    )
    assert (ok.status_code, ok.json()) == (200, {"logged": 2})
    bad = post_json(client, url, {"events": [{"kind": "copy", "at": now}]})
    assert (bad.status_code, bad.json()["field"]) == (422, "events[0].kind")
    assert FocusEvent.objects.filter(attempt=attempt).count() == 2


def test_submit_and_result_release(ew, client_for, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.student)
    attempt = start(client, ew)
    post_json(
        client,
        reverse("learning:attempt_answer", args=[attempt.pk]),
        {"paper_item": pid(ew, ItemKind.SINGLE), "answer": "A", "revision": 0},
    )
    submit_url = reverse("learning:attempt_submit", args=[attempt.pk])
    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(submit_url)
    result_url = reverse("learning:attempt_result", args=[attempt.pk])
    assert (submitted.status_code, submitted["Location"]) == (303, result_url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = client.post(submit_url)
    assert again.status_code == 303
    assert callbacks == []
    # The sitting page of a submitted attempt goes to the result.
    sitting = client.get(reverse("learning:attempt_detail", args=[attempt.pk]))
    assert (sitting.status_code, sitting["Location"]) == (303, result_url)
    page = client.get(result_url).content.decode()
    assert 'data-testid="submitted-notice"' in page
    assert 'data-testid="not-released"' in page
    assert 'data-testid="result-1"' not in page
    html = client.get(reverse("learning:my_exams")).content.decode()
    assert "Awaiting release" in html
    with change_context(actor=system_actor(), source="system"):
        ew.assessment.scores_released_at = timezone.now()
        ew.assessment.save(update_fields=["scores_released_at"])
    page = client.get(result_url).content.decode()
    assert 'data-testid="not-released"' not in page
    assert 'data-testid="result-1"' in page
    assert "A. 5" in page  # the key of the single choice, with its text
    assert "25 + 144 = 169 = 13 squared" in page  # the model answer, after release
    assert "Awaiting marking" in page  # the short answer
    attempt.refresh_from_db()
    assert attempt.score == Decimal("2.00")
    html = client.get(reverse("learning:my_exams")).content.decode()
    assert "2.00 / 18.00" in html


def test_parent_sees_result_but_not_sitting(ew, client_for):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    parent = client_for(ew.sw.parent_a)
    assert parent.get(reverse("learning:attempt_detail", args=[attempt.pk])).status_code == 404
    assert parent.get(reverse("learning:attempt_result", args=[attempt.pk])).status_code == 200


def test_opening_expired_attempt_submits_it(ew, client_for, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.student)
    attempt = start(client, ew)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(reverse("learning:attempt_detail", args=[attempt.pk]))
    assert page.status_code == 303
    attempt.refresh_from_db()
    assert (attempt.status, attempt.submitted_by) == (AttemptStatus.SUBMITTED, SubmittedBy.DEADLINE)


def test_start_conflict_shows_message(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.student)
    attempt = start(client, ew)
    actions.submit_attempt(actor=ew.student, attempt=attempt)
    response = client.post(reverse("learning:exam_sit", args=[ew.assessment.pk]), follow=True)
    assert response.redirect_chain[-1] == (reverse("learning:my_exams"), 303)
    assert "You have used every attempt allowed for this exam." in response.content.decode()


def test_sitting_page_query_budget(ew, client_for, assert_max_queries):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.student)
    attempt = start(client, ew)
    client.get(reverse("learning:attempt_detail", args=[attempt.pk]))
    with assert_max_queries(15):
        assert client.get(reverse("learning:attempt_detail", args=[attempt.pk])).status_code == 200
