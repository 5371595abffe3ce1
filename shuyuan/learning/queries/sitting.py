"""Reads of a student's sitting of an exam (在线考试): the exams of my classes, one attempt with
its questions in the attempt's own order (what a student may see: no answer key), and the
result of an attempt once the teacher has released the scores.

Always through ``visible_to``: an assessment is sat only by students of its class (``sit``),
an attempt is changed only by its student (``change``); a row the user may not see is
``NotFound``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound

from .. import conf
from ..exams import content
from ..models import (
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptStatus,
    PaperItem,
    Response,
)

#: Most exams the "My exams" page lists.
EXAMS_SHOWN = 200


def grace() -> dt.timedelta:
    """How long after an attempt's deadline answers are still accepted."""
    return dt.timedelta(seconds=int(conf.get("LEARNING_EXAM_GRACE_SECONDS")))


def is_expired(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """True if ``attempt`` is in progress and its deadline (plus the grace) has passed."""
    moment = now or timezone.now()
    return attempt.status == AttemptStatus.IN_PROGRESS and moment > attempt.deadline + grace()


# --- assessments --------------------------------------------------------------------------------


def access_assessment_to_sit(user: Any, pk: int) -> Assessment:
    """Assessment ``pk`` if ``user`` is a student of its class, else ``NotFound``."""
    found: Assessment | None = (
        Assessment.objects.visible_to(user, "sit")
        .select_related("paper", "class_org")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Exam not found."), code="ASSESSMENT_NOT_FOUND")
    return found


@dataclass
class ExamRow:
    """One exam on "My exams": where it stands for the student."""

    assessment: Assessment
    state: str  # "upcoming" | "open" | "done"
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def in_progress(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status == AttemptStatus.IN_PROGRESS), None)

    @property
    def attempts_left(self) -> int:
        return max(0, self.assessment.max_attempts - len(self.attempts))

    @property
    def last_attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def released(self) -> bool:
        return self.assessment.scores_released_at is not None


@dataclass
class MyExams:
    upcoming: list[ExamRow]
    open: list[ExamRow]
    done: list[ExamRow]


def my_exams(user: Any, now: dt.datetime | None = None) -> MyExams:
    """The published exams of ``user``'s classes with ``user``'s attempts: upcoming (not open
    yet), open (may be started or resumed), done (closed, or no attempts left). Two queries."""
    moment = now or timezone.now()
    mine: QuerySet[Attempt] = Attempt.objects.visible_to(user, "change").order_by("number")
    assessments: list[Assessment] = list(
        Assessment.objects.visible_to(user, "sit")
        .filter(status=AssessmentStatus.PUBLISHED)
        .select_related("class_org")
        .prefetch_related(Prefetch("attempts", queryset=mine, to_attr="my_attempts"))
        .order_by("closes_at", "pk")[:EXAMS_SHOWN]
    )
    found = MyExams([], [], [])
    for assessment in assessments:
        row = ExamRow(assessment, "done", list(getattr(assessment, "my_attempts", [])))
        if moment < assessment.opens_at:
            row.state = "upcoming"
            found.upcoming.append(row)
        elif (row.in_progress is not None and not is_expired(row.in_progress, moment)) or (
            assessment.is_open(moment) and row.attempts_left > 0
        ):
            row.state = "open"
            found.open.append(row)
        else:
            found.done.append(row)
    found.done.sort(key=lambda r: r.assessment.closes_at, reverse=True)
    return found


# --- attempts -----------------------------------------------------------------------------------


def access_attempt(user: Any, pk: int, action: str = "change") -> Attempt:
    """Attempt ``pk`` if ``user`` may ``action`` it (``change``: its student only), with its
    assessment joined; else ``NotFound``."""
    found: Attempt | None = (
        Attempt.objects.visible_to(user, action)
        .select_related("assessment", "assessment__paper", "assessment__class_org")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Attempt not found."), code="ATTEMPT_NOT_FOUND")
    return found


def attempt_for_task(attempt_id: int) -> Attempt | None:
    """Attempt ``attempt_id`` for a background task (no user: tasks act for the platform)."""
    found: Attempt | None = (
        Attempt.objects.select_related("assessment", "student").filter(pk=attempt_id).first()
    )
    return found


def paper_item_of(attempt: Attempt, paper_item_id: Any) -> PaperItem | None:
    """The question ``paper_item_id`` of ``attempt``'s paper (version joined), or None."""
    if not isinstance(paper_item_id, int) or isinstance(paper_item_id, bool):
        return None
    found: PaperItem | None = (
        PaperItem.objects.select_related("item_version", "item_version__item")
        .filter(pk=paper_item_id, paper_id=attempt.assessment.paper_id)
        .first()
    )
    return found


def paper_item_exists(paper_item_id: Any) -> bool:
    """True if a question ``paper_item_id`` exists on any paper (the answer log may name it)."""
    if not isinstance(paper_item_id, int) or isinstance(paper_item_id, bool):
        return False
    return PaperItem.objects.filter(pk=paper_item_id).exists()


def ordered_responses(attempt: Attempt) -> list[Response]:
    """``attempt``'s responses in the attempt's question order, question and item version
    joined (one query)."""
    responses = list(
        Response.objects.filter(attempt=attempt)
        .select_related("paper_item", "paper_item__item_version", "paper_item__item_version__item")
        .order_by("paper_item__position", "paper_item_id")
    )
    order = [int(pk) for pk in attempt.item_order or []]
    if order:
        rank = {pk: n for n, pk in enumerate(order)}
        responses.sort(key=lambda r: rank.get(r.paper_item_id, len(rank)))
    return responses


def _option_order(attempt: Attempt, paper_item_id: int) -> list[str] | None:
    orders = attempt.option_order or {}
    found = orders.get(str(paper_item_id))
    return [str(o) for o in found] if isinstance(found, list) else None


@dataclass
class Question:
    """One question as the sitting page shows it."""

    number: int
    response: Response
    kind: str
    view: dict[str, Any]  # content.student_view: no answer key
    points: Decimal

    @property
    def paper_item_id(self) -> int:
        return self.response.paper_item_id

    @property
    def answered(self) -> bool:
        return self.response.answer not in (None, "", [], {})

    # What the inputs show of the saved answer, per kind (for the template).

    @property
    def chosen(self) -> list[str]:
        """Chosen option ids (single, multiple) or ``["true"]`` / ``["false"]``."""
        answer = self.response.answer
        if isinstance(answer, bool):
            return ["true" if answer else "false"]
        if isinstance(answer, str):
            return [answer]
        return [str(a) for a in answer] if isinstance(answer, list) else []

    @property
    def text(self) -> str:
        """The typed answer (numeric, short answer)."""
        answer = self.response.answer
        return answer if isinstance(answer, str) else ""

    @property
    def blank_parts(self) -> list[tuple[str, int | None, str]]:
        """Fill in the blank: (text before, blank index or None after the last, its answer)."""
        answer = self.response.answer if isinstance(self.response.answer, list) else []
        segments = list(self.view.get("segments") or [""])
        blanks = int(self.view.get("blanks") or 0)
        while len(segments) < blanks + 1:
            segments.append("")
        parts: list[tuple[str, int | None, str]] = []
        for n, segment in enumerate(segments):
            if n < blanks:
                value = answer[n] if n < len(answer) and isinstance(answer[n], str) else ""
                parts.append((segment, n, value))
            else:
                parts.append(("".join(segments[n:]), None, ""))
                break
        return parts

    @property
    def match_rows(self) -> list[tuple[dict[str, Any], str]]:
        """Matching: each left option with the right option id chosen for it."""
        answer = self.response.answer if isinstance(self.response.answer, dict) else {}
        return [(o, str(answer.get(o["id"], ""))) for o in self.view.get("left") or []]

    @property
    def order_rows(self) -> list[tuple[int, str]]:
        """Ordering: each position (1 first) with the option id put there."""
        answer = self.response.answer if isinstance(self.response.answer, list) else []
        count = len(self.view.get("options") or [])
        return [(n + 1, str(answer[n]) if n < len(answer) else "") for n in range(count)]


def sitting_questions(attempt: Attempt) -> list[Question]:
    """The questions of ``attempt`` in its order, as the student sees them, each with the
    answer saved so far."""
    questions = []
    for number, response in enumerate(ordered_responses(attempt), start=1):
        version = response.paper_item.item_version
        kind = version.item.kind
        view = content.student_view(
            kind, version.stem, version.content, _option_order(attempt, response.paper_item_id)
        )
        questions.append(Question(number, response, kind, view, response.paper_item.points))
    return questions


@dataclass
class ResultRow:
    """One question of a released result."""

    number: int
    response: Response
    kind: str
    stem: str
    your_answer: str
    correct_answer: str
    explanation: str
    points: Decimal

    @property
    def marked(self) -> bool:
        return self.response.score is not None


def scores_released(attempt: Attempt) -> bool:
    """True if the student may see ``attempt``'s scores and the answer key."""
    return (
        attempt.status != AttemptStatus.IN_PROGRESS
        and attempt.assessment.scores_released_at is not None
    )


def result_rows(attempt: Attempt) -> list[ResultRow]:
    """Per question: the student's answer, the key, the score and feedback (only call it
    when ``scores_released``)."""
    rows = []
    for number, response in enumerate(ordered_responses(attempt), start=1):
        version = response.paper_item.item_version
        kind = version.item.kind
        key = content.correct_answer(kind, version.content)
        rows.append(
            ResultRow(
                number=number,
                response=response,
                kind=kind,
                stem=version.stem,
                your_answer=content.readable_answer(kind, version.content, response.answer),
                correct_answer=content.readable_answer(kind, version.content, key),
                explanation=version.explanation,
                points=response.paper_item.points,
            )
        )
    return rows
