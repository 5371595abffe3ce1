"""Reads for providers and staff: one's resources, a resource with its versions, a version's
audit findings, the sensitive-word lists.

Everything goes through ``visible_to`` (rules in ``resources.permissions``); a row the user
cannot see is ``NotFound``. ``action="staff_view"`` is the view of the people who handle a
resource (submitter, admins, reviewers): every version, not only the listed one.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound

from ..models import AuditFinding, Resource, ResourceVersion, SensitiveWordList

SEVERITY_ORDER = {"block": 0, "warn": 1, "info": 2}
DUPLICATE_CODES = frozenset({"DUPLICATE_EXACT", "DUPLICATE_NEAR"})


def _latest(field: str) -> Subquery:
    return Subquery(
        ResourceVersion.objects.filter(resource=OuterRef("pk"))
        .order_by("-number")
        .values(field)[:1]
    )


def with_latest_version(qs: QuerySet[Resource]) -> QuerySet[Resource]:
    """Annotate ``latest_title``, ``latest_number``, ``latest_status``, ``latest_stage`` and
    ``latest_version_id`` (the highest-numbered version)."""
    return qs.annotate(
        latest_title=_latest("title"),
        latest_number=_latest("number"),
        latest_status=_latest("status"),
        latest_stage=_latest("review_stage"),
        latest_version_id=_latest("pk"),
    )


def list_my_resources(user: Any, *, status: str = "") -> QuerySet[Resource]:
    """Resources ``user`` submitted, newest first, with their latest version's facts."""
    qs: QuerySet[Resource] = Resource.objects.visible_to(user, "staff_view").filter(
        created_by=user.pk
    )
    if status:
        qs = qs.filter(status=status)
    return with_latest_version(qs.select_related("org")).order_by("-created_at", "-pk")


def access_resource(user: Any, pk: int, action: str = "view") -> Resource:
    """The resource ``pk`` if ``user`` may ``action`` it, else ``NotFound``."""
    resource: Resource | None = (
        with_latest_version(Resource.objects.visible_to(user, action))
        .select_related("org", "created_by", "listed_version")
        .filter(pk=pk)
        .first()
    )
    if resource is None:
        raise NotFound(_("Resource not found."), code="RESOURCE_NOT_FOUND")
    return resource


def resource_versions(user: Any, resource: Resource) -> QuerySet[ResourceVersion]:
    """The versions of ``resource`` that ``user`` may see, newest first."""
    return (
        ResourceVersion.objects.visible_to(user)
        .filter(resource=resource)
        .select_related("subject", "edition", "chapter", "created_by")
        .order_by("-number")
    )


def access_version(user: Any, pk: int, action: str = "view") -> ResourceVersion:
    """The version ``pk`` if ``user`` may ``action`` it, else ``NotFound``."""
    version: ResourceVersion | None = (
        ResourceVersion.objects.visible_to(user, action)
        .select_related("resource", "resource__org", "subject", "edition", "chapter")
        .filter(pk=pk)
        .first()
    )
    if version is None:
        raise NotFound(_("Version not found."), code="VERSION_NOT_FOUND")
    return version


def version_findings(user: Any, version: ResourceVersion) -> list[AuditFinding]:
    """The audit findings of ``version`` that ``user`` may see (submitter, admins, reviewers),
    blocking ones first. A duplicate finding names the other resource; its title is blanked
    (in the returned rows only) unless ``user`` may see that resource."""
    rank = Case(
        *(When(severity=k, then=Value(v)) for k, v in SEVERITY_ORDER.items()),
        default=Value(3),
        output_field=IntegerField(),
    )
    rows: list[AuditFinding] = list(
        AuditFinding.objects.visible_to(user)
        .filter(version=version)
        .select_related("word_list")
        .annotate(rank=rank)
        .order_by("rank", "pk")
    )
    others = {
        r.detail.get("resource_id")
        for r in rows
        if r.code in DUPLICATE_CODES and isinstance(r.detail, dict)
    }
    others.discard(None)
    if others:
        visible: set[int] = set(
            Resource.objects.visible_to(user).filter(pk__in=others).values_list("pk", flat=True)
        )
        for r in rows:
            if r.code in DUPLICATE_CODES and r.detail.get("resource_id") not in visible:
                r.detail = {**r.detail, "title": ""}
    return rows


def list_word_lists(user: Any) -> QuerySet[SensitiveWordList]:
    """Versions of the sensitive-word list, newest first (for those who manage it)."""
    return (
        SensitiveWordList.objects.visible_to(user).select_related("created_by").order_by("-version")
    )


def access_word_list(user: Any, pk: int) -> SensitiveWordList:
    word_list: SensitiveWordList | None = list_word_lists(user).filter(pk=pk).first()
    if word_list is None:
        raise NotFound(_("Word list not found."), code="WORD_LIST_NOT_FOUND")
    return word_list
