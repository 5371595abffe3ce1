"""Writes of marking (阅卷): a teacher marks one response against its rubric, and an attempt's
score is recomputed from its responses.

``score_attempt`` is not an actor action: sitting calls it after auto-marking objective
responses on submit, and ``mark_response`` calls it after a teacher's mark; both call it
inside their own transaction. An attempt becomes ``marked`` once every question of its paper
has a marked response (a question with no response row counts as 0 marks, marked).

``Response`` is not change-logged, so a teacher's mark writes the audit event
``learning.response.marked`` (old and new score) in the same transaction.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.errors import Conflict, invalid

from ..models import Attempt, AttemptStatus, ItemKind, PaperItem, Response
from ..models.exams import EXPLANATION_MAX
from ..queries import marking as queries

CENT = Decimal("0.01")


def score_attempt(attempt: Attempt) -> None:
    """Recompute ``attempt.score`` (sum of its responses' scores) and ``max_score`` (sum of the
    paper's points); a submitted attempt whose every paper question has a marked response (a
    missing response counts as 0, marked) becomes ``marked`` with ``marked_at``.

    Runs inside the caller's transaction; saves only ``score``, ``max_score``, ``status`` and
    ``marked_at``. An attempt still in progress keeps its status.
    """
    paper_id = attempt.assessment.paper_id
    paper_items = list(
        PaperItem.objects.filter(paper_id=paper_id).values_list("pk", "points").order_by()
    )
    max_score = sum((points for _pk, points in paper_items), Decimal(0))
    responses = list(
        Response.objects.filter(attempt=attempt).values_list("paper_item_id", "score", "marked_at")
    )
    score = sum((s for _pi, s, _m in responses if s is not None), Decimal(0))
    unmarked = {pi for pi, s, marked_at in responses if s is None or marked_at is None}
    complete = not any(pk in unmarked for pk, _points in paper_items)
    fields = ["score", "max_score"]
    attempt.score = score.quantize(CENT)
    attempt.max_score = max_score.quantize(CENT)
    if attempt.status in {AttemptStatus.SUBMITTED, AttemptStatus.MARKED}:
        if complete:
            if attempt.status != AttemptStatus.MARKED or attempt.marked_at is None:
                attempt.status = AttemptStatus.MARKED
                attempt.marked_at = timezone.now()
                fields += ["status", "marked_at"]
        elif attempt.status == AttemptStatus.MARKED:
            attempt.status = AttemptStatus.SUBMITTED
            attempt.marked_at = None
            fields += ["status", "marked_at"]
    attempt.save(update_fields=fields)


def _decimal(field_name: str, value: Any) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid(field_name, "NOT_A_NUMBER", _("Enter a number.")) from None
    if not number.is_finite():
        raise invalid(field_name, "NOT_A_NUMBER", _("Enter a number."))
    return number


def rubric_of(kind: str, content: dict[str, Any]) -> list[dict[str, Any]]:
    """The rubric criteria of a short-answer item (``[]`` for other kinds)."""
    if kind != ItemKind.SHORT_ANSWER:
        return []
    rubric = content.get("rubric") or []
    return [r for r in rubric if isinstance(r, dict)]


def mark_response(
    *,
    actor: Any,
    response: Response,
    rubric_scores: list[Decimal],
    feedback: str = "",
    source: str = "ui",
) -> Response:
    """Mark one response of a submitted attempt and rescore the attempt.

    For a short-answer question ``rubric_scores`` holds one score per rubric criterion (each
    0..the criterion's points); the response's score is the question's points x awarded /
    rubric points, rounded to 0.01. For any other question (a teacher overriding the automatic
    mark) ``rubric_scores`` is ``[score]`` with 0 <= score <= the question's points.

    Raises ``NotFound`` unless ``actor`` may mark the attempt; ``Conflict``
    (``ATTEMPT_NOT_SUBMITTED``) while the attempt is in progress; ``InvalidInput`` for a wrong
    number of scores (``RUBRIC_MISMATCH``), a score out of range (``OUT_OF_RANGE``) or feedback
    over the limit. Writes the audit event ``learning.response.marked``.
    """
    del source  # Response is not change-logged; the audit event records the actor.
    response = queries.access_response(actor, response.pk, "mark")
    attempt = response.attempt
    if attempt.status == AttemptStatus.IN_PROGRESS:
        raise Conflict(
            _("The student has not submitted this attempt yet."), code="ATTEMPT_NOT_SUBMITTED"
        )
    text = (feedback or "").replace("\r\n", "\n").strip()
    if len(text) > EXPLANATION_MAX:
        raise invalid(
            "feedback",
            "TOO_LONG",
            _("At most %(limit)d characters are allowed.") % {"limit": EXPLANATION_MAX},
        )
    paper_item = response.paper_item
    version = paper_item.item_version
    points = Decimal(paper_item.points)
    rubric = rubric_of(version.item.kind, version.content or {})
    scores = [_decimal(f"rubric_scores[{i}]", s) for i, s in enumerate(rubric_scores)]
    if rubric:
        if len(scores) != len(rubric):
            raise invalid(
                "rubric_scores",
                "RUBRIC_MISMATCH",
                _("Give one score for each of the %(count)d criteria.") % {"count": len(rubric)},
            )
        total = Decimal(0)
        for i, (score, criterion) in enumerate(zip(scores, rubric, strict=True)):
            limit = _decimal(f"rubric_scores[{i}]", criterion.get("points", 0))
            if score < 0 or score > limit:
                raise invalid(
                    f"rubric_scores[{i}]",
                    "OUT_OF_RANGE",
                    _("Give between 0 and %(max)s points for this criterion.")
                    % {"max": _plain(limit)},
                )
            total += limit
        awarded = sum(scores, Decimal(0))
        value = (points * awarded / total) if total > 0 else Decimal(0)
        stored_rubric: list[str] = [str(s) for s in scores]
    else:
        if len(scores) != 1:
            raise invalid(
                "rubric_scores", "RUBRIC_MISMATCH", _("Give one score for this question.")
            )
        value = scores[0]
        if value < 0 or value > points:
            raise invalid(
                "rubric_scores[0]",
                "OUT_OF_RANGE",
                _("Give between 0 and %(max)s points for this question.") % {"max": _plain(points)},
            )
        stored_rubric = []
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    old = response.score
    now = timezone.now()
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update().select_related("assessment").get(pk=attempt.pk)
        )
        response.score = value
        response.rubric_scores = stored_rubric
        response.feedback = text
        response.auto_marked = False
        response.marked_by = actor
        response.marked_at = now
        response.save(
            update_fields=[
                "score",
                "rubric_scores",
                "feedback",
                "auto_marked",
                "marked_by",
                "marked_at",
            ]
        )
        score_attempt(attempt)
        record_audit(
            "learning.response.marked",
            actor=actor,
            subject=response,
            org_path=attempt.assessment.class_org.path,
            extra={
                "attempt": attempt.pk,
                "paper_item": paper_item.pk,
                "old_score": None if old is None else str(old),
                "new_score": str(value),
            },
        )
    response.attempt = attempt
    return response


def _plain(value: Decimal) -> str:
    """``2`` for 2.00, ``1.5`` for 1.50 (for messages)."""
    return format(value.normalize(), "f")
