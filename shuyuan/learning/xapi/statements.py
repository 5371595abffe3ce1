"""The Statement resource: PUT, POST, GET (and HEAD) /xapi/statements.

xAPI 2.0.0 (IEEE 9274.1.1-2023, Part 3 §4.1.6.1) and 1.0.3 (Part 3 §2.1), the version chosen per
request (``xreq.version``):

* PUT ``?statementId=`` stores one Statement (204); the same Statement again is 204, a
  different one with that id 409.
* POST stores one Statement or a batch (200 with the ids in order), all or nothing.
* Bodies are ``application/json`` or ``multipart/mixed`` (Statements first, then one part per
  attachment, ``multipart``); signature attachments are checked (``signature``).
* GET returns one Statement (``statementId`` / ``voidedStatementId``) or a StatementResult
  (``{"statements": [...], "more": IRL or ""}``) filtered by the query parameters, in the
  ``exact``, ``ids`` or ``canonical`` format, as ``multipart/mixed`` with ``attachments=true``.
  Every GET answer, errors included, carries ``X-Experience-API-Consistent-Through``.

A caller reads only Statements stored within its org subtree (``queries.statements``) and needs
the ``statements/write`` or a read scope (403 otherwise).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.http import http_date

from .. import conf
from ..actions.statements import mentioned, store_statements
from ..models import Attachment
from ..queries.statements import (
    BadCursor,
    StatementQuery,
    activity_definitions,
    consistent_through,
    decode_cursor,
    encode_cursor,
    single_statement,
    statement_page,
)
from . import keys
from .formatting import FORMATS, format_statement, parse_accept_language
from .http import XapiError, XapiRequest, json_response
from .multipart import Part, build_multipart, match_attachments, parse_statement_parts
from .signature import (
    SignatureError,
    check_signature_attachment,
    is_signature,
    verify_statement_signature,
)
from .validation import (
    XapiValidationError,
    agent_from_param,
    agent_key,
    is_iri,
    is_uuid,
    loads_json,
    parse_timestamp,
    validate_statement,
    validate_statement_batch,
)

#: The query parameters of GET /statements.
GET_PARAMS = (
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
)
_SINGLE_COMPANIONS = {"format", "attachments"}

CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"


# --- writing -----------------------------------------------------------------------------------


def _require_write(xreq: XapiRequest) -> None:
    if not xreq.authenticated.can_write("statements"):
        raise XapiError(403, "This credential may not store Statements.")


def _parse_body(xreq: XapiRequest) -> tuple[Any, dict[str, Any]]:
    """The JSON of the request and the attachment parts by hash (empty for plain JSON)."""
    parts: dict[str, Part]
    if xreq.content_type == "application/json":
        raw, parts = xreq.body, {}
    elif xreq.content_type == "multipart/mixed":
        raw, parts = parse_statement_parts(xreq.body, xreq.content_type_params.get("boundary", ""))
    else:
        raise XapiError(400, "Statements are sent as application/json or multipart/mixed.")
    if not raw.strip():
        raise XapiError(400, "The request has no Statement.")
    try:
        return loads_json(raw), parts
    except (UnicodeDecodeError, ValueError) as exc:
        raise XapiError(400, f"The body is not valid JSON: {exc}") from exc


def _check_signatures(statements: list[dict[str, Any]], parts: dict[str, Any]) -> None:
    for index, statement in enumerate(statements):
        for attachment in statement.get("attachments") or []:
            if not isinstance(attachment, dict) or not is_signature(attachment):
                continue
            try:
                check_signature_attachment(attachment)
                part = parts.get(str(attachment.get("sha2", "")).lower())
                if part is not None:
                    verify_statement_signature(part.body, statement)
            except SignatureError as exc:
                raise XapiError(400, f"statements[{index}]: {exc}") from exc


def _store(xreq: XapiRequest, statements: list[dict[str, Any]], parts: dict[str, Any]) -> list[str]:
    attachments = match_attachments(statements, parts)
    _check_signatures(statements, parts)
    return store_statements(
        caller=xreq.authenticated,
        statements=statements,
        attachments=attachments,
        version=xreq.version,
    )


def put(xreq: XapiRequest) -> HttpResponse:
    """PUT /statements?statementId=: store one Statement with that id (204, or 409)."""
    _require_write(xreq)
    xreq.check_params(("statementId",))
    statement_id = xreq.require_param("statementId")
    if not is_uuid(statement_id):
        raise XapiError(400, "statementId must be a UUID.")
    data, parts = _parse_body(xreq)
    if not isinstance(data, dict):
        raise XapiError(400, "PUT /statements takes a single Statement.")
    statement = validate_statement(data, version=xreq.version, path="statement")
    given = statement.get("id")
    if given is not None and str(given).lower() != statement_id.lower():
        raise XapiError(400, "The Statement's id differs from the statementId parameter.")
    statement["id"] = given if given is not None else statement_id
    _store(xreq, [statement], parts)
    return HttpResponse(status=204)


def post(xreq: XapiRequest) -> HttpResponse:
    """POST /statements: store one Statement or a batch; 200 with the ids in order."""
    _require_write(xreq)
    xreq.check_params(())
    data, parts = _parse_body(xreq)
    statements = validate_statement_batch(data, version=xreq.version)
    ids = _store(xreq, statements, parts) if statements else []
    return json_response(ids, version=xreq.version)


# --- reading -----------------------------------------------------------------------------------


def _bool_param(xreq: XapiRequest, name: str) -> bool:
    value = xreq.params.get(name)
    if value is None:
        return False
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise XapiError(400, f"{name} must be true or false.")
    return lowered == "true"


def _timestamp_param(xreq: XapiRequest, name: str) -> str | None:
    value = xreq.params.get(name)
    if value is None:
        return None
    # A "+" of an offset arrives as a space when the client did not percent-encode it.
    value = value.replace(" ", "+")
    try:
        return parse_timestamp(value, version=xreq.version).isoformat()
    except ValueError as exc:
        raise XapiError(400, f"{name} is not a valid timestamp: {exc}") from exc


def _format_param(xreq: XapiRequest) -> str:
    fmt = xreq.params.get("format", "exact")
    if fmt not in FORMATS:
        raise XapiError(400, "format must be ids, exact or canonical.")
    return fmt


def _parse_query(xreq: XapiRequest) -> StatementQuery:
    params = xreq.params
    query = StatementQuery(
        related_activities=_bool_param(xreq, "related_activities"),
        related_agents=_bool_param(xreq, "related_agents"),
        since=_timestamp_param(xreq, "since"),
        until=_timestamp_param(xreq, "until"),
        format=_format_param(xreq),
        attachments=_bool_param(xreq, "attachments"),
        ascending=_bool_param(xreq, "ascending"),
    )
    if "agent" in params:
        agent = agent_from_param(params["agent"], version=xreq.version)
        query.agent_key = keys.agent_digest(agent_key(agent))
    if "verb" in params:
        if not is_iri(params["verb"]):
            raise XapiError(400, "verb must be an IRI.")
        query.verb_key = keys.verb_key(params["verb"])
    if "activity" in params:
        if not is_iri(params["activity"]):
            raise XapiError(400, "activity must be an IRI.")
        query.activity_key = keys.activity_key(params["activity"])
    if "registration" in params:
        if not is_uuid(params["registration"]):
            raise XapiError(400, "registration must be a UUID.")
        query.registration = params["registration"].lower()
    if "limit" in params:
        raw = params["limit"]
        if not raw.isdigit():
            raise XapiError(400, "limit must be a non-negative integer.")
        query.limit = int(raw)
    return query


def _languages(xreq: XapiRequest) -> list[str]:
    return parse_accept_language(xreq.headers.get("Accept-Language"))


def _activity_ids(statement: dict[str, Any]) -> set[str]:
    return {str(a.get("id")) for a in mentioned(statement)[1]}


def _render(documents: list[dict[str, Any]], fmt: str, xreq: XapiRequest) -> list[dict[str, Any]]:
    if fmt == "exact":
        return documents
    definitions: dict[str, dict[str, Any]] = {}
    if fmt == "canonical":
        ids: set[str] = set()
        for document in documents:
            ids |= _activity_ids(document)
        definitions = activity_definitions(ids)
    languages = _languages(xreq)
    return [
        format_statement(d, fmt=fmt, languages=languages, activity_definitions=definitions)
        for d in documents
    ]


def _attachment_parts(documents: list[dict[str, Any]]) -> list[tuple[str, str, bytes]]:
    wanted: list[str] = []
    for document in documents:
        for attachment in document.get("attachments") or []:
            sha2 = str(attachment.get("sha2", "")).lower() if isinstance(attachment, dict) else ""
            if sha2 and sha2 not in wanted:
                wanted.append(sha2)
    if not wanted:
        return []
    rows = {
        sha2: (ctype, bytes(content))
        for sha2, ctype, content in Attachment.objects.filter(sha2__in=wanted).values_list(
            "sha2", "content_type", "content"
        )
    }
    return [(sha2, *rows[sha2]) for sha2 in wanted if sha2 in rows]


def _respond(
    payload: Any, documents: list[dict[str, Any]], attachments: bool, xreq: XapiRequest
) -> HttpResponse:
    if not attachments:
        return json_response(payload, version=xreq.version)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    content, content_type = build_multipart(body, _attachment_parts(documents))
    return HttpResponse(content, status=200, content_type=content_type)


def _get_single(xreq: XapiRequest) -> HttpResponse:
    params = xreq.params
    if "statementId" in params and "voidedStatementId" in params:
        raise XapiError(400, "Use statementId or voidedStatementId, not both.")
    name = "statementId" if "statementId" in params else "voidedStatementId"
    others = sorted(set(params) - {name} - _SINGLE_COMPANIONS)
    if others:
        raise XapiError(400, f"{name} cannot be combined with {', '.join(others)}.")
    statement_id = params[name]
    if not is_uuid(statement_id):
        raise XapiError(400, f"{name} must be a UUID.")
    fmt = _format_param(xreq)
    attachments = _bool_param(xreq, "attachments")
    row = single_statement(xreq.authenticated, statement_id, voided=name == "voidedStatementId")
    if row is None:
        raise XapiError(404, "No such Statement.")
    document = json.loads(row.data)
    rendered = _render([document], fmt, xreq)[0]
    response = _respond(rendered, [document], attachments, xreq)
    response["Last-Modified"] = http_date(row.stored.timestamp())
    return response


def _more_url(xreq: XapiRequest, query: StatementQuery) -> str:
    return f"{xreq.django_request.path}?more={encode_cursor(query)}"


def _get_list(xreq: XapiRequest) -> HttpResponse:
    if "more" in xreq.params:
        if set(xreq.params) != {"more"}:
            raise XapiError(400, "The more parameter is used on its own.")
        try:
            query = decode_cursor(xreq.params["more"])
        except BadCursor as exc:
            raise XapiError(400, "The more link is not valid.") from exc
    else:
        xreq.check_params(GET_PARAMS)
        query = _parse_query(xreq)
    page_size = int(conf.get("LEARNING_XAPI_PAGE_SIZE"))
    size = min(query.limit or page_size, page_size)
    rows, has_more = statement_page(xreq.authenticated, query, page_size=size)
    documents = [json.loads(data) for _pk, _stored, data in rows]
    more = ""
    if has_more and rows:
        last_pk, last_stored, _data = rows[-1]
        query.after_stored = last_stored.isoformat()
        query.after_id = last_pk
        more = _more_url(xreq, query)
    payload = {"statements": _render(documents, query.format, xreq), "more": more}
    return _respond(payload, documents, query.attachments, xreq)


def get(xreq: XapiRequest) -> HttpResponse:
    """GET /statements: one Statement or a StatementResult (see the module docstring)."""
    through = consistent_through()
    try:
        if not xreq.authenticated.can_read("statements"):
            raise XapiError(403, "This credential may not read Statements.")
        if "statementId" in xreq.params or "voidedStatementId" in xreq.params:
            response = _get_single(xreq)
        else:
            response = _get_list(xreq)
    except XapiValidationError as exc:
        message = f"{exc.path}: {exc.message}" if exc.path else exc.message
        raise XapiError(400, message, headers={CONSISTENT_THROUGH: through}) from exc
    except XapiError as exc:
        exc.headers.setdefault(CONSISTENT_THROUGH, through)
        raise
    response[CONSISTENT_THROUGH] = through
    return response
