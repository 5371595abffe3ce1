"""Paper and assessment pages: full pages, htmx partials, 422/303, 404 across schools."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from shuyuan.learning.actions import papers as actions
from shuyuan.learning.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Difficulty,
    FocusEvent,
    ItemKind,
    Paper,
    PaperItem,
    Response,
)

from . import exam_world
from .exam_world import ExamWorld, make_item

pytestmark = pytest.mark.django_db

# Fixtures of the exam world (assigned, not imported, so arguments may shadow them).
ew = exam_world.ew
sw = exam_world.sw

HTMX = {"HTTP_HX_REQUEST": "true"}


def _htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _publish_data(ew: ExamWorld, **change: Any) -> dict[str, Any]:
    now = timezone.now()
    data = {
        "class_org": ew.w.tree.class_a.pk,
        "title": "Unit quiz",
        "opens_at": _local(now),
        "closes_at": _local(now + dt.timedelta(hours=2)),
        "duration_minutes": "40",
        "max_attempts": "1",
        "shuffle_items": "on",
    }
    data.update(change)
    return data


def test_paper_list_mine_and_colleagues(
    ew: ExamWorld, client_for, make_user, assert_max_queries
) -> None:
    from shuyuan.identity.models import Role

    colleague = make_user(Role.TEACHER, ew.w.tree.school_a, username="colleague_a")
    actions.create_paper(actor=colleague, org=ew.w.tree.school_a, subject=None, title="Colleague's")
    client = client_for(ew.teacher)
    client.get("/learning/exams/papers/")
    with assert_max_queries(25):
        response = client.get("/learning/exams/papers/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Unit test" in text and "Colleague&#x27;s" in text


def test_paper_list_students_forbidden(ew: ExamWorld, client_for) -> None:
    assert client_for(ew.student).get("/learning/exams/papers/").status_code == 403


def test_paper_create_422_then_303(ew: ExamWorld, client_for) -> None:
    client = client_for(ew.teacher)
    assert client.get("/learning/exams/papers/new/").status_code == 200
    response = client.post(
        "/learning/exams/papers/new/",
        {"org": ew.w.tree.school_a.pk, "title": ""},
        **_htmx("paper-form"),
    )
    assert response.status_code == 422
    assert "<html" not in response.content.decode()
    response = client.post(
        "/learning/exams/papers/new/",
        {"org": ew.w.tree.school_b.pk, "title": "Mine"},
    )
    assert response.status_code == 422  # School B is not offered
    response = client.post(
        "/learning/exams/papers/new/",
        {"org": ew.w.tree.school_a.pk, "subject": ew.w.math.pk, "title": "Mine"},
    )
    assert response.status_code == 303
    paper = Paper.objects.get(title="Mine")
    assert response["Location"] == f"/learning/exams/papers/{paper.pk}/"


def test_paper_detail_search_add_move_points_remove(ew: ExamWorld, client_for) -> None:
    paper = actions.create_paper(actor=ew.teacher, org=ew.w.tree.school_a, subject=None, title="P")
    client = client_for(ew.teacher)
    response = client.get(f"/learning/exams/papers/{paper.pk}/")
    assert response.status_code == 200
    assert "Assemble from a blueprint" in response.content.decode()
    response = client.get(
        f"/learning/exams/papers/{paper.pk}/", {"q": "hypotenuse"}, **_htmx("find-results")
    )
    text = response.content.decode()
    assert response.status_code == 200 and "<html" not in text
    assert "legs 3 and 4" in text
    item = ew.items[ItemKind.SINGLE]
    url = f"/learning/exams/papers/{paper.pk}/items/"
    assert client.post(url, {"item": item.pk, "points": "3"}).status_code == 303
    response = client.post(url, {"item": item.pk, "points": "3"})
    assert response.status_code == 422  # duplicate
    assert "already on the paper" in response.content.decode()
    client.post(url, {"item": ew.items[ItemKind.MULTIPLE].pk, "points": "2"})
    first, second = PaperItem.objects.filter(paper=paper).order_by("position")
    base = f"/learning/exams/papers/{paper.pk}/items/"
    assert client.post(f"{base}{second.pk}/move/", {"direction": "up"}).status_code == 303
    second.refresh_from_db()
    assert second.position == 0
    assert client.post(f"{base}{first.pk}/points/", {"points": "0"}).status_code == 422
    assert client.post(f"{base}{first.pk}/points/", {"points": "2.5"}).status_code == 303
    first.refresh_from_db()
    assert first.points == Decimal("2.50")
    assert client.post(f"{base}{first.pk}/remove/").status_code == 303
    assert PaperItem.objects.filter(paper=paper).count() == 1


def test_paper_blueprint_view(ew: ExamWorld, client_for) -> None:
    for _ in range(2):
        make_item(ew.w, ItemKind.SINGLE, points=[ew.kp], difficulty=Difficulty.HARD)
    paper = actions.create_paper(actor=ew.teacher, org=ew.w.tree.school_a, subject=None, title="B")
    client = client_for(ew.teacher)
    url = f"/learning/exams/papers/{paper.pk}/blueprint/"
    data = {
        "rows-0-knowledge_point": ew.kp_sqrt.pk,
        "rows-0-difficulty": "2",
        "rows-0-count": "1",
        "rows-0-points": "2",
        "rows-2-knowledge_point": ew.kp.pk,
        "rows-2-difficulty": "3",
        "rows-2-count": "3",
        "rows-2-points": "2",
    }
    response = client.post(url, data, **_htmx("blueprint-form"))
    assert response.status_code == 422
    text = response.content.decode()
    assert "<html" not in text
    assert "Row 2 (Pythagorean theorem, hard): the bank has 2 items, 3 asked." in text
    assert not PaperItem.objects.filter(paper=paper).exists()
    data["rows-2-count"] = "2"
    response = client.post(url, data)
    assert response.status_code == 303
    assert PaperItem.objects.filter(paper=paper).count() == 3


def test_paper_frozen_after_publish_view(ew: ExamWorld, client_for) -> None:
    client = client_for(ew.teacher)
    response = client.post(
        f"/learning/exams/papers/{ew.paper.pk}/items/",
        {"item": make_item(ew.w, ItemKind.SINGLE).pk, "points": "2"},
    )
    assert response.status_code == 422
    assert "can no longer be changed" in response.content.decode()
    response = client.post(f"/learning/exams/papers/{ew.paper.pk}/copy/")
    assert response.status_code == 303
    copy = Paper.objects.exclude(pk=ew.paper.pk).get(created_by=ew.teacher)
    assert response["Location"] == f"/learning/exams/papers/{copy.pk}/"


def test_paper_preview(ew: ExamWorld, client_for) -> None:
    response = client_for(ew.teacher).get(f"/learning/exams/papers/{ew.paper.pk}/preview/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "A[,]B" in text and "25 + 144 = 169" in text


def test_publish_view_happy_path(ew: ExamWorld, client_for) -> None:
    paper = actions.copy_paper(actor=ew.teacher, paper=ew.paper)
    client = client_for(ew.teacher)
    url = f"/learning/exams/papers/{paper.pk}/publish/"
    response = client.get(url)
    assert response.status_code == 200
    assert ew.w.tree.class_a.name in response.content.decode()
    response = client.post(url, _publish_data(ew))
    assert response.status_code == 303
    assessment = Assessment.objects.get(paper=paper)
    assert response["Location"] == f"/learning/exams/assessments/{assessment.pk}/"
    assert assessment.shuffle_items and not assessment.shuffle_options
    assert assessment.duration_minutes == 40


@pytest.mark.parametrize(
    ("change", "field_text"),
    [
        ({"max_attempts": "11"}, "Allow 1 to 10 attempts."),
        ({"duration_minutes": "0"}, "The time limit is 1 to 600 minutes, or empty."),
        (
            {"closes_at": "2000-01-01T10:00", "opens_at": "2000-01-01T09:00"},
            "must be in the future",
        ),
        ({"closes_at": ""}, "This field is required."),
    ],
)
def test_publish_view_422(ew: ExamWorld, client_for, change: dict, field_text: str) -> None:
    paper = actions.copy_paper(actor=ew.teacher, paper=ew.paper)
    response = client_for(ew.teacher).post(
        f"/learning/exams/papers/{paper.pk}/publish/",
        _publish_data(ew, **change),
        **_htmx("publish-form"),
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "<html" not in text and field_text in text
    assert not Assessment.objects.filter(paper=paper).exists()


def test_publish_to_other_school_class_404(ew: ExamWorld, client_for) -> None:
    paper = actions.copy_paper(actor=ew.teacher, paper=ew.paper)
    response = client_for(ew.teacher).post(
        f"/learning/exams/papers/{paper.pk}/publish/",
        _publish_data(ew, class_org=ew.w.tree.class_b.pk),
    )
    assert response.status_code == 404
    assert not Assessment.objects.filter(paper=paper).exists()


def test_teacher_b_404_on_school_a_rows(ew: ExamWorld, client_for) -> None:
    client = client_for(ew.w.teacher_b)
    attempt = Attempt.objects.create(
        assessment=ew.assessment,
        student=ew.student,
        deadline=timezone.now() + dt.timedelta(hours=1),
        status=AttemptStatus.SUBMITTED,
        submitted_at=timezone.now(),
    )
    short = PaperItem.objects.get(paper=ew.paper, item_version__item__kind=ItemKind.SHORT_ANSWER)
    response = Response.objects.create(attempt=attempt, paper_item=short, answer="x")
    paper = ew.paper.pk
    for url in (
        f"/learning/exams/papers/{paper}/",
        f"/learning/exams/papers/{paper}/preview/",
        f"/learning/exams/papers/{paper}/publish/",
        f"/learning/exams/assessments/{ew.assessment.pk}/",
        f"/learning/exams/marking/{response.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/learning/exams/papers/{paper}/copy/",
        f"/learning/exams/assessments/{ew.assessment.pk}/release/",
        f"/learning/exams/assessments/{ew.assessment.pk}/cancel/",
    ):
        assert client.post(url).status_code == 404, url
    assert (
        client.post(
            f"/learning/exams/marking/{response.pk}/", {"score_0": "1", "score_1": "1"}
        ).status_code
        == 404
    )


def test_assessment_detail_teacher_view(ew: ExamWorld, client_for, assert_max_queries) -> None:
    now = timezone.now()
    for student in (ew.student, ew.sw.student_a2):
        attempt = Attempt.objects.create(
            assessment=ew.assessment,
            student=student,
            deadline=now + dt.timedelta(hours=1),
            status=AttemptStatus.SUBMITTED,
            submitted_at=now,
            score=Decimal(3),
            max_score=Decimal(18),
        )
        for kind in ("blur", "focus", "hidden"):
            FocusEvent.objects.create(attempt=attempt, kind=kind, occurred_at=now)
    client = client_for(ew.teacher)
    client.get(f"/learning/exams/assessments/{ew.assessment.pk}/")
    with assert_max_queries(30):
        response = client.get(f"/learning/exams/assessments/{ew.assessment.pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Release the scores" in text
    assert "2 times" in text and "Left the exam window" in text
    assert ew.student.username in text
    partial = client.get(f"/learning/exams/assessments/{ew.assessment.pk}/", **_htmx("attempts"))
    assert "<html" not in partial.content.decode()
    # A student of the class sees no teacher's page.
    assert (
        client_for(ew.student).get(f"/learning/exams/assessments/{ew.assessment.pk}/").status_code
        == 403
    )


def test_release_view_refused_then_released(ew: ExamWorld, client_for) -> None:
    now = timezone.now()
    attempt = Attempt.objects.create(
        assessment=ew.assessment,
        student=ew.student,
        deadline=now + dt.timedelta(hours=1),
        status=AttemptStatus.SUBMITTED,
        submitted_at=now,
    )
    client = client_for(ew.teacher)
    url = f"/learning/exams/assessments/{ew.assessment.pk}/release/"
    response = client.post(url, follow=True)
    assert "Marking is not finished" in response.content.decode()
    ew.assessment.refresh_from_db()
    assert ew.assessment.scores_released_at is None
    Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.MARKED)
    assert client.post(url).status_code == 303
    ew.assessment.refresh_from_db()
    assert ew.assessment.scores_released_at is not None
    client.post(f"/learning/exams/assessments/{ew.assessment.pk}/withhold/")
    ew.assessment.refresh_from_db()
    assert ew.assessment.scores_released_at is None
