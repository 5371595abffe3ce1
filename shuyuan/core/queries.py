"""Read functions for the org tree, change log and audit log; always through ``visible_to``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from .errors import NotFound
from .models import AuditEvent, ChangeRecord, Org


def list_orgs(
    user: Any, *, q: str = "", kind: str = "", parent: Org | None = None, action: str = "view"
) -> QuerySet[Org]:
    """Orgs ``user`` may see, optionally searched by name or code, of a kind, under a parent."""
    qs: QuerySet[Org] = Org.objects.visible_to(user, action).select_related("parent")
    if q:
        q = q.strip()[:100]
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(division_code__startswith=q)
            | Q(school_code__iexact=q)
            | Q(credit_code__iexact=q)
        )
    if kind:
        qs = qs.filter(kind=kind)
    if parent is not None:
        qs = qs.filter(parent=parent)
    return qs.order_by("path")


def access_org(user: Any, pk: int, action: str = "view") -> Org:
    """The org ``pk`` if ``user`` may ``action`` it; an invisible org is ``NotFound``."""
    org: Org | None = (
        Org.objects.visible_to(user, action).select_related("parent").filter(pk=pk).first()
    )
    if org is None:
        raise NotFound(_("Organisation not found."), code="ORG_NOT_FOUND")
    return org


def org_history(user: Any, org: Org) -> QuerySet[ChangeRecord]:
    """Change records about ``org`` (renames, moves, code changes) that ``user`` may read."""
    return ChangeRecord.objects.visible_to(user).filter(
        target_type=Org._meta.label_lower, target_id=str(org.pk)
    )


def record_timeline(user: Any, target_type: str, target_id: str) -> QuerySet[ChangeRecord]:
    """Change records about one record and about the records in its timeline (those naming it
    as their parent, e.g. an account's role grants and revocations), newest first."""
    return (
        ChangeRecord.objects.visible_to(user)
        .filter(
            Q(target_type=target_type, target_id=target_id)
            | Q(parent_type=target_type, parent_id=target_id)
        )
        .order_by("-seq")
    )


def list_change_records(
    user: Any, *, target_type: str = "", target_id: str = "", actor: str = ""
) -> QuerySet[ChangeRecord]:
    qs: QuerySet[ChangeRecord] = ChangeRecord.objects.visible_to(user)
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id:
        qs = qs.filter(target_id=target_id)
    if actor:
        qs = qs.filter(actor_name=actor)
    return qs.order_by("-seq")


def list_audit_events(user: Any, *, code: str = "", actor: str = "") -> QuerySet[AuditEvent]:
    qs: QuerySet[AuditEvent] = AuditEvent.objects.visible_to(user)
    if code:
        qs = qs.filter(code__startswith=code)
    if actor:
        qs = qs.filter(actor_name=actor)
    return qs.order_by("-created_at", "-id")
