"""Sign-in: identifiers, inactive accounts, lockout with back-off, per-IP throttling, audit."""

from __future__ import annotations

import datetime as dt
import importlib
import threading

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.models import AuditEvent
from shuyuan.core.synthetic import make_id_number
from shuyuan.identity.actions import auth
from shuyuan.identity.backends import IdentifierBackend
from shuyuan.identity.models import User, UserSession

PASSWORD = "Correct-Horse-9"
MOBILE = "13812345678"
ID_NUMBER = make_id_number("410102", dt.date(1990, 3, 7), 123, "M")


def _id_number_ending_in_x() -> str:
    for serial in range(1, 1000):
        number = make_id_number("410102", dt.date(1985, 6, 1), serial, "F")
        if number.endswith("X"):
            return number
    raise AssertionError("no X check character in range")


def _full_width(text: str) -> str:
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})


class Clock:
    """A frozen ``timezone.now`` that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock()
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


@pytest.fixture
def lockout(settings):
    settings.SHUYUAN_LOCKOUT_THRESHOLD = 3
    settings.SHUYUAN_LOCKOUT_BASE_SECONDS = 60
    settings.SHUYUAN_LOCKOUT_MAX_SECONDS = 300
    return settings


@pytest.fixture
def person(make_user, tree):
    return make_user(
        "teacher", tree.school_a, username="wang.fang", mobile=MOBILE, id_number=ID_NUMBER
    )


def _login(identifier, password=PASSWORD, ip="10.0.0.1"):
    return auth.attempt_login(identifier=identifier, password=password, ip=ip, user_agent="pytest")


def _fail(user, times, ip="10.0.0.1"):
    results = [_login(user.username, "wrong-password", ip) for _i in range(times)]
    return results[-1]


def _codes():
    return list(AuditEvent.objects.order_by("pk").values_list("code", flat=True))


# --- backend ----------------------------------------------------------------------------------


def test_backend_username_authenticates(person):
    assert authenticate(None, username="wang.fang", password=PASSWORD) == person


def test_backend_mobile_with_country_code_and_separators_authenticates(person):
    assert authenticate(None, username="+86 138-1234-5678", password=PASSWORD) == person


def test_backend_id_number_authenticates(person):
    assert authenticate(None, username=ID_NUMBER, password=PASSWORD) == person


def test_backend_full_width_id_number_authenticates(person):
    assert authenticate(None, username=_full_width(ID_NUMBER), password=PASSWORD) == person


def test_backend_lower_case_x_id_number_authenticates(make_user, tree):
    number = _id_number_ending_in_x()
    user = make_user("student", tree.class_a, id_number=number)
    assert authenticate(None, username=number.lower(), password=PASSWORD) == user


def test_backend_wrong_password_returns_none(person):
    assert authenticate(None, username="wang.fang", password="nope") is None


def test_backend_inactive_user_never_authenticates(make_user, tree):
    make_user("teacher", tree.school_a, username="gone", is_active=False)
    assert authenticate(None, username="gone", password=PASSWORD) is None


def test_backend_unknown_identifier_still_runs_hasher(db, monkeypatch):
    from django.contrib.auth.hashers import MD5PasswordHasher

    calls = []
    original = MD5PasswordHasher.encode

    def counting(self, password, salt):
        calls.append(password)
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    assert authenticate(None, username="nobody.here", password="secret-guess") is None
    assert calls == ["secret-guess"]


def test_backend_get_user_inactive_returns_none(make_user, tree):
    user = make_user("teacher", tree.school_a, is_active=False)
    assert IdentifierBackend().get_user(user.pk) is None


def test_backend_get_user_active_returns_user(person):
    assert IdentifierBackend().get_user(person.pk) == person


# --- attempt_login ----------------------------------------------------------------------------


def test_attempt_login_correct_password_ok(person):
    result = _login("wang.fang")
    assert result.outcome == "ok"
    assert result.user == person


def test_attempt_login_success_writes_audit_with_ip(person):
    _login(MOBILE)
    event = AuditEvent.objects.get(code="identity.login.succeeded")
    assert event.subject_id == str(person.pk)
    assert event.ip == "10.0.0.1"
    assert event.user_agent == "pytest"


def test_attempt_login_wrong_password_counts_failure(person, lockout):
    result = _login("wang.fang", "wrong-password")
    person.refresh_from_db()
    assert result.outcome == "bad_credentials"
    assert result.user is None
    assert person.failed_login_count == 1


def test_attempt_login_wrong_password_writes_failed_audit(person, lockout):
    _login("wang.fang", "wrong-password")
    event = AuditEvent.objects.get(code="identity.login.failed")
    assert event.subject_id == str(person.pk)
    assert event.extra["reason"] == "wrong_password"


def test_attempt_login_threshold_failures_lock_account(person, lockout, clock):
    result = _fail(person, 3)
    person.refresh_from_db()
    assert result.outcome == "locked"
    assert result.retry_after == 60
    assert person.locked_until == clock.now + dt.timedelta(seconds=60)
    assert "identity.login.locked" in _codes()


def test_attempt_login_locked_account_refuses_correct_password(person, lockout, clock):
    _fail(person, 3)
    clock.advance(30)
    result = _login("wang.fang")
    assert result.outcome == "locked"
    assert result.user is None
    assert result.retry_after == 30


def test_attempt_login_lock_expires_after_base_seconds(person, lockout, clock):
    _fail(person, 3)
    clock.advance(61)
    assert _login("wang.fang").outcome == "ok"


def test_attempt_login_second_lockout_doubles(person, lockout, clock):
    _fail(person, 3)
    clock.advance(61)
    result = _fail(person, 3)
    assert result.outcome == "locked"
    assert result.retry_after == 120


def test_attempt_login_backoff_capped_at_max(person, lockout, clock):
    for _round in range(5):
        result = _fail(person, 3)
        clock.advance(result.retry_after + 1)
    assert result.retry_after == 300


def test_attempt_login_success_resets_counters(person, lockout, clock):
    _fail(person, 3)
    clock.advance(61)
    _fail(person, 2)
    _login("wang.fang")
    person.refresh_from_db()
    assert (person.failed_login_count, person.lockout_count, person.locked_until) == (0, 0, None)


def test_attempt_login_failures_on_stale_instances_all_counted(person, lockout):
    """Two requests that loaded the account before either wrote must not lose a count."""
    stale_a = User.objects.get(pk=person.pk)
    stale_b = User.objects.get(pk=person.pk)
    _login(stale_a.username, "wrong-1")
    _login(stale_b.username, "wrong-2")
    person.refresh_from_db()
    assert person.failed_login_count == 2


def test_attempt_login_unknown_identifier_counts_per_ip_only(person, lockout, settings):
    settings.SHUYUAN_LOGIN_IP_LIMIT = 2
    assert _login("no.such.user", "x").outcome == "bad_credentials"
    assert _login("no.such.user", "x").outcome == "bad_credentials"
    person.refresh_from_db()
    assert person.failed_login_count == 0
    assert _login("wang.fang").outcome == "locked"


def test_attempt_login_unknown_identifier_audit_masks_identifier(db):
    _login(ID_NUMBER, "x")
    event = AuditEvent.objects.get(code="identity.login.failed")
    assert event.extra["reason"] == "unknown_account"
    assert ID_NUMBER not in str(event.extra)
    assert event.extra["identifier"] == ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]


def test_attempt_login_inactive_account_bad_credentials(make_user, tree):
    make_user("teacher", tree.school_a, username="gone", is_active=False)
    result = _login("gone")
    assert result.outcome == "bad_credentials"
    assert AuditEvent.objects.get(code="identity.login.failed").extra["reason"] == "inactive"


def test_attempt_login_ip_throttle_refuses_after_limit(person, settings):
    settings.SHUYUAN_LOGIN_IP_LIMIT = 3
    for name in ("a.one", "b.two", "c.three"):
        _login(name, "spray-password")
    result = _login("wang.fang")
    assert result.outcome == "locked"
    assert result.retry_after > 0
    assert AuditEvent.objects.filter(
        code="identity.login.locked", extra__reason="ip_throttled"
    ).exists()


def test_attempt_login_ip_throttle_other_ip_unaffected(person, settings):
    settings.SHUYUAN_LOGIN_IP_LIMIT = 3
    for name in ("a.one", "b.two", "c.three"):
        _login(name, "spray-password", ip="10.0.0.9")
    assert _login("wang.fang", ip="10.0.0.2").outcome == "ok"


def test_attempt_login_ip_throttle_window_expires(person, settings, clock):
    settings.SHUYUAN_LOGIN_IP_LIMIT = 3
    settings.SHUYUAN_LOGIN_IP_WINDOW_SECONDS = 900
    for name in ("a.one", "b.two", "c.three"):
        _login(name, "spray-password")
    clock.advance(901)
    assert _login("wang.fang").outcome == "ok"


def test_attempt_login_mfa_user_requires_second_factor(person):
    with change_context(actor=system_actor(), source="system"):
        person.totp_confirmed_at = timezone.now()
        person.save(update_fields=["totp_confirmed_at"])
    result = _login("wang.fang")
    assert result.outcome == "mfa_required"
    assert not AuditEvent.objects.filter(code="identity.login.succeeded").exists()


def test_attempt_login_mfa_role_without_mfa_requires_enrolment(make_user, tree):
    make_user("region_admin", tree.region, username="boss")
    assert _login("boss").outcome == "mfa_enrolment_required"


# --- password hashing -------------------------------------------------------------------------


def test_production_password_hashers_argon2_first():
    base = importlib.import_module("shuyuan.settings.base")
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_production_argon2_hash_verifies(settings):
    base = importlib.import_module("shuyuan.settings.base")
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    encoded = make_password("Tr0ub4dor&3")
    assert encoded.startswith("argon2$")
    assert check_password("Tr0ub4dor&3", encoded)
    assert not check_password("Tr0ub4dor&4", encoded)


def test_backend_outdated_hash_upgraded_inside_change_context(person, settings):
    base = importlib.import_module("shuyuan.settings.base")
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    with change_context(actor=system_actor(), source="system"):
        person.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
        person.save(update_fields=["password"])
    assert authenticate(None, username="wang.fang", password=PASSWORD) == person
    person.refresh_from_db()
    assert person.password.startswith("argon2$")


# --- login and logout pages -------------------------------------------------------------------


def test_login_view_get_has_labelled_fields_with_autocomplete(client, db):
    response = client.get(reverse("identity:login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_identifier"' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html


def test_login_view_success_redirects_home_and_registers_session(client, person):
    response = client.post(reverse("identity:login"), {"identifier": MOBILE, "password": PASSWORD})
    assert response.status_code == 303
    assert response["Location"] == reverse("identity:home")
    session = UserSession.objects.get(user=person)
    assert session.session_key == client.session.session_key
    assert session.ip == "127.0.0.1"


def test_login_view_bad_credentials_shows_alert(client, person):
    response = client.post(
        reverse("identity:login"), {"identifier": "wang.fang", "password": "wrong"}
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_view_locked_returns_429_with_retry_after(client, person, lockout):
    for _i in range(3):
        response = client.post(
            reverse("identity:login"), {"identifier": "wang.fang", "password": "wrong"}
        )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_login_view_local_next_followed(client, person):
    response = client.post(
        reverse("identity:login"),
        {"identifier": "wang.fang", "password": PASSWORD, "next": "/account/sessions/"},
    )
    assert response["Location"] == "/account/sessions/"


def test_login_view_external_next_ignored(client, person):
    response = client.post(
        reverse("identity:login"),
        {"identifier": "wang.fang", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("identity:home")


def test_login_view_cycles_session_key(client, person):
    client.get(reverse("identity:login"))
    client.session["probe"] = 1
    before = client.cookies.get("sessionid")
    client.post(reverse("identity:login"), {"identifier": "wang.fang", "password": PASSWORD})
    assert before is None or client.cookies["sessionid"].value != before.value


def test_login_view_must_change_password_goes_to_password_page(client, make_user, tree):
    make_user("teacher", tree.school_a, username="fresh", must_change_password=True)
    response = client.post(reverse("identity:login"), {"identifier": "fresh", "password": PASSWORD})
    assert response["Location"] == reverse("identity:password_change")


def test_logout_get_not_allowed(client_for, person):
    assert client_for(person).get(reverse("identity:logout")).status_code == 405


def test_logout_post_signs_out_and_ends_session(client_for, person):
    client = client_for(person)
    response = client.post(reverse("identity:logout"))
    assert response.status_code == 303
    assert "_auth_user_id" not in client.session
    assert UserSession.objects.get(user=person).revoked_at is not None


# --- concurrency (PostgreSQL only: SQLite serialises writers anyway) ---------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_attempt_login_concurrent_failures_all_counted(make_user, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    settings.SHUYUAN_LOCKOUT_THRESHOLD = 100
    user = make_user(None, None, username="target")
    barrier = threading.Barrier(8)

    def guess(n):
        from django.db import connections

        try:
            barrier.wait()
            _login("target", f"wrong-{n}", ip=f"10.1.0.{n}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    user.refresh_from_db()
    assert user.failed_login_count == 8
