"""Sessions: listed, revoked (own only), revocation and password resets take effect at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.errors import NotFound
from shuyuan.core.models import AuditEvent
from shuyuan.identity import actions, queries
from shuyuan.identity.actions import auth
from shuyuan.identity.models import ApiToken, UserSession

PASSWORD = "Correct-Horse-9"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def teacher(make_user, tree):
    return make_user("teacher", tree.school_a, username="li.na")


def _signed_in(user, agent="Browser"):
    client = Client(HTTP_USER_AGENT=agent)
    response = client.post(
        reverse("identity:login"), {"identifier": user.username, "password": PASSWORD}
    )
    assert response.status_code == 303
    return client


def _row(client):
    return UserSession.objects.get(session_key=client.session.session_key)


def _signed_out(response):
    return response.status_code == 302 and response["Location"].startswith(
        reverse("identity:login")
    )


# --- queries ----------------------------------------------------------------------------------


def test_list_sessions_only_own_live_sessions(teacher, make_user, tree):
    other = make_user("teacher", tree.school_a)
    mine = _signed_in(teacher)
    _signed_in(other)
    revoked = _signed_in(teacher)
    auth.revoke_session(actor=teacher, session=_row(revoked))
    assert [s.session_key for s in queries.list_sessions(teacher)] == [mine.session.session_key]


def test_access_session_of_someone_else_not_found(teacher, make_user, tree):
    other = make_user("teacher", tree.school_a)
    theirs = _row(_signed_in(other))
    with pytest.raises(NotFound):
        queries.access_session(teacher, theirs.pk)


def test_revoke_session_of_someone_else_not_found(teacher, make_user, tree):
    other = make_user("teacher", tree.school_a)
    theirs = _row(_signed_in(other))
    with pytest.raises(NotFound):
        auth.revoke_session(actor=teacher, session=theirs)


# --- pages ------------------------------------------------------------------------------------


def test_sessions_view_marks_current_session(teacher):
    client = _signed_in(teacher, agent="Laptop")
    _signed_in(teacher, agent="Phone")
    html = client.get(reverse("identity:sessions")).content.decode()
    assert html.count("This device") == 1
    assert "Laptop" in html
    assert "Phone" in html


def test_sessions_view_htmx_returns_only_the_list(teacher):
    client = _signed_in(teacher)
    response = client.get(
        reverse("identity:sessions"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="session-list"
    )
    html = response.content.decode()
    assert "<table>" in html
    assert "<html" not in html


def test_sessions_view_query_budget(teacher, assert_max_queries):
    client = _signed_in(teacher)
    for _i in range(5):
        _signed_in(teacher)
    with assert_max_queries(8):
        client.get(reverse("identity:sessions"))


def test_session_revoke_signs_other_device_out(teacher):
    laptop = _signed_in(teacher, agent="Laptop")
    phone = _signed_in(teacher, agent="Phone")
    response = laptop.post(reverse("identity:session_revoke", args=[_row(phone).pk]))
    assert response.status_code == 303
    assert _signed_out(phone.get(reverse("identity:sessions")))
    assert laptop.get(reverse("identity:sessions")).status_code == 200


def test_session_revoke_writes_audit(teacher):
    laptop = _signed_in(teacher)
    phone = _signed_in(teacher)
    laptop.post(reverse("identity:session_revoke", args=[_row(phone).pk]))
    assert AuditEvent.objects.filter(code="identity.session.revoked").count() == 1


def test_session_revoke_htmx_returns_updated_list(teacher):
    laptop = _signed_in(teacher)
    phone = _signed_in(teacher)
    response = laptop.post(
        reverse("identity:session_revoke", args=[_row(phone).pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") == 2  # header + the one left


def test_session_revoke_someone_elses_is_404(teacher, make_user, tree):
    other = make_user("teacher", tree.school_a)
    theirs = _row(_signed_in(other))
    response = _signed_in(teacher).post(reverse("identity:session_revoke", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_session_revoke_current_signs_out(teacher):
    client = _signed_in(teacher)
    response = client.post(reverse("identity:session_revoke", args=[_row(client).pk]))
    assert response["Location"] == reverse("identity:login")
    assert "_auth_user_id" not in client.session


def test_session_revoke_get_not_allowed(teacher):
    client = _signed_in(teacher)
    assert client.get(reverse("identity:session_revoke", args=[_row(client).pk])).status_code == 405


# --- the guard --------------------------------------------------------------------------------


def test_revoked_row_logs_out_on_next_request(teacher):
    """Even if the session store kept the session, a revoked row ends it."""
    client = _signed_in(teacher)
    UserSession.objects.filter(session_key=client.session.session_key).update(
        revoked_at=timezone.now()
    )
    assert _signed_out(client.get(reverse("identity:sessions")))
    assert "_auth_user_id" not in client.session


def test_missing_row_logs_out_on_next_request(teacher):
    client = _signed_in(teacher)
    UserSession.objects.filter(user=teacher).delete()
    assert _signed_out(client.get(reverse("identity:sessions")))


def test_revoked_session_api_path_gets_json_401(teacher):
    client = _signed_in(teacher)
    UserSession.objects.filter(user=teacher).update(revoked_at=timezone.now())
    response = client.get("/api/v1/identity/users")
    assert response.status_code == 401
    assert response.json()["code"] == "SESSION_REVOKED"


def test_touch_session_writes_last_seen_at_most_once_a_minute(teacher, monkeypatch):
    client = _signed_in(teacher)
    key = client.session.session_key
    start = _row(client).last_seen_at
    monkeypatch.setattr(timezone, "now", lambda: start + dt.timedelta(seconds=30))
    auth.touch_session(user=teacher, session_key=key)
    assert _row(client).last_seen_at == start
    monkeypatch.setattr(timezone, "now", lambda: start + dt.timedelta(seconds=61))
    auth.touch_session(user=teacher, session_key=key)
    assert _row(client).last_seen_at == start + dt.timedelta(seconds=61)


def test_password_reset_by_admin_signs_user_out(teacher, make_user, tree):
    client = _signed_in(teacher)
    admin = make_user("school_admin", tree.school_a)
    actions.reset_password(actor=admin, user=teacher)
    assert _signed_out(client.get(reverse("identity:sessions")))


def test_deactivated_user_signed_out(teacher, make_user, tree):
    client = _signed_in(teacher)
    admin = make_user("school_admin", tree.school_a)
    actions.update_user(actor=admin, user=teacher, is_active=False)
    assert _signed_out(client.get(reverse("identity:sessions")))


# --- password change --------------------------------------------------------------------------


def _change_password(client, new="N3w-Passphrase!"):
    return client.post(
        reverse("identity:password_change"),
        {"current_password": PASSWORD, "new_password": new, "new_password_confirm": new},
    )


def test_password_change_keeps_current_session(teacher):
    client = _signed_in(teacher)
    response = _change_password(client)
    assert response.status_code == 303
    assert client.get(reverse("identity:sessions")).status_code == 200
    assert _row(client).revoked_at is None


def test_password_change_signs_other_sessions_out(teacher):
    client = _signed_in(teacher)
    other = _signed_in(teacher)
    _change_password(client)
    assert _signed_out(other.get(reverse("identity:sessions")))


def test_password_change_mismatch_422(teacher):
    client = _signed_in(teacher)
    response = client.post(
        reverse("identity:password_change"),
        {
            "current_password": PASSWORD,
            "new_password": "N3w-Passphrase!",
            "new_password_confirm": "Other-Passphrase1",
        },
    )
    assert response.status_code == 422
    teacher.refresh_from_db()
    assert teacher.check_password(PASSWORD)


def test_password_change_wrong_current_password_422(teacher):
    client = _signed_in(teacher)
    response = client.post(
        reverse("identity:password_change"),
        {
            "current_password": "wrong",
            "new_password": "N3w-Passphrase!",
            "new_password_confirm": "N3w-Passphrase!",
        },
    )
    assert response.status_code == 422
    assert "The current password is not correct." in response.content.decode()


def test_password_change_clears_forced_change(make_user, tree):
    user = make_user("teacher", tree.school_a, must_change_password=True)
    client = _signed_in(user)
    _change_password(client)
    assert client.get(reverse("identity:sessions")).status_code == 200


# --- personal API tokens ----------------------------------------------------------------------


def test_tokens_view_create_shows_raw_token_once(teacher):
    client = _signed_in(teacher)
    response = client.post(reverse("identity:tokens"), {"name": "sync", "expires_in_days": "30"})
    token = ApiToken.objects.get(user=teacher)
    assert response.status_code == 201
    assert f'value="{token.prefix}' in response.content.decode()
    assert 'value="sy_' not in client.get(reverse("identity:tokens")).content.decode()


def test_token_revoke_own_token(teacher):
    client = _signed_in(teacher)
    token, _raw = actions.create_api_token(actor=teacher, name="ci")
    response = client.post(reverse("identity:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert response.status_code == 303
    assert token.revoked_at is not None


def test_token_revoke_someone_elses_is_404(teacher, make_user, tree):
    other = make_user("teacher", tree.school_a)
    token, _raw = actions.create_api_token(actor=other, name="theirs")
    response = _signed_in(teacher).post(reverse("identity:token_revoke", args=[token.pk]))
    assert response.status_code == 404
