"""Import reads: batches, source systems and the orgs an import may target."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org

from ..models import Finding, ImportBatch, SourceSystem


def list_batches(user: Any, *, status: str = "") -> QuerySet[ImportBatch]:
    """Import batches ``user`` may see, newest first (source, org and actor joined)."""
    qs: QuerySet[ImportBatch] = (
        ImportBatch.objects.visible_to(user)
        .select_related("source", "org", "actor")
        .order_by("-created_at", "-id")
    )
    if status:
        qs = qs.filter(status=status)
    return qs


def access_batch(user: Any, pk: int) -> ImportBatch:
    """One batch ``user`` may see; an invisible one is ``NotFound`` (``BATCH_NOT_FOUND``)."""
    batch = list_batches(user).filter(pk=pk).first()
    if batch is None:
        raise NotFound(_("Import batch not found."), code="BATCH_NOT_FOUND")
    return batch


def batch_for_task(batch_id: int) -> ImportBatch | None:
    """The batch a background task works on (tasks run as the batch's actor, already checked
    when the batch was started)."""
    return ImportBatch.objects.select_related("source", "org", "actor").filter(pk=batch_id).first()


def batch_finding_counts(batch: ImportBatch) -> list[dict[str, Any]]:
    """Findings of ``batch`` per code and severity (most frequent first)."""
    from django.db.models import Count

    return list(
        Finding.objects.filter(batch=batch)
        .order_by()
        .values("code", "severity", "dimension")
        .annotate(n=Count("id"))
        .order_by("-n", "code")
    )


def list_sources(user: Any, action: str = "view") -> QuerySet[SourceSystem]:
    """Source systems ``user`` may see (or ``change``), by code."""
    qs: QuerySet[SourceSystem] = SourceSystem.objects.visible_to(user, action)
    return qs.select_related("org").order_by("code")


def access_source(user: Any, pk: int) -> SourceSystem:
    source = list_sources(user).filter(pk=pk).first()
    if source is None:
        raise NotFound(_("Source system not found."), code="SOURCE_NOT_FOUND")
    return source


def source_by_code(code: str) -> SourceSystem | None:
    """A source by its code (the CLI, which runs as an operator)."""
    return SourceSystem.objects.select_related("org").filter(code=code).first()


def import_orgs(user: Any) -> QuerySet[Org]:
    """Orgs ``user`` may import into (administrative units and schools they may change)."""
    return (
        Org.objects.visible_to(user, "change")
        .filter(kind__in=("region", "city", "county", "school"))
        .order_by("path")
    )


def can_register_sources(user: Any) -> bool:
    """Whether ``user`` may register source systems somewhere (region administrators)."""
    from ..permissions import source_rule

    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return source_rule(user, "change") is not None
