"""Sitting an exam: actions (start and resume, answers from two devices, the deadline, tampered
input, submission, automatic marking, shuffling, expired attempts, xAPI statements)."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from shuyuan.core.errors import Conflict, InvalidInput, NotFound
from shuyuan.learning.actions import sitting as actions
from shuyuan.learning.models import (
    Attempt,
    AttemptStatus,
    FocusEvent,
    ItemKind,
    PaperItem,
    Response,
    ResponseLog,
    Statement,
    SubmittedBy,
)
from shuyuan.learning.queries import sitting as queries
from shuyuan.learning.tasks import record_attempt_answers
from shuyuan.learning.xapi.platform import (
    VERB_ANSWERED,
    assessment_activity_id,
    item_activity_id,
)

from .exam_world import ExamWorld, ew, make_assessment, make_item, make_paper, sw  # noqa: F401  # fixtures

pytestmark = pytest.mark.django_db

#: A known answer set for ew's paper and what each earns (points 2 each, short answer 4).
KNOWN: dict[str, tuple[Any, Decimal | None]] = {
    ItemKind.SINGLE: ("A", Decimal("2.00")),
    ItemKind.MULTIPLE: (["A"], Decimal("1.00")),  # a right subset: half
    ItemKind.TRUE_FALSE: (True, Decimal("2.00")),
    ItemKind.FILL_BLANK: (["Nine", "3"], Decimal("1.00")),  # one blank of two
    ItemKind.NUMERIC: ("1.415", Decimal("2.00")),  # within the tolerance
    ItemKind.MATCHING: ({"l1": "r1", "l2": "r1"}, Decimal("1.00")),  # one pair of two
    ItemKind.ORDERING: (["a", "b", "c"], Decimal("0.00")),
    ItemKind.SHORT_ANSWER: ("25 + 144 = 169", None),  # the teacher marks it
}


def pid(ew: ExamWorld, kind: str) -> int:  # noqa: F811  # fixture name as a parameter
    item = ew.items[kind]
    found: int = PaperItem.objects.get(paper=ew.paper, item_version__item=item).pk
    return found


def answer_all(ew: ExamWorld, attempt: Attempt, student: Any = None) -> None:  # noqa: F811  # fixture name
    for kind, (answer, _score) in KNOWN.items():
        result = actions.save_answer(
            actor=student or ew.student,
            attempt=attempt,
            paper_item_id=pid(ew, kind),
            answer=answer,
            base_revision=0,
            device="d1",
        )
        assert result.status == "saved"


# --- starting -----------------------------------------------------------------------------------


def test_start_creates_attempt_with_empty_responses(ew):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    assert (attempt.number, attempt.status) == (1, AttemptStatus.IN_PROGRESS)
    assert attempt.deadline <= ew.assessment.closes_at
    assert attempt.max_score == Decimal("18.00")
    responses = Response.objects.filter(attempt=attempt)
    assert responses.count() == 8
    assert {(r.revision, r.answer) for r in responses} == {(0, None)}


def test_start_again_resumes_same_attempt(ew):  # noqa: F811  # pytest fixture argument
    first = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    actions.save_answer(
        actor=ew.student,
        attempt=first,
        paper_item_id=pid(ew, ItemKind.SINGLE),
        answer="A",
        base_revision=0,
        device="laptop",
    )
    again = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    assert again.pk == first.pk
    assert Attempt.objects.count() == 1
    assert Response.objects.get(attempt=again, paper_item=pid(ew, ItemKind.SINGLE)).answer == "A"


def test_deadline_is_time_limit_or_window_end(ew):  # noqa: F811  # pytest fixture argument
    now = timezone.now()
    short = make_assessment(ew.w, ew.paper, duration_minutes=10)
    attempt = actions.start_attempt(actor=ew.student, assessment=short)
    assert now + dt.timedelta(minutes=9) < attempt.deadline <= now + dt.timedelta(minutes=11)
    window = make_assessment(
        ew.w, ew.paper, closes_at=now + dt.timedelta(minutes=5), duration_minutes=None
    )
    attempt = actions.start_attempt(actor=ew.student, assessment=window)
    assert attempt.deadline == window.closes_at


def test_start_outside_window_is_conflict(ew):  # noqa: F811  # pytest fixture argument
    now = timezone.now()
    later = make_assessment(
        ew.w, ew.paper, opens_at=now + dt.timedelta(hours=1), closes_at=now + dt.timedelta(hours=2)
    )
    with pytest.raises(Conflict) as info:
        actions.start_attempt(actor=ew.student, assessment=later)
    assert info.value.code == "NOT_OPEN"
    past = make_assessment(
        ew.w, ew.paper, opens_at=now - dt.timedelta(hours=2), closes_at=now - dt.timedelta(hours=1)
    )
    with pytest.raises(Conflict) as info:
        actions.start_attempt(actor=ew.student, assessment=past)
    assert info.value.code == "CLOSED"


def test_attempt_limit(ew):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    actions.submit_attempt(actor=ew.student, attempt=attempt)
    with pytest.raises(Conflict) as info:
        actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    assert info.value.code == "NO_ATTEMPTS_LEFT"
    twice = make_assessment(ew.w, ew.paper, max_attempts=2)
    first = actions.start_attempt(actor=ew.student, assessment=twice)
    actions.submit_attempt(actor=ew.student, attempt=first)
    second = actions.start_attempt(actor=ew.student, assessment=twice)
    assert second.number == 2
    actions.submit_attempt(actor=ew.student, attempt=second)
    with pytest.raises(Conflict):
        actions.start_attempt(actor=ew.student, assessment=twice)


def test_other_class_cannot_start_or_touch_attempts(ew):  # noqa: F811  # pytest fixture argument
    with pytest.raises(NotFound):
        actions.start_attempt(actor=ew.sw.student_b, assessment=ew.assessment)
    with pytest.raises(NotFound):
        actions.start_attempt(actor=ew.teacher, assessment=ew.assessment)
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    for other in (ew.sw.student_a2, ew.sw.student_b, ew.sw.parent_a, ew.teacher):
        with pytest.raises(NotFound):
            actions.save_answer(
                actor=other,
                attempt=attempt,
                paper_item_id=pid(ew, ItemKind.SINGLE),
                answer="B",
                base_revision=0,
                device="x",
            )
        with pytest.raises(NotFound):
            actions.submit_attempt(actor=other, attempt=attempt)
        with pytest.raises(NotFound):
            actions.log_focus_events(actor=other, attempt=attempt, events=[])
    assert not ResponseLog.objects.exists()
    assert Attempt.objects.get().status == AttemptStatus.IN_PROGRESS


def test_insert_race_returns_the_attempt_in_progress(ew):  # noqa: F811  # pytest fixture argument
    """Another device inserted the attempt between our look-up and our insert."""
    first = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    again = actions._insert_attempt(ew.student, ew.assessment, 1, timezone.now())
    assert again.pk == first.pk
    again = actions._insert_attempt(ew.student, ew.assessment, 2, timezone.now())
    assert again.pk == first.pk
    assert Attempt.objects.count() == 1
    assert Response.objects.count() == 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_devices_starting_at_once_share_one_attempt(ew):  # noqa: F811  # pytest fixture argument
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers")
    barrier = threading.Barrier(2)
    found: list[int] = []
    errors: list[BaseException] = []
    real_insert = actions._insert_attempt

    def insert_together(*args: Any) -> Attempt:
        barrier.wait(timeout=10)  # both devices looked up "no attempt in progress"
        return real_insert(*args)

    def start() -> None:
        try:
            found.append(actions.start_attempt(actor=ew.student, assessment=ew.assessment).pk)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    with mock.patch.object(actions, "_insert_attempt", insert_together):
        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(found) == 2
    assert found[0] == found[1]
    assert Attempt.objects.count() == 1
    assert Response.objects.count() == 8


# --- answering ----------------------------------------------------------------------------------


def test_save_increments_revision_and_logs(ew):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    item = pid(ew, ItemKind.MULTIPLE)
    first = actions.save_answer(
        actor=ew.student, attempt=attempt, paper_item_id=item, answer=["B", "A"],
        base_revision=0, device="laptop",
    )  # fmt: skip
    assert (first.status, first.revision, first.answer) == ("saved", 1, ["A", "B"])
    second = actions.save_answer(
        actor=ew.student, attempt=attempt, paper_item_id=item, answer=None,
        base_revision=1, device="laptop",
    )  # fmt: skip
    assert (second.status, second.revision, second.answer) == ("saved", 2, None)
    log = list(ResponseLog.objects.filter(attempt=attempt).order_by("pk"))
    assert [(e.answer, e.base_revision, e.accepted, e.device) for e in log] == [
        (["B", "A"], 0, True, "laptop"),
        (None, 1, True, "laptop"),
    ]


def test_stale_revision_from_second_device_overwrites_nothing(ew):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    item = pid(ew, ItemKind.SINGLE)
    actions.save_answer(
        actor=ew.student, attempt=attempt, paper_item_id=item, answer="A",
        base_revision=0, device="laptop",
    )  # fmt: skip
    stale = actions.save_answer(
        actor=ew.student, attempt=attempt, paper_item_id=item, answer="C",
        base_revision=0, device="phone",
    )  # fmt: skip
    assert (stale.status, stale.revision, stale.answer) == ("stale", 1, "A")
    assert Response.objects.get(attempt=attempt, paper_item=item).answer == "A"
    log = list(ResponseLog.objects.filter(attempt=attempt).order_by("pk"))
    assert [(e.answer, e.accepted, e.device) for e in log] == [
        ("A", True, "laptop"),
        ("C", False, "phone"),
    ]
    # A retry of the answer already saved (the reply was lost) is not stale.
    retry = actions.save_answer(
        actor=ew.student, attempt=attempt, paper_item_id=item, answer="A",
        base_revision=0, device="laptop",
    )  # fmt: skip
    assert (retry.status, retry.revision) == ("saved", 1)


def test_answers_after_deadline_refused_but_logged(ew, settings):  # noqa: F811  # pytest fixture argument
    settings.LEARNING_EXAM_GRACE_SECONDS = 20
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    item = pid(ew, ItemKind.SINGLE)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - dt.timedelta(seconds=10))
    within_grace = actions.save_answer(
        actor=ew.student, attempt=attempt, paper_item_id=item, answer="A",
        base_revision=0, device="d",
    )  # fmt: skip
    assert within_grace.status == "saved"
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - dt.timedelta(seconds=30))
    with pytest.raises(Conflict) as info:
        actions.save_answer(
            actor=ew.student, attempt=attempt, paper_item_id=item, answer="B",
            base_revision=1, device="d",
        )  # fmt: skip
    assert info.value.code == "DEADLINE_PASSED"
    assert Response.objects.get(attempt=attempt, paper_item=item).answer == "A"
    late = ResponseLog.objects.filter(attempt=attempt).order_by("pk").last()
    assert late is not None
    assert (late.answer, late.accepted) == ("B", False)


def test_answers_after_submission_refused_but_logged(ew):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    actions.submit_attempt(actor=ew.student, attempt=attempt)
    with pytest.raises(Conflict) as info:
        actions.save_answer(
            actor=ew.student, attempt=attempt, paper_item_id=pid(ew, ItemKind.SINGLE),
            answer="A", base_revision=0, device="d",
        )  # fmt: skip
    assert info.value.code == "ATTEMPT_SUBMITTED"
    assert ResponseLog.objects.filter(attempt=attempt, accepted=False).count() == 1


def test_tampered_item_and_option_are_invalid_and_logged(ew):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    other_item = make_item(ew.w, ItemKind.SINGLE)
    other_paper = make_paper(ew.w, [other_item], title="Other")
    foreign = PaperItem.objects.get(paper=other_paper).pk
    with pytest.raises(InvalidInput) as info:
        actions.save_answer(
            actor=ew.student, attempt=attempt, paper_item_id=foreign, answer="A",
            base_revision=0, device="d",
        )  # fmt: skip
    assert (info.value.code, info.value.field) == ("UNKNOWN_ITEM", "paper_item")
    with pytest.raises(InvalidInput) as info:
        actions.save_answer(
            actor=ew.student, attempt=attempt, paper_item_id=pid(ew, ItemKind.SINGLE),
            answer="Z", base_revision=0, device="d",
        )  # fmt: skip
    assert (info.value.code, info.value.field) == ("UNKNOWN_OPTION", "answer")
    with pytest.raises(InvalidInput) as info:
        actions.save_answer(
            actor=ew.student, attempt=attempt, paper_item_id=pid(ew, ItemKind.MATCHING),
            answer={"l1": "r9"}, base_revision=0, device="d",
        )  # fmt: skip
    assert info.value.code == "UNKNOWN_OPTION"
    for bad_id in (999_999, "1", None, True):
        with pytest.raises(InvalidInput) as info:
            actions.save_answer(
                actor=ew.student, attempt=attempt, paper_item_id=bad_id, answer="A",
                base_revision=0, device="d",
            )  # fmt: skip
        assert info.value.code == "UNKNOWN_ITEM"
    with pytest.raises(InvalidInput) as info:
        actions.save_answer(
            actor=ew.student, attempt=attempt, paper_item_id=pid(ew, ItemKind.SINGLE),
            answer="A", base_revision=-1, device="d",
        )  # fmt: skip
    assert info.value.code == "BAD_REVISION"
    log = list(ResponseLog.objects.filter(attempt=attempt).order_by("pk"))
    assert [(e.paper_item_id, e.answer, e.accepted) for e in log] == [
        (foreign, "A", False),
        (pid(ew, ItemKind.SINGLE), "Z", False),
        (pid(ew, ItemKind.MATCHING), {"l1": "r9"}, False),
        (pid(ew, ItemKind.SINGLE), "A", False),
    ]
    assert set(Response.objects.filter(attempt=attempt).values_list("answer", flat=True)) == {None}


def test_log_focus_events(ew):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    now = timezone.now()
    logged = actions.log_focus_events(
        actor=ew.student,
        attempt=attempt,
        events=[
            {"kind": "blur", "at": now.isoformat()},
            {"kind": "focus", "at": (now + dt.timedelta(seconds=30)).isoformat()},
        ],
    )
    assert logged == 2
    assert list(FocusEvent.objects.values_list("kind", flat=True)) == ["blur", "focus"]
    bad_batches: list[tuple[Any, str]] = [
        ([{"kind": "paste", "at": now.isoformat()}], "events[0].kind"),
        ([{"kind": "blur", "at": (now + dt.timedelta(minutes=5)).isoformat()}], "events[0].at"),
        ([{"kind": "blur", "at": "yesterday"}], "events[0].at"),
        ([{"kind": "blur", "at": "2025-01-01T10:00:00"}], "events[0].at"),
        ([{"kind": "blur", "at": now.isoformat()}] * 101, "events"),
        ("blur", "events"),
        ([["blur"]], "events[0]"),
    ]
    for events, field in bad_batches:
        with pytest.raises(InvalidInput) as info:
            actions.log_focus_events(actor=ew.student, attempt=attempt, events=events)
        assert info.value.field == field
    assert FocusEvent.objects.count() == 2


# --- submitting and marking ---------------------------------------------------------------------


def test_auto_marking_of_every_kind(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    answer_all(ew, attempt)
    with django_capture_on_commit_callbacks(execute=False):
        done = actions.submit_attempt(actor=ew.student, attempt=attempt)
    assert done.status == AttemptStatus.SUBMITTED  # the short answer awaits the teacher
    assert (done.submitted_by, done.score, done.max_score) == (
        SubmittedBy.STUDENT,
        Decimal("9.00"),
        Decimal("18.00"),
    )
    for kind, (_answer, score) in KNOWN.items():
        response = Response.objects.get(attempt=attempt, paper_item=pid(ew, kind))
        assert response.score == score, kind
        assert response.auto_marked is (score is not None)
        assert (response.marked_at is not None) is (score is not None)


def test_all_objective_paper_is_marked_on_submit(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    items = [ew.items[ItemKind.SINGLE], ew.items[ItemKind.TRUE_FALSE]]
    assessment = make_assessment(ew.w, make_paper(ew.w, items, title="Quiz"))
    attempt = actions.start_attempt(actor=ew.student, assessment=assessment)
    first = Response.objects.filter(attempt=attempt).order_by("paper_item__position").first()
    assert first is not None
    actions.save_answer(
        actor=ew.student, attempt=attempt, paper_item_id=first.paper_item_id, answer="A",
        base_revision=0, device="d",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        done = actions.submit_attempt(actor=ew.student, attempt=attempt)
    assert (done.status, done.score) == (AttemptStatus.MARKED, Decimal("2.00"))
    assert done.marked_at is not None


def test_double_submit_is_idempotent(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    answer_all(ew, attempt)
    before = Statement.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as first_callbacks:
        first = actions.submit_attempt(actor=ew.student, attempt=attempt)
    with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
        second = actions.submit_attempt(actor=ew.student, attempt=attempt)
    assert len(first_callbacks) == 1
    assert second_callbacks == []
    assert (second.pk, second.submitted_at, second.score) == (
        first.pk,
        first.submitted_at,
        first.score,
    )
    assert Statement.objects.count() - before == 8


def test_statements_one_per_response_and_rerun_stores_none(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    answer_all(ew, attempt)
    before = Statement.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        actions.submit_attempt(actor=ew.student, attempt=attempt)
    payloads = [json.loads(s.data) for s in Statement.objects.order_by("pk")[before:]]
    assert len(payloads) == 8
    assert {p["verb"]["id"] for p in payloads} == {VERB_ANSWERED}
    by_object = {p["object"]["id"]: p for p in payloads}
    single = by_object[item_activity_id(ew.items[ItemKind.SINGLE].identifier)]
    assert single["result"] == {
        "response": "A",
        "success": True,
        "score": {"scaled": 1.0, "raw": 2.0, "min": 0, "max": 2.0},
    }
    assert single["object"]["definition"]["type"].endswith("cmi.interaction")
    assert single["actor"]["account"]["name"] == ew.student.username
    multiple = by_object[item_activity_id(ew.items[ItemKind.MULTIPLE].identifier)]
    assert multiple["result"]["success"] is False
    assert multiple["result"]["score"]["scaled"] == 0.5
    short = by_object[item_activity_id(ew.items[ItemKind.SHORT_ANSWER].identifier)]
    assert short["result"] == {"response": "25 + 144 = 169"}
    assert set(short["context"]["extensions"].values()) == {
        assessment_activity_id(ew.assessment.pk),
        1,
    }
    assert record_attempt_answers.call(attempt.pk) == 8
    assert Statement.objects.count() == before + 8
    assert record_attempt_answers.call(999_999) == 0


def test_shuffle_permutes_and_marks_right(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    shuffled = make_assessment(ew.w, ew.paper, shuffle=True)
    paper_ids = sorted(PaperItem.objects.filter(paper=ew.paper).values_list("pk", flat=True))
    orders = []
    for student in (ew.student, ew.sw.student_a2):
        attempt = actions.start_attempt(actor=student, assessment=shuffled)
        assert sorted(attempt.item_order) == paper_ids
        options = attempt.option_order[str(pid(ew, ItemKind.SINGLE))]
        assert sorted(options) == ["A", "B", "C", "D"]
        assert set(attempt.option_order) == {
            str(pid(ew, kind))
            for kind in (ItemKind.SINGLE, ItemKind.MULTIPLE, ItemKind.MATCHING, ItemKind.ORDERING)
        }
        questions = queries.sitting_questions(attempt)
        assert [q.paper_item_id for q in questions] == attempt.item_order
        shown = next(q for q in questions if q.kind == ItemKind.SINGLE)
        assert [o["id"] for o in shown.view["options"]] == options
        assert "correct" not in shown.view
        orders.append(attempt.item_order)
        answer_all(ew, attempt, student)
        with django_capture_on_commit_callbacks(execute=False):
            done = actions.submit_attempt(actor=student, attempt=attempt)
        assert done.score == Decimal("9.00")


def test_shuffled_orders_differ_between_attempts(ew):  # noqa: F811  # pytest fixture argument
    rng_orders = set()
    for n in range(6):
        assessment = make_assessment(ew.w, ew.paper, shuffle=True)
        attempt = actions.start_attempt(actor=ew.student, assessment=assessment)
        rng_orders.add(tuple(attempt.item_order))
        del n
    assert len(rng_orders) > 1  # 8! orders: six equal draws would be a broken shuffle


def test_close_expired_attempts(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    expired = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    running = actions.start_attempt(actor=ew.sw.student_a2, assessment=ew.assessment)
    actions.save_answer(
        actor=ew.student, attempt=expired, paper_item_id=pid(ew, ItemKind.SINGLE), answer="A",
        base_revision=0, device="d",
    )  # fmt: skip
    Attempt.objects.filter(pk=expired.pk).update(deadline=timezone.now() - dt.timedelta(minutes=5))
    before = Statement.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.close_expired_attempts() == 1
    expired.refresh_from_db()
    running.refresh_from_db()
    assert (expired.status, expired.submitted_by) == (AttemptStatus.SUBMITTED, SubmittedBy.DEADLINE)
    assert expired.score == Decimal("2.00")
    assert running.status == AttemptStatus.IN_PROGRESS
    assert Statement.objects.count() == before + 8
    assert actions.close_expired_attempts() == 0
    later = timezone.now() + dt.timedelta(hours=3)
    with django_capture_on_commit_callbacks(execute=False):
        call_command("close_expired_attempts", stdout=io.StringIO())
        assert actions.close_expired_attempts(later) == 1
    running.refresh_from_db()
    assert running.submitted_by == SubmittedBy.DEADLINE


def test_start_closes_expired_attempt_first(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    twice = make_assessment(ew.w, ew.paper, max_attempts=2)
    first = actions.start_attempt(actor=ew.student, assessment=twice)
    Attempt.objects.filter(pk=first.pk).update(deadline=timezone.now() - dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=False):
        second = actions.start_attempt(actor=ew.student, assessment=twice)
    assert second.number == 2
    first.refresh_from_db()
    assert first.submitted_by == SubmittedBy.DEADLINE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submit_and_save_from_two_devices(ew):  # noqa: F811  # pytest fixture argument
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers")
    attempt = actions.start_attempt(actor=ew.student, assessment=ew.assessment)
    item = pid(ew, ItemKind.SINGLE)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(actions.submit_attempt(actor=ew.student, attempt=attempt).status)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    def save(answer: str) -> None:
        try:
            barrier.wait(timeout=10)
            result = actions.save_answer(
                actor=ew.student, attempt=attempt, paper_item_id=item, answer=answer,
                base_revision=0, device=answer,
            )  # fmt: skip
            outcomes.append(result.status)
        except Conflict as exc:
            outcomes.append(exc.code)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit),
        threading.Thread(target=submit),
        threading.Thread(target=save, args=("A",)),
        threading.Thread(target=save, args=("B",)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED
    response = Response.objects.get(attempt=attempt, paper_item=item)
    # Whatever won, the mark matches the answer saved: nothing was saved after marking.
    expected = Decimal("2.00") if response.answer == "A" else Decimal("0.00")
    assert response.score == expected
    assert ResponseLog.objects.filter(attempt=attempt).count() == 2
    assert ResponseLog.objects.filter(attempt=attempt, accepted=True).count() <= 1
    assert len(outcomes) == 4
    assert set(outcomes) <= {"submitted", "marked", "saved", "stale", "ATTEMPT_SUBMITTED"}
