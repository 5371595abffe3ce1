"""Use and evaluation writes: usage counting, ratings and their moderation, expert evaluations,
the quality score, and retirement.

Who may do what (rules in ``resources.permissions``):

- every account that sees a listed resource may count a use and rate it (not its submitter);
- a rating's comment is published by a moderator (``moderate`` scope: admins and reviewers of
  the owning org's subtree); until then only the rater and moderators see it;
- an expert (``resources.review`` and ``moderate`` scope on the resource) evaluates it;
- a moderator retires and reinstates it.

The counters on ``Resource`` (views, downloads, ratings, average, quality) are operational
fields: they are saved with ``save(update_fields=[...])`` naming only those fields, which
writes no change record (``ChangeLoggedModel.save``), and incremented with ``F()`` so two
concurrent counts never lose one.

Audit codes: ``resources.comment.approved``, ``resources.comment.rejected``,
``resources.resource.retired``, ``resources.resource.reinstated``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import Conflict, NotFound, PermissionDenied, invalid
from shuyuan.core.scoping import can, has_permission

from .. import quality, signals
from ..choices import ModerationStatus, ResourceStatus, UsageKind
from ..models import ExpertEvaluation, Rating, Resource, UsageEvent

#: One view per account and resource in this window.
VIEW_WINDOW = dt.timedelta(minutes=30)
COMMENT_MAX = 2000
REASON_MAX = 2000
EVALUATION_COMMENT_MAX = 4000
CRITERIA_MAX = 20
CRITERION_NAME_MAX = 64

#: Retirement flags (``Resource.retirement_flag``).
FLAG_LICENCE_EXPIRED = "licence_expired"
FLAG_LOW_QUALITY = "low_quality"

_COUNTER = {UsageKind.VIEW: "view_count", UsageKind.DOWNLOAD: "download_count"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- helpers -----------------------------------------------------------------------------------


def _listed_for(actor: Any, resource: Resource) -> Resource:
    """``resource`` reloaded if ``actor`` may see it listed, else ``NotFound``."""
    found: Resource | None = (
        Resource.objects.visible_to(actor)
        .listed()
        .select_related("listed_version", "org")
        .filter(pk=resource.pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Resource not found."))
    return found


def _moderatable(actor: Any, resource: Resource) -> Resource:
    """``resource`` reloaded if ``actor`` may moderate it; 404 if invisible, 403 if only seen."""
    found: Resource | None = (
        Resource.objects.visible_to(actor, "moderate").filter(pk=resource.pk).first()
    )
    if found is not None:
        return found
    if Resource.objects.visible_to(actor).filter(pk=resource.pk).exists():
        raise PermissionDenied()
    raise NotFound(_("Resource not found."))


def _clean_text(field_name: str, value: str | None, limit: int, *, required: bool = False) -> str:
    text = _CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()
    if required and not text:
        raise invalid(field_name, "REQUIRED", _("This field is required."))
    if len(text) > limit:
        raise invalid(
            field_name,
            "TOO_LONG",
            _("At most %(limit)d characters are allowed.") % {"limit": limit},
        )
    return text


def _whole_number(field_name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            raise invalid(field_name, "INVALID_INTEGER", _("Enter a whole number.")) from None
    if not low <= value <= high:
        raise invalid(
            field_name,
            "OUT_OF_RANGE",
            _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high},
        )
    return int(value)


def _changed(resource_id: int) -> None:
    signals.resource_changed.send(sender=Resource, resource_id=resource_id)


# --- usage -------------------------------------------------------------------------------------


def record_usage(
    *, actor: Any, resource: Resource, kind: str, source: str = "ui"
) -> UsageEvent | None:
    """Count one use of a listed resource ``actor`` can see and return its event.

    Sends ``signals.resource_used`` (the learning app records it in the LRS).

    A view is counted once per account and resource in ``VIEW_WINDOW`` (the latest view event
    decides); a repeated view returns ``None``. Downloads and completions always count.
    """
    if kind not in UsageKind.values:
        raise invalid("kind", "INVALID_CHOICE", _("Unknown kind of use."))
    resource = _listed_for(actor, resource)
    now = timezone.now()
    with transaction.atomic(), change_context(actor=actor, source=source):
        if kind == UsageKind.VIEW:
            recent = UsageEvent.objects.filter(
                user=actor, resource=resource, kind=UsageKind.VIEW, at__gte=now - VIEW_WINDOW
            ).exists()
            if recent:
                return None
        event = UsageEvent.objects.create(resource=resource, user=actor, kind=kind, at=now)
        counter = _COUNTER.get(UsageKind(kind))
        if counter is not None:
            setattr(resource, counter, F(counter) + 1)
            resource.save(update_fields=[counter])
        signals.resource_used.send(
            sender=UsageEvent,
            event_id=event.pk,
            resource_id=resource.pk,
            user_id=actor.pk,
            kind=kind,
        )
    return event


# --- ratings -----------------------------------------------------------------------------------


def rate(
    *, actor: Any, resource: Resource, stars: Any, comment: str = "", source: str = "ui"
) -> Rating:
    """Rate a listed resource 1–5 stars with an optional comment (one rating per account, which
    later calls update). A new or changed comment waits for moderation. The submitter may not
    rate their own resource; a resource the actor cannot see is ``NotFound``."""
    resource = _listed_for(actor, resource)
    if resource.created_by_id == actor.pk:
        raise PermissionDenied(_("You cannot rate a resource you submitted."), code="OWN_RESOURCE")
    stars = _whole_number("stars", stars, 1, 5)
    comment = _clean_text("comment", comment, COMMENT_MAX)
    now = timezone.now()
    with transaction.atomic(), change_context(actor=actor, source=source):
        rating = Rating.objects.select_for_update().filter(resource=resource, user=actor).first()
        if rating is None:
            rating = Rating(
                resource=resource,
                user=actor,
                stars=stars,
                comment=comment,
                comment_status=ModerationStatus.PENDING,
                created_at=now,
                updated_at=now,
            )
            try:
                with transaction.atomic():
                    rating.save(force_insert=True)
            except IntegrityError:
                raise Conflict(
                    _("Your rating was saved by another request; reload the page."),
                    code="RATING_EXISTS",
                ) from None
        else:
            update = ["stars", "updated_at"]
            rating.stars = stars
            rating.updated_at = now
            if comment != rating.comment:
                rating.comment = comment
                rating.comment_status = ModerationStatus.PENDING
                rating.moderated_by = None
                update += ["comment", "comment_status", "moderated_by"]
            rating.save(update_fields=update)
        recompute_quality(resource)
    return rating


def moderate_comment(
    *, actor: Any, rating: Rating, approve: bool, reason: str = "", source: str = "ui"
) -> Rating:
    """Publish (``approve``) or reject a rating's comment; rejecting needs a ``reason``.

    Only moderators of the resource may; nobody moderates their own comment.
    """
    found: Rating | None = Rating.objects.visible_to(actor, "moderate").filter(pk=rating.pk).first()
    if found is None:
        if Rating.objects.visible_to(actor).filter(pk=rating.pk).exists():
            raise PermissionDenied()
        raise NotFound(_("Rating not found."))
    rating = found
    if rating.user_id == actor.pk:
        raise PermissionDenied(_("You cannot moderate your own comment."), code="OWN_COMMENT")
    if not rating.comment:
        raise Conflict(_("This rating has no comment to moderate."), code="NO_COMMENT")
    reason = _clean_text("reason", reason, REASON_MAX, required=not approve)
    status = ModerationStatus.APPROVED if approve else ModerationStatus.REJECTED
    with transaction.atomic(), change_context(actor=actor, source=source):
        rating.comment_status = status
        rating.moderated_by = actor
        rating.save(update_fields=["comment_status", "moderated_by"])
        record_audit(
            "resources.comment.approved" if approve else "resources.comment.rejected",
            actor=actor,
            subject=rating,
            org_path=rating.resource.org.path,
            extra={"resource_id": rating.resource_id, "reason": reason},
        )
    return rating


# --- expert evaluation ---------------------------------------------------------------------------


def _clean_criteria(criteria: Mapping[str, Any] | None) -> dict[str, int]:
    if criteria is None:
        return {}
    if not isinstance(criteria, Mapping):
        raise invalid("criteria", "INVALID_TYPE", _("Send the criteria as name: score pairs."))
    if len(criteria) > CRITERIA_MAX:
        raise invalid(
            "criteria",
            "TOO_MANY",
            _("At most %(limit)d criteria are allowed.") % {"limit": CRITERIA_MAX},
        )
    cleaned: dict[str, int] = {}
    for name, value in criteria.items():
        key = _clean_text("criteria", str(name), CRITERION_NAME_MAX, required=True)
        cleaned[key] = _whole_number(f"criteria.{key}", value, 0, 100)
    return cleaned


def evaluate(
    *,
    actor: Any,
    resource: Resource,
    score: Any,
    criteria: Mapping[str, Any] | None = None,
    comment: str = "",
    source: str = "ui",
) -> ExpertEvaluation:
    """Record (or update) ``actor``'s expert evaluation (0–100, per-criterion scores 0–100) of a
    listed resource. Experts hold ``resources.review`` and moderate the resource."""
    resource = _moderatable(actor, resource)
    if not has_permission(actor, "resources.review"):
        raise PermissionDenied(_("Only reviewers evaluate resources as experts."))
    if resource.status != ResourceStatus.LISTED:
        raise Conflict(_("Only listed resources are evaluated."), code="NOT_LISTED")
    score = _whole_number("score", score, 0, 100)
    cleaned = _clean_criteria(criteria)
    comment = _clean_text("comment", comment, EVALUATION_COMMENT_MAX)
    with transaction.atomic(), change_context(actor=actor, source=source):
        evaluation = (
            ExpertEvaluation.objects.select_for_update()
            .filter(resource=resource, expert=actor)
            .first()
        )
        if evaluation is None:
            evaluation = ExpertEvaluation(
                resource=resource, expert=actor, score=score, criteria=cleaned, comment=comment
            )
            evaluation.save(force_insert=True)
        else:
            evaluation.score = score
            evaluation.criteria = cleaned
            evaluation.comment = comment
            evaluation.save(update_fields=["score", "criteria", "comment"])
        recompute_quality(resource)
    return evaluation


# --- quality -------------------------------------------------------------------------------------


def quality_inputs(resource: Resource) -> quality.QualityInputs:
    """What ``quality.quality_score`` needs, read from the database."""
    ratings = Rating.objects.filter(resource=resource).aggregate(n=Count("pk"), total=Sum("stars"))
    experts = ExpertEvaluation.objects.filter(resource=resource).aggregate(mean=Avg("score"))
    counters = Resource.objects.filter(pk=resource.pk).values("view_count", "download_count")[0]
    return quality.QualityInputs(
        stars_sum=int(ratings["total"] or 0),
        rating_count=int(ratings["n"] or 0),
        expert_mean=float(experts["mean"]) if experts["mean"] is not None else None,
        views=int(counters["view_count"]),
        downloads=int(counters["download_count"]),
    )


def recompute_quality(resource: Resource) -> float:
    """Recompute ``rating_count``, ``rating_average`` and ``quality_score`` (see ``quality``);
    if they changed, save them (operational fields: no change record) and tell search
    (``resource_changed``)."""
    inputs = quality_inputs(resource)
    before = tuple(
        Resource.objects.filter(pk=resource.pk).values_list(
            "rating_count", "rating_average", "quality_score"
        )[0]
    )
    resource.rating_count = inputs.rating_count
    resource.rating_average = (
        round(inputs.stars_sum / inputs.rating_count, 3) if inputs.rating_count else None
    )
    resource.quality_score = quality.quality_score(inputs)
    if (resource.rating_count, resource.rating_average, resource.quality_score) != before:
        resource.save(update_fields=["rating_count", "rating_average", "quality_score"])
        _changed(resource.pk)
    return resource.quality_score


# --- retirement ----------------------------------------------------------------------------------


@dataclass
class FlagReport:
    """What ``flag_for_retirement`` did: resource ids newly flagged per reason, and cleared."""

    flagged: dict[str, list[int]] = field(default_factory=dict)
    cleared: list[int] = field(default_factory=list)
    scanned: int = 0


def _low_quality(resource: Resource, now: dt.datetime) -> bool:
    """The rule documented in ``quality`` (sustained low quality over ``LOW_QUALITY_DAYS``)."""
    if resource.quality_score is None or resource.quality_score >= quality.LOW_QUALITY_THRESHOLD:
        return False
    if resource.rating_count < quality.LOW_QUALITY_MIN_RATINGS:
        return False
    since = now - dt.timedelta(days=quality.LOW_QUALITY_DAYS)
    if resource.listed_at is None or resource.listed_at > since:
        return False
    groups = Rating.objects.filter(resource=resource).aggregate(
        recent=Avg("stars", filter=Q(updated_at__gte=since)),
        older=Avg("stars", filter=Q(updated_at__lt=since)),
    )
    if groups["older"] is None:
        return False  # every rating is recent: not yet sustained
    if quality.stars_to_scale(float(groups["older"])) >= quality.LOW_QUALITY_THRESHOLD:
        return False
    recent = groups["recent"]
    return recent is None or quality.stars_to_scale(float(recent)) < quality.LOW_QUALITY_THRESHOLD


def retirement_reason(resource: Resource, *, today: dt.date, now: dt.datetime) -> str:
    """The flag that applies to a listed resource now (``""`` if none); an expired licence
    comes first."""
    version = resource.listed_version
    if version is not None and version.licence_expires and version.licence_expires < today:
        return FLAG_LICENCE_EXPIRED
    if _low_quality(resource, now):
        return FLAG_LOW_QUALITY
    return ""


def flag_for_retirement(*, actor: Any = None, now: dt.datetime | None = None) -> FlagReport:
    """Scan the listed resources: refresh each quality score, flag those whose licence has
    expired or whose quality has stayed low (see ``quality``), and clear flags that no longer
    apply. Run by the
    ``flag_resources`` command (the system actor) or a task."""
    actor = actor or system_actor()
    now = now or timezone.now()
    today = timezone.localdate(now)
    report = FlagReport()
    listed = Resource.objects.listed().select_related("listed_version").order_by("pk")
    for resource in listed.iterator(chunk_size=500):
        report.scanned += 1
        recompute_quality(resource)  # views and downloads move the usage term
        reason = retirement_reason(resource, today=today, now=now)
        if reason == resource.retirement_flag:
            continue
        with transaction.atomic(), change_context(actor=actor, source="task"):
            resource.retirement_flag = reason
            resource.save(update_fields=["retirement_flag"])
        if reason:
            report.flagged.setdefault(reason, []).append(resource.pk)
        else:
            report.cleared.append(resource.pk)
    return report


def retire_resource(*, actor: Any, resource: Resource, reason: str, source: str = "ui") -> Resource:
    """Retire a listed resource: it leaves search and listings (``resource_changed``) while its
    versions, ratings, certificates and history stay for reviewers and admins."""
    resource = _moderatable(actor, resource)
    reason = _clean_text("reason", reason, REASON_MAX, required=True)
    if resource.status != ResourceStatus.LISTED:
        raise Conflict(_("Only a listed resource can be retired."), code="NOT_LISTED")
    with transaction.atomic(), change_context(actor=actor, source=source):
        resource.status = ResourceStatus.RETIRED
        resource.retired_at = timezone.now()
        resource.retired_reason = reason
        resource.save(update_fields=["status", "retired_at", "retired_reason"])
        record_audit(
            "resources.resource.retired",
            actor=actor,
            subject=resource,
            org_path=resource.org.path,
            extra={"reason": reason, "flag": resource.retirement_flag},
        )
        _changed(resource.pk)
    return resource


def reinstate_resource(
    *, actor: Any, resource: Resource, reason: str = "", source: str = "ui"
) -> Resource:
    """List a retired resource again (its listed version is unchanged); clears its flag, which
    the next scan sets again if it still applies."""
    resource = _moderatable(actor, resource)
    reason = _clean_text("reason", reason, REASON_MAX)
    if resource.status != ResourceStatus.RETIRED or resource.listed_version_id is None:
        raise Conflict(_("Only a retired resource can be reinstated."), code="NOT_RETIRED")
    with transaction.atomic(), change_context(actor=actor, source=source):
        resource.status = ResourceStatus.LISTED
        resource.retired_at = None
        resource.retired_reason = ""
        resource.retirement_flag = ""
        resource.save(update_fields=["status", "retired_at", "retired_reason", "retirement_flag"])
        record_audit(
            "resources.resource.reinstated",
            actor=actor,
            subject=resource,
            org_path=resource.org.path,
            extra={"reason": reason},
        )
        _changed(resource.pk)
    return resource


def can_moderate(actor: Any, resource: Resource) -> bool:
    """Whether ``actor`` moderates ``resource`` (comments, retirement)."""
    return can(actor, "moderate", resource)


def can_evaluate(actor: Any, resource: Resource) -> bool:
    """Whether ``actor`` may give ``resource`` an expert evaluation."""
    return has_permission(actor, "resources.review") and can_moderate(actor, resource)
