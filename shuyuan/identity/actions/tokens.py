"""Personal API tokens: created once (shown once), stored as a keyed SM3 hash, revocable."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.errors import PermissionDenied, invalid

from ..models import ApiToken, User
from ..pii import pii_cipher

TOKEN_PREFIX = "sy_"  # noqa: S105  # a public prefix, not a secret
TOKEN_PURPOSE = "api_token"  # noqa: S105  # a hash domain label


def _hash(raw: str) -> str:
    return pii_cipher().blind_index(raw, TOKEN_PURPOSE)


def create_api_token(
    *, actor: User, name: str, expires_in_days: int | None = 90
) -> tuple[ApiToken, str]:
    """Create a token for ``actor`` itself; returns the row and the raw token (shown once).

    Writes ``identity.token.created``.
    """
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise invalid("name", "REQUIRED", _("Give the token a name of at most 100 characters."))
    if expires_in_days is not None and not 1 <= expires_in_days <= 366:
        raise invalid("expires_in_days", "OUT_OF_RANGE", _("A token expires after 1 to 366 days."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor,
            name=name,
            prefix=raw[:10],
            key_hash=_hash(raw),
            expires_at=(
                timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
            ),
        )
        record_audit(
            "identity.token.created",
            actor=actor,
            subject=actor,
            org_path=actor.changelog_org_path(),
            extra={"token": token.prefix, "name": name},
        )
    return token, raw


def revoke_api_token(*, actor: User, token: ApiToken) -> None:
    """Revoke one of ``actor``'s own tokens (platform admins may revoke anyone's)."""
    if token.user_id != actor.pk and not actor.is_platform_admin:
        raise PermissionDenied()
    if token.revoked_at is not None:
        return
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit(
            "identity.token.revoked",
            actor=actor,
            subject=token.user,
            org_path=token.user.changelog_org_path(),
            extra={"token": token.prefix},
        )


def authenticate_token(raw: Any) -> User | None:
    """The active user owning the live token ``raw``, or ``None``; records its last use."""
    if not isinstance(raw, str) or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(raw), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        token.last_used_at = now
        token.save(update_fields=["last_used_at"])
    return token.user
