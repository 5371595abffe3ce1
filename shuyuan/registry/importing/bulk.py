"""Database-specific fast writes of the importer (one module for this concern, STYLE.md §0).

* PostgreSQL: inserts through ``COPY ... FROM STDIN`` (psycopg 3 ``cursor.copy``), primary keys
  handed out in one ``nextval`` query, updates through pipelined ``executemany``.
* SQLite (and anything else): ``executemany`` for both, keys from ``MAX(id)`` (SQLite has one
  writer at a time, and the importer holds the write lock for the whole chunk).

Callers pass attribute names (``course_id``) and Python values; JSON values may be given as
Python objects. Nothing here checks permissions or writes the change log: the engine does, in
the same transaction, inside ``bulk_writes()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _columns(model: type[models.Model], attnames: Sequence[str]) -> list[models.Field[Any, Any]]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return [by_attname[name] for name in attnames]


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model`` (rows inserted later with explicit ids)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')  # noqa: S608  # table name from _meta
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


class RawJson(str):
    """A JSON value already serialised (the importer reuses one per chunk)."""


def _copy_value(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(value, RawJson):
        return str(value)
    if value is not None and isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False)
    return value


def insert_rows(
    model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert ``rows`` (tuples in ``attnames`` order) into ``model``'s table; returns the count."""
    rows = list(rows)
    if not rows:
        return 0
    fields = _columns(model, attnames)
    table = model._meta.db_table
    column_list = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        if is_postgres():
            json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f'COPY "{table}" ({column_list}) FROM STDIN') as copy:
                for row in rows:
                    if json_positions:
                        row = list(row)  # a copy with JSON serialised
                        for i in json_positions:
                            row[i] = _copy_value(fields[i], row[i])
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            prepared = [
                [f.get_db_prep_value(v, connection) for f, v in zip(fields, row, strict=True)]
                for row in rows
            ]
            cursor.executemany(
                f'INSERT INTO "{table}" ({column_list}) VALUES ({placeholders})',  # noqa: S608  # names from _meta
                prepared,
            )
    return len(rows)


def update_rows(
    model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """``UPDATE`` the columns ``attnames`` of each row; each row is ``(*values, pk)``.

    PostgreSQL: the rows are COPYed into a temporary table and applied with one
    ``UPDATE ... FROM``; elsewhere one ``executemany``.
    """
    rows = list(rows)
    if not rows:
        return 0
    fields = _columns(model, attnames)
    table = model._meta.db_table
    if is_postgres():
        columns = ", ".join(f'"{f.column}" {f.db_type(connection)}' for f in fields)
        json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        with connection.cursor() as cursor:
            cursor.execute(
                f'CREATE TEMPORARY TABLE "_registry_update" ({columns}, "_pk" bigint) '
                "ON COMMIT DROP"
            )
            with cursor.cursor.copy('COPY "_registry_update" FROM STDIN') as copy:
                for row in rows:
                    values = list(row)
                    for i in json_positions:
                        values[i] = _copy_value(fields[i], values[i])
                    copy.write_row(values)
            assignments = ", ".join(f'"{f.column}" = u."{f.column}"' for f in fields)
            cursor.execute(
                f'UPDATE "{table}" AS t SET {assignments} '  # noqa: S608  # names from _meta
                'FROM "_registry_update" AS u WHERE t."id" = u."_pk"'
            )
            cursor.execute('DROP TABLE "_registry_update"')
        return len(rows)
    assignments = ", ".join(f'"{f.column}" = %s' for f in fields)
    prepared = [
        [
            *(f.get_db_prep_value(v, connection) for f, v in zip(fields, row[:-1], strict=True)),
            row[-1],
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f'UPDATE "{table}" SET {assignments} WHERE "id" = %s',  # noqa: S608  # names from _meta
            prepared,
        )
    return len(rows)


def fetch_by(
    model: type[models.Model], column: str, keys: Sequence[Any], attnames: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows of ``model`` whose ``column`` is one of ``keys``, as tuples of ``attnames`` (JSON
    decoded). PostgreSQL: one query with one array parameter (no statement with thousands of
    placeholders to build and parse); elsewhere the ORM."""
    if not keys:
        return []
    if not is_postgres():
        manager = model._default_manager
        return list(manager.filter(**{f"{column}__in": list(keys)}).values_list(*attnames))
    fields = _columns(model, attnames)
    table = model._meta.db_table
    select = ", ".join(f'"{f.column}"' for f in fields)
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {select} FROM "{table}" WHERE "{column}" = ANY(%s)',  # noqa: S608  # names from _meta
            [list(keys)],
        )
        rows = cursor.fetchall()
    if not json_positions:
        return list(rows)
    out = []
    for row in rows:
        values = list(row)
        for i in json_positions:
            if isinstance(values[i], str):
                values[i] = json.loads(values[i])
        out.append(tuple(values))
    return out


def relaxed_commit() -> None:
    """PostgreSQL: this transaction's commit does not wait for the WAL flush. A server crash
    may lose the last chunks committed, never half of one (their checkpoint goes with them),
    and a resumed import redoes them."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def mark_seen(model: type[models.Model], ids: Sequence[int], batch_id: int) -> int:
    """Set ``seen_batch`` of the rows ``ids`` (records a batch listed without changing them)."""
    if not ids:
        return 0
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(
                f'UPDATE "{table}" SET "seen_batch" = %s WHERE "id" = ANY(%s)',  # noqa: S608  # names from _meta
                [batch_id, list(ids)],
            )
        else:
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f'UPDATE "{table}" SET "seen_batch" = %s WHERE "id" IN ({placeholders})',  # noqa: S608  # names from _meta
                [batch_id, *ids],
            )
        return int(cursor.rowcount or 0)


def insert_records(model: type[models.Model], records: Sequence[dict[str, Any]]) -> int:
    """Insert rows given as ``{attname: value}``; columns a row leaves out get the field's
    default (so a column added to the model later needs no change here)."""
    if not records:
        return 0
    fields = [f for f in model._meta.concrete_fields if f.attname != "id"]
    defaults = {f.attname: f.get_default() for f in fields}
    attnames = [f.attname for f in fields]
    rows = []
    for record in records:
        full = dict(defaults)
        full.update(record)
        rows.append(tuple(full[name] for name in attnames))
    return insert_rows(model, attnames, rows)
