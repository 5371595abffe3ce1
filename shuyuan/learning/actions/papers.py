"""Writes of papers (试卷) and assessments: a teacher builds a paper by hand or from a
blueprint, publishes it to a class as an assessment, cancels it, and releases the scores.

Rules (see ``learning.permissions``): a paper belongs to a school inside its author's teaching
scope and only its author changes it; a question is the *current version* of an active bank
item the author may see, at most once per paper. Once any assessment uses a paper, the paper is
frozen (``Conflict`` ``PAPER_PUBLISHED``): students' answers are marked against exactly those
versions and points, so a teacher copies the paper (``copy_paper``) to change it. An assessment
goes only to a class the publisher teaches in; its scores are released only when every
submitted attempt is fully marked (``Conflict`` ``MARKING_INCOMPLETE``).

Papers, questions and assessments are change-logged (every write opens ``change_context``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shuyuan.core.context import change_context
from shuyuan.core.errors import Conflict, PermissionDenied, invalid
from shuyuan.core.models import Org, OrgKind
from shuyuan.resources.models import KnowledgePoint, Subject

from .. import permissions
from ..models import (
    Assessment,
    AssessmentStatus,
    Difficulty,
    Item,
    ItemStatus,
    Paper,
    PaperItem,
)
from ..models.exams import EXPLANATION_MAX, TITLE_MAX
from ..queries import papers as queries
from .checks import check_class as _check_class
from .checks import checked_text as _text

#: Most questions one paper holds.
PAPER_ITEMS_MAX = 200
#: Most questions one blueprint row asks for.
BLUEPRINT_COUNT_MAX = 50
#: Most points one question is worth.
POINTS_MAX = Decimal(1000)
ATTEMPTS_MAX = 10
DURATION_MAX = 600
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class BlueprintRow:
    """One row of a blueprint: ``count`` questions about ``knowledge_point`` at
    ``difficulty`` (``Difficulty``), each worth ``points``."""

    knowledge_point: KnowledgePoint
    difficulty: int
    count: int
    points: Decimal


def _points(field_name: str, value: Any) -> Decimal:
    """``value`` as points: a number > 0 and <= ``POINTS_MAX`` with at most 2 decimals."""
    try:
        points = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid(field_name, "NOT_A_NUMBER", _("Enter a number.")) from None
    if not points.is_finite() or points <= 0 or points > POINTS_MAX:
        raise invalid(
            field_name,
            "OUT_OF_RANGE",
            _("Points must be more than 0 and at most %(max)d.") % {"max": POINTS_MAX},
        )
    if points != points.quantize(_CENT):
        raise invalid(field_name, "TOO_PRECISE", _("Use at most two decimals."))
    return points.quantize(_CENT)


def _check_school(actor: Any, org: Org) -> None:
    """A paper belongs to a school inside the actor's teaching scope."""
    if org.kind != OrgKind.SCHOOL:
        raise invalid("org", "NOT_A_SCHOOL", _("Choose a school."))
    if not any(org.path.startswith(p) for p in permissions.teaching_paths(actor)):
        raise PermissionDenied(_("You do not teach at this school."))


def _editable(actor: Any, paper: Paper) -> Paper:
    """``paper`` for a change by ``actor``: ``NotFound`` unless they may change it,
    ``Conflict`` once it is published."""
    paper = queries.access_paper(actor, paper.pk, "change")
    if queries.is_published(paper):
        raise Conflict(
            _("This paper has been published and can no longer be changed. Copy it instead."),
            code="PAPER_PUBLISHED",
        )
    return paper


def _touch(paper: Paper) -> None:
    paper.updated_at = timezone.now()
    paper.save(update_fields=["updated_at"])


def _renumber(paper: Paper) -> None:
    rows = list(PaperItem.objects.filter(paper=paper).order_by("position", "pk"))
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position
            row.save(update_fields=["position"])


# --- papers -------------------------------------------------------------------------------------


def create_paper(
    *,
    actor: Any,
    org: Org,
    subject: Subject | None,
    title: str,
    instructions: str = "",
    source: str = "ui",
) -> Paper:
    """A new, empty paper of ``actor`` in school ``org``.

    Raises ``InvalidInput`` for a missing title, text over the limits or an org that is not a
    school; ``PermissionDenied`` unless ``actor`` teaches at the school.
    """
    title = _text("title", title, TITLE_MAX, required=True)
    instructions = _text("instructions", instructions, EXPLANATION_MAX)
    _check_school(actor, org)
    with transaction.atomic(), change_context(actor=actor, source=source):
        paper = Paper(
            org=org, subject=subject, title=title, instructions=instructions, created_by=actor
        )
        paper.save(force_insert=True)
    return paper


def update_paper(
    *, actor: Any, paper: Paper, title: str, instructions: str = "", source: str = "ui"
) -> Paper:
    """Change a paper's title and instructions (allowed after publishing: marks stay)."""
    paper = queries.access_paper(actor, paper.pk, "change")
    paper.title = _text("title", title, TITLE_MAX, required=True)
    paper.instructions = _text("instructions", instructions, EXPLANATION_MAX)
    paper.updated_at = timezone.now()
    with transaction.atomic(), change_context(actor=actor, source=source):
        paper.save(update_fields=["title", "instructions", "updated_at"])
    return paper


def copy_paper(*, actor: Any, paper: Paper, source: str = "ui") -> Paper:
    """A new paper of ``actor`` with the same questions (the same item versions), points,
    instructions and blueprint as ``paper``, which ``actor`` may see. It lives in the same
    school if ``actor`` teaches there, else in the first school of their teaching scope.

    Raises ``NotFound`` if ``actor`` cannot see ``paper``; ``PermissionDenied`` if ``actor``
    teaches at no school.
    """
    paper = queries.access_paper(actor, paper.pk)
    org: Org | None = paper.org
    schools = queries.paper_schools(actor)
    if org is None or not schools.filter(pk=org.pk).exists():
        org = schools.first()
    if org is None:
        raise PermissionDenied(_("You do not teach at a school."))
    title = (_("%(title)s (copy)") % {"title": paper.title})[:TITLE_MAX]
    items = list(PaperItem.objects.filter(paper=paper).order_by("position", "pk"))
    with transaction.atomic(), change_context(actor=actor, source=source):
        copy = Paper(
            org=org,
            subject=paper.subject,
            title=title,
            instructions=paper.instructions,
            blueprint=paper.blueprint,
            created_by=actor,
        )
        copy.save(force_insert=True)
        for position, item in enumerate(items):
            PaperItem(
                paper=copy,
                item_version_id=item.item_version_id,
                position=position,
                points=item.points,
            ).save(force_insert=True)
    return copy


def _bank_item(actor: Any, item: Item) -> Item:
    item = queries.access_bank_item(actor, item.pk)
    if item.status != ItemStatus.ACTIVE or item.current_version_id is None:
        raise Conflict(_("This item is retired and cannot be added."), code="ITEM_RETIRED")
    return item


def add_paper_item(
    *, actor: Any, paper: Paper, item: Item, points: Any, source: str = "ui"
) -> PaperItem:
    """Append the current version of bank ``item`` to ``paper``, worth ``points``.

    Raises ``NotFound`` if ``actor`` may not change the paper or see the item; ``Conflict``
    if the paper is published (``PAPER_PUBLISHED``), the item is retired (``ITEM_RETIRED``) or
    already on the paper (``DUPLICATE``); ``InvalidInput`` for bad points or a full paper.
    """
    paper = _editable(actor, paper)
    item = _bank_item(actor, item)
    value = _points("points", points)
    with transaction.atomic(), change_context(actor=actor, source=source):
        rows = PaperItem.objects.filter(paper=paper)
        if rows.filter(item_version__item=item).exists():
            raise Conflict(_("This item is already on the paper."), code="DUPLICATE")
        if rows.count() >= PAPER_ITEMS_MAX:
            raise invalid(
                "item",
                "TOO_MANY",
                _("A paper holds at most %(limit)d questions.") % {"limit": PAPER_ITEMS_MAX},
            )
        last = rows.aggregate(last=Max("position"))["last"]
        row = PaperItem(
            paper=paper,
            item_version_id=int(item.current_version_id or 0),
            position=0 if last is None else last + 1,
            points=value,
        )
        row.save(force_insert=True)
        _touch(paper)
    return row


def remove_paper_item(
    *, actor: Any, paper: Paper, paper_item: PaperItem, source: str = "ui"
) -> None:
    """Take a question off an unpublished paper (the rest close up)."""
    paper = _editable(actor, paper)
    paper_item = queries.access_paper_item(actor, paper, paper_item.pk)
    with transaction.atomic(), change_context(actor=actor, source=source):
        paper_item.delete()
        _renumber(paper)
        _touch(paper)


def move_paper_item(
    *, actor: Any, paper: Paper, paper_item: PaperItem, direction: str, source: str = "ui"
) -> None:
    """Swap a question with the one before (``"up"``) or after (``"down"``) it."""
    if direction not in {"up", "down"}:
        raise invalid("direction", "INVALID_CHOICE", _("Move a question up or down."))
    paper = _editable(actor, paper)
    paper_item = queries.access_paper_item(actor, paper, paper_item.pk)
    rows = list(PaperItem.objects.filter(paper=paper).order_by("position", "pk"))
    index = next(i for i, row in enumerate(rows) if row.pk == paper_item.pk)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(rows):
        return
    rows[index], rows[target] = rows[target], rows[index]
    with transaction.atomic(), change_context(actor=actor, source=source):
        for position, row in enumerate(rows):
            if row.position != position:
                row.position = position
                row.save(update_fields=["position"])
        _touch(paper)


def set_points(
    *, actor: Any, paper: Paper, paper_item: PaperItem, points: Any, source: str = "ui"
) -> PaperItem:
    """Change what a question of an unpublished paper is worth."""
    paper = _editable(actor, paper)
    paper_item = queries.access_paper_item(actor, paper, paper_item.pk)
    value = _points("points", points)
    if paper_item.points != value:
        paper_item.points = value
        with transaction.atomic(), change_context(actor=actor, source=source):
            paper_item.save(update_fields=["points"])
            _touch(paper)
    return paper_item


def _row_label(number: int, row: BlueprintRow) -> dict[str, Any]:
    return {
        "number": number,
        "point": row.knowledge_point.name,
        "difficulty": str(Difficulty(row.difficulty).label).lower(),
    }


def assemble_from_blueprint(
    *,
    actor: Any,
    paper: Paper,
    rows: Sequence[BlueprintRow],
    seed: int | None = None,
    source: str = "ui",
) -> list[PaperItem]:
    """Add questions drawn at random from the bank, row by row: ``count`` active items that
    ``actor`` may see, tagged to the row's knowledge point at its difficulty, not on the paper
    yet and not drawn by an earlier row, each worth the row's points (current versions). The
    rows are appended to ``Paper.blueprint``. All or nothing: a row the bank cannot fill
    raises ``InvalidInput`` (``rows[i]``, ``NOT_ENOUGH_ITEMS``) naming the row, and nothing is
    added. ``seed`` makes the draw repeatable.

    Also raises ``NotFound``/``Conflict`` as ``add_paper_item`` and ``InvalidInput`` for an
    empty blueprint, a bad difficulty, count or points.
    """
    paper = _editable(actor, paper)
    if not rows:
        raise invalid("rows", "REQUIRED", _("Add at least one row to the blueprint."))
    checked: list[tuple[BlueprintRow, Decimal]] = []
    for index, row in enumerate(rows):
        if row.difficulty not in Difficulty.values:
            raise invalid(f"rows[{index}].difficulty", "INVALID_CHOICE", _("Choose a difficulty."))
        if not 1 <= row.count <= BLUEPRINT_COUNT_MAX:
            raise invalid(
                f"rows[{index}].count",
                "OUT_OF_RANGE",
                _("Ask for 1 to %(max)d questions.") % {"max": BLUEPRINT_COUNT_MAX},
            )
        point = queries.access_blueprint_point(actor, row.knowledge_point.pk)
        row = BlueprintRow(point, row.difficulty, row.count, row.points)
        checked.append((row, _points(f"rows[{index}].points", row.points)))
    rng = random.Random(seed)  # noqa: S311  # drawing questions, not a secret
    with transaction.atomic(), change_context(actor=actor, source=source):
        on_paper = set(queries.paper_item_ids(paper))
        taken: set[int] = set()
        drawn: list[tuple[Item, Decimal]] = []
        for index, (row, points) in enumerate(checked):
            pool = list(
                queries.bank_items(actor)
                .filter(tags__knowledge_point=row.knowledge_point, difficulty=row.difficulty)
                .exclude(pk__in=on_paper | taken)
                .distinct()
                .order_by("pk")
                .only("pk", "current_version_id")
            )
            if len(pool) < row.count:
                raise invalid(
                    f"rows[{index}]",
                    "NOT_ENOUGH_ITEMS",
                    ngettext(
                        "Row %(number)d (%(point)s, %(difficulty)s): the bank has %(have)d "
                        "item, %(asked)d asked.",
                        "Row %(number)d (%(point)s, %(difficulty)s): the bank has %(have)d "
                        "items, %(asked)d asked.",
                        len(pool),
                    )
                    % {**_row_label(index + 1, row), "have": len(pool), "asked": row.count},
                )
            picked = rng.sample(pool, row.count)
            taken.update(item.pk for item in picked)
            drawn.extend((item, points) for item in picked)
        count = PaperItem.objects.filter(paper=paper).count()
        if count + len(drawn) > PAPER_ITEMS_MAX:
            raise invalid(
                "rows",
                "TOO_MANY",
                _("A paper holds at most %(limit)d questions.") % {"limit": PAPER_ITEMS_MAX},
            )
        last = PaperItem.objects.filter(paper=paper).aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
        added: list[PaperItem] = []
        for item, points in drawn:
            row_item = PaperItem(
                paper=paper,
                item_version_id=int(item.current_version_id or 0),
                position=position,
                points=points,
            )
            row_item.save(force_insert=True)
            added.append(row_item)
            position += 1
        paper.blueprint = [
            *(paper.blueprint or []),
            *(
                {
                    "knowledge_point": row.knowledge_point.code,
                    "knowledge_point_name": row.knowledge_point.name,
                    "difficulty": row.difficulty,
                    "count": row.count,
                    "points": str(points),
                }
                for row, points in checked
            ),
        ]
        paper.updated_at = timezone.now()
        paper.save(update_fields=["blueprint", "updated_at"])
    return added


# --- assessments --------------------------------------------------------------------------------


def publish_assessment(
    *,
    actor: Any,
    paper: Paper,
    class_org: Org,
    title: str,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    duration_minutes: int | None,
    max_attempts: int | None,
    shuffle_items: bool,
    shuffle_options: bool,
    source: str = "ui",
) -> Assessment:
    """Publish ``paper`` (the actor's own) to ``class_org`` as an assessment; the paper is
    frozen from now on.

    Raises ``NotFound`` unless ``actor`` may change the paper; ``PermissionDenied`` unless
    ``actor`` teaches the class; ``InvalidInput`` for an empty paper (``EMPTY_PAPER``), a
    missing title, a window that closes before it opens or in the past, attempts outside
    1..10 or a time limit outside 1..600 minutes.
    """
    paper = queries.access_paper(actor, paper.pk, "change")
    title = _text("title", title or paper.title, TITLE_MAX, required=True)
    if opens_at is None:
        raise invalid("opens_at", "REQUIRED", _("This field is required."))
    if closes_at is None:
        raise invalid("closes_at", "REQUIRED", _("This field is required."))
    if closes_at <= opens_at:
        raise invalid("closes_at", "BEFORE_OPENING", _("The exam must close after it opens."))
    if closes_at <= timezone.now():
        raise invalid("closes_at", "IN_THE_PAST", _("The closing time must be in the future."))
    if max_attempts is None or not 1 <= max_attempts <= ATTEMPTS_MAX:
        raise invalid(
            "max_attempts",
            "OUT_OF_RANGE",
            _("Allow 1 to %(max)d attempts.") % {"max": ATTEMPTS_MAX},
        )
    if duration_minutes is not None and not 1 <= duration_minutes <= DURATION_MAX:
        raise invalid(
            "duration_minutes",
            "OUT_OF_RANGE",
            _("The time limit is 1 to %(max)d minutes, or empty.") % {"max": DURATION_MAX},
        )
    _check_class(actor, class_org)
    if not PaperItem.objects.filter(paper=paper).exists():
        raise invalid("paper", "EMPTY_PAPER", _("Add questions to the paper before publishing."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        assessment = Assessment(
            paper=paper,
            class_org=class_org,
            title=title,
            opens_at=opens_at,
            closes_at=closes_at,
            duration_minutes=duration_minutes,
            max_attempts=max_attempts,
            shuffle_items=bool(shuffle_items),
            shuffle_options=bool(shuffle_options),
            published_by=actor,
        )
        assessment.save(force_insert=True)
    return assessment


def _managed(actor: Any, assessment: Assessment) -> Assessment:
    """``assessment`` for a change by its publisher: ``NotFound`` if invisible,
    ``PermissionDenied`` if visible but not theirs to change."""
    assessment = queries.access_assessment(actor, assessment.pk)
    if not queries.can_manage_assessment(actor, assessment):
        raise PermissionDenied(_("Only the teacher who published this exam can do this."))
    return assessment


def cancel_assessment(*, actor: Any, assessment: Assessment, source: str = "ui") -> Assessment:
    """Cancel an assessment: students can no longer start or continue it (idempotent)."""
    assessment = _managed(actor, assessment)
    if assessment.status != AssessmentStatus.CANCELLED:
        assessment.status = AssessmentStatus.CANCELLED
        with transaction.atomic(), change_context(actor=actor, source=source):
            assessment.save(update_fields=["status"])
    return assessment


def release_scores(*, actor: Any, assessment: Assessment, source: str = "ui") -> Assessment:
    """Show students their scores (sets ``scores_released_at``; idempotent).

    Raises ``Conflict`` (``MARKING_INCOMPLETE``) while any submitted attempt has answers
    still to mark.
    """
    assessment = _managed(actor, assessment)
    if assessment.scores_released_at is not None:
        return assessment
    with transaction.atomic(), change_context(actor=actor, source=source):
        waiting = queries.unmarked_attempts(assessment)
        if waiting:
            raise Conflict(
                ngettext(
                    "Marking is not finished: %(count)d submitted attempt still has answers "
                    "to mark.",
                    "Marking is not finished: %(count)d submitted attempts still have answers "
                    "to mark.",
                    waiting,
                )
                % {"count": waiting},
                code="MARKING_INCOMPLETE",
            )
        assessment.scores_released_at = timezone.now()
        assessment.save(update_fields=["scores_released_at"])
    return assessment


def withhold_scores(*, actor: Any, assessment: Assessment, source: str = "ui") -> Assessment:
    """Hide released scores from students again (idempotent)."""
    assessment = _managed(actor, assessment)
    if assessment.scores_released_at is not None:
        assessment.scores_released_at = None
        with transaction.atomic(), change_context(actor=actor, source=source):
            assessment.save(update_fields=["scores_released_at"])
    return assessment
