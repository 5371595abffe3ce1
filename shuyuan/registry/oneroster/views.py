"""HTTP handlers of the OneRoster API and its OAuth 2 token endpoint (plain Django views).

Every API request: bearer token (401) → method (405) → scope (403) → dataset grant → query
parameters (400) → rows. Every request by an authenticated client writes one ``AccessLog`` row,
refused ones (403, 404, 400, 405) included. See ``docs/apps/registry-oneroster.md``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote_plus, urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_script_prefix
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from shuyuan.core.middleware import client_ip

from ..models import AccessLog, ApiClient, Dataset
from . import queries as q
from . import serializers as ser
from .auth import (
    TOKEN_LIFETIME_SECONDS,
    ScopeError,
    authenticate_bearer,
    authenticate_client,
    grant_scopes,
    issue_token,
)
from .filters import QueryParamError, filter_q, order_by, selected_fields

BASE_PATH = "ims/oneroster/rostering/v1p2"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class ApiError(Exception):
    """An imsx failure: HTTP ``status`` and the code minor ``code``."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def error_response(status: int, code: str, description: str) -> JsonResponse:
    """The imsx_StatusInfo body (codeMajor failure, severity error) with ``status``."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": code}
            ]
        },
    }
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="OneRoster", error="invalid_token"'
    return response


def _unknown() -> ApiError:
    return ApiError(404, "unknownobject", "Unknown Object")


def _bearer(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _int_param(request: HttpRequest, name: str, default: int, minimum: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryParamError(f"{name} must be an integer.", code="invaliddata") from None
    if value < minimum:
        raise QueryParamError(f"{name} must be at least {minimum}.", code="invaliddata")
    return value


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(get_script_prefix() + BASE_PATH)


def _links(request: HttpRequest, total: int, limit: int, offset: int) -> str:
    params = {k: v for k, v in request.GET.items() if k not in {"limit", "offset"}}
    url = request.build_absolute_uri(request.path)

    def link(rel: str, off: int) -> str:
        return f'<{url}?{urlencode({**params, "limit": limit, "offset": off})}>; rel="{rel}"'

    last = max(0, (total - 1) // limit * limit) if total else 0
    parts = []
    if offset + limit < total:
        parts.append(link("next", offset + limit))
    if offset > 0:
        parts.append(link("prev", max(0, offset - limit)))
    parts.append(link("first", 0))
    parts.append(link("last", last))
    return ", ".join(parts)


class _Outcome:
    """What the access log needs to know about a request once it is answered."""

    def __init__(self) -> None:
        self.dataset: Dataset | None = None
        self.rows = 0


def _list(
    request: HttpRequest,
    coll: q.Collection,
    grant: q.Grant,
    extra: Any,
    outcome: _Outcome,
) -> HttpResponse:
    limit = min(_int_param(request, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0)
    fields = selected_fields(request.GET.get("fields", ""), ser.OBJECT_FIELDS[coll.kind])
    client_filter = filter_q(request.GET.get("filter", ""), coll.fields)
    ordering = order_by(request.GET.get("sort", ""), request.GET.get("orderBy", ""), coll.fields)
    qs = q.base_queryset(coll, grant.paths)
    if extra is not None:
        qs = qs.filter(extra)
    if client_filter is not None:
        # The client's expression is one AND-ed term: its ORs stay inside the grant.
        qs = qs.filter(client_filter)
    total = qs.count()
    rows = list(qs.order_by(*ordering)[offset : offset + limit]) if offset < total else []
    ctx = ser.Context(_base_url(request), q.org_sourced_ids(q.org_ids_of(coll, rows)))
    items = [ser.select(coll.serialize(row, ctx), fields) for row in rows]
    outcome.rows = len(items)
    response = JsonResponse({coll.envelope: items})
    response["X-Total-Count"] = str(total)
    response["Link"] = _links(request, total, limit, offset)
    return response


def _single(
    request: HttpRequest, coll: q.Collection, grant: q.Grant, sourced_id: str, outcome: _Outcome
) -> HttpResponse:
    fields = selected_fields(request.GET.get("fields", ""), ser.OBJECT_FIELDS[coll.kind])
    row = q.base_queryset(coll, grant.paths).filter(sourced_id=sourced_id).first()
    if row is None:
        raise _unknown()
    ctx = ser.Context(_base_url(request), q.org_sourced_ids(q.org_ids_of(coll, [row])))
    outcome.rows = 1
    return JsonResponse({coll.singular: ser.select(coll.serialize(row, ctx), fields)})


def _answer(
    request: HttpRequest,
    client: ApiClient,
    scopes: list[str],
    route: dict[str, Any],
    outcome: _Outcome,
) -> HttpResponse:
    if request.method not in {"GET", "HEAD"}:
        raise ApiError(405, "invaliddata", _("Only GET is supported by this service."))
    kind = route["kind"]
    if kind == "unknown":
        raise _unknown()
    if kind == "nested":
        nested = q.NESTED[route["nested"]]
        coll = q.COLLECTIONS[nested.child]
        if not coll.scopes_ok(scopes, nested=True):
            raise ApiError(403, "forbidden", _("The token's scopes do not allow this request."))
        parents = []
        for name, sid in zip(nested.parents, route["ids"], strict=True):
            parent_coll = q.COLLECTIONS[name]
            parent = q.find_parent(parent_coll, q.client_grant(client, parent_coll).paths, sid)
            if parent is None:
                raise _unknown()
            parents.append(parent)
        if len(parents) == 2 and parents[1].school_id != parents[0].org_id:
            raise _unknown()
        grant = q.client_grant(client, coll)
        outcome.dataset = grant.datasets[0] if grant.datasets else None
        return _list(request, coll, grant, nested.rows(parents), outcome)
    coll = q.COLLECTIONS[route["collection"]]
    if not coll.scopes_ok(scopes):
        raise ApiError(403, "forbidden", _("The token's scopes do not allow this request."))
    grant = q.client_grant(client, coll)
    outcome.dataset = grant.datasets[0] if grant.datasets else None
    if kind == "single":
        return _single(request, coll, grant, route["sourced_id"], outcome)
    return _list(request, coll, grant, None, outcome)


@csrf_exempt
def dispatch(request: HttpRequest, **route: Any) -> HttpResponse:
    """Entry point of every API URL (``route`` comes from ``urls.py``)."""
    token = authenticate_bearer(_bearer(request))
    if token is None:
        return error_response(
            401, "unauthorisedrequest", _("A valid bearer access token is required.")
        )
    outcome = _Outcome()
    try:
        response = _answer(request, token.client, list(token.scopes or []), route, outcome)
    except QueryParamError as exc:
        response = error_response(400, exc.code, exc.description)
    except ApiError as exc:
        response = error_response(exc.status, exc.code, exc.description)
    if response.status_code == 405:
        response["Allow"] = "GET, HEAD"
    _log(request, token.client, outcome, response.status_code)
    return response


def _log(request: HttpRequest, client: ApiClient, outcome: _Outcome, status: int) -> None:
    """One ``AccessLog`` row for the request (one INSERT)."""
    dataset = outcome.dataset
    AccessLog.objects.create(
        client=client,
        dataset=dataset,
        org_path=(dataset.org.path if dataset else client.org.path)[:255],
        method=(request.method or "")[:8],
        path=request.path[:500],
        query=unquote_plus(request.META.get("QUERY_STRING", ""))[:1000],
        status_code=status,
        rows=outcome.rows,
        ip=client_ip(request),
    )


# --- token endpoint ----------------------------------------------------------------------------


def _oauth_error(status: int, error: str, description: str = "") -> JsonResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="OneRoster"'
    return response


def _client_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """``(client_id, secret)`` from HTTP Basic (RFC 6749 §2.3.1, form-urlencoded parts) or the
    ``client_id``/``client_secret`` form fields; ``None`` if neither is present."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return ("", "")
        return (unquote_plus(client_id), unquote_plus(secret))
    if "client_id" in request.POST:
        return (request.POST.get("client_id", ""), request.POST.get("client_secret", ""))
    return None


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """``POST /ims/oneroster/token``: the OAuth 2 client-credentials grant (RFC 6749 §4.4)."""
    if request.method != "POST":
        response: HttpResponse = _oauth_error(405, "invalid_request", "Use POST.")
        response["Allow"] = "POST"
        return response
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error(
            400, "invalid_request", "The body must be application/x-www-form-urlencoded."
        )
    credentials = _client_credentials(request)
    if credentials is None:
        return _oauth_error(401, "invalid_client", "Client authentication is required.")
    result = authenticate_client(*credentials, ip=client_ip(request))
    if result.retry_after:
        response = _oauth_error(429, "invalid_client", "Too many failed attempts; retry later.")
        response["Retry-After"] = str(result.retry_after)
        return response
    if result.client is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    grant_type = request.POST.get("grant_type", "")
    if not grant_type:
        return _oauth_error(400, "invalid_request", "grant_type is required.")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type")
    try:
        scopes = grant_scopes(result.client, request.POST.get("scope", ""))
    except ScopeError:
        return _oauth_error(400, "invalid_scope", "A requested scope is unknown or not allowed.")
    access_token, _row = issue_token(result.client, scopes)
    response = HttpResponse(
        json.dumps(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "scope": " ".join(scopes),
            }
        ),
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
