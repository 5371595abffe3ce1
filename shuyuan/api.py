"""The REST API root (``/api/v1/``): authentication, error handling, and each app's router.

Authentication (deny by default; every operation needs one of them):

* ``Authorization: Bearer sy_…``: a personal API token (created at ``/account/tokens/``). A
  token that is unknown, expired or revoked is a 401 ``INVALID_TOKEN`` even if a session cookie
  is present too. Token requests are not subject to the session gates (forced password change,
  MFA enrolment): a token can only be created by a signed-in user who has passed them.
  Deactivating an account stops its tokens at once; a password reset does not revoke them.
* The Django session of the portal, with CSRF checked on unsafe methods (``X-CSRFToken``
  header); a missing or wrong token is a 403 ``CSRF_FAILED``. ``SessionGuardMiddleware`` answers
  ``PASSWORD_CHANGE_REQUIRED`` / ``MFA_ENROLMENT_REQUIRED`` before the API is reached.

Errors all have one shape, ``{"code", "message", "errors": [{"field", "code", "message"}]}``
(``core.schemas.ErrorOut``): domain errors (``core.errors.ShuyuanError``) keep their code and
status; invalid parameters are 422 ``INVALID_INPUT`` naming each field; a body that is not
UTF-8 or not JSON is 400 ``INVALID_ENCODING`` / ``MALFORMED_JSON``; a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is 413 ``PAYLOAD_TOO_LARGE``.

The interactive documentation (``/api/v1/docs``) is Swagger UI served from django-ninja's own
static files with no inline script, so it needs no CDN and passes the site's CSP.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import APIKeyCookie, HttpBearer

from shuyuan.core.api import router as core_router
from shuyuan.core.errors import ShuyuanError
from shuyuan.core.schemas import ErrorOut, FieldErrorOut
from shuyuan.identity.actions import authenticate_token
from shuyuan.identity.api import router as identity_router
from shuyuan.registry.api import router as registry_router
from shuyuan.resources.api import router as resources_router

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


# --- authentication ----------------------------------------------------------------------------


class InvalidToken(AuthenticationError):
    """A bearer token was sent but is unknown, expired or revoked, or its account is inactive."""


class CsrfFailed(HttpError):
    """A session-authenticated unsafe request without a valid CSRF token."""

    def __init__(self) -> None:
        super().__init__(403, "CSRF check failed")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer sy_…`` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate_token(token)
        if user is None:
            raise InvalidToken()
        return user


class SessionAuth(APIKeyCookie):
    """The portal's Django session; CSRF is checked on unsafe methods once a user is signed in
    (an anonymous request is a 401, not a CSRF 403)."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and _csrf_rejected(request):
            raise CsrfFailed()
        return user


def _csrf_rejected(request: HttpRequest) -> bool:
    """Run Django's CSRF check (token in ``X-CSRFToken``, plus the origin and referer checks)."""
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    request.csrf_processing_done = False  # type: ignore[attr-defined]  # the middleware's flag
    middleware.process_request(request)
    return middleware.process_view(request, _csrf_view, (), {}) is not None


def _csrf_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover  # never called
    return HttpResponse()


# --- request bodies ----------------------------------------------------------------------------


class BodyEncodingError(ValueError):
    """The request body is not UTF-8."""


class MalformedJSON(ValueError):
    """The request body is not one JSON document."""


def _reject_constant(name: str) -> Any:
    raise MalformedJSON(name)


class StrictJSONParser(Parser):
    """Bodies are UTF-8 JSON (RFC 8259); ``NaN`` and ``Infinity`` are refused.

    ninja wraps any parser error in a 400 ``HttpError``; the error handler tells the two kinds
    apart by the wrapped cause.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyEncodingError(str(exc)) from exc
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise MalformedJSON(str(exc)) from exc


class UnicodeJSONRenderer(JSONRenderer):
    """JSON responses in readable UTF-8 (Chinese names are not ``\\u`` escaped)."""

    json_dumps_params = {"ensure_ascii": False}


# --- the documentation page --------------------------------------------------------------------


class LocalSwagger(Swagger):
    """Swagger UI from django-ninja's static files, with our template: no CDN, no inline script
    (the settings travel as a JSON data block read by ninja's ``swagger-ui-init.js``), no
    external validator badge."""

    template = "api/docs.html"

    def __init__(self) -> None:
        super().__init__(settings={"validatorUrl": None})

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        swagger_settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"swagger_settings": swagger_settings, "api": api, "add_csrf": True}
        return render(request, self.template, context)


# --- the API -----------------------------------------------------------------------------------


api = NinjaAPI(
    title="Shuyuan API",
    version="1",
    description=(
        "REST API of Shuyuan, the regional education platform. Authenticate with a personal "
        "token (`Authorization: Bearer sy_…`) or the portal session (send `X-CSRFToken` on "
        "unsafe methods). Errors are `{code, message, errors: [{field, code, message}]}`."
    ),
    urls_namespace="api",
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[TokenAuth(), SessionAuth()],
    parser=StrictJSONParser(),
    renderer=UnicodeJSONRenderer(),
)
api.add_router("/core/", core_router)
api.add_router("/identity/", identity_router)
api.add_router("/registry/", registry_router)
api.add_router("/resources/", resources_router)


# --- errors ------------------------------------------------------------------------------------


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    errors: list[FieldErrorOut] | None = None,
) -> HttpResponse:
    """An ``ErrorOut`` JSON response."""
    body = ErrorOut(code=code, message=message, errors=errors or [])
    return api.create_response(request, body.model_dump(), status=status)


@api.exception_handler(ShuyuanError)
def _domain_error(request: HttpRequest, exc: ShuyuanError) -> HttpResponse:
    errors = [FieldErrorOut(field=e.field, code=e.code, message=e.message) for e in exc.errors]
    return error_response(request, exc.status, exc.code, exc.message, errors)


#: pydantic error types → (our code, message). Messages use the error's ``ctx`` placeholders.
_VALIDATION_CODES: dict[str, tuple[str, str]] = {
    "missing": ("REQUIRED", gettext_noop("This field is required.")),
    "string_too_long": (
        "TOO_LONG",
        gettext_noop("Ensure this value has at most %(max_length)s characters."),
    ),
    "string_too_short": (
        "TOO_SHORT",
        gettext_noop("Ensure this value has at least %(min_length)s characters."),
    ),
    "greater_than_equal": ("OUT_OF_RANGE", gettext_noop("Ensure this value is at least %(ge)s.")),
    "less_than_equal": ("OUT_OF_RANGE", gettext_noop("Ensure this value is at most %(le)s.")),
    "greater_than": ("OUT_OF_RANGE", gettext_noop("Ensure this value is greater than %(gt)s.")),
    "less_than": ("OUT_OF_RANGE", gettext_noop("Ensure this value is less than %(lt)s.")),
    "int_parsing": ("INVALID_INTEGER", gettext_noop("Enter a whole number.")),
    "int_type": ("INVALID_INTEGER", gettext_noop("Enter a whole number.")),
    "int_from_float": ("INVALID_INTEGER", gettext_noop("Enter a whole number.")),
    "bool_parsing": ("INVALID_BOOLEAN", gettext_noop("Enter true or false.")),
    "bool_type": ("INVALID_BOOLEAN", gettext_noop("Enter true or false.")),
    "string_type": ("INVALID_TYPE", gettext_noop("Enter a text value.")),
    "enum": ("INVALID_CHOICE", gettext_noop("Choose one of: %(expected)s.")),
    "literal_error": ("INVALID_CHOICE", gettext_noop("Choose one of: %(expected)s.")),
    "extra_forbidden": ("UNKNOWN_FIELD", gettext_noop("This field is not allowed.")),
    "model_type": ("INVALID_TYPE", gettext_noop("Send a JSON object.")),
    "model_attributes_type": ("INVALID_TYPE", gettext_noop("Send a JSON object.")),
    "dict_type": ("INVALID_TYPE", gettext_noop("Send a JSON object.")),
}


def _field_path(loc: tuple[Any, ...]) -> str:
    """``("body", "payload", "rows", 12, "id_number")`` → ``rows[12].id_number``.

    The first element is the parameter source; a body's second is the handler's body argument.
    """
    parts = list(loc[1:])
    if loc and loc[0] == "body" and parts:
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or str(loc[0] if loc else "")


def _validation_field_error(error: dict[str, Any]) -> FieldErrorOut:
    code, msgid = _VALIDATION_CODES.get(error.get("type", ""), ("INVALID", ""))
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        message = _(msgid) % context if msgid else _("This value is not valid.")
    except (KeyError, ValueError, TypeError):
        message = _("This value is not valid.")
    return FieldErrorOut(field=_field_path(tuple(error.get("loc", ()))), code=code, message=message)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [_validation_field_error(error) for error in exc.errors]
    return error_response(
        request, 422, "INVALID_INPUT", _("Some of the input is not valid."), errors
    )


@api.exception_handler(AuthenticationError)
def _not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if isinstance(exc, InvalidToken):
        response = error_response(
            request,
            401,
            "INVALID_TOKEN",
            _("The API token is not valid: it is unknown, expired or revoked."),
        )
    else:
        response = error_response(
            request,
            401,
            "NOT_AUTHENTICATED",
            _("Sign in, or send a personal API token as 'Authorization: Bearer <token>'."),
        )
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(exc, CsrfFailed):
        return error_response(
            request,
            403,
            "CSRF_FAILED",
            _("The CSRF token is missing or wrong; send it in the X-CSRFToken header."),
        )
    if isinstance(cause, BodyEncodingError):
        return error_response(
            request, 400, "INVALID_ENCODING", _("The request body must be encoded in UTF-8.")
        )
    if exc.status_code == 400:
        return error_response(
            request, 400, "MALFORMED_JSON", _("The request body is not valid JSON.")
        )
    if exc.status_code == 429:
        return error_response(request, 429, "THROTTLED", _("Too many requests; try again later."))
    return error_response(request, exc.status_code, "HTTP_ERROR", _("The request failed."))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(
        request,
        413,
        "PAYLOAD_TOO_LARGE",
        _("The request body is larger than %(limit)s bytes.")
        % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
    )


@api.exception_handler(SuspiciousOperation)
def _bad_request(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return error_response(request, 400, "BAD_REQUEST", _("The request could not be processed."))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "NOT_FOUND", _("Not found."))


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return error_response(
        request, 403, "PERMISSION_DENIED", _("You do not have permission to do this.")
    )


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Log the failure, let the test client and error reporters see it, and answer in JSON."""
    logger.exception("Unhandled error in %s %s", request.method, request.path)
    got_request_exception.send(sender=None, request=request)
    return error_response(
        request, 500, "SERVER_ERROR", _("Something went wrong on our side; it has been logged.")
    )


# Unknown paths under /api/v1/ answer in JSON too (registered last, so it matches only what no
# operation does; left out of the schema).
_fallback = Router()


@_fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False
)
def _unknown_path(request: HttpRequest, rest: str) -> HttpResponse:
    raise Http404()


api.add_router("/", _fallback)


def openapi_snapshot() -> str:
    """The OpenAPI document as committed in ``docs/api/openapi.json`` (sorted keys, indent 2,
    UTF-8), written by ``scripts/export_openapi`` and compared by ``tests/test_openapi.py``."""
    with translation.override("en"):
        schema = api.get_openapi_schema()
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
