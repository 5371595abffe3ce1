"""Reading xAPI Statements: the GET /statements query, its ``more`` cursor, and the timeline.

``StatementQuery`` holds the parsed query parameters of xAPI GET /statements;
``statement_page`` turns one into a page of rows using the Statement indexes (actor, verb,
object, registration, each with ``stored``; ``StatementAgent``/``StatementActivity`` for the
``related_*`` parameters). Results are ordered by ``stored`` (then row id), newest first unless
``ascending``; the ``more`` cursor is the query plus the position of the last row, signed with
``django.core.signing`` so a client cannot alter it.

Statements that target another Statement (StatementRef object) meet a non-time filter when
their target meets it (xAPI 1.0.3 Part 2 §2.5 / 2.0.0 §4.2.5, "Filter Conditions for
StatementRefs"), to ``REF_DEPTH`` levels. Voided Statements are never listed.

Every read is limited to what the caller may read: Statements stored within its org subtree
(and, with the ``statements/read/mine`` scope only, those its own credential stored).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.core import signing
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..models import Activity, Statement, StatementActivity, StatementAgent
from ..xapi import keys
from ..xapi.auth import Caller

#: How many StatementRef hops the non-time filters follow.
REF_DEPTH = 2

_CURSOR_SALT = "shuyuan.learning.xapi.more"
_CURSOR_MAX_AGE = 24 * 3600


class BadCursor(ValueError):
    """A ``more`` token that was altered, has expired or is not ours."""


@dataclass
class StatementQuery:
    """The filters of a Statement list query (all optional), as parsed from the request."""

    agent_key: str | None = None
    verb_key: str | None = None
    activity_key: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: str | None = None
    until: str | None = None
    limit: int = 0
    format: str = "exact"
    attachments: bool = False
    ascending: bool = False
    # The position after which the next page starts: ``stored`` (ISO) and row id.
    after_stored: str | None = None
    after_id: int | None = None

    @property
    def has_content_filter(self) -> bool:
        return any((self.agent_key, self.verb_key, self.activity_key, self.registration))


def readable_statements(caller: Caller) -> QuerySet[Statement]:
    """The Statement rows ``caller`` may read (org subtree; own credential's with read/mine)."""
    qs = Statement.objects.filter(org_path__startswith=caller.org_path)
    if caller.reads_only_own:
        qs = qs.filter(client=caller.client) if caller.client else qs.none()
    return qs


def _content_filter(query: StatementQuery) -> Q:
    condition = Q()
    if query.agent_key:
        if query.related_agents:
            # The side table holds the mentions beyond the actor and the object (see models).
            condition &= (
                Q(actor_key=query.agent_key)
                | Q(object_key=query.agent_key)
                | Q(
                    pk__in=StatementAgent.objects.filter(agent_key=query.agent_key).values(
                        "statement_id"
                    )
                )
            )
        else:
            condition &= Q(actor_key=query.agent_key) | Q(object_key=query.agent_key)
    if query.verb_key:
        condition &= Q(verb_key=query.verb_key)
    if query.activity_key:
        if query.related_activities:
            condition &= Q(object_key=query.activity_key) | Q(
                pk__in=StatementActivity.objects.filter(activity_key=query.activity_key).values(
                    "statement_id"
                )
            )
        else:
            condition &= Q(object_key=query.activity_key)
    if query.registration:
        condition &= Q(registration=uuid.UUID(query.registration))
    return condition


def _parse_iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _referring(caller: Caller, direct: Q) -> Exists:
    """Statements whose StatementRef target meets ``direct``, directly or through one more
    StatementRef (``REF_DEPTH`` = 2). Targets may themselves be voided (a voiding statement is
    found by its target's actor)."""
    readable = readable_statements(caller)
    deeper = readable.filter(statement_id=OuterRef("object_ref")).filter(direct)
    target = readable.filter(statement_id=OuterRef("object_ref")).filter(direct | Q(Exists(deeper)))
    return Exists(target)


def _window(caller: Caller, query: StatementQuery) -> QuerySet[Statement]:
    """Readable, non-voided Statements within since/until and after the cursor position."""
    qs = readable_statements(caller).filter(voided=False)
    if query.since:
        qs = qs.filter(stored__gt=_parse_iso(query.since))
    if query.until:
        qs = qs.filter(stored__lte=_parse_iso(query.until))
    if query.after_stored is not None and query.after_id is not None:
        stored = _parse_iso(query.after_stored)
        if query.ascending:
            qs = qs.filter(Q(stored__gt=stored) | Q(stored=stored, pk__gt=query.after_id))
        else:
            qs = qs.filter(Q(stored__lt=stored) | Q(stored=stored, pk__lt=query.after_id))
    return qs


def statement_page(
    caller: Caller, query: StatementQuery, *, page_size: int
) -> tuple[list[tuple[int, dt.datetime, str]], bool]:
    """One page of ``(row id, stored, data)`` and whether more rows follow.

    With a content filter this runs two ordered, limited queries and merges them: the
    Statements that meet the filter themselves (served by the key indexes), and the Statements
    with a StatementRef object whose target meets it (from the partial ``object_ref`` index,
    so its cost follows the number of StatementRef Statements in the window, not the table).
    One query with ``OR`` would make PostgreSQL scan the whole ``stored`` index.
    """
    window = _window(caller, query)
    order = ("stored", "pk") if query.ascending else ("-stored", "-pk")
    limit = page_size + 1
    if not query.has_content_filter:
        rows = list(window.order_by(*order).values_list("pk", "stored", "data")[:limit])
    else:
        direct = _content_filter(query)
        found = list(
            window.filter(direct).order_by(*order).values_list("pk", "stored", "data")[:limit]
        )
        refs = list(
            window.filter(object_ref__isnull=False)
            .filter(_referring(caller, direct))
            .order_by(*order)
            .values_list("pk", "stored", "data")[:limit]
        )
        merged = {row[0]: row for row in [*found, *refs]}
        rows = sorted(merged.values(), key=lambda r: (r[1], r[0]), reverse=not query.ascending)[
            :limit
        ]
    return rows[:page_size], len(rows) > page_size


def single_statement(caller: Caller, statement_id: str, *, voided: bool) -> Statement | None:
    """The readable Statement with this id that is (``voided``) or is not voided, or ``None``."""
    return (
        readable_statements(caller)
        .filter(statement_id=uuid.UUID(statement_id), voided=voided)
        .only("pk", "stored", "data")
        .first()
    )


def encode_cursor(query: StatementQuery) -> str:
    """The signed ``more`` token for ``query`` (which carries the position already)."""
    return signing.dumps(asdict(query), salt=_CURSOR_SALT, compress=True)


def decode_cursor(token: str) -> StatementQuery:
    """The query a ``more`` token stands for; ``BadCursor`` if it is not a valid token."""
    try:
        data = signing.loads(token, salt=_CURSOR_SALT, max_age=_CURSOR_MAX_AGE)
        return StatementQuery(**data)
    except (signing.BadSignature, TypeError, ValueError) as exc:
        raise BadCursor(str(exc)) from exc


def consistent_through() -> str:
    """The X-Experience-API-Consistent-Through value: Statements are visible once stored."""
    now = timezone.now().astimezone(dt.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the portal's timeline ---------------------------------------------------------------------


def activity_definitions(activity_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The LRS's canonical definitions of these Activities, by Activity id."""
    if not activity_ids:
        return {}
    by_key = {keys.activity_key(a): a for a in activity_ids}
    return {
        by_key[key]: definition
        for key, definition in Activity.objects.filter(activity_key__in=list(by_key)).values_list(
            "activity_key", "definition"
        )
        if definition
    }
