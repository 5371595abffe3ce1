"""``POST /xapi/oauth/token``: OAuth 2 client credentials for LRS clients (RFC 6749 §4.4)."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from shuyuan.core.middleware import client_ip

from .. import conf
from .auth import basic_credentials, check_client, grant_scopes, issue_token


def _oauth_error(status: int, error: str, description: str = "") -> JsonResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="xAPI"'
    return response


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """Issue a bearer token for a client's key and secret (Basic, or form fields)."""
    if request.method != "POST":
        response: HttpResponse = _oauth_error(405, "invalid_request", "Use POST.")
        response["Allow"] = "POST"
        return response
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "Send application/x-www-form-urlencoded.")
    credentials = basic_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
    if credentials is None and "client_id" in request.POST:
        credentials = (request.POST.get("client_id", ""), request.POST.get("client_secret", ""))
    if credentials is None:
        return _oauth_error(401, "invalid_client", "Client authentication is required.")
    client = check_client(*credentials, ip=client_ip(request))
    if client is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    if request.POST.get("grant_type", "") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type")
    scopes = grant_scopes(client, request.POST.get("scope", ""))
    if scopes is None:
        return _oauth_error(400, "invalid_scope")
    raw, _row = issue_token(client, scopes)
    response = HttpResponse(
        json.dumps(
            {
                "access_token": raw,
                "token_type": "Bearer",
                "expires_in": conf.get("LEARNING_XAPI_TOKEN_SECONDS"),
                "scope": " ".join(scopes),
            }
        ),
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    return response
