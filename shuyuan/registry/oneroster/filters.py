"""The OneRoster ``filter``, ``sort`` and ``fields`` parameters, mapped to the ORM through an
explicit per-collection whitelist (user input never names an ORM lookup).

Grammar (the REST binding, with the points it leaves open decided as below)::

    filter     := predicate ( ws+ ("AND" | "OR") ws+ predicate )*      at most 20 predicates
    predicate  := field ws* op ws* "'" value "'"
    field      := [A-Za-z][A-Za-z0-9_]* ( "." [A-Za-z][A-Za-z0-9_]* )*  e.g. school.sourcedId
    op         := "=" | "!=" | ">" | ">=" | "<" | "<=" | "~"
    value      := any characters; a single quote inside is written twice ('')

* ``AND`` binds tighter than ``OR`` (``a OR b AND c`` = ``a OR (b AND c)``); no parentheses.
  The keywords are matched case-insensitively.
* ``~`` is *contains*, case-insensitive. ``=`` and the comparisons are case-sensitive and use the
  database's collation.
* Dates (``YYYY-MM-DD``) compare as dates. On a date-time field (``dateLastModified``) a value
  may be a full ISO 8601 date-time (``Z`` or an offset; none means UTC) or a plain date, which
  stands for that whole UTC day: ``='2025-01-01'`` is any time that day, ``>'2025-01-01'``
  after it, ``>='2025-01-01'`` from its start, ``<`` before its start, ``<=`` up to its end.
* Booleans (``enabledUser``, ``primary``) take ``'true'`` or ``'false'`` with ``=``/``!=`` only.
* A reference or list sub-field (``school.sourcedId``, ``roles.role``) matches when *some*
  referenced row matches; ``!=`` matches when *none* does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

MAX_PREDICATES = 20
MAX_FILTER_LENGTH = 4000

OPS = ("!=", ">=", "<=", "=", ">", "<", "~")
_LOOKUPS = {"=": "exact", "!=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_KEYWORD_RE = re.compile(r"\s+(AND|OR)\s+", re.IGNORECASE)


class QueryParamError(ValueError):
    """A bad ``filter``/``sort``/``fields``/paging parameter; ``code`` is the imsx code minor."""

    def __init__(self, description: str, code: str = "invalid_filter_field") -> None:
        super().__init__(description)
        self.description = description
        self.code = code


@dataclass(frozen=True)
class FieldSpec:
    """How one OneRoster field is filtered and sorted.

    ``lookup`` is the ORM path (relative to ``via``'s model when ``via`` is set); ``kind`` is
    ``str``, ``int``, ``date``, ``datetime`` or ``bool``; ``via`` turns a ``Q`` on a related
    model into a ``Q`` on the collection's model (such fields cannot be sorted on).
    """

    lookup: str
    kind: str = "str"
    via: Callable[[Q], Q] | None = None


@dataclass(frozen=True)
class Predicate:
    field: str
    op: str
    value: str
    position: int


def parse_filter(text: str) -> list[list[Predicate]]:
    """Parse a filter into OR-groups of AND-ed predicates; raises ``QueryParamError`` naming the
    (1-based) character position of the problem."""
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryParamError(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    groups: list[list[Predicate]] = [[]]
    count = 0
    i = 0
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        match = _FIELD_RE.match(text, i)
        if not match:
            raise QueryParamError(f"Expected a field name at position {i + 1} of the filter.")
        field, start = match.group(0), i
        i = match.end()
        while i < n and text[i].isspace():
            i += 1
        op = next((o for o in OPS if text.startswith(o, i)), None)
        if op is None:
            raise QueryParamError(
                f"Expected an operator (= != > >= < <= ~) at position {i + 1} of the filter."
            )
        i += len(op)
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "'":
            raise QueryParamError(f"Expected a single-quoted value at position {i + 1}.")
        i += 1
        chars: list[str] = []
        while True:
            if i >= n:
                raise QueryParamError(f"Unterminated value starting at position {start + 1}.")
            if text[i] == "'":
                if i + 1 < n and text[i + 1] == "'":
                    chars.append("'")
                    i += 2
                    continue
                i += 1
                break
            chars.append(text[i])
            i += 1
        count += 1
        if count > MAX_PREDICATES:
            raise QueryParamError(f"A filter may hold at most {MAX_PREDICATES} predicates.")
        groups[-1].append(Predicate(field, op, "".join(chars), start + 1))
        if not text[i:].strip():
            return groups
        keyword = _KEYWORD_RE.match(text, i)
        if not keyword:
            raise QueryParamError(f"Expected ' AND ' or ' OR ' at position {i + 1} of the filter.")
        if keyword.group(1).upper() == "OR":
            groups.append([])
        i = keyword.end()


def _parse_value(spec: FieldSpec, pred: Predicate) -> Any:
    where = f"'{pred.field}' at position {pred.position}"
    if spec.kind == "bool":
        if pred.op not in {"=", "!="} or pred.value not in {"true", "false"}:
            raise QueryParamError(f"The filter on {where} takes = or != with 'true' or 'false'.")
        return pred.value == "true"
    if pred.op == "~" and spec.kind != "str":
        raise QueryParamError(f"The filter on {where} cannot use ~ (contains).")
    try:
        if spec.kind == "int":
            return int(pred.value)
        if spec.kind == "date":
            return dt.date.fromisoformat(pred.value)
        if spec.kind == "datetime":
            return _parse_datetime(pred.value)
    except ValueError:
        raise QueryParamError(f"The value of {where} is not a valid {spec.kind}.") from None
    return pred.value


def _parse_datetime(value: str) -> dt.datetime | dt.date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _predicate_q(spec: FieldSpec, pred: Predicate) -> Q:
    value = _parse_value(spec, pred)
    op = pred.op
    lookup = spec.lookup
    if (
        spec.kind == "datetime"
        and isinstance(value, dt.date)
        and not isinstance(value, dt.datetime)
    ):
        day = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
        nxt = day + dt.timedelta(days=1)
        within = Q(**{f"{lookup}__gte": day, f"{lookup}__lt": nxt})
        q = {
            "=": within,
            "!=": within,
            ">": Q(**{f"{lookup}__gte": nxt}),
            ">=": Q(**{f"{lookup}__gte": day}),
            "<": Q(**{f"{lookup}__lt": day}),
            "<=": Q(**{f"{lookup}__lt": nxt}),
        }[op]
    elif op == "~":
        q = Q(**{f"{lookup}__icontains": value})
    else:
        q = Q(**{f"{lookup}__{_LOOKUPS[op]}": value})
    if spec.via is not None:
        q = spec.via(q)
    return ~q if op == "!=" else q


def filter_q(text: str, fields: dict[str, FieldSpec]) -> Q | None:
    """The ``Q`` for a filter over a collection whose filterable fields are ``fields``
    (``None`` for an empty filter). Unknown fields → ``QueryParamError``."""
    if not text.strip():
        return None
    result: Q | None = None
    for group in parse_filter(text):
        conj: Q | None = None
        for pred in group:
            spec = fields.get(pred.field)
            if spec is None:
                raise QueryParamError(
                    f"Unknown filter field '{pred.field}' at position {pred.position}."
                )
            q = _predicate_q(spec, pred)
            conj = q if conj is None else conj & q
        if conj is not None:
            result = conj if result is None else result | conj
    return result


def order_by(sort: str, order: str, fields: dict[str, FieldSpec]) -> list[str]:
    """ORM ordering for ``sort``/``orderBy``, always ending in ``sourced_id`` then ``pk`` so
    pages are stable. An unknown or unsortable field → ``QueryParamError``
    (``invalid_filter_field``: the spec has no sort-specific code)."""
    order = order or "asc"
    if order not in {"asc", "desc"}:
        raise QueryParamError("orderBy must be 'asc' or 'desc'.")
    prefix = "-" if order == "desc" else ""
    if not sort:
        return [f"{prefix}sourced_id", f"{prefix}pk"]
    spec = fields.get(sort)
    if spec is None or spec.via is not None:
        raise QueryParamError(f"Unknown sort field '{sort}'.")
    return [f"{prefix}{spec.lookup}", "sourced_id", "pk"]


def selected_fields(text: str, available: tuple[str, ...]) -> list[str] | None:
    """The fields of ``fields=a,b`` (``None`` when absent); an unknown one →
    ``QueryParamError`` with ``invalid_selection_field``."""
    if not text.strip():
        return None
    names = [f.strip() for f in text.split(",") if f.strip()]
    for name in names:
        if name not in available:
            raise QueryParamError(f"Unknown field '{name}'.", code="invalid_selection_field")
    return names
