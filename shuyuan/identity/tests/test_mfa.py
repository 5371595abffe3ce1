"""Multi-factor sign-in: TOTP at fixed times, replay, recovery codes, enrolment and the forced
enrolment of roles that require MFA."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pyotp
import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.errors import Conflict, InvalidInput, PermissionDenied
from shuyuan.core.models import AuditEvent, ChangeRecord
from shuyuan.identity.actions import auth, set_role_policy
from shuyuan.identity.models import RecoveryCode, UserSession
from shuyuan.identity.pii import pii_cipher
from shuyuan.identity.views.auth import ENROLMENT_SECRET, PENDING_LOGIN

PASSWORD = "Correct-Horse-9"
START = dt.datetime(2025, 3, 1, 8, 0, 10, tzinfo=dt.UTC)


class Clock:
    """A frozen ``timezone.now`` that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = START

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


def _code(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret, digits=6, interval=30, digest=hashlib.sha1).at(at)


def _enrol(user) -> tuple[str, list[str]]:
    secret, _uri = auth.begin_totp_enrolment(actor=user)
    codes = auth.confirm_totp_enrolment(
        actor=user, secret=secret, code=_code(secret, timezone.now() - dt.timedelta(seconds=30))
    )
    return secret, codes


@pytest.fixture
def teacher(make_user, tree):
    return make_user("teacher", tree.school_a, username="zhao.lei")


@pytest.fixture
def enrolled(teacher, clock):
    secret, codes = _enrol(teacher)
    return teacher, secret, codes


# --- TOTP -------------------------------------------------------------------------------------


def test_verify_second_factor_current_code_accepted(enrolled, clock):
    user, secret, _codes = enrolled
    assert auth.verify_second_factor(user=user, code=_code(secret, clock.now))


def test_verify_second_factor_code_one_step_early_accepted(enrolled, clock):
    user, secret, _codes = enrolled
    clock.advance(60)
    assert auth.verify_second_factor(
        user=user, code=_code(secret, clock.now - dt.timedelta(seconds=30))
    )


def test_verify_second_factor_code_two_steps_old_rejected(enrolled, clock):
    user, secret, _codes = enrolled
    clock.advance(120)
    assert not auth.verify_second_factor(
        user=user, code=_code(secret, clock.now - dt.timedelta(seconds=60))
    )


def test_verify_second_factor_replayed_code_rejected(enrolled, clock):
    user, secret, _codes = enrolled
    code = _code(secret, clock.now)
    assert auth.verify_second_factor(user=user, code=code)
    assert not auth.verify_second_factor(user=user, code=code)


def test_verify_second_factor_older_step_after_newer_rejected(enrolled, clock):
    user, secret, _codes = enrolled
    clock.advance(30)
    older = _code(secret, clock.now - dt.timedelta(seconds=30))
    assert auth.verify_second_factor(user=user, code=_code(secret, clock.now))
    assert not auth.verify_second_factor(user=user, code=older)


def test_verify_second_factor_full_width_digits_accepted(enrolled, clock):
    user, secret, _codes = enrolled
    code = _code(secret, clock.now).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert auth.verify_second_factor(user=user, code=code)


def test_verify_second_factor_without_mfa_rejected(teacher, clock):
    assert not auth.verify_second_factor(user=teacher, code="123456")


# --- recovery codes ---------------------------------------------------------------------------


def test_verify_second_factor_recovery_code_usable_once(enrolled):
    user, _secret, codes = enrolled
    assert auth.verify_second_factor(user=user, code=codes[0])
    assert not auth.verify_second_factor(user=user, code=codes[0])


def test_verify_second_factor_recovery_code_without_hyphen_upper_case_accepted(enrolled):
    user, _secret, codes = enrolled
    assert auth.verify_second_factor(user=user, code=codes[1].replace("-", "").upper())


def test_verify_second_factor_recovery_code_writes_audit(enrolled):
    user, _secret, codes = enrolled
    auth.verify_second_factor(user=user, code=codes[2])
    event = AuditEvent.objects.get(code="identity.mfa.recovery_used")
    assert event.extra["remaining"] == 9


def test_recovery_codes_stored_only_as_hashes(enrolled):
    user, _secret, codes = enrolled
    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert len(codes) == 10
    assert len(stored) == 10
    assert not {c.replace("-", "") for c in codes} & stored


def test_regenerate_recovery_codes_invalidates_old(enrolled, clock):
    user, secret, codes = enrolled
    clock.advance(30)
    new = auth.regenerate_recovery_codes(actor=user, code=_code(secret, clock.now))
    assert not auth.verify_second_factor(user=user, code=codes[0])
    assert auth.verify_second_factor(user=user, code=new[0])


def test_regenerate_recovery_codes_wrong_code_counts_failure(enrolled):
    user, _secret, _codes = enrolled
    with pytest.raises(InvalidInput):
        auth.regenerate_recovery_codes(actor=user, code="000000")
    user.refresh_from_db()
    assert user.failed_login_count == 1


# --- enrolment --------------------------------------------------------------------------------


def test_begin_totp_enrolment_uri_names_account_and_issuer(teacher):
    secret, uri = auth.begin_totp_enrolment(actor=teacher)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert uri.startswith("otpauth://totp/Shuyuan:zhao.lei?")
    assert f"secret={secret}" in uri


def test_begin_totp_enrolment_stores_nothing(teacher):
    auth.begin_totp_enrolment(actor=teacher)
    teacher.refresh_from_db()
    assert teacher.totp_secret_cipher is None


def test_confirm_totp_enrolment_stores_secret_encrypted(enrolled):
    user, secret, _codes = enrolled
    user.refresh_from_db()
    assert secret.encode() not in bytes(user.totp_secret_cipher)
    assert pii_cipher().decrypt(bytes(user.totp_secret_cipher)) == secret
    assert user.has_mfa


def test_confirm_totp_enrolment_change_record_redacts_secret(enrolled):
    user, secret, _codes = enrolled
    record = (
        ChangeRecord.objects.filter(target_type="identity.user", target_id=str(user.pk))
        .order_by("seq")
        .last()
    )
    assert record.changes["totp_secret_cipher"] == [None, "[redacted]"]
    assert secret not in str(record.changes)


def test_confirm_totp_enrolment_writes_audit(enrolled):
    user, _secret, _codes = enrolled
    assert AuditEvent.objects.filter(code="identity.mfa.enrolled", subject_id=str(user.pk)).exists()


def test_confirm_totp_enrolment_wrong_code_rejected(teacher, clock):
    secret, _uri = auth.begin_totp_enrolment(actor=teacher)
    wrong = f"{(int(_code(secret, clock.now)) + 1) % 1000000:06d}"
    with pytest.raises(InvalidInput) as exc:
        auth.confirm_totp_enrolment(actor=teacher, secret=secret, code=wrong)
    assert exc.value.code == "WRONG_CODE"
    teacher.refresh_from_db()
    assert not teacher.has_mfa


def test_confirm_totp_enrolment_enrolment_code_cannot_be_replayed(teacher, clock):
    secret, _uri = auth.begin_totp_enrolment(actor=teacher)
    code = _code(secret, clock.now)
    auth.confirm_totp_enrolment(actor=teacher, secret=secret, code=code)
    assert not auth.verify_second_factor(user=teacher, code=code)


def test_begin_totp_enrolment_already_enrolled_conflict(enrolled):
    user, _secret, _codes = enrolled
    with pytest.raises(Conflict):
        auth.begin_totp_enrolment(actor=user)


# --- second step of sign-in -------------------------------------------------------------------


def test_complete_mfa_login_correct_code_ok(enrolled, clock):
    user, secret, _codes = enrolled
    clock.advance(30)
    result = auth.complete_mfa_login(user_id=user.pk, code=_code(secret, clock.now))
    assert result.outcome == "ok"
    assert AuditEvent.objects.get(code="identity.login.succeeded").extra["factor"] == "totp"


def test_complete_mfa_login_wrong_codes_lock_account(enrolled, settings):
    settings.SHUYUAN_LOCKOUT_THRESHOLD = 3
    user, _secret, _codes = enrolled
    results = [auth.complete_mfa_login(user_id=user.pk, code="000000") for _i in range(3)]
    assert [r.outcome for r in results] == ["bad_credentials", "bad_credentials", "locked"]


# --- disabling --------------------------------------------------------------------------------


def test_disable_mfa_self_with_code_switches_off(enrolled, clock):
    user, secret, _codes = enrolled
    clock.advance(30)
    auth.disable_mfa(actor=user, user=user, code=_code(secret, clock.now))
    user.refresh_from_db()
    assert not user.has_mfa
    assert user.totp_secret_cipher is None
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert AuditEvent.objects.get(code="identity.mfa.disabled").extra == {"by_admin": False}


def test_disable_mfa_self_wrong_code_refused(enrolled):
    user, _secret, _codes = enrolled
    with pytest.raises(InvalidInput):
        auth.disable_mfa(actor=user, user=user, code="000000")
    user.refresh_from_db()
    assert user.has_mfa


def test_disable_mfa_self_refused_when_policy_requires(make_user, tree, clock):
    officer = make_user("security_officer", tree.region)
    secret, _codes = _enrol(officer)
    with pytest.raises(PermissionDenied) as exc:
        auth.disable_mfa(actor=officer, user=officer, code=_code(secret, clock.now))
    assert exc.value.code == "MFA_REQUIRED_BY_POLICY"


def test_disable_mfa_admin_resets_lost_device_without_code(enrolled, make_user, tree):
    user, _secret, _codes = enrolled
    admin = make_user("school_admin", tree.school_a)
    auth.disable_mfa(actor=admin, user=user)
    user.refresh_from_db()
    assert not user.has_mfa
    assert AuditEvent.objects.get(code="identity.mfa.disabled").extra == {"by_admin": True}


def test_disable_mfa_admin_of_other_school_denied(enrolled, make_user, tree):
    user, _secret, _codes = enrolled
    other = make_user("school_admin", tree.school_b)
    with pytest.raises(PermissionDenied):
        auth.disable_mfa(actor=other, user=user)


# --- pages: enrolment and sign-in -------------------------------------------------------------


def test_mfa_setup_view_shows_qr_code_and_keeps_secret_in_session(client_for, teacher):
    client = client_for(teacher)
    response = client.get(reverse("identity:mfa_setup"))
    html = response.content.decode()
    secret = client.session[ENROLMENT_SECRET]
    assert response.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in html
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in html
    teacher.refresh_from_db()
    assert teacher.totp_secret_cipher is None


def test_mfa_setup_view_confirm_shows_recovery_codes_once(client_for, teacher):
    client = client_for(teacher)
    client.get(reverse("identity:mfa_setup"))
    secret = client.session[ENROLMENT_SECRET]
    response = client.post(
        reverse("identity:mfa_setup"),
        {"action": "confirm", "code": _code(secret, timezone.now())},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert len(re.findall(r"<code>[a-z2-9]{5}-[a-z2-9]{5}</code>", html)) == 10
    teacher.refresh_from_db()
    assert teacher.has_mfa
    again = client.get(reverse("identity:mfa_setup")).content.decode()
    assert not re.findall(r"<code>[a-z2-9]{5}-[a-z2-9]{5}</code>", again)


def test_mfa_setup_view_wrong_code_422(client_for, teacher):
    client = client_for(teacher)
    client.get(reverse("identity:mfa_setup"))
    response = client.post(reverse("identity:mfa_setup"), {"action": "confirm", "code": "12"})
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()


def _password_step(client, user):
    return client.post(
        reverse("identity:login"), {"identifier": user.username, "password": PASSWORD}
    )


def test_login_with_mfa_not_signed_in_before_second_factor(enrolled):
    user, _secret, _codes = enrolled
    client = Client()
    response = _password_step(client, user)
    assert response["Location"] == reverse("identity:login_mfa")
    assert "_auth_user_id" not in client.session
    assert client.session[PENDING_LOGIN]["user"] == user.pk


def test_login_with_mfa_correct_code_signs_in(enrolled, clock):
    user, secret, _codes = enrolled
    client = Client()
    _password_step(client, user)
    clock.advance(30)
    response = client.post(reverse("identity:login_mfa"), {"code": _code(secret, clock.now)})
    assert response.status_code == 303
    assert response["Location"] == reverse("identity:home")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert UserSession.objects.filter(user=user, session_key=client.session.session_key).exists()


def test_login_with_mfa_recovery_code_signs_in(enrolled):
    user, _secret, codes = enrolled
    client = Client()
    _password_step(client, user)
    response = client.post(reverse("identity:login_mfa"), {"code": codes[0]})
    assert response.status_code == 303
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_with_mfa_five_wrong_codes_back_to_login(enrolled, settings):
    settings.SHUYUAN_LOCKOUT_THRESHOLD = 50
    user, _secret, _codes = enrolled
    client = Client()
    _password_step(client, user)
    statuses = [
        client.post(reverse("identity:login_mfa"), {"code": "000000"}).status_code
        for _i in range(5)
    ]
    assert statuses == [422, 422, 422, 422, 303]
    assert PENDING_LOGIN not in client.session
    assert client.get(reverse("identity:login_mfa"))["Location"] == reverse("identity:login")


def test_login_mfa_without_pending_sign_in_redirects_to_login(client, db):
    response = client.get(reverse("identity:login_mfa"))
    assert response["Location"] == reverse("identity:login")


# --- forced enrolment -------------------------------------------------------------------------


@pytest.fixture
def region_admin(make_user, tree):
    return make_user("region_admin", tree.region, username="boss")


def test_mfa_required_role_without_mfa_redirected_to_enrolment(client_for, region_admin):
    response = client_for(region_admin).get(reverse("identity:sessions"))
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:mfa_setup")


def test_mfa_required_role_enrolment_page_reachable(client_for, region_admin):
    response = client_for(region_admin).get(reverse("identity:mfa_setup"))
    assert response.status_code == 200
    assert 'role="status"' in response.content.decode()


def test_mfa_required_role_can_sign_out(client_for, region_admin):
    response = client_for(region_admin).post(reverse("identity:logout"))
    assert response["Location"] == reverse("identity:login")


def test_mfa_required_role_api_path_gets_json_403(client_for, region_admin):
    response = client_for(region_admin).get("/api/v1/identity/users")
    assert response.status_code == 403
    assert response.json() == {
        "code": "MFA_ENROLMENT_REQUIRED",
        "message": response.json()["message"],
        "errors": [],
    }


def test_mfa_required_role_htmx_gets_hx_redirect(client_for, region_admin):
    response = client_for(region_admin).get(reverse("identity:sessions"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("identity:mfa_setup")


def test_mfa_required_role_after_enrolment_not_redirected(client_for, region_admin):
    client = client_for(region_admin)
    client.get(reverse("identity:mfa_setup"))
    secret = client.session[ENROLMENT_SECRET]
    client.post(
        reverse("identity:mfa_setup"), {"action": "confirm", "code": _code(secret, timezone.now())}
    )
    assert client.get(reverse("identity:sessions")).status_code == 200


def test_policy_switched_off_role_not_redirected(client_for, region_admin, make_user):
    root = make_user("platform_admin", None)
    set_role_policy(actor=root, role="region_admin", mfa_required=False)
    assert client_for(region_admin).get(reverse("identity:sessions")).status_code == 200


def test_must_change_password_redirected_to_password_page(client_for, make_user, tree):
    user = make_user("teacher", tree.school_a, must_change_password=True)
    response = client_for(user).get(reverse("identity:sessions"))
    assert response["Location"] == reverse("identity:password_change")


def test_must_change_password_api_path_gets_json_403(client_for, make_user, tree):
    user = make_user("teacher", tree.school_a, must_change_password=True)
    response = client_for(user).get("/api/v1/identity/users")
    assert response.status_code == 403
    assert response.json()["code"] == "PASSWORD_CHANGE_REQUIRED"
