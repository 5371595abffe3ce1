"""LRS credentials: issuing, authenticating (Basic, OAuth 2), org limits, the admin pages."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from shuyuan.core.audit import AuditEvent
from shuyuan.core.context import system_actor
from shuyuan.core.errors import InvalidInput, PermissionDenied
from shuyuan.identity.models import Role
from shuyuan.learning.actions.clients import (
    create_lrs_client,
    rotate_lrs_client_secret,
    set_lrs_client_active,
)
from shuyuan.learning.models import LrsClient, LrsToken
from shuyuan.learning.testing import LrsCredential, XapiClient, make_credential

pytestmark = pytest.mark.django_db


def _token(client, credential: LrsCredential, **data):
    return client.post(
        "/xapi/oauth/token",
        data=urlencode({"grant_type": "client_credentials", **data}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=credential.authorization,
    )


def test_create_lrs_client_stores_only_a_hash_and_audits(tree):
    client, secret = create_lrs_client(actor=system_actor(), name="Tool", org=tree.school_a)
    assert secret not in client.secret_hash
    assert client.scopes == ["all"]
    assert AuditEvent.objects.filter(code="learning.lrs_client.created").exists()


def test_create_lrs_client_unknown_scope_is_refused(tree):
    with pytest.raises(InvalidInput):
        create_lrs_client(actor=system_actor(), name="Tool", org=tree.region, scopes=["root"])


def test_create_lrs_client_outside_own_subtree_is_refused(tree, make_user):
    admin_a = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    with pytest.raises(PermissionDenied):
        create_lrs_client(actor=admin_a, name="Tool", org=tree.school_b)
    client, _secret = create_lrs_client(actor=admin_a, name="Tool", org=tree.school_a)
    assert client.org == tree.school_a


def test_basic_auth_with_wrong_secret_is_401(lrs):
    wrong = LrsCredential(client=lrs.client, key=lrs.key, secret="nope")
    response = XapiClient(wrong).get("/xapi/statements")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_malformed_basic_header_is_401(lrs):
    response = XapiClient(lrs).get(
        "/xapi/statements", headers={"Authorization": "Basic %%%"}, auth=False
    )
    assert response.status_code == 401


def test_deactivated_client_is_401(lrs):
    set_lrs_client_active(actor=system_actor(), client=lrs.client, active=False)
    assert XapiClient(lrs).get("/xapi/statements").status_code == 401


def test_rotated_secret_replaces_the_old_one(lrs):
    new = rotate_lrs_client_secret(actor=system_actor(), client=lrs.client)
    assert XapiClient(lrs).get("/xapi/statements").status_code == 401
    fresh = LrsCredential(client=lrs.client, key=lrs.key, secret=new)
    assert XapiClient(fresh).get("/xapi/statements").status_code == 200


def test_repeated_failures_throttle_even_the_right_secret(lrs):
    wrong = LrsCredential(client=lrs.client, key=lrs.key, secret="nope")
    for _ in range(20):
        XapiClient(wrong).get("/xapi/statements")
    assert XapiClient(lrs).get("/xapi/statements").status_code == 401


def test_oauth_token_grants_bearer_access(lrs, client):
    response = _token(client, lrs)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "all"
    xapi = XapiClient(lrs)
    got = xapi.get(
        "/xapi/statements", headers={"Authorization": "Bearer " + body["access_token"]}, auth=False
    )
    assert got.status_code == 200
    assert LrsToken.objects.filter(client=lrs.client).count() == 1


def test_oauth_token_with_scope_not_held_is_invalid_scope(tree, client):
    credential = make_credential(tree.region, scopes=["statements/write"])
    response = _token(client, credential, scope="statements/read")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_oauth_token_wrong_grant_type(lrs, client):
    response = _token(client, lrs, grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_oauth_token_without_credentials_is_401(client):
    response = client.post(
        "/xapi/oauth/token",
        data=urlencode({"grant_type": "client_credentials"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 401


def test_bad_bearer_token_is_401(lrs):
    response = XapiClient(lrs).get(
        "/xapi/statements", headers={"Authorization": "Bearer nope"}, auth=False
    )
    assert response.status_code == 401


def test_write_only_client_cannot_read_statements(tree):
    credential = make_credential(tree.region, scopes=["statements/write"])
    assert XapiClient(credential).get("/xapi/statements").status_code == 403


def test_about_needs_no_credentials(client):
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert "2.0.0" in response.json()["version"]
    assert "1.0.3" in response.json()["version"]


def test_missing_version_header_is_400(xapi):
    assert xapi.get("/xapi/statements", version="").status_code == 400


@pytest.mark.parametrize("header", ["0.9", "3.0.0", "1.1.0", "abc"])
def test_unsupported_version_header_is_400(xapi, header):
    assert xapi.get("/xapi/statements", version=header).status_code == 400


def test_response_names_the_version_spoken(xapi):
    assert xapi.get("/xapi/statements", version="1.0.3")["X-Experience-API-Version"] == "1.0.3"
    assert xapi.get("/xapi/statements")["X-Experience-API-Version"] == "2.0.0"


# --- pages ------------------------------------------------------------------------------------


def test_client_pages_issue_show_rotate_and_deactivate(tree, make_user, client_for):
    admin = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    web = client_for(admin)
    assert web.get("/learning/lrs-clients/").status_code == 200
    assert web.get("/learning/lrs-clients/new/").status_code == 200
    response = web.post(
        "/learning/lrs-clients/new/",
        {"name": "Reader app", "org": tree.school_a.pk, "scopes": ["statements/write"]},
    )
    assert response.status_code == 201
    created = LrsClient.objects.get(name="Reader app")
    assert created.key in response.content.decode()
    assert web.get(f"/learning/lrs-clients/{created.pk}/").status_code == 200
    assert web.post(f"/learning/lrs-clients/{created.pk}/rotate/").status_code == 200
    assert web.post(f"/learning/lrs-clients/{created.pk}/toggle/").status_code == 303
    created.refresh_from_db()
    assert not created.is_active


def test_client_form_invalid_is_422_partial(tree, make_user, client_for):
    admin = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    response = client_for(admin).post(
        "/learning/lrs-clients/new/",
        {"name": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="client-form",
    )
    assert response.status_code == 422
    assert b"<html" not in response.content


def test_client_of_another_school_is_404(tree, make_user, client_for):
    admin_a = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    other = make_credential(tree.school_b)
    web = client_for(admin_a)
    assert web.get(f"/learning/lrs-clients/{other.client.pk}/").status_code == 404
    assert web.post(f"/learning/lrs-clients/{other.client.pk}/rotate/").status_code == 404


def test_teacher_cannot_open_client_pages(tree, make_user, client_for):
    teacher = make_user(Role.TEACHER, tree.school_a)
    assert client_for(teacher).get("/learning/lrs-clients/").status_code == 403


def test_create_lrs_client_command(tree, capsys):
    from django.core.management import call_command

    call_command("create_lrs_client", "Suite", "--key", "suite", "--secret", "s3cret-value")
    out = capsys.readouterr().out
    assert "key: suite" in out
    made = LrsClient.objects.get(key="suite")
    xapi = XapiClient(LrsCredential(client=made, key="suite", secret="s3cret-value"))
    assert xapi.get("/xapi/statements").status_code != 401
    call_command("create_lrs_client", "Suite", "--key", "suite")
    assert "exists already" in capsys.readouterr().out
