"""Reads of marking (阅卷): the queue of responses waiting for a teacher, and one response to
mark. Always through ``visible_to``; a response the user may not see (or mark) is
``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound

from ..exams import content
from ..models import Assessment, Attempt, AttemptStatus, ItemKind, Response

#: Most answers one queue page lists.
QUEUE_MAX = 200

RESPONSE_RELATED = (
    "attempt",
    "attempt__assessment",
    "attempt__assessment__class_org",
    "attempt__assessment__paper",
    "attempt__student",
    "paper_item",
    "paper_item__item_version",
    "paper_item__item_version__item",
)


def access_response(user: Any, pk: int, action: str = "view") -> Response:
    """Response ``pk`` if ``user`` may ``action`` it (``view`` or ``mark``), else ``NotFound``;
    its attempt, assessment, student and item version joined."""
    found: Response | None = (
        Response.objects.visible_to(user, action)
        .select_related(*RESPONSE_RELATED)
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Answer not found."), code="RESPONSE_NOT_FOUND")
    return found


@dataclass
class QueueEntry:
    """One answer waiting for a teacher: the response (item version, attempt, assessment
    joined), the student's anonymous label ("Student 3") and, when names are shown, name."""

    response: Response
    label: str
    student_name: str = ""

    @property
    def answer(self) -> str:
        return answer_display(self.response)


def _needs_marking(user: Any) -> QuerySet[Response]:
    return Response.objects.visible_to(user, "mark").filter(
        paper_item__item_version__item__kind=ItemKind.SHORT_ANSWER,
        attempt__status=AttemptStatus.SUBMITTED,
        marked_at__isnull=True,
    )


def marking_queue(
    user: Any,
    assessment: Assessment | None = None,
    *,
    show_names: bool = False,
    limit: int = QUEUE_MAX,
) -> list[QueueEntry]:
    """Short answers of submitted attempts that ``user`` may mark and nobody has marked yet,
    oldest submission first (then paper order), with item version and the student's answer;
    students are "Student n" (numbered per assessment in the order they started) unless
    ``show_names``. Two queries whatever the length."""
    responses = _needs_marking(user)
    if assessment is not None:
        responses = responses.filter(attempt__assessment=assessment)
    rows = list(
        responses.select_related(*RESPONSE_RELATED).order_by(
            "attempt__submitted_at", "attempt_id", "paper_item__position", "pk"
        )[:limit]
    )
    labels = student_numbers({row.attempt.assessment_id for row in rows})
    return [
        QueueEntry(
            response=row,
            label=student_label(labels.get((row.attempt.assessment_id, row.attempt.student_id))),
            student_name=_name(row.attempt.student) if show_names else "",
        )
        for row in rows
    ]


def queue_count(user: Any, assessment: Assessment | None = None) -> int:
    """How many answers wait for ``user`` to mark (in ``assessment``, or all)."""
    responses = _needs_marking(user)
    if assessment is not None:
        responses = responses.filter(attempt__assessment=assessment)
    return responses.count()


def next_in_queue(user: Any, assessment: Assessment | None, after: Response) -> Response | None:
    """The first answer of the queue other than ``after`` (the one just marked or skipped),
    preferring those that come after it."""
    queue = [entry.response for entry in marking_queue(user, assessment)]
    others = [r for r in queue if r.pk != after.pk]
    if not others:
        return None
    ids = [r.pk for r in queue]
    if after.pk in ids:
        later = queue[ids.index(after.pk) + 1 :]
        if later:
            return later[0]
    return others[0]


def student_numbers(assessment_ids: set[int]) -> dict[tuple[int, int], int]:
    """``(assessment id, student id) -> n``: students numbered 1.. per assessment in the order
    they first started it (stable: later starters get later numbers). One query."""
    if not assessment_ids:
        return {}
    numbers: dict[tuple[int, int], int] = {}
    counters: dict[int, int] = {}
    rows = (
        Attempt.objects.filter(assessment_id__in=assessment_ids)
        .values_list("assessment_id", "student_id")
        .order_by("assessment_id", "started_at", "pk")
    )
    for assessment_id, student_id in rows:
        key = (assessment_id, student_id)
        if key not in numbers:
            counters[assessment_id] = counters.get(assessment_id, 0) + 1
            numbers[key] = counters[assessment_id]
    return numbers


def student_label(number: int | None) -> str:
    """ "Student 3" (or "Student" when unknown)."""
    if number is None:
        return _("Student")
    return _("Student %(number)d") % {"number": number}


def _name(student: Any) -> str:
    return str(getattr(student, "real_name", "") or student.username)


def answer_display(response: Response) -> str:
    """The student's answer as text: a short answer as written, any other kind in the
    xAPI response form (``A[,]B``)."""
    version = response.paper_item.item_version
    kind = version.item.kind
    if response.answer is None:
        return ""
    if kind == ItemKind.SHORT_ANSWER:
        return str(response.answer)
    return content.answer_text(kind, version.content or {}, response.answer)


@dataclass
class MarkingSheet:
    """What the marking page shows for one response."""

    response: Response
    label: str
    student_name: str
    kind: str
    stem: str
    points: Decimal
    rubric: list[dict[str, Any]]
    model_answer: str
    correct: Any
    answer: str
    rubric_scores: list[str] = field(default_factory=list)


def marking_sheet(user: Any, response: Response, *, show_names: bool = False) -> MarkingSheet:
    """The response with its question, rubric, model answer and the student's label."""
    version = response.paper_item.item_version
    kind = version.item.kind
    data: dict[str, Any] = version.content or {}
    attempt = response.attempt
    numbers = student_numbers({attempt.assessment_id})
    rubric = [r for r in data.get("rubric") or [] if isinstance(r, dict)]
    correct = None if kind == ItemKind.SHORT_ANSWER else content.correct_answer(kind, data)
    return MarkingSheet(
        response=response,
        label=student_label(numbers.get((attempt.assessment_id, attempt.student_id))),
        student_name=_name(attempt.student) if show_names else "",
        kind=kind,
        stem=version.stem,
        points=Decimal(response.paper_item.points),
        rubric=rubric if kind == ItemKind.SHORT_ANSWER else [],
        model_answer=str(data.get("model_answer") or ""),
        correct=None if correct is None else content.answer_text(kind, data, correct),
        answer=answer_display(response),
        rubric_scores=[str(s) for s in response.rubric_scores or []],
    )
