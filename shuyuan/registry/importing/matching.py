"""Duplicate detection at the end of an import batch: set-based, idempotent.

Two active, unmerged ``Person`` records, at least one of them listed by the batch, are a
``MatchCandidate`` when

* they have the same ID-number blind index (``same_id_number``, score 1.0; ``detail`` says
  whether their names and name keys are equal) → finding ``ID_NUMBER_DUPLICATE`` on the newer
  record; or
* they have the same name key (``·`` and ``.`` alike, traditional = simplified), birth date and
  sex, and at least one of them has no ID number (``name_variant``, score 0.8) → finding
  ``NAME_VARIANT_DUPLICATE``. Two people with the same name, birth date and sex but different
  ID numbers (twins, namesakes) are *not* candidates.

``left`` is the lower id. The unique ``(left, right)`` constraint makes re-running harmless: a
pair already known (open, merged or kept apart) is not proposed again, and gets no new finding.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.models import ChangeAction, append_change

from ..choices import Dimension, MatchReason, Severity
from ..models import Finding, MatchCandidate, Person
from . import bulk

ID_NUMBER_DUPLICATE = "ID_NUMBER_DUPLICATE"
NAME_VARIANT_DUPLICATE = "NAME_VARIANT_DUPLICATE"
NAME_VARIANT_SCORE = 0.8

_FIELDS = ("id", "name", "name_key", "primary_org_id", "sourced_id")


_LIVE = "status = 'active' AND merged_into_id IS NULL"


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _candidates_same_id(batch: Any) -> list[tuple[int, int]]:
    """People sharing an ID-number index, in groups with at least one person of the batch.
    One aggregate over the table and a join back (a hash join on PostgreSQL)."""
    table = Person._meta.db_table
    rows = _rows(
        f"""
        SELECT p.id_number_index, p.id FROM "{table}" p
        JOIN (
            SELECT id_number_index FROM "{table}"
            WHERE {_LIVE} AND id_number_index IS NOT NULL
            GROUP BY id_number_index
            HAVING COUNT(*) > 1 AND MAX(CASE WHEN seen_batch = %s THEN 1 ELSE 0 END) = 1
        ) d ON d.id_number_index = p.id_number_index
        WHERE p.status = 'active' AND p.merged_into_id IS NULL
        ORDER BY 1, 2
        """,  # noqa: S608  # table name from _meta
        [batch.pk],
    )
    return _group_pairs(rows)


def _candidates_name(batch: Any) -> list[tuple[int, int]]:
    """Same name key, birth date and sex, at least one without an ID number."""
    table = Person._meta.db_table
    rows = _rows(
        f"""
        SELECT p.name_key, p.birth_date, p.sex, p.id_number_index, p.id FROM "{table}" p
        JOIN (
            SELECT name_key, birth_date, sex FROM "{table}"
            WHERE {_LIVE} AND birth_date IS NOT NULL AND name_key <> ''
            GROUP BY name_key, birth_date, sex
            HAVING COUNT(*) > 1 AND MAX(CASE WHEN seen_batch = %s THEN 1 ELSE 0 END) = 1
               AND MIN(CASE WHEN id_number_index IS NULL THEN 0 ELSE 1 END) = 0
        ) d ON d.name_key = p.name_key AND d.birth_date = p.birth_date AND d.sex = p.sex
        WHERE p.status = 'active' AND p.merged_into_id IS NULL
        ORDER BY p.id
        """,  # noqa: S608  # table name from _meta
        [batch.pk],
    )
    groups: dict[tuple[Any, ...], list[tuple[int, str | None]]] = {}
    for key, birth, sex, index, pk in rows:
        groups.setdefault((key, birth, sex), []).append((pk, index))
    pairs: list[tuple[int, int]] = []
    for members in groups.values():
        for i, (a, ia) in enumerate(members):
            for b, ib in members[i + 1 :]:
                if ia is None or ib is None:
                    pairs.append((min(a, b), max(a, b)))
    return pairs


def _group_pairs(rows: Any) -> list[tuple[int, int]]:
    groups: dict[str, list[int]] = {}
    for key, pk in rows:
        groups.setdefault(key, []).append(pk)
    pairs: list[tuple[int, int]] = []
    for ids in groups.values():
        ids.sort()
        pairs += [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    return pairs


def find_duplicates(batch: Any) -> dict[str, int]:
    """Propose candidates for the people this batch listed (see the module docstring).

    Runs inside the caller's transaction, change context and ``bulk_writes()``; appends one
    chained ``ChangeRecord`` for the candidates it creates. Returns counts per reason.
    """
    found = {
        MatchReason.SAME_ID_NUMBER: _candidates_same_id(batch),
        MatchReason.NAME_VARIANT: [],
    }
    same_id = set(found[MatchReason.SAME_ID_NUMBER])
    found[MatchReason.NAME_VARIANT] = [p for p in _candidates_name(batch) if p not in same_id]
    everything = {p for pairs in found.values() for p in pairs}
    if not everything:
        return {}
    lefts = {a for a, _b in everything}
    known = set(MatchCandidate.objects.filter(left_id__in=lefts).values_list("left_id", "right_id"))
    ids = {i for pair in everything for i in pair}
    people = {p["id"]: p for p in Person.objects.filter(pk__in=ids).values(*_FIELDS)}
    now = timezone.now()
    candidates: list[tuple[Any, ...]] = []
    findings: list[tuple[Any, ...]] = []
    counts: dict[str, int] = {}
    for reason, pairs in found.items():
        for left, right in pairs:
            if (left, right) in known:
                continue
            known.add((left, right))
            a, b = people[left], people[right]
            org_id = b["primary_org_id"] or batch.org_id
            if reason == MatchReason.SAME_ID_NUMBER:
                detail = {
                    "names_equal": a["name"] == b["name"],
                    "name_keys_equal": a["name_key"] == b["name_key"],
                }
                score, code = 1.0, ID_NUMBER_DUPLICATE
                message = _("Another record has the same ID number: %(other)s.") % {
                    "other": a["sourced_id"]
                }
            else:
                detail = {"name_key": a["name_key"]}
                score, code = NAME_VARIANT_SCORE, NAME_VARIANT_DUPLICATE
                message = _(
                    "Another record has the same normalised name, birth date and sex: %(other)s."
                ) % {"other": a["sourced_id"]}
            candidates.append((left, right, reason, score, detail, org_id, "open", batch.pk, now))
            findings.append(
                (
                    batch.pk,
                    org_id,
                    code,
                    Dimension.UNIQUENESS,
                    Severity.WARNING,
                    "",
                    None,
                    "",
                    "",
                    message[:500],
                    "user",
                    b["sourced_id"],
                    right,
                    "open",
                    now,
                )
            )
            counts[reason] = counts.get(reason, 0) + 1
    candidate_columns = (
        "left_id",
        "right_id",
        "reason",
        "score",
        "detail",
        "org_id",
        "status",
        "batch_id",
        "created_at",
    )
    bulk.insert_records(
        MatchCandidate, [dict(zip(candidate_columns, c, strict=True)) for c in candidates]
    )
    from .engine import Importer

    bulk.insert_records(
        Finding, [dict(zip(Importer.FINDING_COLUMNS, f, strict=True)) for f in findings]
    )
    if candidates:
        append_change(
            action=ChangeAction.BULK,
            target_type="registry.importbatch",
            target_id=str(batch.pk),
            target_repr=str(batch),
            changes={"table": "matchcandidate", "created": len(candidates), **counts},
            org_path=batch.org.path,
        )
    return counts
