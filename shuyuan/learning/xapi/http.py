"""The HTTP layer of the LRS: version negotiation, authentication, alternate request syntax,
error responses and HEAD, shared by every xAPI resource.

Resource handlers receive an ``XapiRequest`` (method, params, headers, body, negotiated
version and caller, whatever syntax the client used) and return an ``HttpResponse`` or raise
``XapiError`` / ``XapiValidationError``; ``xapi_endpoint`` turns those into the status codes
the specification requires and adds the ``X-Experience-API-Version`` header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from shuyuan.core.middleware import client_ip

from .. import conf
from .auth import Caller, authenticate_header
from .validation import V1, V2, XapiValidationError

_V1_HEADER = re.compile(r"^1\.0(\.\d+)?$")
_V2_HEADER = re.compile(r"^2\.0(\.\d+)?$")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "HEAD, GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Content-Type, Content-Length, Authorization, If-Match, If-None-Match, "
        "X-Experience-API-Version, Accept-Language"
    ),
    "Access-Control-Expose-Headers": (
        "ETag, Last-Modified, Cache-Control, Content-Type, Content-Length, WWW-Authenticate, "
        "X-Experience-API-Version, X-Experience-API-Consistent-Through"
    ),
}

#: Headers the alternate request syntax (xAPI 1.0.3 §7.8) may carry as form fields.
_FORM_HEADERS = {
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
    "accept-language",
}


class XapiError(Exception):
    """An error answered with ``status`` and a JSON body naming the problem."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class Headers:
    """Case-insensitive request headers."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items = {k.lower(): v for k, v in items}

    def get(self, name: str, default: str = "") -> str:
        return self._items.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items


@dataclass
class XapiRequest:
    """A request to an xAPI resource, normalised from either request syntax."""

    method: str
    params: dict[str, str]
    headers: Headers
    body: bytes
    content_type: str
    content_type_params: dict[str, str]
    version: str
    caller: Caller | None
    django_request: HttpRequest = field(repr=False)

    @property
    def authenticated(self) -> Caller:
        """The caller; the dispatcher guarantees it for resources that need authentication."""
        if self.caller is None:
            raise XapiError(401, "Authentication is required.", headers=_challenge())
        return self.caller

    def check_params(self, allowed: Iterable[str]) -> None:
        """Raise 400 if a query parameter is not one the resource defines for this method."""
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise XapiError(400, "Unknown parameter(s): {}.".format(", ".join(unknown)))

    def require_param(self, name: str) -> str:
        """The value of a required parameter; 400 if missing or empty."""
        value = self.params.get(name)
        if value is None or value == "":
            raise XapiError(400, f"The parameter {name} is required.")
        return value

    def json_body(self) -> Any:
        """The body parsed as JSON; 400 if it is not valid JSON (UTF-8)."""
        try:
            return json.loads(self.body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            raise XapiError(400, f"The body is not valid JSON: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="xAPI"'}


def split_content_type(value: str) -> tuple[str, dict[str, str]]:
    """``("multipart/mixed", {"boundary": ...})`` from a Content-Type header value."""
    main, *rest = value.split(";")
    params: dict[str, str] = {}
    for part in rest:
        name, sep, val = part.strip().partition("=")
        if sep:
            params[name.strip().lower()] = val.strip().strip('"')
    return main.strip().lower(), params


def negotiate_version(value: str) -> str:
    """The protocol version to speak for an ``X-Experience-API-Version`` header value."""
    value = value.strip()
    if not value:
        raise XapiError(400, "The X-Experience-API-Version header is required.")
    if _V2_HEADER.match(value):
        return V2
    if _V1_HEADER.match(value):
        return V1
    raise XapiError(400, f"X-Experience-API-Version {value[:20]} is not supported.")


def json_response(data: Any, *, status: int = 200, version: str = V2) -> HttpResponse:
    """A JSON response (UTF-8, non-ASCII kept as is)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(
        body.encode("utf-8"), status=status, content_type="application/json; charset=utf-8"
    )


def error_response(status: int, message: str, version: str) -> HttpResponse:
    """The JSON body of an error (``{"error": ..., "message": ...}``)."""
    return json_response({"error": status, "message": message}, status=status, version=version)


def _read_body(request: HttpRequest) -> bytes:
    limit = int(conf.get("LEARNING_XAPI_MAX_BODY_BYTES"))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise XapiError(400, "Content-Length is not a number.") from exc
    if length > limit:
        raise XapiError(413, f"The request body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise XapiError(413, f"The request body is larger than {limit} bytes.")
    return body


def _single_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise XapiError(400, f"The parameter {name} is given more than once.")
        params[name] = value
    return params


def build_request(request: HttpRequest, *, auth_required: bool) -> XapiRequest:
    """Normalise a Django request (either syntax) into an ``XapiRequest``; raise ``XapiError``."""
    method = (request.method or "GET").upper()
    query = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    headers = Headers((k, v) for k, v in request.headers.items())
    body = _read_body(request)
    params = _single_params(query)
    content_type, ct_params = split_content_type(headers.get("Content-Type"))
    if "method" in params:
        # The alternate request syntax (1.0.3 §7.8): POST ?method=X with the headers, the
        # parameters and the content as form fields.
        if method != "POST":
            raise XapiError(400, "The method parameter is only allowed on POST.")
        override = params.pop("method").upper()
        if params:
            raise XapiError(400, "With the method parameter, everything else goes in the form.")
        if content_type != "application/x-www-form-urlencoded":
            raise XapiError(
                400, "The alternate request syntax needs application/x-www-form-urlencoded."
            )
        if override not in {"GET", "HEAD", "PUT", "POST", "DELETE"}:
            raise XapiError(400, f"Unknown method {override[:10]}.")
        form = _single_params(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        header_items = dict(request.headers.items())
        for name in list(form):
            if name.lower() in _FORM_HEADERS:
                header_items[name] = form.pop(name)
        content = form.pop("content", "").encode("utf-8")
        headers = Headers(header_items.items())
        # A version given as a form field is the request's version (1.0.3 §7.8: the listed
        # form parameters are treated as headers), even when a header says otherwise.
        version = negotiate_version(headers.get("X-Experience-API-Version"))
        if version == V2:
            raise XapiError(400, "xAPI 2.0.0 has no alternate request syntax.")
        method, params, body = override, form, content
        # The content's own type is the Content-Type form field; without one it is JSON.
        content_type, ct_params = split_content_type(headers.get("Content-Type", ""))
        if content_type == "application/x-www-form-urlencoded":
            content_type, ct_params = ("application/json", {}) if content else ("", {})
    else:
        version = negotiate_version(headers.get("X-Experience-API-Version"))
    caller = None
    authorization = headers.get("Authorization")
    if authorization:
        caller = authenticate_header(authorization, ip=client_ip(request))
        if caller is None:
            raise XapiError(401, "The credentials were not accepted.", headers=_challenge())
    elif auth_required:
        raise XapiError(401, "Authentication is required.", headers=_challenge())
    return XapiRequest(
        method=method,
        params=params,
        headers=headers,
        body=body,
        content_type=content_type,
        content_type_params=ct_params,
        version=version,
        caller=caller,
        django_request=request,
    )


Handler = Callable[[XapiRequest], HttpResponse]


def xapi_endpoint(
    handlers: Mapping[str, Handler], *, auth_required: bool = True, versioned: bool = True
) -> Callable[[HttpRequest], HttpResponse]:
    """A Django view for one xAPI resource, dispatching on the (effective) method.

    ``handlers`` maps methods to handlers; HEAD falls back to GET with the body removed.
    ``versioned=False`` (the About resource) answers requests without a version header.
    """

    allowed = {*handlers, "HEAD"} if "GET" in handlers else set(handlers)

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        version = _declared_version(request)
        if (request.method or "").upper() == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            try:
                method = _effective_method(request)
                if method not in allowed:
                    # Before authentication: an unknown method is 405 for anyone.
                    raise XapiError(
                        405,
                        f"Method {method[:10]} is not allowed here.",
                        headers={"Allow": ", ".join(sorted(allowed))},
                    )
                if versioned:
                    xreq = build_request(request, auth_required=auth_required)
                else:
                    xreq = _unversioned_request(request, auth_required=auth_required)
                version = xreq.version
                response = _dispatch(handlers, xreq)
            except XapiValidationError as exc:
                response = error_response(400, f"{exc.path}: {exc.message}", version)
            except XapiError as exc:
                response = error_response(exc.status, exc.message, version)
                for name, value in exc.headers.items():
                    response[name] = value
        if (request.method or "").upper() == "HEAD" and not response.streaming and response.content:
            # An error answered to HEAD keeps its status and headers but no content (RFC 9110).
            response.content = b""
        response["X-Experience-API-Version"] = version
        for name, value in CORS_HEADERS.items():
            response[name] = value
        return response

    return view


def _declared_version(request: HttpRequest) -> str:
    """The version to name on an error raised before the request was fully read: the
    header's, if it is one we speak, else 2.0.0."""
    try:
        return negotiate_version(request.headers.get("X-Experience-API-Version", ""))
    except XapiError:
        return V2


def _effective_method(request: HttpRequest) -> str:
    """The request's method, or the ``method`` query parameter of the alternate syntax."""
    method = (request.method or "GET").upper()
    if method == "POST":
        query: str = request.META.get("QUERY_STRING", "")
        for name, value in parse_qsl(query):
            wanted = str(value).upper()
            if name == "method" and wanted in {"GET", "HEAD", "PUT", "POST", "DELETE"}:
                return wanted
    return method


def _unversioned_request(request: HttpRequest, *, auth_required: bool) -> XapiRequest:
    header = request.headers.get("X-Experience-API-Version", "")
    version = V2
    if header:
        try:
            version = negotiate_version(header)
        except XapiError:
            version = V2
    query = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return XapiRequest(
        method=(request.method or "GET").upper(),
        params=_single_params(query),
        headers=Headers(request.headers.items()),
        body=b"",
        content_type="",
        content_type_params={},
        version=version,
        caller=None,
        django_request=request,
    )


def _dispatch(handlers: Mapping[str, Handler], xreq: XapiRequest) -> HttpResponse:
    method = xreq.method
    handler = handlers.get(method)
    if handler is None and method == "HEAD" and "GET" in handlers:
        response = handlers["GET"](xreq)
        length = len(response.content) if not response.streaming else None
        response.content = b""
        if length is not None:
            response["Content-Length"] = str(length)
        return response
    if handler is None:
        raise XapiError(
            405,
            f"Method {method} is not allowed here.",
            headers={
                "Allow": ", ".join(sorted({*handlers, "HEAD"} if "GET" in handlers else handlers))
            },
        )
    return handler(xreq)
