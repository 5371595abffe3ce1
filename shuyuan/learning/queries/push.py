"""Reads of adaptive push (精准推送): what to suggest for a student's weak knowledge points, the
pushes a student has to do, and the practice items a student may answer.

Suggestions for a weak point (and for its weak prerequisites, from the diagnosis report) are
listed resources tagged to the point (``resources.queries.graph.point_resources``) and active
objective practice items tagged to it, leaving out what was already pushed to the student and
items the student already answered right in practice.

Which items: a teacher (or admin) sees the items of the banks they may read (``Item`` rules).
A student never reads items through the ``Item`` rules (they hide the bank from students);
their own practice comes from ``practice_bank``: active objective items of the banks of the
student's classes' school and the orgs above it (a region's bank), read here without the
answer key leaving the server (pages show ``content.student_view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org
from shuyuan.identity.models import Role, RoleAssignment, User
from shuyuan.resources.models import KnowledgePoint, Resource
from shuyuan.resources.queries import graph

from .. import conf
from ..models import Item, ItemKind, ItemStatus, ItemTag, PracticeAnswer, Push, PushStatus
from . import diagnosis

#: Most points (weak points and their weak prerequisites) one suggestion list covers.
POINTS_MAX = 8
RESOURCES_PER_POINT = 3
ITEMS_PER_POINT = 3
PUSH_RELATED = (
    "knowledge_point",
    "resource",
    "resource__listed_version",
    "item",
    "item__current_version",
    "pushed_by",
    "class_org",
)


def _ancestor_paths(paths: list[str]) -> list[str]:
    """Every org path that is one of ``paths`` or above one of them."""
    found: set[str] = set()
    for path in paths:
        parts = [p for p in path.split("/") if p]
        for n in range(1, len(parts) + 1):
            found.add("/".join(parts[:n]) + "/")
    return sorted(found)


def student_class_paths(student: Any) -> list[str]:
    """Paths of the orgs ``student`` holds a student role at (their classes)."""
    return list(
        RoleAssignment.objects.filter(role=Role.STUDENT, user=student.pk).values_list(
            "org__path", flat=True
        )
    )


def _objective(qs: QuerySet[Item]) -> QuerySet[Item]:
    return qs.filter(
        status=ItemStatus.ACTIVE,
        kind__in=sorted(ItemKind.objective()),
        current_version__isnull=False,
    )


def practice_bank(student: Any) -> QuerySet[Item]:
    """Active objective items ``student`` may practise: those of the banks of the student's
    school and every org above it (not through ``Item.visible_to``, which hides items from
    students; see the module docstring)."""
    banks = _ancestor_paths(student_class_paths(student))
    if not banks:
        return Item.objects.none()
    return _objective(Item.objects.filter(org__path__in=banks))


def teacher_items(user: Any) -> QuerySet[Item]:
    """Active objective items ``user`` may read through the item-bank rules."""
    return _objective(Item.objects.visible_to(user))


def _items_for(user: Any, student: Any) -> QuerySet[Item]:
    return practice_bank(student) if user.pk == student.pk else teacher_items(user)


def items_for_points(qs: QuerySet[Item], point_ids: list[int]) -> dict[int, list[Item]]:
    """Items of ``qs`` tagged to each of ``point_ids``, easiest first (two queries; current
    versions joined)."""
    found: dict[int, list[Item]] = {}
    if not point_ids:
        return found
    tagged = list(
        ItemTag.objects.filter(item__in=qs.values("pk"), knowledge_point__in=point_ids)
        .order_by("item__difficulty", "item_id")
        .values_list("item_id", "knowledge_point_id")
    )
    items = qs.select_related("current_version").in_bulk({pk for pk, _point in tagged})
    for pk, point in tagged:
        if pk in items:
            found.setdefault(point, []).append(items[pk])
    return found


# --- pushes -------------------------------------------------------------------------------------


def my_pushes(user: Any, *, status: str = PushStatus.NEW) -> QuerySet[Push]:
    """Pushes to ``user`` (to do by default), newest first."""
    return (
        Push.objects.visible_to(user, "complete")
        .filter(student=user.pk, status=status)
        .select_related(*PUSH_RELATED)
        .order_by("-pushed_at", "-pk")
    )


def access_push(user: Any, pk: int, action: str = "view") -> Push:
    """Push ``pk`` if ``user`` may ``action`` it, else ``NotFound``."""
    found: Push | None = (
        Push.objects.visible_to(user, action).select_related(*PUSH_RELATED).filter(pk=pk).first()
    )
    if found is None:
        raise NotFound(_("Push not found."), code="PUSH_NOT_FOUND")
    return found


def open_push_for(user: Any, item: Item) -> Push | None:
    """``user``'s own open push of ``item``, if any."""
    found: Push | None = (
        Push.objects.visible_to(user, "complete")
        .filter(student=user.pk, item=item.pk, status=PushStatus.NEW)
        .first()
    )
    return found


def class_pushes(user: Any, class_org: Org, limit: int = 50) -> list[Push]:
    """Pushes to the students of ``class_org`` that ``user`` may see, newest first."""
    return list(
        Push.objects.visible_to(user)
        .filter(class_org=class_org)
        .select_related("student", *PUSH_RELATED)
        .order_by("-pushed_at", "-pk")[:limit]
    )


def _pushed(student: Any) -> tuple[set[int], set[int]]:
    """Resource ids and item ids ever pushed to ``student`` (one query)."""
    resources: set[int] = set()
    items: set[int] = set()
    for resource, item in Push.objects.filter(student=student.pk).values_list(
        "resource_id", "item_id"
    ):
        if resource:
            resources.add(resource)
        if item:
            items.add(item)
    return resources, items


def _answered_right(student: Any) -> set[int]:
    threshold = float(conf.get("LEARNING_DIAGNOSIS_CORRECT_FRACTION"))
    return set(
        PracticeAnswer.objects.filter(student=student.pk, fraction__gte=threshold).values_list(
            "item_version__item_id", flat=True
        )
    )


# --- practice -----------------------------------------------------------------------------------


def may_practise(user: Any, item: Item) -> bool:
    """True if ``user`` may answer ``item`` in practice: it was pushed to them or it is in
    their practice bank."""
    if Push.objects.visible_to(user, "complete").filter(student=user.pk, item=item.pk).exists():
        return True
    return bool(practice_bank(user).filter(pk=item.pk).exists())


def access_practice_item(user: Any, pk: int) -> Item:
    """Item ``pk`` for the practice page: pushed to ``user``, in ``user``'s practice bank, or
    an objective item ``user`` may read as a teacher; else ``NotFound``."""
    item: Item | None = Item.objects.select_related("current_version").filter(pk=pk).first()
    if item is None or item.current_version_id is None:
        raise NotFound(_("Question not found."), code="ITEM_NOT_FOUND")
    if may_practise(user, item) or teacher_items(user).filter(pk=item.pk).exists():
        return item
    raise NotFound(_("Question not found."), code="ITEM_NOT_FOUND")


def last_practice(user: Any, item: Item) -> PracticeAnswer | None:
    """``user``'s latest practice answer to ``item``."""
    found: PracticeAnswer | None = (
        PracticeAnswer.objects.visible_to(user)
        .filter(student=user.pk, item_version__item=item.pk)
        .select_related("item_version")
        .order_by("-answered_at", "-pk")
        .first()
    )
    return found


# --- suggestions --------------------------------------------------------------------------------


@dataclass
class Suggestion:
    """A resource or a practice item for ``point``, suggested because ``for_point`` is weak
    (``point`` is ``for_point`` itself or one of its weak prerequisites)."""

    point: KnowledgePoint
    for_point: KnowledgePoint
    mastery: float | None
    resource: Resource | None = None
    item: Item | None = None

    @property
    def kind(self) -> str:
        return "resource" if self.resource is not None else "item"

    @property
    def is_prerequisite(self) -> bool:
        return self.point.pk != self.for_point.pk


def _targets(report: diagnosis.StudentReport) -> list[tuple[diagnosis.PointRow, KnowledgePoint]]:
    """(point row, weak point it helps) for each weak point and its weak prerequisites."""
    targets: list[tuple[diagnosis.PointRow, KnowledgePoint]] = []
    seen: set[int] = set()
    for weak in report.weak:
        for row in [weak.row, *weak.prerequisites]:
            if row.point.pk not in seen:
                seen.add(row.point.pk)
                targets.append((row, weak.row.point))
    return targets[:POINTS_MAX]


def suggestions(user: Any, student: User) -> list[Suggestion]:
    """What ``student`` should learn next as ``user`` may see it: for each weak point (lowest
    mastery first) and its weak prerequisites, listed resources and objective practice items
    tagged to it, minus what was pushed already and items answered right in practice.
    ``NotFound`` unless ``user`` may read the student's diagnosis."""
    report = diagnosis.student_report(user, student)
    targets = _targets(report)
    if not targets:
        return []
    pushed_resources, pushed_items = _pushed(student)
    skip_items = pushed_items | _answered_right(student)
    items = items_for_points(_items_for(user, student), [row.point.pk for row, _w in targets])
    found: list[Suggestion] = []
    seen_resources: set[int] = set()
    seen_items: set[int] = set()
    for row, weak_point in targets:
        resources = [
            r
            for r in graph.point_resources(user, row.point)[: RESOURCES_PER_POINT * 3]
            if r.pk not in pushed_resources and r.pk not in seen_resources
        ][:RESOURCES_PER_POINT]
        for resource in resources:
            seen_resources.add(resource.pk)
            found.append(Suggestion(row.point, weak_point, row.probability, resource=resource))
        chosen = [
            i
            for i in items.get(row.point.pk, [])
            if i.pk not in skip_items and i.pk not in seen_items
        ][:ITEMS_PER_POINT]
        for item in chosen:
            seen_items.add(item.pk)
            found.append(Suggestion(row.point, weak_point, row.probability, item=item))
    return found


@dataclass
class PushOptions:
    """What a teacher may push for ``point`` in a class: resources and items tagged to it or
    to its prerequisites, and the students weak on it (the default choice)."""

    point: KnowledgePoint
    resources: list[Resource]
    items: list[Item]
    weak_student_ids: list[int]


def push_options(user: Any, report: diagnosis.ClassReport, point: KnowledgePoint) -> PushOptions:
    """The push form's choices for ``point`` in the class of ``report``."""
    ids = [point.pk, *graph.prerequisites_of([point.pk], diagnosis.PREREQUISITE_DEPTH)]
    resources: list[Resource] = []
    seen: set[int] = set()
    for pk in ids[:POINTS_MAX]:
        target = point if pk == point.pk else KnowledgePoint(pk=pk)
        for resource in graph.point_resources(user, target)[:5]:
            if resource.pk not in seen:
                seen.add(resource.pk)
                resources.append(resource)
    by_point = items_for_points(teacher_items(user), ids[:POINTS_MAX])
    items: list[Item] = []
    for pk in ids[:POINTS_MAX]:
        for item in by_point.get(pk, [])[:5]:
            if item not in items:
                items.append(item)
    column = report.column_for(point.pk)
    weak = column.weak_student_ids if column is not None else []
    return PushOptions(point, resources[:20], items[:20], weak)


def access_point(user: Any, pk: int) -> KnowledgePoint:
    """A knowledge point ``user`` may see (the graph's own query), else ``NotFound``."""
    return graph.access_point(user, pk)


def listed_resource(user: Any, pk: int) -> Resource:
    """A listed resource ``user`` may see, else ``NotFound``."""
    found: Resource | None = (
        Resource.objects.visible_to(user)
        .listed()
        .select_related("listed_version")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Resource not found."), code="RESOURCE_NOT_FOUND")
    return found


def teacher_item(user: Any, pk: int) -> Item:
    """An active objective item ``user`` may read in the bank, else ``NotFound``."""
    found: Item | None = teacher_items(user).select_related("current_version").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Question not found."), code="ITEM_NOT_FOUND")
    return found


def students_in_class(class_org: Org, ids: list[int]) -> list[User]:
    """The accounts among ``ids`` that hold a student role at ``class_org``."""
    members = RoleAssignment.objects.filter(role=Role.STUDENT, org=class_org).values("user_id")
    return list(User.objects.filter(Q(pk__in=ids) & Q(pk__in=members)).order_by("username"))
