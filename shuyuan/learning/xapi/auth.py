"""Who is calling the LRS: credentials issued per client and limited to one org's subtree.

A learning tool authenticates with HTTP Basic (``LrsClient.key`` : secret) or with an OAuth 2
bearer token from ``POST /xapi/oauth/token`` (the client-credentials grant, RFC 6749 §4.4).
Secrets and tokens are 256-bit random strings, so a plain SM3 digest is a safe stored form
and checking one costs microseconds (a slow password hash on every statement POST would cap
throughput). Failed attempts are throttled per key and per IP with the cache.

The platform's own services write through a ``Caller`` with no client (``system_caller``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from shuyuan.core.crypto import sm3

from .. import conf
from ..choices import LrsScope
from ..models import LrsClient, LrsToken

FAILURE_LIMIT = 20
FAILURE_WINDOW_SECONDS = 15 * 60

READ_SCOPES = {
    "statements": {LrsScope.STATEMENTS_READ, LrsScope.ALL_READ, LrsScope.ALL},
    "state": {LrsScope.STATE, LrsScope.ALL_READ, LrsScope.ALL},
    "profile": {LrsScope.PROFILE, LrsScope.ALL_READ, LrsScope.ALL},
    "define": {LrsScope.DEFINE, LrsScope.PROFILE, LrsScope.ALL_READ, LrsScope.ALL},
}
WRITE_SCOPES = {
    "statements": {LrsScope.STATEMENTS_WRITE, LrsScope.ALL},
    "state": {LrsScope.STATE, LrsScope.ALL},
    "profile": {LrsScope.PROFILE, LrsScope.ALL},
    "define": {LrsScope.DEFINE, LrsScope.ALL},
}


@dataclass(frozen=True)
class Caller:
    """An authenticated LRS caller.

    ``org_path`` limits what it reads (statements and documents stored within the subtree) and
    tags what it writes; ``org_id`` names the document namespace. ``client`` is ``None`` for
    the platform's own writers.
    """

    client: LrsClient | None
    org_id: int
    org_path: str
    scopes: frozenset[str]
    authority: dict[str, Any] = field(hash=False)

    def can_read(self, area: str) -> bool:
        """True if the scopes allow reading ``area`` (statements, state, profile, define)."""
        if area == "statements" and LrsScope.STATEMENTS_READ_MINE in self.scopes:
            return True
        return bool(self.scopes & READ_SCOPES[area])

    def can_write(self, area: str) -> bool:
        """True if the scopes allow writing ``area``."""
        return bool(self.scopes & WRITE_SCOPES[area])

    @property
    def reads_only_own(self) -> bool:
        """True when the only statement-read scope is ``statements/read/mine``."""
        return LrsScope.STATEMENTS_READ_MINE in self.scopes and not (
            self.scopes & READ_SCOPES["statements"]
        )


def hash_secret(secret: str) -> str:
    """The stored form of a client secret or bearer token: SM3, hex."""
    return sm3(secret.encode("utf-8")).hex()


def new_secret() -> str:
    """A fresh random secret (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def client_authority(client: LrsClient) -> dict[str, Any]:
    """The ``authority`` the LRS puts on statements a client stores."""
    return {
        "objectType": "Agent",
        "name": client.name,
        "account": {
            "homePage": conf.get("LEARNING_XAPI_ACCOUNT_HOMEPAGE").rstrip("/") + "/xapi/clients",
            "name": client.key,
        },
    }


def caller_for(client: LrsClient, scopes: list[str] | None = None) -> Caller:
    """The caller a client acts as (with the token's scopes if given, else the client's)."""
    granted = frozenset(scopes if scopes is not None else (client.scopes or []))
    return Caller(
        client=client,
        org_id=client.org_id,
        org_path=client.org.path,
        scopes=granted,
        authority=client_authority(client),
    )


def system_caller(*, org_id: int, org_path: str) -> Caller:
    """The caller the platform's own event writers act as, for an org."""
    return Caller(
        client=None,
        org_id=org_id,
        org_path=org_path,
        scopes=frozenset({LrsScope.ALL}),
        authority={
            "objectType": "Agent",
            "name": "Shuyuan",
            "account": {
                "homePage": conf.get("LEARNING_XAPI_ACCOUNT_HOMEPAGE"),
                "name": "system",
            },
        },
    )


def _failure_key(kind: str, value: str) -> str:
    return f"xapi:fail:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def throttled(key: str, ip: str | None) -> bool:
    """True if too many failed attempts came for this key or from this IP lately."""
    return any(
        int(cache.get(_failure_key(kind, value)) or 0) >= FAILURE_LIMIT * (5 if kind == "ip" else 1)
        for kind, value in (("key", key), ("ip", ip or ""))
        if value
    )


def _count_failure(key: str, ip: str | None) -> None:
    for kind, value in (("key", key), ("ip", ip or "")):
        if not value:
            continue
        name = _failure_key(kind, value)
        if cache.add(name, 1, FAILURE_WINDOW_SECONDS):
            continue
        try:
            cache.incr(name)
        except ValueError:
            cache.set(name, 1, FAILURE_WINDOW_SECONDS)


def check_client(key: str, secret: str, *, ip: str | None = None) -> LrsClient | None:
    """The active client with this key and secret, or ``None`` (also when throttled)."""
    if not key or len(key) > 64 or len(secret) > 200 or throttled(key, ip):
        return None
    client: LrsClient | None = LrsClient.objects.filter(key=key).select_related("org").first()
    expected = client.secret_hash if client else hash_secret(secrets.token_urlsafe(8))
    ok = hmac.compare_digest(expected, hash_secret(secret))
    if client is None or not ok or not client.is_active:
        _count_failure(key, ip)
        return None
    return client


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``(key, secret)`` from an ``Authorization: Basic`` header, or ``None``."""
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else ("", "")


def authenticate_header(header: str, *, ip: str | None = None) -> Caller | None:
    """The caller for an ``Authorization`` header (Basic or Bearer), or ``None``."""
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer":
        token = value.strip()
        if not token or len(token) > 200:
            return None
        row = (
            LrsToken.objects.filter(token_hash=hash_secret(token))
            .select_related("client", "client__org")
            .first()
        )
        if row is None or row.expires_at <= timezone.now() or not row.client.is_active:
            return None
        return caller_for(row.client, list(row.scopes))
    credentials = basic_credentials(header)
    if credentials is None:
        return None
    client = check_client(*credentials, ip=ip)
    return caller_for(client) if client else None


def grant_scopes(client: LrsClient, requested: str) -> list[str] | None:
    """Requested scopes (space- or comma-separated) within the client's, all of the client's
    if none are asked for; ``None`` if a requested one is unknown or not held."""
    held = [s for s in LrsScope.values if s in (client.scopes or [])]
    wanted = [s for s in requested.replace(",", " ").split() if s]
    if not wanted:
        return held or None
    if any(s not in held for s in wanted):
        return None
    return wanted


def issue_token(client: LrsClient, scopes: list[str]) -> tuple[str, LrsToken]:
    """A new bearer token (plain text, shown once) and its stored row."""
    token = secrets.token_urlsafe(32)
    row = LrsToken.objects.create(
        client=client,
        token_hash=hash_secret(token),
        scopes=scopes,
        expires_at=timezone.now() + dt.timedelta(seconds=conf.get("LEARNING_XAPI_TOKEN_SECONDS")),
    )
    return token, row
