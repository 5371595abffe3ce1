"""Recommendations: "more like this" on a resource page and suggestions for an account.

Only listed resources the account may see are ever returned (every result set is filtered
through ``Resource.objects.visible_to(user).listed()`` last), and every query is bounded.

``more_like_this(user, resource)`` scores candidates by

- shared knowledge points: ``W_POINTS * shared / points of the resource`` (overlap weighted);
- the same chapter (``W_CHAPTER``), the same subject (``W_SUBJECT``) and the same grade
  (``W_GRADE``) of the listed versions (a candidate sharing all three gets all three);
- co-usage: of the (at most ``CO_USERS``) accounts that used this resource in the last
  ``CO_USAGE_DAYS`` days, the share that also used the candidate, times ``W_CO_USAGE``;

ties broken by quality score. ``suggestions_for(user)`` starts from the account's recent use
and ratings (the last ``HISTORY`` events in ``CO_USAGE_DAYS`` days; a rating of 1–2 stars does
not count as interest) and scores

- resources tagged with knowledge-graph neighbours of the points studied (through
  ``queries.graph``: ``dependents_of``, ``related_points``): the points they are a prerequisite
  of (the next step, ``W_NEXT``; half that two steps on), points related to them
  (``W_RELATED``), and the points themselves (more practice, ``W_SAME``);
- co-usage of the resources used (``W_CO_USAGE`` times the share of co-users);

minus what the account has already used or rated. With no history (cold start) it returns the
best-quality resources of the account's grade (or stage) when known, then the best overall.
An account's grade is known from the grade org (kind ``grade``) above its home org when that
org's name carries a grade number 1–12 (e.g. "Grade 7").
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from shuyuan.core.models import OrgKind

from .choices import GRADE_STAGE
from .models import Rating, Resource, ResourceTag, UsageEvent
from .queries import graph as graph_queries

CO_USAGE_DAYS = 180
CO_USERS = 500
CO_CANDIDATES = 200
HISTORY = 200
POINT_CANDIDATES = 300
FILL_CANDIDATES = 100

W_POINTS = 3.0
W_CHAPTER = 2.0
W_SUBJECT = 0.5
W_GRADE = 0.5
W_CO_USAGE = 2.0
W_NEXT = 2.0
W_RELATED = 1.0
W_SAME = 0.5
NEXT_DEPTH = 2

_GRADE_NUMBER = re.compile(r"(\d{1,2})")


def _visible(user: Any) -> QuerySet[Resource]:
    return Resource.objects.visible_to(user).listed()


def _ordered(user: Any, scores: dict[int, float], limit: int, exclude: set[int]) -> list[Resource]:
    """The visible listed resources among ``scores``' keys, best first (quality breaks ties)."""
    ids = [pk for pk in scores if pk not in exclude]
    if not ids:
        return []
    rows = list(_visible(user).filter(pk__in=ids).select_related("listed_version"))
    rows.sort(key=lambda r: (-scores[r.pk], -(r.quality_score or 0.0), r.pk))
    return rows[:limit]


def _since() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=CO_USAGE_DAYS)


def _co_usage(resource_ids: set[int], *, exclude_user: Any = None) -> dict[int, float]:
    """For resources used together with ``resource_ids``: the share of their recent users
    (at most ``CO_USERS``) that used each other resource."""
    if not resource_ids:
        return {}
    since = _since()
    users_q = UsageEvent.objects.filter(
        resource_id__in=resource_ids, at__gte=since, user__isnull=False
    )
    if exclude_user is not None:
        users_q = users_q.exclude(user=exclude_user)
    user_ids = list(
        users_q.values_list("user_id", flat=True).order_by("user_id").distinct()[:CO_USERS]
    )
    if not user_ids:
        return {}
    rows = (
        UsageEvent.objects.filter(user_id__in=user_ids, at__gte=since)
        .exclude(resource_id__in=resource_ids)
        .values("resource_id")
        .annotate(users=Count("user_id", distinct=True))
        .order_by("-users", "resource_id")[:CO_CANDIDATES]
    )
    return {row["resource_id"]: row["users"] / len(user_ids) for row in rows}


def _tagged_with(point_weights: dict[int, float]) -> dict[int, float]:
    """Resource id → sum of the weights of its points among ``point_weights`` (bounded)."""
    if not point_weights:
        return {}
    scores: dict[int, float] = defaultdict(float)
    tags = ResourceTag.objects.filter(knowledge_point_id__in=list(point_weights)).values_list(
        "resource_id", "knowledge_point_id"
    )
    for resource_id, point_id in tags.order_by("-resource_id")[:POINT_CANDIDATES]:
        scores[resource_id] += point_weights[point_id]
    return scores


def more_like_this(user: Any, resource: Resource, limit: int = 6) -> list[Resource]:
    """Listed resources ``user`` may see that resemble ``resource`` (see the module)."""
    scores: dict[int, float] = defaultdict(float)
    points = set(
        ResourceTag.objects.filter(resource=resource).values_list("knowledge_point_id", flat=True)
    )
    if points:
        share = W_POINTS / len(points)
        for pk, shared in _tagged_with(dict.fromkeys(points, 1.0)).items():
            scores[pk] += share * shared
    version = resource.listed_version
    if version is not None:
        same: Q = Q(listed_version__subject_id=version.subject_id)
        if version.chapter_id:
            same |= Q(listed_version__chapter_id=version.chapter_id)
        near = (
            _visible(user)
            .filter(same)
            .exclude(pk=resource.pk)
            .order_by(F("quality_score").desc(nulls_last=True), "-pk")
            .values_list(
                "pk",
                "listed_version__chapter_id",
                "listed_version__subject_id",
                "listed_version__grade",
            )[:FILL_CANDIDATES]
        )
        for pk, chapter_id, subject_id, grade in near:
            if version.chapter_id and chapter_id == version.chapter_id:
                scores[pk] += W_CHAPTER
            if subject_id == version.subject_id:
                scores[pk] += W_SUBJECT
            if version.grade and grade == version.grade:
                scores[pk] += W_GRADE
    for pk, share in _co_usage({resource.pk}).items():
        scores[pk] += W_CO_USAGE * share
    return _ordered(user, scores, limit, {resource.pk})


def _history(user: Any) -> tuple[set[int], set[int]]:
    """(resources ``user`` showed interest in recently, every resource they used or rated)."""
    since = _since()
    used = set(
        UsageEvent.objects.filter(user=user, at__gte=since)
        .order_by("-at")
        .values_list("resource_id", flat=True)[:HISTORY]
    )
    ratings = list(Rating.objects.filter(user=user).values_list("resource_id", "stars")[:HISTORY])
    rated = {pk for pk, _stars in ratings}
    disliked = {pk for pk, stars in ratings if stars <= 2}
    interest = (used | rated) - disliked
    return interest, used | rated


def _graph_weights(points: set[int]) -> dict[int, float]:
    """Knowledge point → weight for suggestions: the points that build on the studied ones
    (``W_NEXT`` one step on, half that two steps on), related points (``W_RELATED``) and the
    studied points themselves (``W_SAME``); a point reached several ways keeps its best."""
    weights: dict[int, float] = dict.fromkeys(points, W_SAME)
    if not points:
        return weights
    maps = graph_queries.edge_maps()
    for point, distance in graph_queries.dependents_of(points, NEXT_DEPTH, maps=maps).items():
        weights[point] = max(weights.get(point, 0.0), W_NEXT / distance)
    for point in graph_queries.related_points(points, maps=maps):
        weights[point] = max(weights.get(point, 0.0), W_RELATED)
    return weights


def user_grade(user: Any) -> str:
    """The grade (``"07"``) of ``user`` if their home org lies under a numbered grade org."""
    org = getattr(user, "home_org", None)
    while org is not None:
        if org.kind == OrgKind.GRADE:
            match = _GRADE_NUMBER.search(org.name)
            if match and 1 <= int(match.group(1)) <= 12:
                return f"{int(match.group(1)):02d}"
            return ""
        org = org.parent
    return ""


def cold_start(user: Any, limit: int = 10, exclude: set[int] | None = None) -> list[Resource]:
    """Best-quality resources of the user's grade, then stage, then overall."""
    exclude = set(exclude or ())
    found: list[Resource] = []
    grade = user_grade(user)
    filters: list[Q] = []
    if grade:
        filters.append(Q(listed_version__grade=grade))
        filters.append(Q(listed_version__stage=GRADE_STAGE[grade]))
    filters.append(Q())
    for condition in filters:
        if len(found) >= limit:
            break
        rows = (
            _visible(user)
            .filter(condition)
            .exclude(pk__in=exclude | {r.pk for r in found})
            .select_related("listed_version")
            .order_by(F("quality_score").desc(nulls_last=True), "-rating_count", "-pk")
        )
        found.extend(rows[: limit - len(found)])
    return found


def suggestions_for(user: Any, limit: int = 10) -> list[Resource]:
    """Resources to suggest to ``user`` (see the module); cold start without history."""
    interest, seen = _history(user)
    if not interest:
        return cold_start(user, limit, exclude=seen)
    scores: dict[int, float] = defaultdict(float)
    points = set(
        ResourceTag.objects.filter(resource_id__in=interest).values_list(
            "knowledge_point_id", flat=True
        )[:POINT_CANDIDATES]
    )
    for pk, weight in _tagged_with(_graph_weights(points)).items():
        scores[pk] += weight
    for pk, share in _co_usage(interest, exclude_user=user.pk).items():
        scores[pk] += W_CO_USAGE * share
    found = _ordered(user, scores, limit, seen)
    if len(found) < limit:
        found += cold_start(user, limit - len(found), exclude=seen | {r.pk for r in found})
    return found
