"""Reads of the xAPI document resources (State, Activity Profile, Agent Profile), the
Activities resource and the Agents resource.

LRS callers are not platform users: a credential reads the documents of its own org's
namespace only (``Caller.org_id``), so these queries filter on the caller's org instead of
``visible_to(user)``; the portal reads documents through ``Document.objects.visible_to``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, QuerySet

from ..choices import DocumentKind
from ..models import Activity, Document, Statement
from ..xapi.auth import Caller
from ..xapi.keys import activity_key, digest


@dataclass(frozen=True)
class DocumentScope:
    """Where documents live: one kind, in one org's namespace, about one activity and/or agent.

    ``activity_key`` and ``agent_key`` are empty for the kinds they do not apply to;
    ``registration`` is the canonical (lower-case) UUID, ``""`` for none, or ``None`` in a
    scope for several documents, which then matches every registration.
    """

    kind: DocumentKind
    org_id: int
    activity_key: str = ""
    agent_key: str = ""
    registration: str | None = ""


def _scoped(scope: DocumentScope) -> QuerySet[Document]:
    rows = Document.objects.filter(
        org_id=scope.org_id,
        kind=scope.kind,
        activity_key=scope.activity_key,
        agent_key=scope.agent_key,
    )
    if scope.registration is not None:
        rows = rows.filter(registration=scope.registration)
    return rows


def document_rows(scope: DocumentScope, doc_id: str | None = None) -> QuerySet[Document]:
    """The documents in ``scope`` (one, by ``doc_id``, or all of them); for actions and reads."""
    rows = _scoped(scope)
    if doc_id is not None:
        rows = rows.filter(doc_key=digest(doc_id), doc_id=doc_id)
    return rows


def get_document(scope: DocumentScope, doc_id: str) -> Document | None:
    """The document ``doc_id`` in ``scope`` (registration ``""`` when none), or ``None``."""
    if scope.registration is None:
        raise ValueError("a single document needs a definite registration")
    return document_rows(scope, doc_id).first()


def list_document_ids(
    scope: DocumentScope, *, since: dt.datetime | None = None
) -> tuple[list[str], dt.datetime | None]:
    """The ids of the documents in ``scope`` updated after ``since`` (exclusive), oldest first,
    and when the newest of them was updated (``None`` when there are none)."""
    rows = _scoped(scope)
    if since is not None:
        rows = rows.filter(updated_at__gt=since)
    ids = list(rows.order_by("updated_at", "pk").values_list("doc_id", flat=True))
    newest = rows.aggregate(newest=Max("updated_at"))["newest"] if ids else None
    return list(dict.fromkeys(ids)), newest


def get_activity(activity_id: str) -> Activity | None:
    """The LRS's canonical definition of the activity ``activity_id``, if it has one."""
    row = Activity.objects.filter(activity_key=activity_key(activity_id)).first()
    return row if row is not None and row.activity_id == activity_id else None


def recent_agent_names(caller: Caller, agent_key: str, *, limit: int = 20) -> list[str]:
    """Names the agent with index key ``agent_key`` used as the actor of the latest statements
    ``caller`` may read (none without a statement-read scope), newest first, each once."""
    if not caller.can_read("statements"):
        return []
    rows = Statement.objects.filter(actor_key=agent_key, org_path__startswith=caller.org_path)
    if caller.reads_only_own:
        rows = rows.filter(client=caller.client)
    names: list[str] = []
    for data in rows.order_by("-stored").values_list("data", flat=True)[:limit]:
        name = _actor_name(data)
        if name and name not in names:
            names.append(name)
    return names


def _actor_name(data: str) -> str | None:
    try:
        actor: Any = json.loads(data).get("actor")
    except (ValueError, AttributeError):
        return None
    name = actor.get("name") if isinstance(actor, dict) else None
    return name if isinstance(name, str) else None
