"""Tests of marking: score_attempt and mark_response."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from shuyuan.core.errors import Conflict, InvalidInput, NotFound
from shuyuan.learning.actions import marking
from shuyuan.learning.models import Attempt, AttemptStatus, ItemKind, PaperItem, Response

from . import exam_world
from .exam_world import ExamWorld

pytestmark = pytest.mark.django_db

# Fixtures of the exam world (assigned, not imported, so arguments may shadow them).
ew = exam_world.ew
sw = exam_world.sw


def _attempt(ew: ExamWorld, student=None, status: str = AttemptStatus.SUBMITTED) -> Attempt:
    return Attempt.objects.create(
        assessment=ew.assessment,
        student=student or ew.student,
        deadline=timezone.now() + dt.timedelta(hours=1),
        status=status,
        submitted_at=timezone.now() if status != AttemptStatus.IN_PROGRESS else None,
    )


def _objective_responses(ew: ExamWorld, attempt: Attempt, score: Decimal = Decimal(2)) -> None:
    for pi in PaperItem.objects.filter(paper=ew.paper).select_related("item_version__item"):
        if pi.item_version.item.kind == ItemKind.SHORT_ANSWER:
            Response.objects.create(attempt=attempt, paper_item=pi, answer="Because 25+144=169.")
        else:
            Response.objects.create(
                attempt=attempt,
                paper_item=pi,
                answer=None,
                score=score,
                auto_marked=True,
                marked_at=timezone.now(),
            )


def test_score_attempt_short_answer_pending_stays_submitted(ew: ExamWorld) -> None:
    attempt = _attempt(ew)
    _objective_responses(ew, attempt)
    marking.score_attempt(attempt)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.score == Decimal("14.00")
    assert attempt.max_score == Decimal("18.00")
    assert attempt.marked_at is None


def test_score_attempt_missing_response_counts_as_marked_zero(ew: ExamWorld) -> None:
    attempt = _attempt(ew)
    marking.score_attempt(attempt)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.MARKED
    assert attempt.score == Decimal(0)
    assert attempt.marked_at is not None


def test_score_attempt_in_progress_keeps_status(ew: ExamWorld) -> None:
    attempt = _attempt(ew, status=AttemptStatus.IN_PROGRESS)
    marking.score_attempt(attempt)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.IN_PROGRESS


def _short(ew: ExamWorld, attempt: Attempt) -> Response:
    return Response.objects.get(
        attempt=attempt, paper_item__item_version__item__kind=ItemKind.SHORT_ANSWER
    )


def test_mark_response_happy_path_marks_attempt(ew: ExamWorld) -> None:
    from shuyuan.core.models import AuditEvent

    attempt = _attempt(ew)
    _objective_responses(ew, attempt)
    marking.score_attempt(attempt)
    response = marking.mark_response(
        actor=ew.teacher,
        response=_short(ew, attempt),
        rubric_scores=[Decimal(2), Decimal("0.5")],
        feedback="Good, but show the sum.",
    )
    # 4 points x 2.5 / 4 = 2.5
    assert response.score == Decimal("2.50")
    assert response.rubric_scores == ["2", "0.5"]
    assert response.marked_by == ew.teacher
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.MARKED
    assert attempt.score == Decimal("16.50")
    assert attempt.marked_at is not None
    event = AuditEvent.objects.get(code="learning.response.marked")
    assert event.extra["new_score"] == "2.50"
    assert event.extra["old_score"] is None


def test_mark_response_scales_to_question_points(ew: ExamWorld) -> None:
    from shuyuan.core.context import change_context, system_actor

    attempt = _attempt(ew)
    _objective_responses(ew, attempt)
    short = _short(ew, attempt)
    paper_item = short.paper_item
    paper_item.points = Decimal(5)
    with change_context(actor=system_actor(), source="system"):
        paper_item.save(update_fields=["points"])
    response = marking.mark_response(
        actor=ew.teacher, response=short, rubric_scores=[Decimal(1), Decimal(0)]
    )
    assert response.score == Decimal("1.25")


def test_mark_response_score_over_criterion_invalid(ew: ExamWorld) -> None:
    attempt = _attempt(ew)
    _objective_responses(ew, attempt)
    with pytest.raises(InvalidInput) as exc:
        marking.mark_response(
            actor=ew.teacher, response=_short(ew, attempt), rubric_scores=[Decimal(3), Decimal(0)]
        )
    assert (exc.value.field, exc.value.errors[0].code) == ("rubric_scores[0]", "OUT_OF_RANGE")
    with pytest.raises(InvalidInput) as exc:
        marking.mark_response(
            actor=ew.teacher, response=_short(ew, attempt), rubric_scores=[Decimal(1)]
        )
    assert exc.value.errors[0].code == "RUBRIC_MISMATCH"
    assert _short(ew, attempt).marked_at is None


def test_mark_response_in_progress_conflict(ew: ExamWorld) -> None:
    attempt = _attempt(ew, status=AttemptStatus.IN_PROGRESS)
    _objective_responses(ew, attempt)
    with pytest.raises(Conflict) as exc:
        marking.mark_response(
            actor=ew.teacher, response=_short(ew, attempt), rubric_scores=[Decimal(1), Decimal(1)]
        )
    assert exc.value.code == "ATTEMPT_NOT_SUBMITTED"


def test_mark_response_other_school_not_found(ew: ExamWorld) -> None:
    attempt = _attempt(ew)
    _objective_responses(ew, attempt)
    for outsider in (ew.w.teacher_b, ew.sw.student_a2, ew.student, ew.sw.parent_a):
        with pytest.raises(NotFound):
            marking.mark_response(
                actor=outsider,
                response=_short(ew, attempt),
                rubric_scores=[Decimal(1), Decimal(1)],
            )


def test_override_objective_mark(ew: ExamWorld) -> None:
    attempt = _attempt(ew)
    _objective_responses(ew, attempt, score=Decimal(0))
    single = Response.objects.get(
        attempt=attempt, paper_item__item_version__item__kind=ItemKind.SINGLE
    )
    with pytest.raises(InvalidInput) as exc:
        marking.mark_response(actor=ew.teacher, response=single, rubric_scores=[Decimal(3)])
    assert exc.value.errors[0].code == "OUT_OF_RANGE"
    response = marking.mark_response(actor=ew.teacher, response=single, rubric_scores=[Decimal(2)])
    assert response.score == Decimal("2.00")
    assert response.auto_marked is False
    attempt.refresh_from_db()
    assert attempt.score == Decimal("2.00")
    assert attempt.status == AttemptStatus.SUBMITTED  # the short answer is still unmarked
