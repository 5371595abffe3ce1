"""The xAPI document resources and the Activities and Agents resources.

``/xapi/activities/state`` (State), ``/xapi/activities/profile`` (Activity Profile) and
``/xapi/agents/profile`` (Agent Profile) store documents of any content type in the namespace
of the caller's org. A request naming a document (``stateId`` / ``profileId``) acts on that
one; a GET without it lists the ids (optionally only those changed ``since``), a State DELETE
without it deletes every matching state. PUT replaces, POST merges JSON objects (or stores
when there is nothing yet), and ETags give optimistic concurrency: ``If-Match`` /
``If-None-Match`` that fail answer 412, and a PUT without either over an existing document
answers 409 (for the State resource only in xAPI 2.0.0; xAPI 1.0.3 exempts it).

``/xapi/activities`` returns the canonical Activity (or a bare one when the LRS has no
definition) and ``/xapi/agents`` a Person built from what the caller may know of the agent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpResponse
from django.utils.http import http_date
from django.utils.translation import gettext as _

from shuyuan.core.errors import ShuyuanError

from ..actions.documents import (
    JSON_TYPE,
    Preconditions,
    delete_documents,
    merge_document,
    put_document,
)
from ..choices import DocumentKind
from ..models import Document
from ..queries.documents import (
    DocumentScope,
    get_activity,
    get_document,
    list_document_ids,
    recent_agent_names,
)
from .auth import Caller
from .http import XapiError, XapiRequest, json_response
from .keys import activity_key, agent_digest
from .validation import V2, agent_from_param, agent_key, is_iri, is_uuid, parse_timestamp

_STATE_PARAMS = ("activityId", "agent", "registration", "stateId")
_ACTIVITY_PROFILE_PARAMS = ("activityId", "profileId")
_AGENT_PROFILE_PARAMS = ("agent", "profileId")
_CONTENT_TYPE_MAX = 255

ScopeBuilder = Callable[[XapiRequest, Caller, bool], DocumentScope]


# --- parameters --------------------------------------------------------------------------------


def _caller(xreq: XapiRequest, area: str, *, write: bool) -> Caller:
    caller = xreq.authenticated
    allowed = caller.can_write(area) if write else caller.can_read(area)
    if not allowed:
        raise XapiError(403, _("This credential's scopes do not allow this request."))
    return caller


def _activity_id(xreq: XapiRequest) -> str:
    value = xreq.require_param("activityId")
    if not is_iri(value):
        raise XapiError(400, _("The activityId parameter must be an IRI."))
    return value


def _agent(xreq: XapiRequest, *, allow_group: bool = True) -> dict[str, Any]:
    return agent_from_param(
        xreq.require_param("agent"), version=xreq.version, allow_group=allow_group
    )


def _agent_key(agent: dict[str, Any]) -> str:
    return agent_digest(agent_key(agent))


def _registration(xreq: XapiRequest, *, many: bool) -> str | None:
    """The canonical registration; ``""`` if absent for one document, ``None`` for several."""
    value = xreq.params.get("registration")
    if value is None:
        return None if many else ""
    if not is_uuid(value):
        raise XapiError(400, _("The registration parameter must be a UUID."))
    return str(uuid.UUID(value))


def _doc_id(xreq: XapiRequest, name: str) -> str | None:
    value = xreq.params.get(name)
    if value == "":
        raise XapiError(400, _("The %(name)s parameter must not be empty.") % {"name": name})
    return value


def _since(xreq: XapiRequest) -> dt.datetime | None:
    value = xreq.params.get("since")
    if value is None:
        return None
    try:
        return parse_timestamp(value, version=xreq.version)
    except ValueError as exc:
        raise XapiError(400, _("The since parameter must be a Timestamp.")) from exc


def _preconditions(xreq: XapiRequest) -> Preconditions:
    return Preconditions(
        if_match=xreq.headers.get("If-Match") or None,
        if_none_match=xreq.headers.get("If-None-Match") or None,
    )


def _content_type(xreq: XapiRequest) -> str:
    if not xreq.content_type:
        return "application/octet-stream"
    value = xreq.content_type + "".join(
        f"; {name}={item}" for name, item in xreq.content_type_params.items()
    )
    if len(value) > _CONTENT_TYPE_MAX:
        raise XapiError(400, _("The Content-Type header is too long."))
    return value


# --- scopes of the three document resources ----------------------------------------------------


def _state_scope(xreq: XapiRequest, caller: Caller, many: bool) -> DocumentScope:
    activity = _activity_id(xreq)
    agent = _agent(xreq)
    return DocumentScope(
        kind=DocumentKind.STATE,
        org_id=caller.org_id,
        activity_key=activity_key(activity),
        agent_key=_agent_key(agent),
        registration=_registration(xreq, many=many),
    )


def _activity_profile_scope(xreq: XapiRequest, caller: Caller, many: bool) -> DocumentScope:
    return DocumentScope(
        kind=DocumentKind.ACTIVITY_PROFILE,
        org_id=caller.org_id,
        activity_key=activity_key(_activity_id(xreq)),
    )


def _agent_profile_scope(xreq: XapiRequest, caller: Caller, many: bool) -> DocumentScope:
    return DocumentScope(
        kind=DocumentKind.AGENT_PROFILE,
        org_id=caller.org_id,
        agent_key=_agent_key(_agent(xreq)),
    )


# --- the shared handlers -----------------------------------------------------------------------


def _document_response(document: Document) -> HttpResponse:
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["ETag"] = f'"{document.etag}"'
    response["Last-Modified"] = http_date(document.updated_at.timestamp())
    return response


def _no_content(document: Document | None = None) -> HttpResponse:
    response = HttpResponse(status=204)
    if document is not None:
        response["ETag"] = f'"{document.etag}"'
    return response


def _domain_errors(call: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        return call()
    except ShuyuanError as exc:
        raise XapiError(exc.status, str(exc.message)) from exc


def _get(
    xreq: XapiRequest, *, area: str, params: Iterable[str], id_name: str, scope: ScopeBuilder
) -> HttpResponse:
    xreq.check_params((*params, "since"))
    caller = _caller(xreq, area, write=False)
    doc_id = _doc_id(xreq, id_name)
    since = _since(xreq)
    if doc_id is not None:
        # ``since`` is allowed with a document id but has no meaning there.
        document = get_document(scope(xreq, caller, False), doc_id)
        if document is None:
            raise XapiError(404, _("There is no such document."))
        return _document_response(document)
    ids, newest = list_document_ids(scope(xreq, caller, True), since=since)
    response = json_response(ids, version=xreq.version)
    if newest is not None:
        response["Last-Modified"] = http_date(newest.timestamp())
    return response


def _put(
    xreq: XapiRequest, *, area: str, params: Iterable[str], id_name: str, scope: ScopeBuilder
) -> HttpResponse:
    xreq.check_params(params)
    caller = _caller(xreq, area, write=True)
    target = scope(xreq, caller, False)
    doc_id = xreq.require_param(id_name)
    content_type = _content_type(xreq)
    if xreq.content_type == JSON_TYPE:
        xreq.json_body()
    # xAPI 1.0.3 lets a PUT to the State resource overwrite without a precondition.
    conflict = target.kind != DocumentKind.STATE or xreq.version == V2
    return _domain_errors(
        lambda: _no_content(
            put_document(
                actor=caller,
                scope=target,
                doc_id=doc_id,
                content=xreq.body,
                content_type=content_type,
                preconditions=_preconditions(xreq),
                conflict_without_precondition=conflict,
            )
        )
    )


def _post(
    xreq: XapiRequest, *, area: str, params: Iterable[str], id_name: str, scope: ScopeBuilder
) -> HttpResponse:
    xreq.check_params(params)
    caller = _caller(xreq, area, write=True)
    target = scope(xreq, caller, False)
    doc_id = xreq.require_param(id_name)
    content_type = _content_type(xreq)
    return _domain_errors(
        lambda: _no_content(
            merge_document(
                actor=caller,
                scope=target,
                doc_id=doc_id,
                content=xreq.body,
                content_type=content_type,
                preconditions=_preconditions(xreq),
            )
        )
    )


def _delete(
    xreq: XapiRequest,
    *,
    area: str,
    params: Iterable[str],
    id_name: str,
    scope: ScopeBuilder,
    many: bool,
) -> HttpResponse:
    xreq.check_params(params)
    caller = _caller(xreq, area, write=True)
    doc_id = _doc_id(xreq, id_name) if many else xreq.require_param(id_name)
    target = scope(xreq, caller, doc_id is None)

    def delete() -> HttpResponse:
        delete_documents(
            actor=caller, scope=target, doc_id=doc_id, preconditions=_preconditions(xreq)
        )
        return _no_content()

    return _domain_errors(delete)


# --- State resource (/xapi/activities/state) ---------------------------------------------------


def state_get(xreq: XapiRequest) -> HttpResponse:
    """One state document (with ``stateId``) or the ids of the matching states."""
    return _get(xreq, area="state", params=_STATE_PARAMS, id_name="stateId", scope=_state_scope)


def state_put(xreq: XapiRequest) -> HttpResponse:
    """Store a state document (204)."""
    return _put(xreq, area="state", params=_STATE_PARAMS, id_name="stateId", scope=_state_scope)


def state_post(xreq: XapiRequest) -> HttpResponse:
    """Merge into (or store) a state document (204)."""
    return _post(xreq, area="state", params=_STATE_PARAMS, id_name="stateId", scope=_state_scope)


def state_delete(xreq: XapiRequest) -> HttpResponse:
    """Delete one state document, or without ``stateId`` every matching one (204)."""
    return _delete(
        xreq,
        area="state",
        params=_STATE_PARAMS,
        id_name="stateId",
        scope=_state_scope,
        many=True,
    )


# --- Activity Profile resource (/xapi/activities/profile) --------------------------------------


def activity_profile_get(xreq: XapiRequest) -> HttpResponse:
    """One activity profile document (with ``profileId``) or the ids of the activity's."""
    return _get(
        xreq,
        area="profile",
        params=_ACTIVITY_PROFILE_PARAMS,
        id_name="profileId",
        scope=_activity_profile_scope,
    )


def activity_profile_put(xreq: XapiRequest) -> HttpResponse:
    """Store an activity profile document (204; 409 over an existing one without ETag)."""
    return _put(
        xreq,
        area="profile",
        params=_ACTIVITY_PROFILE_PARAMS,
        id_name="profileId",
        scope=_activity_profile_scope,
    )


def activity_profile_post(xreq: XapiRequest) -> HttpResponse:
    """Merge into (or store) an activity profile document (204)."""
    return _post(
        xreq,
        area="profile",
        params=_ACTIVITY_PROFILE_PARAMS,
        id_name="profileId",
        scope=_activity_profile_scope,
    )


def activity_profile_delete(xreq: XapiRequest) -> HttpResponse:
    """Delete an activity profile document (204, also when there was none)."""
    return _delete(
        xreq,
        area="profile",
        params=_ACTIVITY_PROFILE_PARAMS,
        id_name="profileId",
        scope=_activity_profile_scope,
        many=False,
    )


# --- Agent Profile resource (/xapi/agents/profile) ---------------------------------------------


def agent_profile_get(xreq: XapiRequest) -> HttpResponse:
    """One agent profile document (with ``profileId``) or the ids of the agent's."""
    return _get(
        xreq,
        area="profile",
        params=_AGENT_PROFILE_PARAMS,
        id_name="profileId",
        scope=_agent_profile_scope,
    )


def agent_profile_put(xreq: XapiRequest) -> HttpResponse:
    """Store an agent profile document (204; 409 over an existing one without ETag)."""
    return _put(
        xreq,
        area="profile",
        params=_AGENT_PROFILE_PARAMS,
        id_name="profileId",
        scope=_agent_profile_scope,
    )


def agent_profile_post(xreq: XapiRequest) -> HttpResponse:
    """Merge into (or store) an agent profile document (204)."""
    return _post(
        xreq,
        area="profile",
        params=_AGENT_PROFILE_PARAMS,
        id_name="profileId",
        scope=_agent_profile_scope,
    )


def agent_profile_delete(xreq: XapiRequest) -> HttpResponse:
    """Delete an agent profile document (204, also when there was none)."""
    return _delete(
        xreq,
        area="profile",
        params=_AGENT_PROFILE_PARAMS,
        id_name="profileId",
        scope=_agent_profile_scope,
        many=False,
    )


# --- Activities and Agents resources -----------------------------------------------------------


def activities_get(xreq: XapiRequest) -> HttpResponse:
    """``GET /xapi/activities?activityId=``: the Activity with the LRS's canonical definition,
    or ``{"objectType": "Activity", "id": ...}`` when the LRS has none."""
    xreq.check_params(("activityId",))
    _caller(xreq, "define", write=False)
    activity_id = _activity_id(xreq)
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    row = get_activity(activity_id)
    if row is not None and row.definition:
        activity["definition"] = row.definition
    return json_response(activity, version=xreq.version)


def agents_get(xreq: XapiRequest) -> HttpResponse:
    """``GET /xapi/agents?agent=``: a Person object, each property an array, holding the given
    Agent's identifier and the names it used in statements the caller may read."""
    xreq.check_params(("agent",))
    caller = _caller(xreq, "define", write=False)
    agent = _agent(xreq, allow_group=False)
    names: list[str] = []
    if isinstance(agent.get("name"), str):
        names.append(agent["name"])
    for name in recent_agent_names(caller, _agent_key(agent)):
        if name not in names:
            names.append(name)
    person: dict[str, Any] = {"objectType": "Person"}
    if names:
        person["name"] = names
    for key in ("mbox", "mbox_sha1sum", "openid"):
        if key in agent:
            person[key] = [agent[key]]
    if "account" in agent:
        account = agent["account"]
        person["account"] = [{"homePage": account["homePage"], "name": account["name"]}]
    return json_response(person, version=xreq.version)


__all__ = [
    "activities_get",
    "activity_profile_delete",
    "activity_profile_get",
    "activity_profile_post",
    "activity_profile_put",
    "agent_profile_delete",
    "agent_profile_get",
    "agent_profile_post",
    "agent_profile_put",
    "agents_get",
    "state_delete",
    "state_get",
    "state_post",
    "state_put",
]
