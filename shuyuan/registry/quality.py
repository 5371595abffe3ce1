"""Data-quality scores of an import batch and of an org subtree (docs/apps/registry-quality.md).

Every score is a share in ``[0, 1]`` (1 is best) computed with a few aggregate queries: no
Python loop over rows, so an org report stays fast at a million people.

Batch scores (``compute_batch_scores``), stored by the importer in ``ImportBatch.scores``:
for each dimension, ``1 - failing / rows`` where ``failing`` is the number of distinct
``(file, row)`` pairs with at least one finding of that dimension and ``rows`` the data rows of
the batch (``batch.counts[<entity>]["rows"]`` summed). Findings without a row (record-level
findings) do not count against a batch.

Org scores (``compute_org_scores``), over the registry's current records in the org subtree
("records" = active people, classes, enrolments and roles, merged-away people excluded):

* completeness: the share of the profile's required person fields (``REQUIRED_PERSON_FIELDS``)
  that are filled, over active people;
* validity and consistency: ``1 - r / records`` where ``r`` is the number of distinct records
  with an open finding of that dimension;
* uniqueness: ``1 - p / people`` where ``p`` is the number of active people in an open
  duplicate candidate;
* timeliness: the share of active records whose ``date_last_modified`` is within
  ``REGISTRY_TIMELINESS_DAYS`` (setting, default 365) of now.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import CharField, Count, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from shuyuan.core.models import Org

from .choices import Dimension, FindingStatus, MatchStatus, RecordStatus
from .models import (
    Enrollment,
    Finding,
    ImportBatch,
    MatchCandidate,
    Person,
    PersonRole,
    RosterClass,
)

DIMENSIONS: tuple[str, ...] = tuple(Dimension.values)

#: Person fields the Chinese profile requires (attname -> how "empty" looks).
REQUIRED_PERSON_FIELDS: tuple[str, ...] = (
    "name",
    "sex",
    "birth_date",
    "id_number_index",
    "ethnicity",
    "primary_org_id",
)

DEFAULT_TIMELINESS_DAYS = 365


def _share(bad: int, total: int) -> float:
    """``1 - bad / total`` clamped to ``[0, 1]``; a perfect 1.0 when there is nothing."""
    if total <= 0:
        return 1.0
    return round(max(0.0, 1.0 - bad / total), 4)


def batch_rows(batch: ImportBatch) -> int:
    """The data rows of ``batch``: ``counts[<entity>]["rows"]`` summed."""
    total = 0
    for entry in (batch.counts or {}).values():
        if isinstance(entry, dict):
            value = entry.get("rows", 0)
            if isinstance(value, int):
                total += value
    return total


def _row_key() -> Concat:
    return Concat("file", Value(":"), Cast("row", CharField()), output_field=CharField())


def compute_batch_scores(batch: ImportBatch) -> dict[str, Any]:
    """The five scores of ``batch`` (module docstring), ``rows`` and ``failing_rows`` per
    dimension. One aggregate query over the batch's findings."""
    rows = batch_rows(batch)
    failing = dict.fromkeys(DIMENSIONS, 0)
    grouped = (
        Finding.objects.filter(batch=batch, row__isnull=False)
        .order_by()
        .values("dimension")
        .annotate(n=Count(_row_key(), distinct=True))
    )
    for entry in grouped:
        if entry["dimension"] in failing:
            failing[entry["dimension"]] = entry["n"]
    scores: dict[str, Any] = {d: _share(failing[d], rows) for d in DIMENSIONS}
    scores["rows"] = rows
    scores["failing_rows"] = failing
    return scores


def _org_ids(org: Org) -> QuerySet[Any, Any]:
    return Org.objects.filter(path__startswith=org.path).values("id")


def timeliness_days() -> int:
    return int(getattr(settings, "REGISTRY_TIMELINESS_DAYS", DEFAULT_TIMELINESS_DAYS))


def _person_filled() -> dict[str, Any]:
    filled: dict[str, Any] = {}
    for name in REQUIRED_PERSON_FIELDS:
        field: Any = Person._meta.get_field(name.removesuffix("_id"))
        if field.null:
            condition = Q(**{f"{name}__isnull": False})
            if not field.is_relation and field.get_internal_type() == "CharField":
                condition &= ~Q(**{name: ""})
        else:
            condition = ~Q(**{name: ""})
        filled[f"filled_{name}"] = Count("id", filter=condition)
    return filled


def compute_org_scores(org: Org, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The five scores of the records in ``org``'s subtree (module docstring) and the counts
    behind them: ``people``, ``records``, ``failing`` per dimension. Seven aggregate queries."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=timeliness_days())
    ids = _org_ids(org)
    fresh = Count("id", filter=Q(date_last_modified__gte=cutoff))

    people_qs = Person.objects.filter(
        primary_org_id__in=ids, status=RecordStatus.ACTIVE, merged_into__isnull=True
    )
    people = people_qs.aggregate(total=Count("id"), fresh=fresh, **_person_filled())
    others = [
        RosterClass.objects.filter(school_id__in=ids, status=RecordStatus.ACTIVE),
        Enrollment.objects.filter(school_id__in=ids, status=RecordStatus.ACTIVE),
        PersonRole.objects.filter(org_id__in=ids, status=RecordStatus.ACTIVE),
    ]
    records, fresh_records = people["total"], people["fresh"]
    for qs in others:
        counts = qs.aggregate(total=Count("id"), fresh=fresh)
        records += counts["total"]
        fresh_records += counts["fresh"]

    filled = sum(people[f"filled_{name}"] for name in REQUIRED_PERSON_FIELDS)
    required = people["total"] * len(REQUIRED_PERSON_FIELDS)

    record_key = Concat(
        "entity_type", Value("#"), Cast("record_id", CharField()), output_field=CharField()
    )
    failing = dict.fromkeys(DIMENSIONS, 0)
    for entry in (
        Finding.objects.filter(org_id__in=ids, status=FindingStatus.OPEN, record_id__isnull=False)
        .order_by()
        .values("dimension")
        .annotate(n=Count(record_key, distinct=True))
    ):
        if entry["dimension"] in failing:
            failing[entry["dimension"]] = entry["n"]

    open_pairs = MatchCandidate.objects.filter(status=MatchStatus.OPEN)
    duplicated = people_qs.filter(
        Q(pk__in=open_pairs.values("left_id")) | Q(pk__in=open_pairs.values("right_id"))
    ).count()
    failing[Dimension.UNIQUENESS] = duplicated

    return {
        Dimension.COMPLETENESS.value: _share(required - filled, required),
        Dimension.VALIDITY.value: _share(failing[Dimension.VALIDITY], records),
        Dimension.UNIQUENESS.value: _share(duplicated, people["total"]),
        Dimension.CONSISTENCY.value: _share(failing[Dimension.CONSISTENCY], records),
        Dimension.TIMELINESS.value: _share(records - fresh_records, records),
        "people": people["total"],
        "records": records,
        "failing": {str(k): v for k, v in failing.items()},
        "missing_fields": {
            name.removesuffix("_id"): people["total"] - people[f"filled_{name}"]
            for name in REQUIRED_PERSON_FIELDS
        },
        "timeliness_days": timeliness_days(),
    }
