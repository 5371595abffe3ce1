"""The platform's own events (resource viewed or completed, exam answer submitted) as xAPI
statements in the LRS.

Callers enqueue a task on commit that calls ``record_platform_event``, so recording never runs
on the request's hot path. A ``source_key`` names the event the statement stands for; the
statement id is derived from it (UUID 5), so a retried task stores the statement once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from shuyuan.core.models import Org

from ..models import Statement
from ..xapi.agents import account_agent
from ..xapi.auth import system_caller
from ..xapi.validation import V2
from .statements import store_statements

#: The namespace of statement ids derived from platform event keys.
EVENT_NAMESPACE = uuid.UUID("6f1c3c1e-5f0b-4bb5-9d0e-6d8f3c1a9e21")


def _caller_org(user: Any) -> Org:
    org: Org | None = getattr(user, "home_org", None)
    if org is None:
        org = Org.objects.filter(parent__isnull=True).order_by("pk").first()
    if org is None:
        raise LookupError("The org tree is empty: there is no org to record the event under.")
    return org


def record_platform_event(
    *,
    user: Any,
    verb_id: str,
    verb_display: str,
    object_id: str,
    object_name: str,
    object_type: str | None = None,
    timestamp: dt.datetime | None = None,
    source_key: str | None = None,
    result: dict[str, Any] | None = None,
    context_extensions: dict[str, Any] | None = None,
) -> str:
    """Store one statement "``user`` ``verb`` ``object``" for the platform and return its id.

    The statement is stored under the user's registered org (the root org if none), so the
    org's administrators and LRS clients of that subtree can read it. With ``source_key``,
    a second call for the same event stores nothing and returns the same id.
    """
    statement_id = str(uuid.uuid5(EVENT_NAMESPACE, source_key)) if source_key else str(uuid.uuid4())
    if source_key and Statement.objects.filter(statement_id=statement_id).exists():
        return statement_id
    definition: dict[str, Any] = {"name": {"und": object_name[:500]}}
    if object_type:
        definition["type"] = object_type
    statement: dict[str, Any] = {
        "id": statement_id,
        "actor": account_agent(user),
        "verb": {"id": verb_id, "display": {"en-US": verb_display}},
        "object": {"objectType": "Activity", "id": object_id, "definition": definition},
        "timestamp": (timestamp or timezone.now()).isoformat(),
    }
    if result:
        statement["result"] = result
    if context_extensions:
        statement["context"] = {"extensions": context_extensions}
    org = _caller_org(user)
    caller = system_caller(org_id=org.pk, org_path=org.path)
    store_statements(caller=caller, statements=[statement], attachments={}, version=V2)
    return statement_id
