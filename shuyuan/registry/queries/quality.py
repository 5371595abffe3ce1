"""Quality reads: findings and their summaries, batch and org reports, duplicate candidates,
merges and survivorship rules. Always through ``visible_to``; an invisible row is ``NotFound``."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org

from ..choices import Dimension, FindingStatus, MatchStatus
from ..models import FieldAuthority, Finding, ImportBatch, MatchCandidate, Merge, SourceSystem
from ..quality import compute_org_scores

_PERSON_JOINS = (
    "left__primary_org",
    "left__source",
    "right__primary_org",
    "right__source",
)


def score_rows(scores: dict[str, Any]) -> list[dict[str, Any]]:
    """``scores`` (a batch's or an org's) as one row per dimension, in the dimensions' order:
    ``dimension``, ``label``, ``score`` (``None`` when missing) and ``failing`` (rows/records)."""
    failing = scores.get("failing_rows") or scores.get("failing") or {}
    return [
        {
            "dimension": value,
            "label": label,
            "score": scores.get(value),
            "failing": failing.get(value),
        }
        for value, label in Dimension.choices
    ]


def may_see_findings(user: Any) -> bool:
    """True if ``user``'s roles let them see findings somewhere (no query: the rule decides)."""
    return not Finding.objects.visible_to(user).query.is_empty()


def may_decide_findings(user: Any) -> bool:
    return not Finding.objects.visible_to(user, "change").query.is_empty()


def may_review(user: Any) -> bool:
    """True if ``user``'s roles let them see duplicate candidates somewhere."""
    return not MatchCandidate.objects.visible_to(user).query.is_empty()


def may_see_authorities(user: Any) -> bool:
    return not FieldAuthority.objects.visible_to(user).query.is_empty()


def list_findings(
    user: Any,
    *,
    batch: ImportBatch | None = None,
    org: Org | None = None,
    code: str = "",
    dimension: str = "",
    severity: str = "",
    file: str = "",
    status: str = "",
    entity_type: str = "",
    record_id: int | None = None,
) -> QuerySet[Finding]:
    """Findings ``user`` may see, filtered; ordered by file, row and id (``batch`` and ``org``
    already joined, for lists and exports)."""
    qs: QuerySet[Finding] = Finding.objects.visible_to(user).select_related("org", "batch")
    if batch is not None:
        qs = qs.filter(batch=batch)
    if org is not None:
        qs = qs.filter(org_id__in=Org.objects.filter(path__startswith=org.path).values("id"))
    for name, value in (
        ("code", code),
        ("dimension", dimension),
        ("severity", severity),
        ("file", file),
        ("status", status),
        ("entity_type", entity_type),
    ):
        if value:
            qs = qs.filter(**{name: value})
    if record_id is not None:
        qs = qs.filter(record_id=record_id)
    return qs.order_by("batch_id", "file", "row", "id")


def summarize_findings(findings: QuerySet[Finding]) -> list[dict[str, Any]]:
    """Counts of ``findings`` by code, dimension and severity, most frequent first (one query)."""
    return list(
        findings.select_related(None)
        .order_by()
        .values("code", "dimension", "severity")
        .annotate(count=Count("id"))
        .order_by("-count", "code")
    )


def count_by_dimension(findings: QuerySet[Finding]) -> dict[str, int]:
    rows = findings.select_related(None).order_by().values("dimension").annotate(n=Count("id"))
    return {row["dimension"]: row["n"] for row in rows}


def finding_files(findings: QuerySet[Finding]) -> list[str]:
    """The distinct file names among ``findings`` (for the file filter)."""
    return list(
        findings.select_related(None).order_by("file").values_list("file", flat=True).distinct()
    )


def access_finding(user: Any, pk: int, action: str = "view") -> Finding:
    found: Finding | None = (
        Finding.objects.visible_to(user, action)
        .select_related("org", "batch")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Finding not found."), code="FINDING_NOT_FOUND")
    return found


def access_batch(user: Any, pk: int) -> ImportBatch:
    """The import batch ``pk`` if ``user`` may see it (for its quality report)."""
    found: ImportBatch | None = (
        ImportBatch.objects.visible_to(user)
        .select_related("source", "org", "actor")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Import batch not found."), code="BATCH_NOT_FOUND")
    return found


def org_report(user: Any, org: Org) -> dict[str, Any]:
    """The org subtree's scores (``quality.compute_org_scores``), its open findings by code and
    by dimension. ``org`` must come from ``core.queries.access_org``."""
    findings = list_findings(user, org=org, status=FindingStatus.OPEN)
    scores = compute_org_scores(org)
    return {
        "scores": scores,
        "score_rows": score_rows(scores),
        "by_code": summarize_findings(findings),
        "by_dimension": count_by_dimension(findings),
    }


# --- duplicates --------------------------------------------------------------------------------


def list_candidates(
    user: Any, *, status: str = "", org: Org | None = None, action: str = "view"
) -> QuerySet[MatchCandidate]:
    """Duplicate candidates ``user`` may see (both records, their schools and sources joined),
    open ones first, then by score."""
    qs: QuerySet[MatchCandidate] = MatchCandidate.objects.visible_to(user, action).select_related(
        "org", "batch", "decided_by", *_PERSON_JOINS
    )
    if status:
        qs = qs.filter(status=status)
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    return qs.order_by("status", "-score", "id")


def list_open_candidates(user: Any, **kwargs: Any) -> QuerySet[MatchCandidate]:
    return list_candidates(user, status=MatchStatus.OPEN, **kwargs)


def list_decided_candidates(user: Any, **kwargs: Any) -> QuerySet[MatchCandidate]:
    return (
        list_candidates(user, **kwargs)
        .exclude(status=MatchStatus.OPEN)
        .order_by("-decided_at", "-id")
    )


def access_candidate(user: Any, pk: int, action: str = "view") -> MatchCandidate:
    found: MatchCandidate | None = list_candidates(user, action=action).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Duplicate candidate not found."), code="CANDIDATE_NOT_FOUND")
    return found


def list_merges(user: Any) -> QuerySet[Merge]:
    return Merge.objects.visible_to(user).select_related("survivor", "absorbed", "candidate")


def latest_merges(user: Any, candidate_ids: list[int]) -> dict[int, Merge]:
    """The newest unreversed merge of each of ``candidate_ids`` (one query)."""
    merges = list_merges(user).filter(candidate_id__in=candidate_ids, reversed_at__isnull=True)
    found: dict[int, Merge] = {}
    for merge in merges.order_by("created_at", "id"):
        found[merge.candidate_id] = merge
    return found


def access_merge(user: Any, pk: int) -> Merge:
    found: Merge | None = list_merges(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Merge not found."), code="MERGE_NOT_FOUND")
    return found


# --- survivorship ------------------------------------------------------------------------------


def list_authorities(user: Any) -> QuerySet[FieldAuthority]:
    return (
        FieldAuthority.objects.visible_to(user)
        .select_related("source")
        .order_by("entity_type", "field")
    )


def access_authority(user: Any, pk: int) -> FieldAuthority:
    found: FieldAuthority | None = list_authorities(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Rule not found."), code="AUTHORITY_NOT_FOUND")
    return found


def list_sources(user: Any) -> QuerySet[SourceSystem]:
    return SourceSystem.objects.visible_to(user).order_by("code")
