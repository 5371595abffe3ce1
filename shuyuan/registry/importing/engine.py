"""The import engine: a batch's file → validated, matched, merged registry records.

``run_batch(batch)`` opens the file (``readers``), then for each table in ``FILE_ORDER`` streams
its rows in chunks. A chunk is cleaned (``rules``), its references resolved, merged field by
field (survivorship, provenance) and written set-based (``bulk``) in **one transaction** together
with its findings, its ``RecordChange`` rows, the batch checkpoint and one chained core
``ChangeRecord`` (ADR 0003). A crash loses at most the open chunk; ``run_batch`` on an
interrupted batch resumes after its checkpoint, and re-processing a row is idempotent anyway
(an unchanged row writes nothing but its ``seen_batch`` mark). The end-of-batch work (bulk-mode
``tobedeleted`` marking, primary orgs from roles, guardian direction, account linking,
duplicate matching, scores) runs in a final transaction.

See docs/apps/registry-import.md for the rules (survivorship, scope, timeliness, codes).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core import crypto, validators
from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.models import ChangeAction, Org, OrgKind, append_change, new_path_key
from shuyuan.identity.actions import id_number_index, mobile_index
from shuyuan.identity.pii import pii_cipher

from ..choices import (
    BatchStatus,
    Dimension,
    EntityType,
    OrgType,
    RecordStatus,
    RosterRole,
    Severity,
    SurvivorshipStrategy,
)
from ..models import (
    AcademicSession,
    ClassTerm,
    Course,
    Enrollment,
    FieldAuthority,
    FieldObservation,
    Finding,
    Guardianship,
    ImportBatch,
    OrgRecord,
    Person,
    PersonRole,
    RecordChange,
    RosterClass,
)
from ..normalize import name_key
from . import bulk
from .types import FILE_ORDER, BundleError, CleanRow, Issue, RawRow

logger = logging.getLogger(__name__)

#: Rows per committed chunk (tests pass a smaller one).
CHUNK_SIZE = 5000
#: A running batch whose heartbeat is older than this is shown as interrupted (resumable).
STALE_AFTER = dt.timedelta(minutes=2)
#: Columns whose cell values are personal data: a finding shows them masked.
PII_COLUMNS = {"metadata.cn.idNumber": crypto.mask_id_number}
for _column in ("sms", "phone", "metadata.cn.mobile"):
    PII_COLUMNS[_column] = crypto.mask_mobile
REDACTED = "[redacted]"

ProgressCallback = Callable[[ImportBatch, str, int, int], None]


# --- codes the engine adds (docs/apps/registry-import.md) ---------------------------------------

SOURCED_ID_DUPLICATE = "SOURCED_ID_DUPLICATE"
REF_UNKNOWN = "REF_UNKNOWN"
OUT_OF_SCOPE = "OUT_OF_SCOPE"
SOURCE_CONFLICT = "SOURCE_CONFLICT"
STALE_UPDATE = "STALE_UPDATE"
DATE_IN_FUTURE = "DATE_IN_FUTURE"
DEMOGRAPHICS_MISMATCH = "DEMOGRAPHICS_MISMATCH"
ORG_UNRESOLVED = "ORG_UNRESOLVED"
IMPORT_INTERRUPTED = "IMPORT_INTERRUPTED"


@dataclass(frozen=True)
class EntitySpec:
    """How one entity type is stored: its model and the attribute that scopes it to an org."""

    entity: str
    model: type[models.Model]
    org_attr: str  # attname whose org must lie in the batch org's subtree
    org_lookup: str  # ORM path of that org's ``path`` (bulk-mode deletion scope)


SPECS: dict[str, EntitySpec] = {
    EntityType.ORG: EntitySpec(EntityType.ORG, OrgRecord, "org_id", "org__path"),
    EntityType.ACADEMIC_SESSION: EntitySpec(
        EntityType.ACADEMIC_SESSION, AcademicSession, "org_id", "org__path"
    ),
    EntityType.COURSE: EntitySpec(EntityType.COURSE, Course, "org_id", "org__path"),
    EntityType.CLASS: EntitySpec(EntityType.CLASS, RosterClass, "school_id", "school__path"),
    EntityType.USER: EntitySpec(EntityType.USER, Person, "primary_org_id", "primary_org__path"),
    EntityType.ROLE: EntitySpec(EntityType.ROLE, PersonRole, "org_id", "org__path"),
    EntityType.ENROLLMENT: EntitySpec(
        EntityType.ENROLLMENT, Enrollment, "school_id", "school__path"
    ),
    EntityType.GUARDIANSHIP: EntitySpec(
        EntityType.GUARDIANSHIP, Guardianship, "student_id", "student__primary_org__path"
    ),
}
TABLE_ENTITY = {
    "orgs": EntityType.ORG,
    "academicSessions": EntityType.ACADEMIC_SESSION,
    "courses": EntityType.COURSE,
    "classes": EntityType.CLASS,
    "users": EntityType.USER,
    "demographics": EntityType.USER,
    "roles": EntityType.ROLE,
    "enrollments": EntityType.ENROLLMENT,
}
#: The columns a reference comes from (for REF_UNKNOWN findings).
REF_COLUMNS = {
    "parent": "parentSourcedId",
    "school_year": "schoolYearSourcedId",
    "org": "orgSourcedId",
    "course": "courseSourcedId",
    "school": "schoolSourcedId",
    "terms": "termSourcedIds",
    "primary_org": "primaryOrgSourcedId",
    "agents": "agentSourcedIds",
    "user": "userSourcedId",
    "class": "classSourcedId",
}
#: PII kept as ciphertext + blind index + masked copy: the index is compared, all three written.
PII_FIELDS = {
    "id_number": ("id_number_index", "id_number_cipher", "id_number_masked"),
    "mobile": ("mobile_index", "mobile_cipher", "mobile_masked"),
}
#: Columns computed from another field: written only together with it.
DERIVED = {"name_key": "name"}
BOOKKEEPING = ("status", "date_last_modified", "provenance", "last_batch_id", "seen_batch")
GUARDIAN_ROLES = (RosterRole.GUARDIAN, RosterRole.PARENT, RosterRole.RELATIVE)


class ImportInterrupted(Exception):
    """Raised by a progress callback (or a signal handler) to stop a running import."""


# --- small helpers ----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return REDACTED
    return value


@cache
def _field_name(attname: str) -> str:
    """The field name provenance, authorities and diffs use (``course_id`` → ``course``)."""
    for logical, columns in PII_FIELDS.items():
        if attname == columns[0]:
            return logical
    return attname.removesuffix("_id")


def _mask_value(column: str, value: str) -> str:
    masker = PII_COLUMNS.get(column)
    if masker is not None and value:
        value = masker(value)
    return value[:200]


def is_stale(batch: ImportBatch, now: dt.datetime | None = None) -> bool:
    """A batch marked running whose worker stopped sending heartbeats (killed, crashed)."""
    if batch.status != BatchStatus.RUNNING:
        return False
    beat = batch.heartbeat_at or batch.started_at or batch.created_at
    return (now or timezone.now()) - beat > STALE_AFTER


def effective_status(batch: ImportBatch) -> str:
    """The status to show: a stale running batch is interrupted (and can be resumed)."""
    return BatchStatus.INTERRUPTED if is_stale(batch) else batch.status


@contextmanager
def _local_copy(batch: ImportBatch) -> Iterator[str]:
    """A filesystem path of the batch's stored file (copied out of non-local storage)."""
    storage = batch.file.storage
    try:
        path = storage.path(batch.file.name)
    except NotImplementedError:
        path = ""
    if path and os.path.exists(path):
        yield path
        return
    suffix = os.path.splitext(batch.file_name or batch.file.name)[1] or ".zip"
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
        with batch.file.open("rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp_path = tmp.name
    try:
        yield tmp_path
    finally:
        os.unlink(tmp_path)


# --- per-chunk state --------------------------------------------------------------------------


@dataclass
class _Pending:
    """One row on its way into the registry."""

    row: CleanRow
    table: str
    values: dict[str, Any] = field(default_factory=dict)  # attname -> value
    org_id: int | None = None  # the row's school/org for findings
    org_path: str = ""
    record_id: int | None = None
    terms: list[int] | None = None


@dataclass
class _Chunk:
    """What one chunk writes (in one transaction)."""

    findings: list[tuple[Any, ...]] = field(default_factory=list)
    observations: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[str, int, str, dict[str, Any]]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class _RefMap:
    """raw sourcedId → (pk, org id, org path) of one entity type, loaded once per batch."""

    def __init__(self, entries: dict[str, tuple[int, int | None, str]]) -> None:
        self.entries = entries

    def get(self, raw: str) -> tuple[int, int | None, str] | None:
        return self.entries.get(raw)


class Importer:
    """Merges the rows of one batch; one instance per ``run_batch`` call."""

    FINDING_COLUMNS = (
        "batch_id",
        "org_id",
        "code",
        "dimension",
        "severity",
        "file",
        "row",
        "column",
        "value",
        "message",
        "entity_type",
        "sourced_id",
        "record_id",
        "status",
        "created_at",
    )

    def __init__(self, batch: ImportBatch, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.batch = batch
        self.source = batch.source
        self.prefix = batch.source.id_prefix
        self.org = batch.org
        self.chunk_size = chunk_size
        self.now = timezone.now()
        self.mode = batch.mode or "bulk"
        self.authorities = {
            (a.entity_type, a.field): (a.strategy, a.source_id)
            for a in FieldAuthority.objects.all()
        }
        self.cipher = pii_cipher()
        self._maps: dict[str, _RefMap] = {}
        self._seen_demographics: set[str] = set()
        self._deferred_agents: list[tuple[CleanRow, str, int]] = []
        #: When set, writes are collected here instead of run (the pipelined writer runs them).
        self.deferred: list[Callable[[], Any]] | None = None
        #: sourcedIds of the chunk the pipelined writer is still committing.
        self.inflight_keys: set[str] = set()
        self._recent_people: list[dict[str, int]] = []

    def keys_of(self, rows: list[CleanRow]) -> set[str]:
        """The registry sourcedIds of ``rows``."""
        return {self._prefixed(r.sourced_id) for r in rows}

    def _apply(self, function: Callable[..., Any], *args: Any) -> None:
        if self.deferred is None:
            function(*args)
        else:
            self.deferred.append(functools.partial(function, *args))

    # --- reference maps ---------------------------------------------------------------------

    def _prefixed(self, raw: str) -> str:
        return self.prefix + raw

    def _raw(self, sourced_id: str) -> str:
        return sourced_id[len(self.prefix) :]

    def ref_map(self, entity: str) -> _RefMap:
        """The small entities' maps (orgs, sessions, courses, classes) for this source."""
        if entity not in self._maps:
            spec = SPECS[entity]
            qs = spec.model._default_manager.filter(source=self.source)
            entries: dict[str, tuple[int, int | None, str]] = {}
            if entity == EntityType.ORG or entity == EntityType.COURSE:
                for pk, sid, org_id, path in qs.values_list(
                    "id", "sourced_id", "org_id", "org__path"
                ):
                    entries[self._raw(sid)] = (pk, org_id, path)
            elif entity == EntityType.CLASS:
                for pk, sid, org_id, path in qs.values_list(
                    "id", "sourced_id", "school_id", "school__path"
                ):
                    entries[self._raw(sid)] = (pk, org_id, path)
            else:
                for pk, sid in qs.values_list("id", "sourced_id"):
                    entries[self._raw(sid)] = (pk, None, "")
            self._maps[entity] = _RefMap(entries)
        return self._maps[entity]

    def people(self, raws: Iterable[str]) -> dict[str, tuple[int, int | None, str]]:
        """Person ids (and primary org) by raw sourcedId: one query per chunk (up to 1M people,
        so no batch-wide map)."""
        keys = {self._prefixed(r) for r in raws if r}
        found: dict[str, tuple[int, int | None, str]] = {}
        if not keys:
            return found
        rows = bulk.fetch_by(
            Person,
            "sourced_id",
            list(keys),
            ("id", "sourced_id", "primary_org_id", "merged_into_id"),
        )
        for pk, sid, org_id, merged_into in rows:
            found[self._raw(sid)] = (merged_into or pk, org_id, "")
        return found

    # --- findings ---------------------------------------------------------------------------

    def finding(
        self,
        chunk: _Chunk,
        issue: Issue,
        *,
        file: str,
        row: int | None,
        entity: str = "",
        sourced_id: str = "",
        org_id: int | None = None,
        record_id: int | None = None,
    ) -> None:
        chunk.findings.append(
            (
                self.batch.pk,
                org_id or self.org.pk,
                issue.code,
                issue.dimension,
                issue.severity,
                file[:64],
                row,
                issue.column[:64],
                _mask_value(issue.column, str(issue.value or "")),
                str(issue.message)[:500],
                entity,
                sourced_id[:255],
                record_id,
                "open",
                self.now,
            )
        )

    @staticmethod
    def issue(
        code: str, column: str, message: str, dimension: str, severity: str, value: Any = ""
    ) -> Issue:
        return Issue(code, column, message, dimension, severity, str(value or ""))

    # --- one chunk --------------------------------------------------------------------------

    def process(self, table: str, file: str, rows: list[CleanRow]) -> _Chunk:
        """Merge one chunk of clean rows (the caller holds the transaction)."""
        chunk = _Chunk()
        entity = TABLE_ENTITY[table]
        spec = SPECS[entity]
        fresh = self._check_rows(table, rows, chunk)
        if table == "demographics":
            pending = self._demographics(fresh, chunk)
            self._merge(spec, pending, chunk, file)
        elif table in {"orgs", "academicSessions"}:
            # Rows may refer to a parent created a few rows earlier: one row at a time (small).
            pending = []
            for row in fresh:
                one = self._resolve(table, [row], chunk)
                self._merge(spec, one, chunk, file)
                pending += one
        else:
            pending = self._resolve(table, fresh, chunk)
            self._merge(spec, pending, chunk, file)
        if table == "users":
            self._guardianships(pending, chunk, file)
        for p in pending:
            for issue in p.row.issues:
                self.finding(
                    chunk,
                    issue,
                    file=file,
                    row=p.row.row,
                    entity=entity,
                    sourced_id=self._prefixed(p.row.sourced_id),
                    org_id=p.org_id,
                    record_id=p.record_id,
                )
        return chunk

    def _check_rows(self, table: str, rows: list[CleanRow], chunk: _Chunk) -> list[CleanRow]:
        """Row-level checks the rules cannot make: duplicates in the file, future dates.
        Rejected rows get their findings here and leave the pipeline."""
        keep: list[CleanRow] = []
        seen_in_chunk: set[str] = set()
        # Records listed by an earlier chunk of this batch are caught in _merge (seen_batch).
        already: set[str] = set()
        for row in rows:
            sid = row.sourced_id
            dup = sid in seen_in_chunk or sid in already
            if table == "demographics":
                dup = dup or sid in self._seen_demographics
                self._seen_demographics.add(sid)
            seen_in_chunk.add(sid)
            if dup and sid:
                row.issues.append(self._duplicate_issue(sid))
            if (
                row.date_last_modified is not None
                and row.date_last_modified > self.now + dt.timedelta(minutes=5)
            ):
                row.issues.append(
                    self.issue(
                        DATE_IN_FUTURE,
                        "dateLastModified",
                        _("The modification date lies in the future."),
                        Dimension.VALIDITY,
                        Severity.WARNING,
                        row.date_last_modified.isoformat(),
                    )
                )
            keep.append(row)
        return keep

    def _duplicate_issue(self, sourced_id: str) -> Issue:
        return self.issue(
            SOURCED_ID_DUPLICATE,
            "sourcedId",
            _("This sourcedId appears more than once in the file; later rows are ignored."),
            Dimension.UNIQUENESS,
            Severity.ERROR,
            sourced_id,
        )

    def _ref_issue(self, row: CleanRow, ref: str, value: str) -> None:
        row.issues.append(
            self.issue(
                REF_UNKNOWN,
                REF_COLUMNS.get(ref, ref),
                _("The referenced record is neither in the registry nor in this file."),
                Dimension.CONSISTENCY,
                Severity.ERROR,
                value,
            )
        )

    def _scope_issue(self, row: CleanRow, column: str, value: str) -> None:
        row.issues.append(
            self.issue(
                OUT_OF_SCOPE,
                column,
                _("The record belongs to an organisation outside the organisation of this import."),
                Dimension.VALIDITY,
                Severity.ERROR,
                value,
            )
        )

    def _in_scope(self, path: str) -> bool:
        return path.startswith(self.org.path)

    def _org_ref(
        self, row: CleanRow, ref: str, *, required: bool
    ) -> tuple[int, int | None, str] | None:
        raw = row.refs.get(ref) or ""
        if not raw:
            return None
        hit = self.ref_map(EntityType.ORG).get(raw)
        if hit is None:
            self._ref_issue(row, ref, raw)
            return None
        if not self._in_scope(hit[2]):
            self._scope_issue(row, REF_COLUMNS.get(ref, ref), raw)
            return None
        return hit

    def _resolve(self, table: str, rows: list[CleanRow], chunk: _Chunk) -> list[_Pending]:
        """References → ids (REF_UNKNOWN, OUT_OF_SCOPE); values → model attributes."""
        pending: list[_Pending] = []
        people: dict[str, tuple[int, int | None, str]] = {}
        if table in {"roles", "enrollments"}:
            people = self.people(r.refs.get("user") or "" for r in rows)
        for row in rows:
            p = _Pending(row=row, table=table, values=dict(row.values))
            refs = row.refs
            vals = p.values
            if row.status == RecordStatus.TOBEDELETED:
                pass  # a delta deletion names only the record
            elif table == "orgs":
                self._resolve_org(p)
            elif table == "academicSessions":
                vals["org_id"] = self.org.pk
                p.org_id = self.org.pk
                parent = refs.get("parent") or ""
                vals["parent_id"] = None
                if parent:
                    hit = self.ref_map(EntityType.ACADEMIC_SESSION).get(parent)
                    if hit is None:
                        self._ref_issue(row, "parent", parent)
                    else:
                        vals["parent_id"] = hit[0]
            elif table == "courses":
                year = refs.get("school_year") or ""
                vals["school_year_id"] = None
                if year:
                    hit = self.ref_map(EntityType.ACADEMIC_SESSION).get(year)
                    if hit is None:
                        self._ref_issue(row, "school_year", year)
                    else:
                        vals["school_year_id"] = hit[0]
                org = self._org_ref(row, "org", required=True)
                vals["org_id"] = org[1] if org else self.org.pk
                p.org_id = vals["org_id"]
                p.org_path = org[2] if org else self.org.path
            elif table == "classes":
                course = refs.get("course") or ""
                hit = self.ref_map(EntityType.COURSE).get(course) if course else None
                if hit is None:
                    self._ref_issue(row, "course", course)
                else:
                    vals["course_id"] = hit[0]
                school = self._org_ref(row, "school", required=True)
                if school:
                    vals["school_id"] = school[1]
                    p.org_id = school[1]
                    p.org_path = school[2]
                elif not refs.get("school"):
                    self._ref_issue(row, "school", "")
                terms = []
                for term in refs.get("terms") or []:
                    t = self.ref_map(EntityType.ACADEMIC_SESSION).get(term)
                    if t is None:
                        self._ref_issue(row, "terms", term)
                    else:
                        terms.append(t[0])
                p.terms = sorted(set(terms))
            elif table == "users":
                self._user_values(p)
            elif table == "roles":
                user = refs.get("user") or ""
                hit = people.get(user)
                if hit is None:
                    self._ref_issue(row, "user", user)
                else:
                    vals["person_id"] = hit[0]
                org = self._org_ref(row, "org", required=True)
                if org:
                    vals["org_id"] = org[1]
                    p.org_id = org[1]
            elif table == "enrollments":
                klass = refs.get("class") or ""
                hit = self.ref_map(EntityType.CLASS).get(klass) if klass else None
                if hit is None:
                    self._ref_issue(row, "class", klass)
                else:
                    vals["roster_class_id"] = hit[0]
                    vals["school_id"] = hit[1]
                    p.org_id = hit[1]
                school = self._org_ref(row, "school", required=False)
                if school:
                    vals["school_id"] = school[1]
                    p.org_id = school[1]
                user = refs.get("user") or ""
                person = people.get(user)
                if person is None:
                    self._ref_issue(row, "user", user)
                else:
                    vals["person_id"] = person[0]
            pending.append(p)
        return pending

    def _resolve_org(self, p: _Pending) -> None:
        """An org row → the core ``Org`` it stands for (created when missing; see the docs).
        The codes live on the core org, not on the record."""
        self._resolve_org_row(p)
        p.values.pop("credit_code", None)
        p.values.pop("division_code", None)

    def _resolve_org_row(self, p: _Pending) -> None:
        row, vals = p.row, p.values
        parent_raw = row.refs.get("parent") or ""
        parent = None
        vals["parent_id"] = None
        if parent_raw:
            parent = self.ref_map(EntityType.ORG).get(parent_raw)
            if parent is None:
                self._ref_issue(row, "parent", parent_raw)
                return
            vals["parent_id"] = parent[0]
        existing = self.ref_map(EntityType.ORG).get(row.sourced_id)
        if existing is not None:
            vals["org_id"] = existing[1]
            p.org_id = existing[1]
            p.org_path = existing[2]
            if not self._in_scope(existing[2]):
                self._scope_issue(row, "sourcedId", row.sourced_id)
            return
        if row.rejected:
            return
        core = self._find_core_org(row, parent)
        if core is None:
            row.issues.append(
                self.issue(
                    ORG_UNRESOLVED,
                    "type",
                    _(
                        "The organisation matches no organisation of the tree "
                        "and cannot be created here."
                    ),
                    Dimension.CONSISTENCY,
                    Severity.ERROR,
                    vals.get("type", ""),
                )
            )
            return
        if not self._in_scope(core.path):
            self._scope_issue(row, "sourcedId", row.sourced_id)
            return
        vals["org_id"] = core.pk
        p.org_id = core.pk
        p.org_path = core.path

    def _find_core_org(
        self, row: CleanRow, parent: tuple[int, int | None, str] | None
    ) -> Org | None:
        vals = row.values
        kind = vals.get("type")
        parent_org: Org | None = self.org
        if parent is not None:
            parent_org = Org.objects.filter(pk=parent[1] or 0).first()
        if kind == OrgType.SCHOOL:
            credit = vals.get("credit_code") or ""
            if credit:
                by_credit: Org | None = Org.objects.filter(credit_code=credit).first()
                if by_credit is not None:
                    return by_credit
            if parent_org is None or parent_org.kind not in (
                OrgKind.REGION,
                OrgKind.CITY,
                OrgKind.COUNTY,
            ):
                return None
            return self._create_org(
                OrgKind.SCHOOL, vals.get("name", ""), parent_org, credit_code=credit or None
            )
        if kind == OrgType.DEPARTMENT:
            return parent_org
        code = vals.get("division_code") or ""
        if not code:
            return (
                parent_org if parent is None and kind in {OrgType.DISTRICT, OrgType.LOCAL} else None
            )
        found: Org | None = Org.objects.filter(
            division_code=code, kind__in=(OrgKind.REGION, OrgKind.CITY, OrgKind.COUNTY)
        ).first()
        if found is not None:
            return found
        if parent_org is None or not validators.is_known_division_code(code):
            return None
        if parent_org.division_code and not validators.division_within(
            code, parent_org.division_code
        ):
            return None
        level = {"province": OrgKind.REGION, "city": OrgKind.CITY, "county": OrgKind.COUNTY}[
            validators._division_level(code)  # the level of a code is a pure function
        ]
        return self._create_org(level, vals.get("name", ""), parent_org, division_code=code)

    def _create_org(self, kind: str, name: str, parent: Org, **extra: Any) -> Org:
        org = Org(
            kind=kind,
            name=name[:120] or kind,
            parent=parent,
            path=parent.path + new_path_key() + "/",
            depth=parent.depth + 1,
            **extra,
        )
        org.save(force_insert=True)  # change-logged: one record per created org
        return org

    def _user_values(self, p: _Pending) -> None:
        row, vals = p.row, p.values
        for logical, (index_col, cipher_col, masked_col) in PII_FIELDS.items():
            if logical not in vals:
                continue  # absent or invalid: left as it is
            plain = vals.pop(logical)
            if not plain:
                vals[index_col] = None
                vals[cipher_col] = None
                vals[masked_col] = ""
            else:
                if logical == "id_number":
                    index = id_number_index(plain)
                    masked = crypto.mask_id_number(plain)
                else:
                    index = mobile_index(plain)
                    masked = crypto.mask_mobile(plain)
                vals[index_col] = index
                vals[cipher_col] = plain  # encrypted only when written (random nonce)
                vals[masked_col] = masked
        id_birth = vals.pop("id_birth_date", None)
        id_sex = vals.pop("id_sex", None)
        if id_birth is not None:
            vals["birth_date"] = id_birth
        if id_sex:
            vals["sex"] = id_sex
        if not vals.get("name_key") and vals.get("name"):
            vals["name_key"] = name_key(vals["name"])
        primary = self._org_ref(row, "primary_org", required=False)
        if primary:
            vals["primary_org_id"] = primary[1]
            p.org_id = primary[1]

    def _demographics(self, rows: list[CleanRow], chunk: _Chunk) -> list[_Pending]:
        """Demographics rows update an existing person; they never create one."""
        people = Person.objects.filter(
            sourced_id__in=[self._prefixed(r.sourced_id) for r in rows]
        ).values_list("sourced_id", "id_number_index", "birth_date", "sex", "primary_org_id")
        known = {self._raw(s): (idx, b, sx, org) for s, idx, b, sx, org in people}
        pending: list[_Pending] = []
        for row in rows:
            p = _Pending(row=row, table="demographics", values=dict(row.values))
            hit = known.get(row.sourced_id)
            if hit is None:
                self._ref_issue(row, "user", row.sourced_id)
                row.issues[-1].column = "sourcedId"
            else:
                index, birth, sex, org_id = hit
                p.org_id = org_id
                if index:
                    for name, current, column in (
                        ("birth_date", birth, "birthDate"),
                        ("sex", sex, "sex"),
                    ):
                        if (
                            name in p.values
                            and p.values[name] not in (None, "")
                            and current
                            and p.values[name] != current
                        ):
                            row.issues.append(
                                self.issue(
                                    DEMOGRAPHICS_MISMATCH,
                                    column,
                                    _(
                                        "The value disagrees with the ID number; "
                                        "the ID number's value is kept."
                                    ),
                                    Dimension.CONSISTENCY,
                                    Severity.WARNING,
                                    _jsonable(p.values[name]),
                                )
                            )
                            p.values.pop(name)
                        elif name in p.values and p.values[name] in (None, ""):
                            p.values.pop(name)
            pending.append(p)
        return pending

    # --- merge ------------------------------------------------------------------------------

    def _allowed(
        self, entity: str, name: str, record_source: int, current_dlm: Any, row: CleanRow
    ) -> tuple[bool, bool]:
        """(may this batch's source write the field, does a survivorship rule exist)."""
        rule = self.authorities.get((entity, name))
        if rule is None:
            return record_source == self.source.pk, False
        strategy, source_id = rule
        if strategy == SurvivorshipStrategy.AUTHORITATIVE:
            return (
                source_id == self.source.pk if source_id else record_source == self.source.pk
            ), True
        if strategy == SurvivorshipStrategy.LATEST:
            newer = (
                row.date_last_modified is None
                or current_dlm is None
                or row.date_last_modified >= current_dlm
            )
            return newer, True
        return record_source == self.source.pk, True

    def _merge(self, spec: EntitySpec, pending: list[_Pending], chunk: _Chunk, file: str) -> None:
        model = spec.model
        entity = spec.entity
        accepted = [p for p in pending if not p.row.rejected]
        if not accepted:
            chunk.rejected += len(pending)
            return
        keys = [self._prefixed(p.row.sourced_id) for p in accepted]
        value_cols = sorted({k for p in accepted for k in p.values})
        value_cols = [c for c in value_cols if c not in {"id_number_cipher", "mobile_cipher"}]
        fetch = tuple(
            dict.fromkeys(
                (
                    "id",
                    "sourced_id",
                    "source_id",
                    "status",
                    "date_last_modified",
                    "provenance",
                    "seen_batch",
                    *(("merged_into_id",) if model is Person else ()),
                    *value_cols,
                )
            )
        )
        existing = {
            row[1]: dict(zip(fetch, row, strict=True))
            for row in bulk.fetch_by(model, "sourced_id", keys, fetch)
        }
        if not p_is_demographics(accepted[0]):
            for p in accepted:
                cur = existing.get(self._prefixed(p.row.sourced_id))
                key = self._prefixed(p.row.sourced_id)
                if (cur is not None and cur["seen_batch"] == self.batch.pk) or (
                    key in self.inflight_keys
                ):
                    p.row.issues.append(self._duplicate_issue(p.row.sourced_id))
            accepted = [p for p in accepted if not p.row.rejected]
        chunk.rejected += len(pending) - len(accepted)
        absorbed_ids = self._follow_merges(model, existing, fetch)
        new_rows = [
            p
            for p in accepted
            if self._prefixed(p.row.sourced_id) not in existing
            and p.row.status != RecordStatus.TOBEDELETED
        ]
        if new_rows and p_is_demographics(new_rows[0]):
            new_rows = []
        ids = iter(bulk.allocate_ids(model, len(new_rows)))
        inserts: list[_Pending] = []
        for p in new_rows:
            p.record_id = next(ids)
            inserts.append(p)
            self._remember(entity, p)
        self._insert(model, entity, inserts)
        chunk.created += len(inserts)
        if inserts and entity == EntityType.CLASS:
            bulk.insert_rows(
                ClassTerm,
                ["roster_class_id", "term_id"],
                [(p.record_id, t) for p in inserts for t in p.terms or []],
            )
        updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        seen: list[int] = []
        term_changes: list[_Pending] = []
        current_terms: dict[int, list[int]] = {}
        if entity == EntityType.CLASS:
            ids_ = [existing[k]["id"] for k in keys if k in existing]
            for class_id, term_id in ClassTerm.objects.filter(roster_class_id__in=ids_).values_list(
                "roster_class_id", "term_id"
            ):
                current_terms.setdefault(class_id, []).append(term_id)
        for p in accepted:
            cur = existing.get(self._prefixed(p.row.sourced_id))
            if cur is None:
                continue
            p.record_id = cur["id"]
            result = self._diff(entity, p, cur, chunk, file)
            old_terms = sorted(current_terms.get(cur["id"], []))
            if (
                result is not None
                and entity == EntityType.CLASS
                and p.terms is not None
                and old_terms != p.terms
            ):
                term_changes.append(p)
                result["_terms"] = (old_terms, p.terms)
            if not result:
                seen.append(cur["id"])
                chunk.unchanged += 1
                continue
            terms_diff = result.pop("_terms", None)
            cols, row_values, diff = self._update_row(entity, p, cur, result)
            if terms_diff is not None:
                diff["terms"] = [terms_diff[0], terms_diff[1]]
            updates.setdefault(cols, []).append((*row_values, cur["id"]))
            chunk.changes.append((entity, cur["id"], "update", diff))
            chunk.updated += 1
        for cols, rows in updates.items():
            self._apply(bulk.update_rows, model, cols, rows)
        if term_changes:
            ClassTerm.objects.filter(
                roster_class_id__in=[p.record_id for p in term_changes]
            ).delete()
            bulk.insert_rows(
                ClassTerm,
                ["roster_class_id", "term_id"],
                [(p.record_id, t) for p in term_changes for t in p.terms or []],
            )
        if pending and p_is_demographics(pending[0]):
            return  # demographics rows do not list records (users rows did)
        self._apply(bulk.mark_seen, model, seen + absorbed_ids, self.batch.pk)

    @staticmethod
    def _follow_merges(
        model: type[models.Model], existing: dict[str, dict[str, Any]], fetch: tuple[str, ...]
    ) -> list[int]:
        """A person merged into another: the source's rows now address the survivor (its
        fields under the survivor's survivorship). Returns the absorbed records' ids."""
        if model is not Person:
            return []
        absorbed = {k: r for k, r in existing.items() if r.get("merged_into_id")}
        if not absorbed:
            return []
        survivor_ids = [r["merged_into_id"] for r in absorbed.values()]
        survivors = {
            row[0]: dict(zip(fetch, row, strict=True))
            for row in bulk.fetch_by(model, "id", survivor_ids, fetch)
        }
        for key, record in absorbed.items():
            survivor = survivors.get(record["merged_into_id"])
            if survivor is not None:
                existing[key] = survivor
        return [r["id"] for r in absorbed.values()]

    def _remember(self, entity: str, p: _Pending) -> None:
        """Add a record created in this chunk to the reference map (later rows refer to it)."""
        if entity in self._maps:
            org_id = p.values.get(SPECS[entity].org_attr)
            self._maps[entity].entries[p.row.sourced_id] = (p.record_id or 0, org_id, p.org_path)

    def _insert(self, model: type[models.Model], entity: str, inserts: list[_Pending]) -> None:
        """COPY/executemany the new records with explicit ids (every column: the database has
        no defaults of its own)."""
        if not inserts:
            return
        fields = [f for f in model._meta.concrete_fields if f.attname != "id"]
        defaults = {f.attname: f.get_default() for f in fields}
        attnames = ["id", *(f.attname for f in fields)]
        skip = {"id_number_cipher", "id_number_masked", "mobile_cipher", "mobile_masked"}
        provenances: dict[tuple[str, ...], bulk.RawJson] = {}
        on_postgres = bulk.is_postgres()
        rows = []
        for p in inserts:
            values = p.values
            record = dict(defaults)
            record.update(values)
            for col in ("id_number_cipher", "mobile_cipher"):
                if record.get(col):
                    record[col] = self.cipher.encrypt(record[col])
            record.update(
                sourced_id=self._prefixed(p.row.sourced_id),
                source_id=self.source.pk,
                created_batch_id=self.batch.pk,
                last_batch_id=self.batch.pk,
                seen_batch=self.batch.pk,
                status=p.row.status or RecordStatus.ACTIVE,
                date_last_modified=p.row.date_last_modified or self.now,
                provenance=self._provenance(tuple(values), skip, provenances, on_postgres),
            )
            rows.append((p.record_id, *(record[f.attname] for f in fields)))
        self._apply(bulk.insert_rows, model, attnames, rows)

    def _provenance(
        self,
        columns: tuple[str, ...],
        skip: set[str],
        cache: dict[tuple[str, ...], bulk.RawJson],
        serialised: bool,
    ) -> Any:
        """``{field: batch id}`` for the columns a row sets (one JSON text per column set)."""
        value = cache.get(columns)
        if value is None:
            prov = {_field_name(c): self.batch.pk for c in columns if c not in skip}
            value = cache[columns] = bulk.RawJson(json.dumps(prov, sort_keys=True))
        return value if serialised else json.loads(value)

    def _diff(
        self, entity: str, p: _Pending, cur: dict[str, Any], chunk: _Chunk, file: str
    ) -> dict[str, Any] | None:
        """The changes this row may make to the record ``cur`` (survivorship; conflicts become
        observations and findings). ``None`` when the row is stale."""
        row = p.row
        if (
            self.mode == "delta"
            and row.date_last_modified is not None
            and cur["date_last_modified"] is not None
            and row.date_last_modified < cur["date_last_modified"]
        ):
            row.issues.append(
                self.issue(
                    STALE_UPDATE,
                    "dateLastModified",
                    _("The record was modified after this row's date; the row is not applied."),
                    Dimension.TIMELINESS,
                    Severity.WARNING,
                    row.date_last_modified.isoformat(),
                )
            )
            return None
        changes: dict[str, Any] = {}
        for col, new in p.values.items():
            if col in {"id_number_cipher", "id_number_masked", "mobile_cipher", "mobile_masked"}:
                continue
            name = _field_name(col)
            old = cur.get(col)
            same = old == new or (old in (None, "") and new in (None, ""))
            allowed, ruled = self._allowed(
                entity, name, cur["source_id"], cur["date_last_modified"], row
            )
            if allowed:
                if not same:
                    changes[col] = new
                continue
            if ruled:
                if name in PII_FIELDS:
                    shown = REDACTED
                elif isinstance(new, str):
                    shown = new
                else:
                    shown = json.dumps(_jsonable(new), ensure_ascii=False)
                chunk.observations.append(
                    (entity, cur["id"], name, shown, same, self.batch.pk, self.now)
                )
            if not same:
                column = name
                row.issues.append(
                    self.issue(
                        SOURCE_CONFLICT,
                        column,
                        _(
                            "Another source is authoritative for this field; "
                            "the value was kept as an observation."
                        ),
                        Dimension.CONSISTENCY,
                        Severity.WARNING,
                        REDACTED if name in PII_FIELDS else _jsonable(new),
                    )
                )
        for derived, base in DERIVED.items():
            if derived in changes and base not in changes:
                changes.pop(derived)  # e.g. the match key follows the name it is made from
        if p.table != "demographics":
            status = row.status or RecordStatus.ACTIVE
            if status != cur["status"]:
                changes["status"] = status
        return changes

    def _update_row(
        self, entity: str, p: _Pending, cur: dict[str, Any], changes: dict[str, Any]
    ) -> tuple[tuple[str, ...], list[Any], dict[str, Any]]:
        diff: dict[str, Any] = {}
        provenance = dict(cur["provenance"] or {})
        cols: list[str] = []
        values: list[Any] = []
        for col, new in sorted(changes.items()):
            name = _field_name(col)
            if col == "status":
                diff["status"] = [cur["status"], new]
                continue
            if name in PII_FIELDS:
                index_col, cipher_col, masked_col = PII_FIELDS[name]
                plain = p.values.get(cipher_col)
                cols += [index_col, cipher_col, masked_col]
                values += [
                    new,
                    self.cipher.encrypt(plain) if plain else None,
                    p.values.get(masked_col, ""),
                ]
                diff[name] = [REDACTED if cur.get(index_col) else None, REDACTED if new else None]
            else:
                cols.append(col)
                values.append(new)
                diff[name] = [_jsonable(cur.get(col)), _jsonable(new)]
            provenance[name] = self.batch.pk
        status = changes.get("status", cur["status"])
        cols += ["status", "date_last_modified", "provenance", "last_batch_id", "seen_batch"]
        values += [
            status,
            p.row.date_last_modified or self.now,
            provenance,
            self.batch.pk,
            self.batch.pk,
        ]
        return tuple(cols), values, diff

    # --- guardians --------------------------------------------------------------------------

    def _guardianships(
        self, pending: list[_Pending], chunk: _Chunk, file: str, *, final: bool = False
    ) -> None:
        """A user row's ``agentSourcedIds`` → guardianships with the row's user as the student
        and each agent as the guardian (direction checked against roles at the end)."""
        pairs: list[tuple[CleanRow, str, int]] = []
        recent: dict[str, int] = {}
        for p in pending:
            if p.row.rejected or p.record_id is None:
                continue
            recent[p.row.sourced_id] = p.record_id
            pairs.extend((p.row, agent, p.record_id) for agent in p.row.refs.get("agents") or [])
        # People of this chunk and the previous one may not be committed yet (pipelined writer).
        self._recent_people = [self._recent_people[-1], recent] if self._recent_people else [recent]
        self._link_agents(pairs, chunk, file, final=final)

    def _link_agents(
        self, pairs: list[tuple[CleanRow, str, int]], chunk: _Chunk, file: str, *, final: bool
    ) -> None:
        if not pairs:
            return
        people = self.people(agent for _row, agent, _pk in pairs)
        for recent in self._recent_people:
            for sid, pk in recent.items():
                people.setdefault(sid, (pk, None, ""))
        rows: list[_Pending] = []
        for row, agent, student_id in pairs:
            hit = people.get(agent)
            if hit is None:
                if final:
                    issue = self.issue(
                        REF_UNKNOWN,
                        "agentSourcedIds",
                        _("The referenced record is neither in the registry nor in this file."),
                        Dimension.CONSISTENCY,
                        Severity.WARNING,
                        agent,
                    )
                    self.finding(
                        chunk,
                        issue,
                        file=file,
                        row=row.row,
                        entity=EntityType.USER,
                        sourced_id=self._prefixed(row.sourced_id),
                    )
                else:
                    slim = CleanRow(
                        row.entity,
                        row.file,
                        row.row,
                        row.sourced_id,
                        date_last_modified=row.date_last_modified,
                    )  # only what the link and its finding need
                    self._deferred_agents.append((slim, agent, student_id))
                continue
            link = CleanRow(
                entity=EntityType.GUARDIANSHIP,
                file=file,
                row=row.row,
                sourced_id=f"{row.sourced_id}/agent/{agent}"[: 255 - len(self.prefix)],
                values={"guardian_id": hit[0], "student_id": student_id},
                date_last_modified=row.date_last_modified,
            )
            rows.append(_Pending(row=link, table="guardians", values=dict(link.values)))
        sub = _Chunk()
        self._merge(SPECS[EntityType.GUARDIANSHIP], rows, sub, file)
        chunk.changes += sub.changes
        chunk.observations += sub.observations
        chunk.findings += sub.findings

    def replay_agents(
        self, rows: Iterator[RawRow], clean: Callable[[RawRow], CleanRow], until_row: int
    ) -> None:
        """After a resume: collect the agents of the users rows committed before the crash
        (their unresolved agents were only held in memory)."""
        batch_rows: list[CleanRow] = []
        for raw in rows:
            if raw.row >= until_row:
                break
            if raw.cells.get("agentSourcedIds"):
                batch_rows.append(clean(raw))
        for start in range(0, len(batch_rows), self.chunk_size):
            part = [r for r in batch_rows[start : start + self.chunk_size] if not r.rejected]
            found = self.people(r.sourced_id for r in part)
            for r in part:
                hit = found.get(r.sourced_id)
                if hit is not None:
                    self._deferred_agents += [(r, a, hit[0]) for a in r.refs.get("agents") or []]

    def finish_agents(self, chunk: _Chunk, file: str) -> None:
        """Agents that were listed after the users who name them (end of the users table)."""
        deferred, self._deferred_agents = self._deferred_agents, []
        self._recent_people = []
        self._link_agents(deferred, chunk, file, final=True)

    # --- writing a chunk --------------------------------------------------------------------

    def write(self, table: str, chunk: _Chunk) -> None:
        """Findings, observations and diffs of the chunk, and its chained ChangeRecord."""
        bulk.insert_records(
            Finding, [dict(zip(self.FINDING_COLUMNS, f, strict=True)) for f in chunk.findings]
        )
        observation_columns = (
            "entity_type",
            "record_id",
            "field",
            "value",
            "agrees",
            "batch_id",
            "observed_at",
        )
        bulk.insert_records(
            FieldObservation,
            [dict(zip(observation_columns, o, strict=True)) for o in chunk.observations],
        )
        if chunk.changes:
            bulk.insert_records(
                RecordChange,
                [
                    {
                        "entity_type": e,
                        "record_id": rid,
                        "action": a,
                        "changes": c,
                        "batch_id": self.batch.pk,
                        "created_at": self.now,
                    }
                    for e, rid, a, c in chunk.changes
                ],
            )
        if chunk.created or chunk.updated:
            digest = crypto.sm3(
                json.dumps(
                    chunk.changes, sort_keys=True, ensure_ascii=False, separators=(",", ":")
                ).encode()
            ).hex()
            append_change(
                action=ChangeAction.BULK,
                target_type="registry.importbatch",
                target_id=str(self.batch.pk),
                target_repr=str(self.batch),
                changes={
                    "table": table,
                    "created": chunk.created,
                    "updated": chunk.updated,
                    "digest": digest,
                },
                org_path=self.org.path,
            )


def p_is_demographics(p: _Pending) -> bool:
    return p.table == "demographics"


# --- the batch ---------------------------------------------------------------------------------


def _cleaner(table_name: str, mode: str) -> Callable[[RawRow], CleanRow]:
    from . import rules

    cleaner = rules.cleaner_for(table_name)
    return lambda raw: cleaner(raw, mode)


#: Files of at least this many rows are read and cleaned in a worker process.
PARALLEL_MIN_ROWS = 20_000
_QUEUE_CHUNKS = 3


def _row_tuple(row: CleanRow) -> tuple[Any, ...]:
    """A clean row as plain tuples (pickles several times faster than the dataclasses)."""
    issues = [(i.code, i.column, i.message, i.dimension, i.severity, i.value) for i in row.issues]
    return (
        row.entity,
        row.file,
        row.row,
        row.sourced_id,
        row.values,
        row.refs,
        row.status,
        row.date_last_modified,
        issues,
    )


def _row_from_tuple(data: tuple[Any, ...]) -> CleanRow:
    entity, file, row, sourced_id, values, refs, status, modified, issues = data
    return CleanRow(
        entity,
        file,
        row,
        sourced_id,
        values,
        refs,
        status,
        modified,
        [Issue(*i) for i in issues],
    )


def _clean_worker(
    queue: Any, path: str, file_name: str, table_name: str, mode: str, start: int, size: int
) -> None:
    """Worker process: stream one table's rows, clean them, send chunks of ``CleanRow``s.
    It never touches the database (the parent's connection is shared after the fork)."""
    from . import readers, rules

    try:
        cleaner = rules.cleaner_for(table_name)
        with readers.open_file(path, file_name) as bundle:
            table = next(t for t in bundle.tables() if t.name == table_name)
            for raw in _chunks(table.rows(start_row=start), size):
                queue.put(("rows", [_row_tuple(cleaner(r, mode)) for r in raw]))
        queue.put(("end", None))
    except BundleError as exc:
        queue.put(("bundle", (exc.code, exc.message, exc.file, exc.row, exc.column)))
    except BaseException as exc:  # reported to the parent, which decides
        queue.put(("error", repr(exc)))


def _cleaned_in_worker(
    path: str, file_name: str, table_name: str, mode: str, start: int, size: int
) -> Iterator[list[CleanRow]]:
    """Chunks of clean rows from a forked worker (reading and cleaning overlap merging)."""
    import multiprocessing
    import queue as queue_module

    context = multiprocessing.get_context("fork")
    channel = context.Queue(maxsize=_QUEUE_CHUNKS)
    worker = context.Process(
        target=_clean_worker,
        args=(channel, path, file_name, table_name, mode, start, size),
        daemon=True,
    )
    worker.start()
    try:
        while True:
            try:
                kind, payload = channel.get(timeout=5)
            except queue_module.Empty:
                if not worker.is_alive():
                    raise RuntimeError("The import's reader process stopped.") from None
                continue
            if kind == "rows":
                yield [_row_from_tuple(t) for t in payload]
            elif kind == "end":
                return
            elif kind == "bundle":
                code, message, file, row, column = payload
                raise BundleError(code, message, file=file, row=row, column=column)
            else:
                raise RuntimeError(payload)
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=5)
        channel.close()


#: Tables whose chunks are committed by a writer thread while the next chunk is merged
#: (PostgreSQL; each chunk only refers to records of earlier tables or to itself).
PIPELINED = frozenset({"users", "demographics", "roles", "enrollments"})


def _pipelined(table: str, *, use_worker: bool) -> bool:
    """Commit this table's chunks from a writer thread? Only on PostgreSQL, for big files, and
    never inside a caller's transaction (another connection could not see its rows)."""
    return (
        use_worker
        and table in PIPELINED
        and bulk.is_postgres()
        and not transaction.get_connection().in_atomic_block
    )


def _commit_chunk(
    batch: ImportBatch,
    importer: Importer,
    table: str,
    rows: list[CleanRow],
    result: _Chunk,
    ops: list[Callable[[], Any]],
    counts: dict[str, int],
) -> None:
    """Write one merged chunk with its findings, change record and checkpoint (one
    transaction when called by the writer; the caller's otherwise)."""
    with transaction.atomic():
        bulk.relaxed_commit()
        for op in ops:
            op()
        importer.write(table, result)
        counts["rows"] += len(rows)
        counts["rejected"] += result.rejected
        counts["created"] += result.created
        counts["updated"] += result.updated
        counts["unchanged"] += result.unchanged
        _save(
            batch,
            rows_done=batch.rows_done + len(rows),
            checkpoint={"table": table, "row": rows[-1].row},
            counts=batch.counts,
            heartbeat_at=timezone.now(),
        )


class _Writer:
    """One thread (its own database connection) committing chunks in order, one at a time."""

    def __init__(self) -> None:
        import concurrent.futures

        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.future: Any = None

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        context = contextvars.copy_context()  # the change context and bulk_writes()
        self.future = self.pool.submit(context.run, function, *args)

    def wait(self) -> None:
        """Block until the chunk in flight is committed; re-raise its error."""
        if self.future is not None:
            future, self.future = self.future, None
            future.result()

    def close(self) -> None:
        from django.db import connections

        try:
            self.pool.submit(connections.close_all).result()
        finally:
            self.pool.shutdown(wait=True)


def _save(batch: ImportBatch, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(batch, name, value)
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)


def _chunks(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    chunk: list[RawRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _table_counts(batch: ImportBatch, table: str) -> dict[str, int]:
    counts = batch.counts.setdefault(table, {})
    for key in ("total", "rows", "rejected", "created", "updated", "unchanged"):
        counts.setdefault(key, 0)
    return counts  # type: ignore[no-any-return]  # JSON


def run_batch(
    batch: ImportBatch,
    *,
    progress: ProgressCallback | None = None,
    chunk_size: int = CHUNK_SIZE,
    parallel: bool | None = None,
) -> ImportBatch:
    """Import (or resume) ``batch``; returns it with its final status.

    ``parallel``: read and clean each file in a forked worker process while this one merges
    (the second core); by default for files of ``PARALLEL_MIN_ROWS`` rows or more.

    ``BundleError`` → ``failed`` with ``error_code``/``error`` and one finding. Any other error
    (or ``ImportInterrupted``/``KeyboardInterrupt``) → ``interrupted``: committed chunks stay and
    ``run_batch`` again resumes after the checkpoint. ``KeyboardInterrupt`` is re-raised.
    """
    if batch.status in {BatchStatus.SUCCEEDED, BatchStatus.FAILED}:
        return batch
    actor = batch.actor or system_actor()
    _save(
        batch,
        status=BatchStatus.RUNNING,
        started_at=batch.started_at or timezone.now(),
        heartbeat_at=timezone.now(),
        error="",
        error_code="",
    )
    try:
        with (
            _local_copy(batch) as path,
            change_context(actor=actor, source="import"),
            bulk_writes(),
        ):
            from . import readers

            with readers.open_file(path, batch.file_name) as bundle:
                _run(batch, bundle, progress, chunk_size, path=path, parallel=parallel)
    except BundleError as exc:
        _fail(batch, exc)
    except (ImportInterrupted, KeyboardInterrupt) as exc:
        _save(
            batch,
            status=BatchStatus.INTERRUPTED,
            error_code=IMPORT_INTERRUPTED,
            error=str(exc)[:2000],
        )
        if isinstance(exc, KeyboardInterrupt):
            raise
    except Exception as exc:
        logger.exception("Import batch %s stopped", batch.pk)
        _save(
            batch,
            status=BatchStatus.INTERRUPTED,
            error_code=IMPORT_INTERRUPTED,
            error=repr(exc)[:2000],
        )
    return batch


def _fail(batch: ImportBatch, exc: BundleError) -> None:
    with transaction.atomic():
        Finding.objects.create(
            batch=batch,
            org=batch.org,
            code=exc.code,
            dimension=Dimension.VALIDITY,
            severity=Severity.ERROR,
            file=(exc.file or "")[:64],
            row=exc.row,
            column=(exc.column or "")[:64],
            message=str(exc.message)[:500],
        )
        _save(
            batch,
            status=BatchStatus.FAILED,
            error_code=exc.code[:64],
            error=str(exc.message),
            finished_at=timezone.now(),
            phase="",
        )


def _run(
    batch: ImportBatch,
    bundle: Any,
    progress: ProgressCallback | None,
    chunk_size: int,
    *,
    path: str = "",
    parallel: bool | None = None,
) -> None:
    tables = bundle.tables()
    checkpoint = dict(batch.checkpoint or {})
    resuming = bool(checkpoint)
    if not resuming:
        totals = {t.name: t.count_rows() for t in tables}
        counts: dict[str, Any] = {name: {"total": n} for name, n in totals.items()}
        with transaction.atomic():
            _save(
                batch,
                format=bundle.format,
                mode=bundle.mode or "bulk",
                rows_total=sum(totals.values()),
                rows_done=0,
                counts=counts,
            )
            importer = Importer(batch, chunk_size=chunk_size)
            chunk = _Chunk()
            for issue in bundle.warnings:
                importer.finding(chunk, issue, file=str(issue.value)[:64], row=None)
            importer.write("", chunk)
            _save(batch, checkpoint={"table": "", "row": 0})
    importer = Importer(batch, chunk_size=chunk_size)
    order = {name: i for i, name in enumerate(FILE_ORDER)}
    done_table = checkpoint.get("table") or ""
    done_row = int(checkpoint.get("row") or 0)
    for table in tables:
        if done_table and order.get(table.name, 99) < order.get(done_table, -1):
            continue
        start = done_row + 1 if table.name == done_table else 2
        if table.name == done_table and checkpoint.get("complete"):
            continue
        _save(batch, phase=table.name)
        clean = _cleaner(table.name, table.mode or batch.mode)
        counts = _table_counts(batch, table.name)
        table_total = int(counts.get("total") or 0)
        if table.name == "users" and start > 2:
            importer.replay_agents(table.rows(start_row=2), clean, start)
        use_worker = parallel if parallel is not None else table_total >= PARALLEL_MIN_ROWS
        if use_worker:
            chunks = _cleaned_in_worker(
                path,
                batch.file_name,
                table.name,
                table.mode or batch.mode,
                max(start, 2),
                chunk_size,
            )
        else:
            chunks = (
                [clean(r) for r in raw]
                for raw in _chunks(table.rows(start_row=max(start, 2)), chunk_size)
            )
        writer = _Writer() if _pipelined(table.name, use_worker=use_worker) else None
        try:
            for rows in chunks:
                if writer is None:
                    with transaction.atomic():
                        bulk.relaxed_commit()
                        result = importer.process(table.name, table.file, rows)
                        _commit_chunk(batch, importer, table.name, rows, result, [], counts)
                else:
                    # Merge this chunk (reads only) while the writer commits the previous one.
                    importer.deferred = []
                    result = importer.process(table.name, table.file, rows)
                    ops, importer.deferred = importer.deferred, None
                    writer.wait()
                    importer.inflight_keys = importer.keys_of(rows)
                    writer.submit(
                        _commit_chunk, batch, importer, table.name, rows, result, ops, counts
                    )
                if progress:
                    progress(batch, table.name, counts["rows"], table_total)
            if writer is not None:
                writer.wait()
        finally:
            importer.deferred = None
            importer.inflight_keys = set()
            if writer is not None:
                writer.close()
        if table.name == "users":
            with transaction.atomic():
                chunk = _Chunk()
                importer.finish_agents(chunk, table.file)
                importer.write(table.name, chunk)
        with transaction.atomic():
            _save(
                batch,
                checkpoint={
                    "table": table.name,
                    "row": batch.checkpoint.get("row", 0),
                    "complete": True,
                },
            )
    _save(batch, phase="finalize")
    with transaction.atomic():
        _finalize(batch, importer, list(tables))
    if progress:
        progress(batch, "finalize", batch.rows_done, batch.rows_total)


def _finalize(batch: ImportBatch, importer: Importer, tables: list[Any]) -> None:
    from . import matching

    now = timezone.now()
    deleted: dict[str, int] = {}
    changes: list[tuple[str, int, str, dict[str, Any]]] = []
    bulk_tables = {t.name for t in tables if (t.mode or batch.mode) == "bulk"}
    entities = [
        (t, TABLE_ENTITY[t]) for t in FILE_ORDER if t in bulk_tables and t != "demographics"
    ]
    if "users" in bulk_tables:
        entities.append(("guardians", EntityType.GUARDIANSHIP))
    for table, entity in entities:
        spec = SPECS[entity]
        scope = Q(**{f"{spec.org_lookup}__startswith": batch.org.path})
        if entity in {EntityType.USER, EntityType.GUARDIANSHIP}:
            scope |= Q(**{f"{spec.org_lookup}__isnull": True})
        gone = list(
            spec.model._default_manager.filter(
                scope, source=batch.source, status=RecordStatus.ACTIVE
            )
            .exclude(seen_batch=batch.pk)
            .values_list("id", flat=True)
        )
        for start in range(0, len(gone), 5000):
            part = gone[start : start + 5000]
            spec.model._default_manager.filter(pk__in=part).update(
                status=RecordStatus.TOBEDELETED, date_last_modified=now, last_batch=batch
            )
        changes += [
            (entity, pk, "update", {"status": [RecordStatus.ACTIVE, RecordStatus.TOBEDELETED]})
            for pk in gone
        ]
        if gone:
            deleted[table] = len(gone)
    if changes:
        bulk.insert_records(
            RecordChange,
            [
                {
                    "entity_type": e,
                    "record_id": rid,
                    "action": a,
                    "changes": c,
                    "batch_id": batch.pk,
                    "created_at": now,
                }
                for e, rid, a, c in changes
            ],
        )
    linked = _fill_primary_orgs(batch) + _link_accounts(batch)
    _fix_guardian_direction(batch)
    match_counts = matching.find_duplicates(batch)
    counts = dict(batch.counts)
    counts["tobedeleted"] = deleted
    counts["matches"] = match_counts
    batch.counts = counts
    if deleted or linked:
        append_change(
            action=ChangeAction.BULK,
            target_type="registry.importbatch",
            target_id=str(batch.pk),
            target_repr=str(batch),
            changes={
                "table": "",
                "tobedeleted": deleted,
                "linked": linked,
                "digest": crypto.sm3(
                    json.dumps(changes, sort_keys=True, separators=(",", ":")).encode()
                ).hex(),
            },
            org_path=batch.org.path,
        )
    scores: dict[str, Any] = {}
    try:
        from .. import quality
    except ImportError:  # pragma: no cover - the quality module is written in parallel
        quality = None  # type: ignore[assignment]  # optional module
    if quality is not None and hasattr(quality, "compute_batch_scores"):
        scores = quality.compute_batch_scores(batch)
    _save(
        batch,
        counts=counts,
        scores=scores,
        status=BatchStatus.SUCCEEDED,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        phase="",
        error="",
        error_code="",
    )


def _fill_primary_orgs(batch: ImportBatch) -> int:
    """People of this batch without a primary org get the org of their (primary) role."""
    first_role = (
        PersonRole.objects.filter(person_id=models.OuterRef("pk"), status=RecordStatus.ACTIVE)
        .order_by("role_type", "id")
        .values("org_id")[:1]
    )
    return int(
        Person.objects.filter(seen_batch=batch.pk, primary_org__isnull=True)
        .filter(models.Exists(PersonRole.objects.filter(person_id=models.OuterRef("pk"))))
        .update(primary_org_id=models.Subquery(first_role))
    )


def _link_accounts(batch: ImportBatch) -> int:
    """``Person.account`` ← the identity account with the same ID-number blind index."""
    from shuyuan.identity.models import User

    account = User.objects.filter(id_number_index=models.OuterRef("id_number_index")).values("pk")[
        :1
    ]
    return int(
        Person.objects.filter(
            seen_batch=batch.pk, account__isnull=True, id_number_index__isnull=False
        )
        .filter(models.Exists(account))
        .update(account_id=models.Subquery(account))
    )


def _fix_guardian_direction(batch: ImportBatch) -> None:
    """A guardian's own row may list their children as agents: a guardianship of this batch
    whose "student" holds only guardian-type roles and whose "guardian" is a student is reversed
    (dropped when the reversed pair already exists)."""
    guardian_role = PersonRole.objects.filter(
        person_id=models.OuterRef("student_id"), role__in=GUARDIAN_ROLES
    )
    student_role = PersonRole.objects.filter(
        person_id=models.OuterRef("student_id"), role=RosterRole.STUDENT
    )
    wrong = list(
        Guardianship.objects.filter(created_batch=batch)
        .filter(models.Exists(guardian_role))
        .exclude(models.Exists(student_role))
        .values_list("id", "guardian_id", "student_id")
    )
    if not wrong:
        return
    existing = set(
        Guardianship.objects.filter(
            guardian_id__in=[s for _i, _g, s in wrong], student_id__in=[g for _i, g, _s in wrong]
        ).values_list("guardian_id", "student_id")
    )
    drop = [pk for pk, g, s in wrong if (s, g) in existing]
    if drop:
        Guardianship.objects.filter(pk__in=drop).delete()
    for pk, g, s in wrong:
        if (s, g) not in existing:
            Guardianship.objects.filter(pk=pk).update(guardian_id=s, student_id=g)
