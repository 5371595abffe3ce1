"""Storing xAPI Statements: ids, conflicts, voiding, the index rows, attachments and Activities.

``store_statements`` is the one way Statements enter the LRS, for the Statement resource and for
the platform's own events (``actions.events.record_platform_event``). A batch is all or nothing:
it runs in one transaction and does a fixed number of queries whatever its size (one to find
existing ids, one for voiding targets, one for pending voiding Statements, one insert per table:
``COPY`` on PostgreSQL).

Statements are not change-logged (they are immutable learning records, xAPI keeps its own
history through voiding); the LRS credential that stored a Statement is kept on the row.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from ..models import Activity, Attachment, Statement, StatementActivity, StatementAgent
from ..xapi import keys
from ..xapi.auth import Caller
from ..xapi.http import XapiError
from ..xapi.validation import (
    CONTEXT_ACTIVITY_KEYS,
    V1,
    V2,
    VOIDED_VERB,
    agent_key,
    parse_timestamp,
    statements_equal,
)

#: The ``version`` the LRS records on a Statement that does not state one, per protocol.
DEFAULT_STATEMENT_VERSION = {V2: "2.0.0", V1: "1.0.0"}


def format_stored(moment: dt.datetime) -> str:
    """A ``stored`` timestamp as the LRS writes it: UTC, milliseconds, ``Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now_ms() -> dt.datetime:
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def agent_index_key(agent: object) -> str | None:
    """The index key of an Agent or identified Group, ``None`` for an anonymous Group."""
    if not isinstance(agent, dict):
        return None
    try:
        return keys.agent_digest(agent_key(agent))
    except (ValueError, KeyError, TypeError):
        return None


def _is_activity(value: object) -> bool:
    return isinstance(value, dict) and value.get("objectType", "Activity") == "Activity"


def _context_activities(context: object) -> list[dict[str, Any]]:
    if not isinstance(context, dict):
        return []
    groups = context.get("contextActivities")
    if not isinstance(groups, dict):
        return []
    found: list[dict[str, Any]] = []
    for key in CONTEXT_ACTIVITY_KEYS:
        value = groups.get(key)
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        found.extend(item for item in items if isinstance(item, dict))
    return found


def _context_agents(context: object) -> list[object]:
    if not isinstance(context, dict):
        return []
    found: list[object] = [context.get("instructor"), context.get("team")]
    found.extend(e.get("agent") for e in context.get("contextAgents") or [] if isinstance(e, dict))
    found.extend(e.get("group") for e in context.get("contextGroups") or [] if isinstance(e, dict))
    return found


def mentioned(statement: dict[str, Any]) -> tuple[list[object], list[dict[str, Any]]]:
    """The Agents and Activities a Statement mentions for ``related_agents`` and
    ``related_activities``: actor, object, authority, context (instructor, team, context
    agents and groups, context Activities), and the same within a SubStatement."""
    agents: list[object] = [statement.get("authority")]
    activities: list[dict[str, Any]] = []
    layers = [statement]
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        layers.append(target)
    for layer in layers:
        agents.append(layer.get("actor"))
        obj = layer.get("object")
        if isinstance(obj, dict) and obj.get("objectType") in ("Agent", "Group"):
            agents.append(obj)
        elif _is_activity(obj):
            activities.append(obj)  # type: ignore[arg-type]  # _is_activity checked the dict
        agents.extend(_context_agents(layer.get("context")))
        activities.extend(_context_activities(layer.get("context")))
    return agents, activities


@dataclass
class _Prepared:
    """A Statement on its way in: the document to store and its index columns."""

    incoming: dict[str, Any]
    statement_id: str
    uid: uuid.UUID
    document: dict[str, Any]
    timestamp: dt.datetime
    actor_key: str
    verb_key: str
    object_key: str
    object_ref: uuid.UUID | None
    registration: uuid.UUID | None
    is_voiding: bool
    agent_keys: set[str] = field(default_factory=set)
    activities: list[dict[str, Any]] = field(default_factory=list)
    voided: bool = False
    skip: bool = False


def _prepare(
    statement: dict[str, Any], *, caller: Caller, version: str, stored: str, now: dt.datetime
) -> _Prepared:
    statement_id = str(statement.get("id") or uuid.uuid4())
    document: dict[str, Any] = {"id": statement_id}
    document.update((k, v) for k, v in statement.items() if k != "id")
    document["authority"] = caller.authority
    document["stored"] = stored
    document.setdefault("version", DEFAULT_STATEMENT_VERSION[version])
    if "timestamp" in statement:
        timestamp = parse_timestamp(statement["timestamp"], version=version)
    else:
        document["timestamp"] = stored
        timestamp = now
    obj = document["object"]
    object_type = obj.get("objectType", "Activity")
    object_ref = None
    if object_type == "Activity":
        object_key = keys.activity_key(obj["id"])
    elif object_type in ("Agent", "Group"):
        object_key = agent_index_key(obj) or ""
    else:
        object_key = ""
        if object_type == "StatementRef":
            object_ref = uuid.UUID(obj["id"])
    context = document.get("context")
    registration = None
    if isinstance(context, dict) and context.get("registration"):
        registration = uuid.UUID(context["registration"])
    agents, activities = mentioned(document)
    return _Prepared(
        incoming=statement,
        statement_id=statement_id,
        uid=uuid.UUID(statement_id),
        document=document,
        timestamp=timestamp,
        actor_key=agent_index_key(document["actor"]) or "",
        verb_key=keys.verb_key(document["verb"]["id"]),
        object_key=object_key,
        object_ref=object_ref,
        registration=registration,
        is_voiding=document["verb"]["id"] == VOIDED_VERB and object_ref is not None,
        agent_keys={k for k in (agent_index_key(a) for a in agents) if k},
        activities=activities,
    )


def _caller_can_see(caller: Caller, org_path: str, client_id: int | None) -> bool:
    if not org_path.startswith(caller.org_path):
        return False
    return not (
        caller.reads_only_own and client_id != (caller.client.pk if caller.client else None)
    )


def _mark_existing(prepared: list[_Prepared]) -> None:
    """Skip Statements already stored with the same content; 409 if one differs."""
    pending = {p.uid: p for p in prepared if not p.skip}
    if not pending:
        return
    rows = Statement.objects.filter(statement_id__in=list(pending)).values_list(
        "statement_id", "data"
    )
    for statement_id, data in rows:
        item = pending[statement_id]
        if not statements_equal(item.incoming, json.loads(data)):
            raise XapiError(
                409, f"A different Statement with the id {item.statement_id} is already stored."
            )
        item.skip = True


def _resolve_voiding(prepared: list[_Prepared], caller: Caller) -> set[uuid.UUID]:
    """Check voiding Statements and return the stored Statements they void.

    A voiding Statement may not target a voiding Statement (400). A target that is unknown
    (or outside what the caller may read) is accepted and voids nothing; a target in the same
    batch is voided with it. New Statements that an earlier voiding Statement already targets
    arrive voided.
    """
    new = [p for p in prepared if not p.skip]
    in_batch = {p.uid: p for p in new}
    targets = {p.object_ref for p in new if p.is_voiding and p.object_ref is not None}
    stored_targets = {
        row["statement_id"]: row
        for row in Statement.objects.filter(statement_id__in=list(targets - set(in_batch))).values(
            "statement_id", "is_voiding", "org_path", "client_id"
        )
    }
    to_void: set[uuid.UUID] = set()
    for item in new:
        if not item.is_voiding or item.object_ref is None:
            continue
        target = item.object_ref
        if target in in_batch:
            if in_batch[target].is_voiding:
                raise XapiError(400, "A voiding Statement cannot void another voiding Statement.")
            in_batch[target].voided = True
            continue
        row = stored_targets.get(target)
        if row is None or not _caller_can_see(caller, row["org_path"], row["client_id"]):
            continue
        if row["is_voiding"]:
            raise XapiError(400, "A voiding Statement cannot void another voiding Statement.")
        to_void.add(target)
    earlier = Statement.objects.filter(
        is_voiding=True, voided=False, object_ref__in=[p.uid for p in new if not p.is_voiding]
    ).values_list("object_ref", "org_path")
    for object_ref, org_path in earlier:
        arrived = in_batch.get(object_ref)
        if arrived is not None and caller.org_path.startswith(org_path):
            arrived.voided = True
    return to_void


def _merge_definition(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        previous = merged.get(key)
        if (
            key in ("name", "description")
            and isinstance(value, dict)
            and isinstance(previous, dict)
        ):
            merged[key] = {**previous, **value}
        else:
            merged[key] = value
    return merged


def _upsert_activities(prepared: Iterable[_Prepared], now: dt.datetime) -> None:
    """Record every Activity mentioned and merge the definitions given into the canonical ones."""
    incoming: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in prepared:
        for activity in item.activities:
            activity_id = str(activity["id"])
            key = keys.activity_key(activity_id)
            definition = activity.get("definition")
            _id, current = incoming.get(key, (activity_id, {}))
            if isinstance(definition, dict):
                current = _merge_definition(current, definition)
            incoming[key] = (activity_id, current)
    if not incoming:
        return
    existing = {a.activity_key: a for a in Activity.objects.filter(activity_key__in=list(incoming))}
    changed: list[Activity] = []
    created: list[Activity] = []
    for key in sorted(incoming):
        activity_id, definition = incoming[key]
        row = existing.get(key)
        if row is None:
            created.append(
                Activity(
                    activity_key=key, activity_id=activity_id, definition=definition, updated_at=now
                )
            )
        elif definition:
            merged = _merge_definition(row.definition or {}, definition)
            if merged != row.definition:
                row.definition = merged
                row.updated_at = now
                changed.append(row)
    if created:
        Activity.objects.bulk_create(created, ignore_conflicts=True)
    if changed:
        Activity.objects.bulk_update(changed, ["definition", "updated_at"])


def _store_attachments(attachments: Mapping[str, tuple[str, bytes]], now: dt.datetime) -> None:
    if not attachments:
        return
    wanted = {sha2.lower(): value for sha2, value in attachments.items()}
    known = set(Attachment.objects.filter(sha2__in=list(wanted)).values_list("sha2", flat=True))
    rows = [
        Attachment(sha2=sha2, content_type=ctype, length=len(data), content=data, created_at=now)
        for sha2, (ctype, data) in sorted(wanted.items())
        if sha2 not in known
    ]
    if rows:
        Attachment.objects.bulk_create(rows, ignore_conflicts=True)


_STATEMENT_COLUMNS = (
    "statement_id",
    "stored",
    "timestamp",
    "actor_key",
    "verb_key",
    "object_key",
    "object_ref",
    "registration",
    "is_voiding",
    "voided",
    "client",
    "org_path",
    "data",
)


def _bulk_insert(
    model: type[models.Model], names: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[int]:
    """Insert ``rows`` (values of the fields ``names``) and return the new pks, in order.

    ``QuerySet.bulk_create`` spends more time compiling 100 model instances than the database
    spends storing them. On PostgreSQL the rows go in with ``COPY`` (after drawing their pks
    from the table's sequence in one query), which skips parsing and quoting a large INSERT;
    elsewhere one multi-row ``INSERT ... RETURNING`` with each value prepared by its field.
    """
    if not rows:
        return []
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk_column = str(model._meta.pk.column)
    preparers = [f.get_db_prep_save for f in fields]  # type: ignore[union-attr]  # concrete fields
    prepared_rows = [
        [prep(value, connection) for prep, value in zip(preparers, row, strict=True)]
        for row in rows
    ]
    column_names = [str(getattr(f, "column", "")) for f in fields]
    # Only names from the model's metadata go into the SQL text; every value is a parameter.
    if connection.vendor == "postgresql":
        return _copy_rows(table, pk_column, column_names, prepared_rows)
    columns = ", ".join(quote(c) for c in column_names)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = ", ".join([placeholder] * len(rows))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {quote(pk_column)}"  # noqa: S608  # identifiers come from model metadata
    params = [value for row in prepared_rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def _copy_rows(table: str, pk_column: str, columns: list[str], rows: list[list[Any]]) -> list[int]:
    """PostgreSQL: draw ``len(rows)`` pks from the table's sequence, then ``COPY`` the rows
    with them (in the caller's transaction)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) AS pk"
            " FROM generate_series(1, %s) ORDER BY pk",
            [table.strip('"'), pk_column, len(rows)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
        names = ", ".join(quote(c) for c in [pk_column, *columns])
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        # As Django's own cursor does, turn psycopg's errors into django.db's (IntegrityError).
        with (
            connection.wrap_database_errors,
            raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for pk, row in zip(pks, rows, strict=True):
                copy.write_row([pk, *row])
    return pks


def _insert(prepared: list[_Prepared], caller: Caller, now: dt.datetime) -> None:
    new = [p for p in prepared if not p.skip]
    if not new:
        return
    client_id = caller.client.pk if caller.client else None
    pks = _bulk_insert(
        Statement,
        _STATEMENT_COLUMNS,
        [
            (
                p.uid,
                now,
                p.timestamp,
                p.actor_key,
                p.verb_key,
                p.object_key,
                p.object_ref,
                p.registration,
                p.is_voiding,
                p.voided,
                client_id,
                caller.org_path,
                json.dumps(p.document, ensure_ascii=False, separators=(",", ":")),
            )
            for p in new
        ],
    )
    _bulk_insert(
        StatementAgent,
        ("statement", "agent_key"),
        [
            (pk, key)
            for pk, p in zip(pks, new, strict=True)
            for key in sorted(p.agent_keys - {p.actor_key, p.object_key})
        ],
    )
    _bulk_insert(
        StatementActivity,
        ("statement", "activity_key"),
        [
            (pk, key)
            for pk, p in zip(pks, new, strict=True)
            for key in sorted(
                {keys.activity_key(str(a["id"])) for a in p.activities} - {p.object_key}
            )
        ],
    )


def store_statements(
    *,
    caller: Caller,
    statements: list[dict[str, Any]],
    attachments: Mapping[str, tuple[str, bytes]],
    version: str,
) -> list[str]:
    """Store validated Statements for ``caller``; return their ids in order.

    Statements without ``id`` get a UUID4. The LRS sets ``stored`` (now, milliseconds),
    ``authority`` (the caller's), ``version`` when absent and ``timestamp`` (= ``stored``) when
    absent. A Statement whose id is stored already is skipped if it is the same Statement
    (Statement Comparison Requirements) and raises ``XapiError(409)`` otherwise; two
    Statements with one id in the batch raise ``XapiError(400)``, as does a voiding
    Statement that targets a voiding Statement. Voiding marks the target ``voided``.
    ``attachments`` maps SHA-2 to (content type, data) for the attachment data received.
    Every Activity mentioned is recorded and its canonical definition updated. All or nothing;
    two requests racing to store one new id end with one row, the loser comparing against it.
    """
    now = _now_ms()
    stored = format_stored(now)
    prepared = [
        _prepare(s, caller=caller, version=version, stored=stored, now=now) for s in statements
    ]
    seen: set[uuid.UUID] = set()
    for item in prepared:
        if item.uid in seen:
            raise XapiError(400, f"The id {item.statement_id} is used twice in the batch.")
        seen.add(item.uid)
    with transaction.atomic():
        _mark_existing(prepared)
        to_void = _resolve_voiding(prepared, caller)
        try:
            with transaction.atomic():
                _insert(prepared, caller, now)
        except IntegrityError:
            # Another request stored one of these ids since we looked: compare with it.
            _mark_existing(prepared)
            with transaction.atomic():
                _insert(prepared, caller, now)
        if to_void:
            Statement.objects.filter(statement_id__in=list(to_void), is_voiding=False).update(
                voided=True
            )
        _store_attachments(attachments, now)
        _upsert_activities((p for p in prepared if not p.skip), now)
    return [p.statement_id for p in prepared]
