"""Use and evaluation reads: the public resource page, ratings, comments, expert evaluations,
the moderation queue and the retirement list.

Everything is built on ``visible_to`` (rules in ``resources.permissions``). The public resource
page shows only resources in ``Resource.objects.visible_to(user).listed()``; staff reach other
states through the submission and review pages. Comments of others are shown once published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound

from .. import permissions
from ..choices import ModerationStatus, ResourceStatus
from ..models import Certificate, ExpertEvaluation, Rating, Resource, ResourceTag, UsageEvent

VERSION_RELATED = (
    "listed_version",
    "listed_version__subject",
    "listed_version__edition",
    "listed_version__chapter",
    "org",
)


def listed_resources(user: Any) -> QuerySet[Resource]:
    """Listed resources ``user`` may see (what teachers and students browse)."""
    return Resource.objects.visible_to(user).listed()


def access_listed_resource(user: Any, pk: int) -> Resource:
    """A listed resource ``user`` may see, with its listed version's metadata; else NotFound."""
    resource: Resource | None = (
        listed_resources(user).select_related(*VERSION_RELATED).filter(pk=pk).first()
    )
    if resource is None:
        raise NotFound(_("Resource not found."))
    return resource


def access_resource(user: Any, pk: int, action: str = "view") -> Resource:
    """A resource in any state that ``user`` may ``action``; else NotFound."""
    resource: Resource | None = (
        Resource.objects.visible_to(user, action).select_related(*VERSION_RELATED).filter(pk=pk)
    ).first()
    if resource is None:
        raise NotFound(_("Resource not found."))
    return resource


def resource_points(user: Any, resource: Resource) -> list[Any]:
    """The knowledge points ``resource`` is tagged with, by name."""
    tags: QuerySet[ResourceTag] = (
        ResourceTag.objects.visible_to(user)
        .filter(resource=resource)
        .select_related("knowledge_point")
        .order_by("knowledge_point__name", "pk")
    )
    return [tag.knowledge_point for tag in tags]


@dataclass(frozen=True)
class RatingSummary:
    """Average, count and the number of ratings per star (``histogram[stars]``)."""

    average: float | None
    count: int
    histogram: dict[int, int] = field(default_factory=dict)

    @property
    def bars(self) -> list[tuple[int, int, int]]:
        """(stars, count, percent of all ratings) from 5 down to 1, for the page."""
        total = self.count or 1
        return [
            (s, self.histogram.get(s, 0), round(100 * self.histogram.get(s, 0) / total))
            for s in range(5, 0, -1)
        ]


def rating_summary(resource: Resource) -> RatingSummary:
    """The rating summary of ``resource`` (aggregates only, no one's comment)."""
    rows = Rating.objects.filter(resource=resource).values("stars").annotate(n=Count("pk"))
    histogram = {int(row["stars"]): int(row["n"]) for row in rows}
    count = sum(histogram.values())
    average = round(sum(s * n for s, n in histogram.items()) / count, 2) if count else None
    return RatingSummary(average, count, histogram)


def my_rating(user: Any, resource: Resource) -> Rating | None:
    """``user``'s own rating of ``resource``, if any."""
    return Rating.objects.visible_to(user, "change").filter(resource=resource).first()


def published_comments(user: Any, resource: Resource) -> QuerySet[Rating]:
    """Published, non-empty comments on ``resource``, newest first."""
    return (
        Rating.objects.visible_to(user)
        .filter(resource=resource, comment_status=ModerationStatus.APPROVED)
        .exclude(comment="")
        .select_related("user")
        .order_by("-updated_at", "-pk")
    )


def access_rating(user: Any, pk: int, action: str = "view") -> Rating:
    rating: Rating | None = (
        Rating.objects.visible_to(user, action).select_related("resource").filter(pk=pk).first()
    )
    if rating is None:
        raise NotFound(_("Rating not found."))
    return rating


@dataclass(frozen=True)
class ExpertSummary:
    """The mean expert score, how many experts evaluated, and the mean per criterion."""

    mean: float | None
    count: int
    criteria: list[tuple[str, float]]


def expert_summary(user: Any, resource: Resource) -> ExpertSummary:
    """Expert evaluations of ``resource`` that ``user`` may see, summarised."""
    evaluations: QuerySet[ExpertEvaluation] = ExpertEvaluation.objects.visible_to(user).filter(
        resource=resource
    )
    agg = evaluations.aggregate(mean=Avg("score"), n=Count("pk"))
    per: dict[str, list[int]] = {}
    for criteria in evaluations.values_list("criteria", flat=True)[:200]:
        for name, value in (criteria or {}).items():
            if isinstance(value, int | float):
                per.setdefault(str(name), []).append(int(value))
    means = sorted((name, round(sum(v) / len(v), 1)) for name, v in per.items())
    mean = round(float(agg["mean"]), 1) if agg["mean"] is not None else None
    return ExpertSummary(mean, int(agg["n"] or 0), means)


def my_evaluation(user: Any, resource: Resource) -> ExpertEvaluation | None:
    return ExpertEvaluation.objects.filter(resource=resource, expert=user.pk).first()


def listed_certificate(resource: Resource) -> Certificate | None:
    """The inclusion certificate of the resource's listed version (not of other versions)."""
    if resource.listed_version_id is None:
        return None
    return Certificate.objects.filter(version_id=resource.listed_version_id).first()


# --- staff ---------------------------------------------------------------------------------------


def is_moderator(user: Any) -> bool:
    """Whether ``user`` moderates any resources (admins and reviewers of some subtree)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return permissions.resource_rule(user, "moderate") is not None


def pending_comments(user: Any) -> QuerySet[Rating]:
    """Comments awaiting moderation on resources ``user`` moderates, oldest first."""
    return (
        Rating.objects.visible_to(user, "moderate")
        .filter(comment_status=ModerationStatus.PENDING)
        .exclude(comment="")
        .exclude(user=user.pk)
        .select_related("resource", "resource__listed_version", "user")
        .order_by("updated_at", "pk")
    )


def retirement_list(user: Any, *, retired: bool = False) -> QuerySet[Resource]:
    """Resources ``user`` moderates that are flagged for retirement (listed with a flag), or
    with ``retired`` those already retired."""
    qs: QuerySet[Resource] = Resource.objects.visible_to(user, "moderate")
    if retired:
        qs = qs.filter(status=ResourceStatus.RETIRED).order_by("-retired_at", "-pk")
    else:
        qs = qs.filter(Q(status=ResourceStatus.LISTED) & ~Q(retirement_flag="")).order_by(
            "retirement_flag", "quality_score", "pk"
        )
    return qs.select_related("listed_version", "org")


def usage_event_for_task(event_id: int) -> UsageEvent | None:
    """A usage event with its resource and account, for background tasks (no viewer: tasks
    act for the platform), or ``None`` if it is gone."""
    return UsageEvent.objects.select_related("resource", "user").filter(pk=event_id).first()
