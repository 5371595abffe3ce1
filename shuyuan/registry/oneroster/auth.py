"""OAuth 2 client credentials for the OneRoster API (RFC 6749 §4.4, RFC 6750).

* ``ApiClient.secret_hash`` is ``django.contrib.auth.hashers.make_password(secret)``; the
  registration UI creates secrets with :func:`create_client_secret`.
* :func:`authenticate_client` checks a client id and secret, with a cache-based throttle of
  failed attempts per client id and per IP (as identity's sign-in throttle does): after
  ``SHUYUAN_ONEROSTER_CLIENT_FAILURE_LIMIT`` failures for one client id, or
  ``SHUYUAN_ONEROSTER_IP_FAILURE_LIMIT`` from one IP, within
  ``SHUYUAN_ONEROSTER_FAILURE_WINDOW_SECONDS``, every attempt is refused (even a right secret)
  until the window ends.
* :func:`issue_token` creates a random bearer token and stores only its SM3 hex digest.
* :func:`authenticate_bearer` turns a presented token into its live ``ClientToken``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.utils import timezone

from shuyuan.core.crypto import sm3

from ..models import ApiClient, ClientToken

SCOPE_BASE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
SCOPE_CORE = SCOPE_BASE + "roster-core.readonly"
SCOPE_ROSTER = SCOPE_BASE + "roster.readonly"
SCOPE_DEMOGRAPHICS = SCOPE_BASE + "roster-demographics.readonly"
ALL_SCOPES = (SCOPE_CORE, SCOPE_ROSTER, SCOPE_DEMOGRAPHICS)

TOKEN_LIFETIME_SECONDS = 3600

#: A dummy hash checked when the client id is unknown, so timing does not reveal which ids exist.
_DUMMY_HASH = make_password(secrets.token_urlsafe(16))


class ScopeError(ValueError):
    """A requested scope is unknown or not allowed for the client (``invalid_scope``)."""


@dataclass(frozen=True)
class ClientAuthResult:
    """The outcome of :func:`authenticate_client`: the client, or why not (``retry_after``>0 when
    throttled)."""

    client: ApiClient | None
    retry_after: int = 0


def create_client_secret() -> str:
    """A new random client secret (43 URL-safe characters, 256 bits); show it once, store
    ``make_password(secret)``."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a bearer token: its SM3 digest in hex."""
    return sm3(token.encode()).hex()


def _limits() -> tuple[int, int, int]:
    return (
        int(getattr(settings, "SHUYUAN_ONEROSTER_CLIENT_FAILURE_LIMIT", 10)),
        int(getattr(settings, "SHUYUAN_ONEROSTER_IP_FAILURE_LIMIT", 50)),
        int(getattr(settings, "SHUYUAN_ONEROSTER_FAILURE_WINDOW_SECONDS", 15 * 60)),
    )


def _keys(kind: str, value: str) -> tuple[str, str]:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"oneroster:fail:{kind}:{digest}:start", f"oneroster:fail:{kind}:{digest}:count"


def _retry_after(kind: str, value: str, limit: int, window: int, now: float) -> int:
    if not value:
        return 0
    start_key, count_key = _keys(kind, value)
    start = cache.get(start_key)
    if start is None or now - float(start) >= window:
        return 0
    if int(cache.get(count_key) or 0) < limit:
        return 0
    return max(1, math.ceil(float(start) + window - now))


def _count_failure(kind: str, value: str, window: int, now: float) -> None:
    if not value:
        return
    start_key, count_key = _keys(kind, value)
    start = cache.get(start_key)
    if start is None or now - float(start) >= window:
        cache.set(start_key, now, window)
        cache.set(count_key, 1, window)
        return
    try:
        cache.incr(count_key)
    except ValueError:
        cache.set(count_key, 1, window)


def authenticate_client(client_id: str, secret: str, *, ip: str | None = None) -> ClientAuthResult:
    """The active ``ApiClient`` with this id and secret (checked with ``check_password``).

    Refused (``client=None``) when the id is unknown, the secret wrong, the client inactive, or
    when the id or the IP is throttled (then ``retry_after`` > 0 and the secret is not checked).
    A refusal other than the throttle counts one failure against the id and the IP.
    """
    client_limit, ip_limit, window = _limits()
    now = timezone.now().timestamp()
    wait = max(
        _retry_after("client", client_id, client_limit, window, now),
        _retry_after("ip", ip or "", ip_limit, window, now),
    )
    if wait:
        return ClientAuthResult(None, retry_after=wait)
    client = ApiClient.objects.filter(client_id=client_id).select_related("org").first()
    ok = check_password(secret, client.secret_hash if client else _DUMMY_HASH)
    if client is None or not ok or not client.is_active:
        _count_failure("client", client_id, window, now)
        _count_failure("ip", ip or "", window, now)
        return ClientAuthResult(None)
    return ClientAuthResult(client)


def grant_scopes(client: ApiClient, requested: str) -> list[str]:
    """The scopes a token gets: requested (space-separated) ∩ the client's allowed scopes, or all
    the allowed ones if none are requested. Raises ``ScopeError`` if a requested scope is not a
    OneRoster rostering scope, or if the result is empty (RFC 6749 §5.2 ``invalid_scope``)."""
    allowed = [s for s in ALL_SCOPES if s in (client.scopes or [])]
    wanted = requested.split()
    for scope in wanted:
        if scope not in ALL_SCOPES:
            raise ScopeError(scope)
    granted = [s for s in allowed if s in wanted] if wanted else allowed
    if not granted:
        raise ScopeError(" ".join(wanted))
    return granted


def issue_token(client: ApiClient, scopes: list[str]) -> tuple[str, ClientToken]:
    """A new bearer token for ``client`` with ``scopes`` (valid ``TOKEN_LIFETIME_SECONDS``):
    returns the plain token (shown once) and the stored row (which holds only its hash)."""
    token = secrets.token_urlsafe(32)
    row = ClientToken.objects.create(
        client=client,
        token_hash=hash_token(token),
        scopes=list(scopes),
        expires_at=timezone.now() + dt.timedelta(seconds=TOKEN_LIFETIME_SECONDS),
    )
    return token, row


def authenticate_bearer(token: str) -> ClientToken | None:
    """The live token row (with its client) for a presented bearer token, or ``None`` if it is
    unknown, expired, revoked, or its client is inactive. One query."""
    if not token or len(token) > 200:
        return None
    row = (
        ClientToken.objects.filter(token_hash=hash_token(token))
        .select_related("client", "client__org")
        .first()
    )
    if row is None or row.revoked_at is not None or row.expires_at <= timezone.now():
        return None
    if not row.client.is_active:
        return None
    return row
