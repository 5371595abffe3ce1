"""Reads of the knowledge graph, for pages, the API and other areas (search, evaluation).

Everything is built on ``visible_to``: every signed-in account sees the whole graph; an
anonymous or inactive one sees nothing (a 404). Walks over edges load the prerequisite edges
once (``edge_maps``: two ``values_list`` queries, cached for the request by the caller if it
wants) and walk them in Python, which works the same on SQLite and PostgreSQL and is fast for
graphs of a few thousand points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound

from ..choices import EdgeKind
from ..graph import cycles
from ..models import (
    Chapter,
    KnowledgeEdge,
    KnowledgePoint,
    Resource,
    ResourceTag,
    Subject,
    TextbookEdition,
)

# --- vocabularies ------------------------------------------------------------------------------


def list_subjects(user: Any) -> QuerySet[Subject]:
    """Subjects with ``point_count`` (their knowledge points), in display order."""
    return Subject.objects.visible_to(user).annotate(point_count=Count("knowledge_points"))


def access_subject(user: Any, code: str) -> Subject:
    subject: Subject | None = Subject.objects.visible_to(user).filter(code=code).first()
    if subject is None:
        raise NotFound(_("No such subject."))
    return subject


def list_editions(user: Any) -> QuerySet[TextbookEdition]:
    return TextbookEdition.objects.visible_to(user)


def list_chapters(
    user: Any, *, subject: Subject | None = None, edition: TextbookEdition | None = None
) -> QuerySet[Chapter]:
    qs: QuerySet[Chapter] = Chapter.objects.visible_to(user).select_related("edition", "subject")
    if subject is not None:
        qs = qs.filter(subject=subject)
    if edition is not None:
        qs = qs.filter(edition=edition)
    return qs


# --- knowledge points --------------------------------------------------------------------------


def list_points(
    user: Any,
    *,
    subject: Subject | None = None,
    q: str = "",
    stage: str = "",
    grade: str = "",
) -> QuerySet[KnowledgePoint]:
    """Points in subject, stage, grade and code order; ``q`` matches the name, code or an
    alias (case-insensitive containment)."""
    qs: QuerySet[KnowledgePoint] = KnowledgePoint.objects.visible_to(user).select_related("subject")
    if subject is not None:
        qs = qs.filter(subject=subject)
    if stage:
        qs = qs.filter(stage=stage)
    if grade:
        qs = qs.filter(grade=grade)
    q = q.strip()
    if q:
        # Aliases are a JSON list whose stored text differs by database (SQLite escapes
        # non-ASCII characters), so they are matched here; a subject has at most thousands.
        needle = q.lower()
        alias_ids = [
            pk
            for pk, aliases in qs.values_list("pk", "aliases")
            if any(needle in str(a).lower() for a in aliases or [])
        ]
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(pk__in=alias_ids))
    return qs.order_by("subject__order", "stage", "grade", "code")


def access_point(user: Any, pk: int) -> KnowledgePoint:
    point: KnowledgePoint | None = (
        KnowledgePoint.objects.visible_to(user).select_related("subject").filter(pk=pk).first()
    )
    if point is None:
        raise NotFound(_("No such knowledge point."))
    return point


def find_point(user: Any, text: str) -> KnowledgePoint | None:
    """A point by exact code, else by exact name (the first in code order)."""
    text = text.strip()
    if not text:
        return None
    qs: QuerySet[KnowledgePoint] = KnowledgePoint.objects.visible_to(user)
    return qs.filter(code=text).first() or qs.filter(name=text).order_by("code").first()


def access_edge(user: Any, pk: int) -> KnowledgeEdge:
    edge: KnowledgeEdge | None = (
        KnowledgeEdge.objects.visible_to(user)
        .select_related("source", "target")
        .filter(pk=pk)
        .first()
    )
    if edge is None:
        raise NotFound(_("No such edge."))
    return edge


def list_edges(user: Any, *, subject: Subject | None = None) -> QuerySet[KnowledgeEdge]:
    """Edges (both ends selected); with ``subject``, those touching its points."""
    qs: QuerySet[KnowledgeEdge] = KnowledgeEdge.objects.visible_to(user).select_related(
        "source", "target"
    )
    if subject is not None:
        qs = qs.filter(Q(source__subject=subject) | Q(target__subject=subject))
    return qs.order_by("kind", "source__code", "target__code")


# --- walks -------------------------------------------------------------------------------------


@dataclass
class EdgeMaps:
    """Adjacency of the graph: ``forward`` prerequisite (source → targets), ``backward``
    (target → sources), ``related`` (both directions)."""

    forward: dict[int, list[int]] = field(default_factory=dict)
    backward: dict[int, list[int]] = field(default_factory=dict)
    related: dict[int, list[int]] = field(default_factory=dict)


def edge_maps() -> EdgeMaps:
    """Every edge, loaded in one query."""
    maps = EdgeMaps()
    for source, target, kind in KnowledgeEdge.objects.values_list("source_id", "target_id", "kind"):
        if kind == EdgeKind.PREREQUISITE:
            maps.forward.setdefault(source, []).append(target)
            maps.backward.setdefault(target, []).append(source)
        else:
            maps.related.setdefault(source, []).append(target)
            maps.related.setdefault(target, []).append(source)
    return maps


def prerequisites_of(
    kp_ids: Iterable[int], depth: int = 3, *, maps: EdgeMaps | None = None
) -> dict[int, int]:
    """``{ancestor id: distance}``: the points that must be learnt before any of ``kp_ids``,
    up to ``depth`` prerequisite steps away (shortest distance; the inputs themselves are left
    out unless one is a prerequisite of another)."""
    maps = maps or edge_maps()
    return cycles.ancestors_with_depth(maps.backward, kp_ids, depth)


def dependents_of(
    kp_ids: Iterable[int], depth: int = 3, *, maps: EdgeMaps | None = None
) -> dict[int, int]:
    """``{descendant id: distance}``: points that build on ``kp_ids``, up to ``depth`` steps."""
    maps = maps or edge_maps()
    return cycles.ancestors_with_depth(maps.forward, kp_ids, depth)


def related_points(kp_ids: Iterable[int], *, maps: EdgeMaps | None = None) -> set[int]:
    """Ids of the points related (directly, either way) to any of ``kp_ids``, minus those."""
    maps = maps or edge_maps()
    ids = set(kp_ids)
    return {r for pk in ids for r in maps.related.get(pk, ())} - ids


@dataclass
class Neighbourhood:
    """A point and what surrounds it: prerequisites and dependents with their distances (up to
    ``depth``), related points, the points by id, and the edges among them all."""

    point: KnowledgePoint
    prerequisites: dict[int, int]
    dependents: dict[int, int]
    related: set[int]
    points: dict[int, KnowledgePoint]
    edges: list[tuple[int, int, str]]

    def listed(self, ids: Iterable[int], distances: dict[int, int] | None = None) -> list[Any]:
        rows = [self.points[i] for i in ids if i in self.points]
        if distances is not None:
            rows.sort(key=lambda p: (distances[p.pk], p.code))
            for p in rows:
                p.distance = distances[p.pk]  # type: ignore[attr-defined]  # for templates
        else:
            rows.sort(key=lambda p: p.code)
        return rows


def neighbours(kp_id: int, depth: int = 2) -> Neighbourhood:
    """The neighbourhood of point ``kp_id`` (see ``Neighbourhood``); callers check that the
    user may see the point (``access_point``), the graph being visible as a whole."""
    maps = edge_maps()
    prereq = prerequisites_of([kp_id], depth, maps=maps)
    deps = dependents_of([kp_id], depth, maps=maps)
    prereq.pop(kp_id, None)
    deps.pop(kp_id, None)
    related = related_points([kp_id], maps=maps)
    ids = {kp_id, *prereq, *deps, *related}
    points = KnowledgePoint.objects.select_related("subject").in_bulk(ids)
    edges = list(
        KnowledgeEdge.objects.filter(source_id__in=ids, target_id__in=ids).values_list(
            "source_id", "target_id", "kind"
        )
    )
    return Neighbourhood(points[kp_id], prereq, deps, related, points, edges)


# --- resources and tags ------------------------------------------------------------------------


def point_resources(user: Any, point: KnowledgePoint) -> QuerySet[Resource]:
    """Listed resources visible to ``user`` tagged with ``point``."""
    return (
        Resource.objects.visible_to(user)
        .listed()
        .filter(tags__knowledge_point=point)
        .select_related("listed_version")
        .order_by("-listed_at", "-pk")
    )


def access_resource(user: Any, pk: int) -> Resource:
    resource: Resource | None = Resource.objects.visible_to(user).filter(pk=pk).first()
    if resource is None:
        raise NotFound(_("No such resource."))
    return resource


def resource_tags(user: Any, resource: Resource) -> QuerySet[ResourceTag]:
    """Tags of a resource ``user`` may see, with their points."""
    return (
        ResourceTag.objects.visible_to(user)
        .filter(resource=resource)
        .select_related("knowledge_point", "knowledge_point__subject")
        .order_by("knowledge_point__code")
    )


def can_tag(user: Any, resource: Resource) -> bool:
    """True if ``user`` may change the resource's tags (``change`` or ``review`` on it)."""
    from ..actions.graph import taggable_resources

    return bool(taggable_resources(user).filter(pk=resource.pk).exists())
