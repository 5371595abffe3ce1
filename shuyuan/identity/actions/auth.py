"""Sign-in, lockout, multi-factor login (TOTP and recovery codes) and sessions.

Sign-in
    ``attempt_login`` checks an identifier (account name, mobile or ID number) and a password.
    Consecutive failures are counted on the account row under ``select_for_update`` so parallel
    guesses cannot lose counts; after ``SHUYUAN_LOCKOUT_THRESHOLD`` of them the account is
    locked for ``SHUYUAN_LOCKOUT_BASE_SECONDS * 2 ** lockout_count`` seconds, capped at
    ``SHUYUAN_LOCKOUT_MAX_SECONDS``. A locked account is refused whatever the password, so the
    answer never tells whether the password was right. Failures are also counted per client IP
    in the cache (``SHUYUAN_LOGIN_IP_LIMIT`` failures per ``SHUYUAN_LOGIN_IP_WINDOW_SECONDS``),
    which slows an attacker who sprays one password over many accounts; unknown identifiers
    count only there. A wrong second factor counts like a wrong password.

Multi-factor
    TOTP (RFC 6238: 6 digits, 30 s, SHA-1, one step of clock drift either way). The secret is
    stored SM4-GCM encrypted; ``totp_last_step`` rejects a code whose time step was already
    used (replay). Ten one-time recovery codes are stored as keyed SM3 hashes and shown once.
    Until an enrolment is confirmed its secret lives in the user's server-side session, not in
    the database (see ``begin_totp_enrolment``).

Sessions
    Every login registers a ``UserSession`` row (``register_session``, called from the
    ``user_logged_in`` receiver in ``identity.middleware``); ``SessionGuardMiddleware`` refuses
    a session whose row is missing or revoked. ``revoke_session`` also deletes the server-side
    session.

Audit codes: ``identity.login.succeeded``, ``identity.login.failed``, ``identity.login.locked``,
``identity.mfa.enrolled``, ``identity.mfa.disabled``, ``identity.mfa.recovery_used``,
``identity.mfa.recovery_regenerated``, ``identity.session.revoked``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pyotp
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from shuyuan.core import validators
from shuyuan.core.audit import record_audit
from shuyuan.core.context import RequestInfo, change_context, current_request, request_context
from shuyuan.core.crypto import mask_id_number, mask_mobile
from shuyuan.core.errors import Conflict, NotFound, PermissionDenied, invalid
from shuyuan.core.scoping import can

from ..backends import resolve_identifier, run_dummy_hasher, verify_password
from ..models import RecoveryCode, User, UserSession
from ..pii import pii_cipher
from .accounts import check_password_policy, mfa_required_for

LoginOutcome = Literal["ok", "mfa_required", "mfa_enrolment_required", "bad_credentials", "locked"]

TOTP_DIGITS = 6
TOTP_INTERVAL = 30
TOTP_VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_PURPOSE = "recovery_code"
#: No 0/o, 1/l/i: recovery codes are read off paper.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
#: ``last_seen_at`` is written at most once per this interval.
SESSION_TOUCH_INTERVAL = dt.timedelta(minutes=1)
#: The exponent of the lockout back-off stops growing here (the cap applies long before).
_MAX_BACKOFF_EXPONENT = 20

_TOTP_CODE_RE = re.compile(f"[0-9]{{{TOTP_DIGITS}}}")
_RECOVERY_CODE_RE = re.compile(f"[{RECOVERY_ALPHABET}]{{{RECOVERY_CODE_LENGTH}}}")
_SECRET_RE = re.compile(r"[A-Z2-7]{32}")


@dataclass(frozen=True)
class LoginResult:
    """What one sign-in step decided.

    ``user`` is set only when the credentials were right (``ok``, ``mfa_required``,
    ``mfa_enrolment_required``); ``retry_after`` (seconds) only when ``locked``.
    """

    outcome: LoginOutcome
    user: User | None = None
    retry_after: int = 0


# --- settings ----------------------------------------------------------------------------------


def _lockout_threshold() -> int:
    return max(1, int(settings.SHUYUAN_LOCKOUT_THRESHOLD))


def lockout_seconds(lockout_count: int) -> int:
    """How long the next lockout lasts after ``lockout_count`` earlier ones (back-off)."""
    base = int(settings.SHUYUAN_LOCKOUT_BASE_SECONDS)
    cap = int(settings.SHUYUAN_LOCKOUT_MAX_SECONDS)
    factor: int = 2 ** min(lockout_count, _MAX_BACKOFF_EXPONENT)
    return min(base * factor, cap)


def ip_failure_limit() -> tuple[int, int]:
    """``(failures, window seconds)`` allowed per client IP before sign-in is refused.

    Defaults: 50 failures in 15 minutes — far above what the people behind one school's NAT
    mistype, far below what a password-spraying script needs.
    """
    return (
        int(getattr(settings, "SHUYUAN_LOGIN_IP_LIMIT", 50)),
        int(getattr(settings, "SHUYUAN_LOGIN_IP_WINDOW_SECONDS", 15 * 60)),
    )


def _issuer() -> str:
    return str(getattr(settings, "SHUYUAN_MFA_ISSUER", "Shuyuan"))


# --- helpers -----------------------------------------------------------------------------------


def _clean_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


@contextlib.contextmanager
def _client(ip: str | None, user_agent: str) -> Iterator[None]:
    """Attribute audit events to the given client even when called outside a request."""
    current = current_request()
    info = RequestInfo(
        request_id=current.request_id,
        ip=_clean_ip(ip) or current.ip,
        user_agent=(user_agent or current.user_agent or "")[:255],
    )
    with request_context(info):
        yield


def _anonymous() -> AnonymousUser:
    return AnonymousUser()


def _identifier_for_audit(identifier: Any) -> str:
    """What the audit log keeps of an identifier that matched no account: never plaintext PII
    (and never a password typed into the wrong field), only a masked form."""
    if not isinstance(identifier, str):
        return ""
    text = validators.normalize_identifier(identifier[:128])
    try:
        return mask_mobile(validators.validate_mobile(text))
    except validators.IdentifierError:
        pass
    if len(text) == 18:
        return mask_id_number(text)
    if len(text) <= 2:
        return "*" * len(text)
    return text[:2] + "*" * min(len(text) - 2, 16)


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _ip_keys(ip: str) -> tuple[str, str]:
    digest = hashlib.sha256(ip.encode()).hexdigest()[:32]
    return f"identity:login-ip:{digest}:start", f"identity:login-ip:{digest}:count"


def _ip_retry_after(ip: str | None, now: dt.datetime) -> int:
    """Seconds until ``ip`` may try again, or 0 if it is under its failure limit."""
    if not ip:
        return 0
    limit, window = ip_failure_limit()
    start_key, count_key = _ip_keys(ip)
    start = cache.get(start_key)
    if start is None or now.timestamp() - start >= window:
        return 0
    if int(cache.get(count_key) or 0) < limit:
        return 0
    return max(1, math.ceil(float(start) + window - now.timestamp()))


def _count_ip_failure(ip: str | None, now: dt.datetime) -> None:
    """One more failure for ``ip`` in its current (fixed) window."""
    if not ip:
        return
    _limit, window = ip_failure_limit()
    start_key, count_key = _ip_keys(ip)
    start = cache.get(start_key)
    if start is None or now.timestamp() - start >= window:
        cache.set(start_key, now.timestamp(), window)
        cache.set(count_key, 1, window)
        return
    try:
        cache.incr(count_key)
    except ValueError:
        cache.set(count_key, 1, window)


def _locked_row(user_id: int) -> User | None:
    """The account row, locked for this transaction (counters must not lose updates)."""
    row: User | None = User.objects.select_for_update().filter(pk=user_id).first()
    return row


def _register_failure(
    user: User, now: dt.datetime, *, reason: str, actor: Any = None
) -> LoginResult:
    """Count one failure on the locked ``user`` row; lock the account at the threshold.

    ``actor`` is the signed-in user when a sensitive change re-checks a factor; sign-in
    attempts are anonymous.
    """
    actor = actor if actor is not None else _anonymous()
    user.failed_login_count += 1
    if user.failed_login_count >= _lockout_threshold():
        seconds = lockout_seconds(user.lockout_count)
        user.locked_until = now + dt.timedelta(seconds=seconds)
        user.lockout_count += 1
        user.failed_login_count = 0
        user.save(update_fields=["failed_login_count", "lockout_count", "locked_until"])
        record_audit(
            "identity.login.locked",
            actor=actor,
            subject=user,
            org_path=user.changelog_org_path(),
            extra={"reason": reason, "seconds": seconds, "lockout_count": user.lockout_count},
        )
        return LoginResult("locked", retry_after=seconds)
    user.save(update_fields=["failed_login_count"])
    record_audit(
        "identity.login.failed",
        actor=actor,
        subject=user,
        org_path=user.changelog_org_path(),
        extra={"reason": reason, "failures": user.failed_login_count},
    )
    return LoginResult("bad_credentials")


def _refuse_locked(user: User, now: dt.datetime) -> LoginResult:
    assert user.locked_until is not None  # noqa: S101  # caller checked is_locked()
    record_audit(
        "identity.login.locked",
        actor=_anonymous(),
        subject=user,
        org_path=user.changelog_org_path(),
        extra={"reason": "account_locked"},
    )
    return LoginResult("locked", retry_after=_seconds_until(user.locked_until, now))


def _succeed(user: User, *, factor: str) -> LoginResult:
    """Reset the counters of the locked ``user`` row and record the sign-in."""
    if user.failed_login_count or user.lockout_count or user.locked_until:
        user.failed_login_count = 0
        user.lockout_count = 0
        user.locked_until = None
        user.save(update_fields=["failed_login_count", "lockout_count", "locked_until"])
    enrolment_due = not user.has_mfa and mfa_required_for(user)
    record_audit(
        "identity.login.succeeded",
        actor=user,
        subject=user,
        org_path=user.changelog_org_path(),
        extra={"factor": factor, "mfa_enrolment_required": enrolment_due},
    )
    return LoginResult("mfa_enrolment_required" if enrolment_due else "ok", user=user)


def _throttled(ip: str | None, now: dt.datetime, identifier: str = "") -> LoginResult | None:
    wait = _ip_retry_after(_clean_ip(ip), now)
    if not wait:
        return None
    with transaction.atomic():
        record_audit(
            "identity.login.locked",
            actor=_anonymous(),
            extra={"reason": "ip_throttled", "identifier": _identifier_for_audit(identifier)},
        )
    return LoginResult("locked", retry_after=wait)


# --- sign-in -----------------------------------------------------------------------------------


def attempt_login(
    *, identifier: str, password: str, ip: str | None = None, user_agent: str = ""
) -> LoginResult:
    """Check the first factor of a sign-in and update the lockout counters.

    Returns ``ok`` (sign the user in), ``mfa_required`` (ask for the second factor with
    ``complete_mfa_login``), ``mfa_enrolment_required`` (sign in, then force TOTP enrolment),
    ``bad_credentials`` (unknown identifier, wrong password or inactive account: one answer for
    all) or ``locked`` (account locked or client IP throttled; ``retry_after`` seconds).

    Writes ``identity.login.succeeded``, ``identity.login.failed`` or ``identity.login.locked``.
    """
    ip = _clean_ip(ip)
    with _client(ip, user_agent):
        now = timezone.now()
        refused = _throttled(ip, now, identifier)
        if refused is not None:
            return refused
        candidate = resolve_identifier(identifier)
        if candidate is None or not candidate.is_active:
            run_dummy_hasher(password or "")
            _count_ip_failure(ip, now)
            with transaction.atomic():
                record_audit(
                    "identity.login.failed",
                    actor=_anonymous(),
                    subject=candidate,
                    org_path=candidate.changelog_org_path() if candidate else "",
                    extra={
                        "reason": "inactive" if candidate else "unknown_account",
                        "identifier": "" if candidate else _identifier_for_audit(identifier),
                    },
                )
            return LoginResult("bad_credentials")
        with transaction.atomic():
            user = _locked_row(candidate.pk)
            if user is None:  # deleted meanwhile
                return LoginResult("bad_credentials")
            if user.is_locked(now):
                _count_ip_failure(ip, now)
                return _refuse_locked(user, now)
            if not verify_password(user, password or ""):
                _count_ip_failure(ip, now)
                return _register_failure(user, now, reason="wrong_password")
            if user.has_mfa:
                return LoginResult("mfa_required", user=user)
            return _succeed(user, factor="password")


def complete_mfa_login(
    *, user_id: int, code: str, ip: str | None = None, user_agent: str = ""
) -> LoginResult:
    """Check the second factor (TOTP or a recovery code) of a sign-in whose password passed.

    A wrong code counts as a failed sign-in (lockout applies). Returns ``ok`` or
    ``mfa_enrolment_required`` on success, else ``bad_credentials`` or ``locked``.
    """
    ip = _clean_ip(ip)
    with _client(ip, user_agent):
        now = timezone.now()
        refused = _throttled(ip, now)
        if refused is not None:
            return refused
        with transaction.atomic():
            user = _locked_row(user_id)
            if user is None or not user.is_active or not user.has_mfa:
                return LoginResult("bad_credentials")
            if user.is_locked(now):
                return _refuse_locked(user, now)
            factor = _check_second_factor(user, code, now)
            if factor is None:
                _count_ip_failure(ip, now)
                return _register_failure(user, now, reason="wrong_code")
            return _succeed(user, factor=factor)


# --- TOTP and recovery codes -------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL, digest=hashlib.sha1)


def _normalize_code(code: Any) -> str:
    if not isinstance(code, str):
        return ""
    text = unicodedata.normalize("NFKC", code[:64])
    return "".join(ch for ch in text if ch.isalnum()).lower()


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step (within one step of ``now``) whose TOTP is ``code``, or ``None``."""
    totp = _totp(secret)
    current = totp.timecode(int(now.timestamp()))
    matched = None
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


def _verify_totp(user: User, code: str, now: dt.datetime) -> bool:
    if not user.totp_secret_cipher:
        return False
    secret = pii_cipher().decrypt(bytes(user.totp_secret_cipher))
    step = _matching_step(secret, code, now)
    if step is None:
        return False
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return False  # replay: this code (or a later one) was already used
    user.totp_last_step = step
    user.save(update_fields=["totp_last_step"])
    return True


def _recovery_hash(code: str) -> str:
    return pii_cipher().blind_index(code, RECOVERY_CODE_PURPOSE)


def _use_recovery_code(user: User, code: str, now: dt.datetime) -> bool:
    row = (
        RecoveryCode.objects.select_for_update()
        .filter(user=user, code_hash=_recovery_hash(code), used_at__isnull=True)
        .first()
    )
    if row is None:
        return False
    row.used_at = now
    row.save(update_fields=["used_at"])
    remaining = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    record_audit(
        "identity.mfa.recovery_used",
        actor=user,
        subject=user,
        org_path=user.changelog_org_path(),
        extra={"remaining": remaining},
    )
    return True


def _check_second_factor(user: User, code: Any, now: dt.datetime) -> str | None:
    """``"totp"`` or ``"recovery_code"`` if ``code`` is a valid unused factor of the (locked)
    ``user`` row, consuming it; else ``None``."""
    if not user.has_mfa:
        return None
    text = _normalize_code(code)
    if _TOTP_CODE_RE.fullmatch(text):
        return "totp" if _verify_totp(user, text, now) else None
    if _RECOVERY_CODE_RE.fullmatch(text):
        return "recovery_code" if _use_recovery_code(user, text, now) else None
    return None


def verify_second_factor(*, user: User, code: str) -> bool:
    """True if ``code`` is a current, unused TOTP code or an unused recovery code of ``user``.

    Consumes what it accepts: the TOTP time step (``totp_last_step``, so the code cannot be
    replayed) or the recovery code (writes ``identity.mfa.recovery_used``). Does not count
    failures; ``complete_mfa_login`` and the MFA management actions do.
    """
    now = timezone.now()
    with transaction.atomic():
        row = _locked_row(user.pk)
        if row is None:
            return False
        accepted = _check_second_factor(row, code, now) is not None
    user.totp_last_step = row.totp_last_step
    return accepted


def change_password(
    *, actor: User, current_password: str, new_password: str, source: str = "ui"
) -> None:
    """A user changes their own password, re-entering the current one and meeting the policy.

    A wrong current password counts towards the lockout like a wrong sign-in (so a stolen
    session cannot guess the password here); a locked account is refused. Writes
    ``identity.password.changed``.
    """
    now = timezone.now()
    with transaction.atomic():
        row = _locked_row(actor.pk)
        if row is None:
            raise NotFound(_("Account not found."), code="ACCOUNT_NOT_FOUND")
        locked = row.is_locked(now)
        wrong = not locked and not row.check_password(current_password)
        if wrong:
            locked = (
                _register_failure(row, now, reason="wrong_password", actor=actor).outcome
                == "locked"
            )
    if locked:
        raise PermissionDenied(
            _("Too many wrong passwords. Try again later."),
            code="ACCOUNT_LOCKED",
            field="current_password",
        )
    if wrong:
        raise invalid(
            "current_password", "WRONG_PASSWORD", _("The current password is not correct.")
        )
    if current_password == new_password:
        raise invalid(
            "password", "PASSWORD_REUSED", _("The new password must differ from the old one.")
        )
    check_password_policy(new_password, actor)
    with transaction.atomic(), change_context(actor=actor, source=source):
        actor.set_password(new_password)
        actor.must_change_password = False
        actor.password_changed_at = timezone.now()
        actor.save(update_fields=["password", "must_change_password", "password_changed_at"])
        record_audit(
            "identity.password.changed",
            actor=actor,
            subject=actor,
            org_path=actor.changelog_org_path(),
        )


def _require_second_factor(user: User, code: Any) -> None:
    """Re-check a signed-in user's second factor before a sensitive MFA change.

    A wrong code counts towards the lockout like a wrong sign-in, so a stolen session cannot
    guess codes without limit.
    """
    now = timezone.now()
    with transaction.atomic():
        row = _locked_row(user.pk)
        if row is None:
            raise NotFound(_("Account not found."), code="ACCOUNT_NOT_FOUND")
        if row.is_locked(now):
            locked = True
            factor = None
        else:
            locked = False
            factor = _check_second_factor(row, code, now)
            if factor is None:
                result = _register_failure(row, now, reason="wrong_code", actor=user)
                locked = result.outcome == "locked"
    user.totp_last_step = row.totp_last_step
    if locked:
        raise PermissionDenied(
            _("Too many wrong codes. Try again later."), code="ACCOUNT_LOCKED", field="code"
        )
    if factor is None:
        raise invalid("code", "WRONG_CODE", _("The code is not correct."))


def _new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_CODE_LENGTH))


def format_recovery_code(code: str) -> str:
    """``abcdefghjk`` → ``abcde-fghjk`` (how codes are shown; the hyphen is optional on input)."""
    half = RECOVERY_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def _replace_recovery_codes(user: User) -> list[str]:
    codes = [_new_recovery_code() for _i in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=_recovery_hash(code)) for code in codes
    )
    return [format_recovery_code(code) for code in codes]


def totp_provisioning_uri(*, user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (account name, never PII)."""
    return _totp(secret).provisioning_uri(name=user.username, issuer_name=_issuer())


def begin_totp_enrolment(*, actor: User) -> tuple[str, str]:
    """A fresh TOTP secret (base32, 160 bits) and its ``otpauth://`` URI for ``actor``.

    Nothing is stored: the caller keeps the unconfirmed secret in the user's server-side session
    and passes it to ``confirm_totp_enrolment``. So an abandoned enrolment leaves no trace, no
    change-log entry is written for a secret that is never used, and the database only ever
    holds a secret the user has proved to possess. Raises ``Conflict`` if MFA is already on.
    """
    if actor.has_mfa:
        raise Conflict(
            _("Multi-factor sign-in is already set up for this account."),
            code="MFA_ALREADY_ENROLLED",
        )
    secret = pyotp.random_base32(length=32)
    return secret, totp_provisioning_uri(user=actor, secret=secret)


def confirm_totp_enrolment(*, actor: User, secret: str, code: str, source: str = "ui") -> list[str]:
    """Switch multi-factor sign-in on once ``code`` proves ``actor`` holds ``secret``.

    Stores the secret SM4-GCM encrypted (change-logged, value redacted), marks the code's time
    step as used, replaces the recovery codes and returns the ten new ones (formatted, shown
    once). Writes ``identity.mfa.enrolled``. Raises ``InvalidInput`` on ``code`` for a wrong
    code or an expired set-up, ``Conflict`` if MFA is already on.
    """
    if actor.has_mfa:
        raise Conflict(
            _("Multi-factor sign-in is already set up for this account."),
            code="MFA_ALREADY_ENROLLED",
        )
    if not isinstance(secret, str) or not _SECRET_RE.fullmatch(secret):
        raise invalid(
            "code", "MFA_ENROLMENT_EXPIRED", _("The set-up has expired. Please start again.")
        )
    text = _normalize_code(code)
    step = _matching_step(secret, text, timezone.now()) if _TOTP_CODE_RE.fullmatch(text) else None
    if step is None:
        raise invalid(
            "code",
            "WRONG_CODE",
            _("The code is not correct. Check that the time on your device is right."),
        )
    with transaction.atomic(), change_context(actor=actor, source=source):
        actor.totp_secret_cipher = pii_cipher().encrypt(secret)
        actor.totp_confirmed_at = timezone.now()
        actor.totp_last_step = step
        actor.save(update_fields=["totp_secret_cipher", "totp_confirmed_at", "totp_last_step"])
        codes = _replace_recovery_codes(actor)
        record_audit(
            "identity.mfa.enrolled",
            actor=actor,
            subject=actor,
            org_path=actor.changelog_org_path(),
            extra={"method": "totp"},
        )
    return codes


def regenerate_recovery_codes(*, actor: User, code: str) -> list[str]:
    """Replace ``actor``'s recovery codes after re-checking a second factor (``code``).

    Returns the ten new codes (shown once). Writes ``identity.mfa.recovery_regenerated``.
    Raises ``InvalidInput`` (wrong code, MFA off) or ``PermissionDenied`` (account locked).
    """
    if not actor.has_mfa:
        raise invalid(
            "code", "MFA_NOT_ENROLLED", _("Multi-factor sign-in is not set up for this account.")
        )
    _require_second_factor(actor, code)
    with transaction.atomic():
        codes = _replace_recovery_codes(actor)
        record_audit(
            "identity.mfa.recovery_regenerated",
            actor=actor,
            subject=actor,
            org_path=actor.changelog_org_path(),
        )
    return codes


def count_unused_recovery_codes(user: User) -> int:
    """How many recovery codes ``user`` has left (shown on the MFA page)."""
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def disable_mfa(*, actor: User, user: User, code: str | None = None, source: str = "ui") -> None:
    """Switch multi-factor sign-in off for ``user`` and delete its recovery codes.

    Self-service needs a current second factor (``code``) and is refused while a role policy
    requires MFA (``MFA_REQUIRED_BY_POLICY``). An administrator with ``change`` on the account
    may reset it without a code (a lost device); the user then enrols again. Writes
    ``identity.mfa.disabled`` with ``by_admin``.
    """
    is_self = actor.pk == user.pk
    if is_self:
        if mfa_required_for(user):
            raise PermissionDenied(
                _("Your role requires multi-factor sign-in, so it cannot be switched off."),
                code="MFA_REQUIRED_BY_POLICY",
            )
        if not user.has_mfa:
            return
        _require_second_factor(user, code)
    elif not can(actor, "change", user):
        raise PermissionDenied()
    if not user.has_mfa:
        return
    with transaction.atomic(), change_context(actor=actor, source=source):
        user.totp_secret_cipher = None
        user.totp_confirmed_at = None
        user.totp_last_step = None
        user.save(update_fields=["totp_secret_cipher", "totp_confirmed_at", "totp_last_step"])
        RecoveryCode.objects.filter(user=user).delete()
        record_audit(
            "identity.mfa.disabled",
            actor=actor,
            subject=user,
            org_path=user.changelog_org_path(),
            extra={"by_admin": not is_self},
        )


# --- sessions ----------------------------------------------------------------------------------


def _session_store() -> type[SessionBase]:
    store: type[SessionBase] = import_string(settings.SESSION_ENGINE + ".SessionStore")
    return store


def register_session(
    *, user: User, session_key: str, ip: str | None = None, user_agent: str = ""
) -> UserSession:
    """Record a new login session of ``user`` so it can be listed and revoked."""
    now = timezone.now()
    session, _created = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "created_at": now,
            "last_seen_at": now,
            "ip": _clean_ip(ip),
            "user_agent": (user_agent or "")[:255],
            "revoked_at": None,
        },
    )
    return session


def touch_session(*, user: Any, session_key: str | None) -> bool:
    """True if ``session_key`` is a live registered session of ``user``.

    One indexed read per request; ``last_seen_at`` is written at most once a minute.
    """
    if not session_key:
        return False
    row = (
        UserSession.objects.filter(session_key=session_key)
        .values_list("pk", "user_id", "revoked_at", "last_seen_at")
        .first()
    )
    if row is None:
        return False
    pk, user_id, revoked_at, last_seen_at = row
    if user_id != user.pk or revoked_at is not None:
        return False
    now = timezone.now()
    if now - last_seen_at >= SESSION_TOUCH_INTERVAL:
        UserSession.objects.filter(pk=pk).update(last_seen_at=now)
    return True


def end_session(*, session_key: str | None) -> None:
    """Mark the session being signed out of as ended (the session store is flushed by the
    caller's ``logout``)."""
    if session_key:
        UserSession.objects.filter(session_key=session_key, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


def _revoke(session: UserSession, now: dt.datetime) -> None:
    _session_store()(session_key=session.session_key).delete()
    session.revoked_at = now
    session.save(update_fields=["revoked_at"])


def revoke_session(*, actor: User, session: UserSession) -> None:
    """Sign ``actor``'s own ``session`` out everywhere: delete the server-side session and mark
    the row revoked. Someone else's session is ``NotFound``. Writes ``identity.session.revoked``.
    """
    if session.user_id != actor.pk:
        raise NotFound(_("Session not found."), code="SESSION_NOT_FOUND")
    if session.revoked_at is not None:
        return
    with transaction.atomic():
        _revoke(session, timezone.now())
        record_audit(
            "identity.session.revoked",
            actor=actor,
            subject=actor,
            org_path=actor.changelog_org_path(),
            extra={"session": session.pk, "reason": "revoked_by_user"},
        )


def rotate_session_after_password_change(
    *, actor: User, old_session_key: str | None, new_session_key: str
) -> int:
    """After ``actor`` changed their password: move the current session's row to its new key
    (Django cycles the key) and revoke every other session. Returns how many were revoked;
    writes ``identity.session.revoked`` if any were.
    """
    now = timezone.now()
    with transaction.atomic():
        moved = 0
        if old_session_key:
            moved = UserSession.objects.filter(
                user=actor, session_key=old_session_key, revoked_at__isnull=True
            ).update(session_key=new_session_key, last_seen_at=now)
        if not moved:
            register_session(user=actor, session_key=new_session_key, **_request_client())
        others = list(
            UserSession.objects.filter(user=actor, revoked_at__isnull=True).exclude(
                session_key=new_session_key
            )
        )
        for session in others:
            _revoke(session, now)
        if others:
            record_audit(
                "identity.session.revoked",
                actor=actor,
                subject=actor,
                org_path=actor.changelog_org_path(),
                extra={"count": len(others), "reason": "password_changed"},
            )
    return len(others)


def _request_client() -> dict[str, Any]:
    info = current_request()
    return {"ip": info.ip, "user_agent": info.user_agent}
