"""The OAuth 2 token endpoint (client-credentials grant) of the OneRoster API."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from django.test import Client

from shuyuan.registry.models import ClientToken
from shuyuan.registry.oneroster.auth import (
    ALL_SCOPES,
    SCOPE_CORE,
    SCOPE_DEMOGRAPHICS,
    SCOPE_ROSTER,
    authenticate_bearer,
    create_client_secret,
    hash_token,
)
from shuyuan.registry.oneroster.testing import BASE, make_client, make_dataset

pytestmark = pytest.mark.django_db

TOKEN_URL = "/ims/oneroster/token"


def _basic(client_id, secret):
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def _post(data, **headers):
    """A form-urlencoded POST, as OAuth 2 clients send it."""
    return Client().post(
        TOKEN_URL, urlencode(data), content_type="application/x-www-form-urlencoded", **headers
    )


def test_token_with_basic_auth(tree):
    make_client(tree.region, secret="pw-1")
    response = _post(
        {"grant_type": "client_credentials", "scope": SCOPE_CORE}, **_basic("app", "pw-1")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == SCOPE_CORE
    assert response["Cache-Control"] == "no-store"
    row = ClientToken.objects.get()
    assert row.token_hash == hash_token(body["access_token"])
    assert row.token_hash != body["access_token"]
    assert authenticate_bearer(body["access_token"]) == row


def test_token_with_form_credentials_gets_all_allowed_scopes(tree):
    make_client(tree.region, secret="pw-2", scopes=[SCOPE_ROSTER, SCOPE_CORE])
    response = _post(
        {"grant_type": "client_credentials", "client_id": "app", "client_secret": "pw-2"}
    )
    assert response.status_code == 200
    assert response.json()["scope"] == f"{SCOPE_CORE} {SCOPE_ROSTER}"


def test_token_drops_scopes_the_client_is_not_allowed(tree):
    make_client(tree.region, secret="pw", scopes=[SCOPE_CORE])
    response = _post(
        {"grant_type": "client_credentials", "scope": f"{SCOPE_CORE} {SCOPE_DEMOGRAPHICS}"},
        **_basic("app", "pw"),
    )
    assert response.json()["scope"] == SCOPE_CORE


@pytest.mark.parametrize("scope", ["https://example.com/other", SCOPE_DEMOGRAPHICS])
def test_unknown_or_only_disallowed_scope_is_invalid_scope(tree, scope):
    make_client(tree.region, secret="pw", scopes=[SCOPE_CORE])
    response = _post({"grant_type": "client_credentials", "scope": scope}, **_basic("app", "pw"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_bad_secret_is_invalid_client_401(tree):
    make_client(tree.region, secret="pw")
    response = _post({"grant_type": "client_credentials"}, **_basic("app", "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not ClientToken.objects.exists()


def test_inactive_client_is_refused(tree):
    client = make_client(tree.region, secret="pw")
    from shuyuan.core.context import change_context, system_actor

    with change_context(actor=system_actor(), source="system"):
        client.is_active = False
        client.save(update_fields=["is_active"])
    assert _post({"grant_type": "client_credentials"}, **_basic("app", "pw")).status_code == 401


def test_unknown_client_and_missing_credentials(tree):
    assert _post({"grant_type": "client_credentials"}, **_basic("nobody", "x")).status_code == 401
    assert _post({"grant_type": "client_credentials"}).status_code == 401


def test_grant_type_errors(tree):
    make_client(tree.region, secret="pw")
    wrong = _post({"grant_type": "password"}, **_basic("app", "pw"))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "unsupported_grant_type"
    missing = _post({}, **_basic("app", "pw"))
    assert missing.json()["error"] == "invalid_request"
    json_body = Client().post(
        TOKEN_URL, "{}", content_type="application/json", **_basic("app", "pw")
    )
    assert json_body.json()["error"] == "invalid_request"
    assert Client().get(TOKEN_URL).status_code == 405


def test_failed_attempts_are_throttled_per_client(tree, settings):
    settings.SHUYUAN_ONEROSTER_CLIENT_FAILURE_LIMIT = 3
    make_client(tree.region, secret="pw")
    for _ in range(3):
        assert (
            _post({"grant_type": "client_credentials"}, **_basic("app", "bad")).status_code == 401
        )
    throttled = _post({"grant_type": "client_credentials"}, **_basic("app", "pw"))
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0


def test_failed_attempts_are_throttled_per_ip(tree, settings):
    settings.SHUYUAN_ONEROSTER_IP_FAILURE_LIMIT = 2
    make_client(tree.region, secret="pw")
    for n in range(2):
        _post({"grant_type": "client_credentials"}, **_basic(f"guess{n}", "bad"))
    assert _post({"grant_type": "client_credentials"}, **_basic("app", "pw")).status_code == 429


def test_issued_token_reads_the_api(tree):
    make_dataset(tree.region, "all")
    make_client(tree.region, secret="pw", scopes=ALL_SCOPES)
    token = _post({"grant_type": "client_credentials"}, **_basic("app", "pw")).json()[
        "access_token"
    ]
    response = Client().get(BASE + "/orgs", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_create_client_secret_is_random_and_long():
    a, b = create_client_secret(), create_client_secret()
    assert a != b
    assert len(a) >= 43
