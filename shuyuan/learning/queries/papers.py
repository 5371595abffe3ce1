"""Reads of papers (试卷) and assessments: a teacher's papers and colleagues', one paper with
its questions, the bank items to add, the knowledge points a blueprint may ask for, the
classes a paper may be published to, and an assessment's attempts with focus-loss logs and
marking progress. Always through ``visible_to``; invisible rows are ``NotFound``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org, OrgKind
from shuyuan.identity.queries import role_paths
from shuyuan.resources.models import KnowledgePoint, Subject

from .. import permissions
from ..exams import content
from ..models import (
    Assessment,
    Attempt,
    AttemptStatus,
    FocusEvent,
    FocusEventKind,
    Item,
    ItemKind,
    ItemStatus,
    ItemTag,
    Paper,
    PaperItem,
    Response,
)
from . import items as item_queries
from . import spaces as space_queries

#: Focus events that mean the student left the exam (counted on the teacher's page).
FOCUS_LOSS = (FocusEventKind.BLUR, FocusEventKind.HIDDEN, FocusEventKind.OFFLINE)
FOUND_MAX = 20


# --- papers -------------------------------------------------------------------------------------


def list_papers(user: Any) -> QuerySet[Paper]:
    """Papers ``user`` may see (their own, colleagues' in their schools, administered ones),
    most recently edited first, with question count, total points and assessment count."""
    published = Assessment.objects.filter(paper=OuterRef("pk"))
    return (
        Paper.objects.visible_to(user)
        .select_related("org", "subject", "created_by")
        .annotate(
            item_count=Count("items", distinct=True),
            total_points=Sum("items__points"),
            is_published=Exists(published),
        )
        .order_by("-updated_at", "-pk")
    )


def access_paper(user: Any, pk: int, action: str = "view") -> Paper:
    """Paper ``pk`` if ``user`` may ``action`` it; else ``NotFound``."""
    found: Paper | None = (
        Paper.objects.visible_to(user, action)
        .select_related("org", "subject", "created_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Paper not found."), code="PAPER_NOT_FOUND")
    return found


def can_change_paper(user: Any, paper: Paper) -> bool:
    """True if ``user`` may change ``paper`` (its author, while teaching there)."""
    return Paper.objects.visible_to(user, "change").filter(pk=paper.pk).exists()


def is_published(paper: Paper) -> bool:
    """True once any assessment (even a cancelled one) uses ``paper``: it is then frozen."""
    return Assessment.objects.filter(paper=paper).exists()


def paper_items(user: Any, paper: Paper) -> list[PaperItem]:
    """The questions of ``paper`` in order, with item version, item and knowledge points
    (``item_version.item.tag_list``); three queries."""
    tags = Prefetch(
        "item_version__item__tags",
        queryset=ItemTag.objects.select_related("knowledge_point").order_by("pk"),
        to_attr="tag_list",
    )
    return list(
        PaperItem.objects.visible_to(user)
        .filter(paper=paper)
        .select_related("item_version", "item_version__item")
        .prefetch_related(tags)
        .order_by("position", "pk")
    )


def access_paper_item(user: Any, paper: Paper, pk: int) -> PaperItem:
    """Question ``pk`` of ``paper``; else ``NotFound``."""
    found: PaperItem | None = (
        PaperItem.objects.visible_to(user)
        .filter(paper=paper, pk=pk)
        .select_related("item_version", "item_version__item")
        .first()
    )
    if found is None:
        raise NotFound(_("Question not found."), code="PAPER_ITEM_NOT_FOUND")
    return found


def paper_totals(paper: Paper) -> tuple[int, Decimal]:
    """(number of questions, total points) of ``paper``."""
    row = PaperItem.objects.filter(paper=paper).aggregate(n=Count("pk"), total=Sum("points"))
    return int(row["n"] or 0), Decimal(row["total"] or 0)


def paper_assessments(user: Any, paper: Paper) -> QuerySet[Assessment]:
    """Assessments of ``paper`` that ``user`` may see, newest window first."""
    return (
        Assessment.objects.visible_to(user)
        .filter(paper=paper)
        .select_related("class_org")
        .order_by("-opens_at", "-pk")
    )


def paper_schools(user: Any) -> QuerySet[Org]:
    """Schools ``user`` may keep papers in: schools inside their teaching scope."""
    paths = permissions.teaching_paths(user)
    if not paths:
        return Org.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Org.objects.filter(condition, kind=OrgKind.SCHOOL, is_active=True).order_by("path")


def subjects(user: Any) -> QuerySet[Subject]:
    """Subjects a paper may be about."""
    return Subject.objects.visible_to(user).order_by("order", "code")


# --- the bank, for adding questions ------------------------------------------------------------


def bank_items(user: Any) -> QuerySet[Item]:
    """Active items with content that ``user`` may see (the pool questions come from)."""
    return Item.objects.visible_to(user).filter(
        status=ItemStatus.ACTIVE, current_version__isnull=False
    )


def access_bank_item(user: Any, pk: int) -> Item:
    """Item ``pk`` if ``user`` may see it (any status); else ``NotFound``."""
    found: Item | None = (
        Item.objects.visible_to(user).select_related("current_version").filter(pk=pk).first()
    )
    if found is None:
        raise NotFound(_("Item not found."), code="ITEM_NOT_FOUND")
    return found


def find_items(
    user: Any,
    *,
    q: str = "",
    knowledge_point: int | None = None,
    difficulty: int | None = None,
    kind: str = "",
    exclude_paper: Paper | None = None,
    limit: int = FOUND_MAX,
) -> list[Item]:
    """Active bank items with content matching the search (stem text, knowledge point,
    difficulty, kind), not already on ``exclude_paper``; with current version and tags (the
    bank's own ``queries.items.list_items``)."""
    items = item_queries.list_items(
        user,
        q=q,
        kind=kind or None,
        difficulty=difficulty or None,
        knowledge_point=knowledge_point or None,
    ).filter(current_version__isnull=False)
    if exclude_paper is not None:
        items = items.exclude(pk__in=paper_item_ids(exclude_paper))
    return list(items[:limit])


def paper_item_ids(paper: Paper) -> QuerySet[PaperItem, int]:
    """Ids of the items (any version) on ``paper`` (a subquery)."""
    return PaperItem.objects.filter(paper=paper).values_list("item_version__item_id", flat=True)


def blueprint_points(user: Any) -> QuerySet[KnowledgePoint]:
    """Knowledge points that active items ``user`` may see are tagged to."""
    used = ItemTag.objects.filter(item__in=bank_items(user).values("pk")).values(
        "knowledge_point_id"
    )
    return KnowledgePoint.objects.filter(pk__in=used).order_by("code")


def access_blueprint_point(user: Any, pk: int) -> KnowledgePoint:
    """A knowledge point of ``blueprint_points``; else ``NotFound``."""
    found: KnowledgePoint | None = blueprint_points(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Knowledge point not found."), code="KNOWLEDGE_POINT_NOT_FOUND")
    return found


# --- assessments --------------------------------------------------------------------------------


def publish_classes(user: Any) -> QuerySet[Org]:
    """Classes ``user`` may publish to: every class inside their teaching scope (this covers
    the classes they teach, ``permissions.taught_class_ids``)."""
    return space_queries.teaching_classes(user)


def access_publish_class(user: Any, pk: int) -> Org:
    """A class of ``publish_classes``; any other org is ``NotFound``."""
    found: Org | None = publish_classes(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Class not found."), code="CLASS_NOT_FOUND")
    return found


def list_assessments(user: Any) -> QuerySet[Assessment]:
    """Assessments ``user`` published or may mark (teachers of the class's school)."""
    teaching = permissions.teaching_paths(user)
    condition = Q(published_by=user.pk)
    for path in teaching:
        condition |= Q(class_org__path__startswith=path)
    return (
        Assessment.objects.visible_to(user)
        .filter(condition)
        .select_related("class_org", "paper")
        .order_by("-opens_at", "-pk")
    )


def access_assessment(user: Any, pk: int, action: str = "view") -> Assessment:
    """Assessment ``pk`` if ``user`` may ``action`` it; else ``NotFound``."""
    found: Assessment | None = (
        Assessment.objects.visible_to(user, action)
        .select_related("class_org", "paper", "published_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Assessment not found."), code="ASSESSMENT_NOT_FOUND")
    return found


def can_manage_assessment(user: Any, assessment: Assessment) -> bool:
    """True if ``user`` may change ``assessment`` (its publisher, while teaching there)."""
    return Assessment.objects.visible_to(user, "change").filter(pk=assessment.pk).exists()


def can_mark_assessment(user: Any, assessment: Assessment) -> bool:
    """True if ``user`` may see the attempts of ``assessment`` as a marker."""
    return any(assessment.class_org.path.startswith(p) for p in permissions.teaching_paths(user))


@dataclass
class AttemptRow:
    """One attempt on the teacher's page: the attempt, focus losses, unmarked answers."""

    attempt: Attempt
    focus_losses: int
    unmarked: int
    events: list[FocusEvent] = field(default_factory=list)


@dataclass
class AssessmentOverview:
    """The teacher's view of an assessment."""

    rows: list[AttemptRow]
    class_size: int
    not_started: list[Any]
    started: int
    submitted: int
    marked: int
    unmarked_answers: int

    @property
    def awaiting(self) -> int:
        return self.submitted - self.marked


def assessment_overview(user: Any, assessment: Assessment) -> AssessmentOverview:
    """Attempts of ``assessment`` that ``user`` may see (student joined), each with its focus
    losses, the focus log and the number of answers still to mark; a fixed number of queries."""
    unmarked = Count(
        "responses",
        filter=Q(responses__marked_at__isnull=True),
        distinct=True,
    )
    events = Prefetch(
        "focus_events", queryset=FocusEvent.objects.order_by("occurred_at", "pk"), to_attr="log"
    )
    attempts: list[Attempt] = list(
        Attempt.objects.visible_to(user)
        .filter(assessment=assessment)
        .select_related("student")
        .annotate(unmarked_count=unmarked)
        .prefetch_related(events)
        .order_by("student__username", "number")
    )
    rows: list[AttemptRow] = []
    for attempt in attempts:
        log: list[FocusEvent] = getattr(attempt, "log", [])
        losses = sum(1 for event in log if event.kind in FOCUS_LOSS)
        pending = 0
        if attempt.status != AttemptStatus.IN_PROGRESS:
            pending = int(getattr(attempt, "unmarked_count", 0))
        rows.append(AttemptRow(attempt, losses, pending, log))
    roster = list(space_queries.class_students(user, assessment.class_org))
    started = {row.attempt.student_id for row in rows}
    return AssessmentOverview(
        rows=rows,
        class_size=len(roster),
        not_started=[student for student in roster if student.pk not in started],
        started=len(started),
        submitted=sum(1 for row in rows if row.attempt.status != AttemptStatus.IN_PROGRESS),
        marked=sum(1 for row in rows if row.attempt.status == AttemptStatus.MARKED),
        unmarked_answers=sum(row.unmarked for row in rows),
    )


def unmarked_attempts(assessment: Assessment) -> int:
    """Submitted attempts of ``assessment`` with answers still to mark (release blocks on it)."""
    waiting = Response.objects.filter(attempt=OuterRef("pk"), marked_at__isnull=True)
    return (
        Attempt.objects.filter(assessment=assessment)
        .exclude(status=AttemptStatus.IN_PROGRESS)
        .filter(Q(status=AttemptStatus.SUBMITTED) | Exists(waiting))
        .count()
    )


def short_answer_count(paper: Paper) -> int:
    """Questions of ``paper`` a teacher marks."""
    return PaperItem.objects.filter(
        paper=paper, item_version__item__kind=ItemKind.SHORT_ANSWER
    ).count()


def points_by_item(paper: Paper) -> dict[int, Decimal]:
    """Points of each question of ``paper`` by PaperItem id."""
    found: dict[int, Decimal] = defaultdict(Decimal)
    for pk, points in PaperItem.objects.filter(paper=paper).values_list("pk", "points"):
        found[pk] = Decimal(points)
    return dict(found)


def can_oversee(user: Any, assessment: Assessment) -> bool:
    """True if ``user`` sees the teacher's page of ``assessment``: its publisher, teachers of
    the class's school, administrators of its subtree."""
    if getattr(user, "is_platform_admin", False) or assessment.published_by_id == user.pk:
        return True
    path = assessment.class_org.path
    paths = [*permissions.teaching_paths(user), *role_paths(user, permissions.ADMIN_ROLES)]
    return any(path.startswith(p) for p in paths)


@dataclass
class PreviewRow:
    """One question as the teacher previews it: choices or sides, and the key as text."""

    paper_item: PaperItem
    options: list[str]
    right: list[str]
    key: str
    rubric: list[dict[str, Any]]
    model_answer: str


def paper_preview(user: Any, paper: Paper) -> list[PreviewRow]:
    """The questions of ``paper`` with their options and answer keys, in order."""
    rows = []
    for paper_item in paper_items(user, paper):
        version = paper_item.item_version
        kind = version.item.kind
        data: dict[str, Any] = version.content or {}
        options = [
            f"{o.get('id', '')}. {o.get('text', '')}"
            for o in (data.get("left") if kind == ItemKind.MATCHING else data.get("options")) or []
            if isinstance(o, dict)
        ]
        right = [
            f"{o.get('id', '')}. {o.get('text', '')}"
            for o in (data.get("right") or [] if kind == ItemKind.MATCHING else [])
            if isinstance(o, dict)
        ]
        key = ""
        if kind != ItemKind.SHORT_ANSWER:
            key = content.answer_text(kind, data, content.correct_answer(kind, data))
        rubric = [r for r in data.get("rubric") or [] if isinstance(r, dict)]
        rows.append(
            PreviewRow(paper_item, options, right, key, rubric, str(data.get("model_answer") or ""))
        )
    return rows
