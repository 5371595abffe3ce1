"""Issuing, rotating and deactivating LRS credentials (``LrsClient``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context
from shuyuan.core.errors import PermissionDenied, invalid
from shuyuan.core.models import Org
from shuyuan.identity.queries import role_paths

from ..choices import LrsScope
from ..models import LrsClient
from ..permissions import ADMIN_ROLES
from ..xapi.auth import hash_secret, new_secret


def _check_org(actor: Any, org: Org) -> None:
    allowed = (
        getattr(actor, "is_system_actor", False)
        or getattr(actor, "is_platform_admin", False)
        or any(org.path.startswith(p) for p in role_paths(actor, ADMIN_ROLES))
    )
    if not allowed:
        raise PermissionDenied(_("You cannot issue LRS credentials for this organisation."))


def _clean_scopes(scopes: Iterable[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(scopes or [LrsScope.ALL]))
    unknown = [s for s in chosen if s not in LrsScope.values]
    if unknown or not chosen:
        raise invalid("scopes", "INVALID_CHOICE", _("Choose one or more known scopes."))
    return chosen


def create_lrs_client(
    *,
    actor: Any,
    name: str,
    org: Org,
    scopes: Iterable[str] | None = None,
    key: str | None = None,
    secret: str | None = None,
    source: str = "ui",
) -> tuple[LrsClient, str]:
    """Issue a credential limited to ``org``'s subtree; returns the client and its secret
    (shown once). ``key``/``secret`` may be given by commands that set up a known client.

    Raises ``PermissionDenied`` unless ``actor`` administers ``org``; ``ValidationError`` for
    an empty name or unknown scopes. Writes ``learning.lrs_client.created``.
    """
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise invalid("name", "REQUIRED", _("Give the client a name of at most 120 characters."))
    chosen = _clean_scopes(scopes)
    _check_org(actor, org)
    key = key or "lrs_" + secrets.token_hex(8)
    secret = secret or new_secret()
    if LrsClient.objects.filter(key=key).exists():
        raise invalid("key", "DUPLICATE", _("Another client has this key."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        client = LrsClient(
            name=name,
            key=key,
            secret_hash=hash_secret(secret),
            org=org,
            scopes=chosen,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        client.save(force_insert=True)
        record_audit(
            "learning.lrs_client.created",
            actor=actor,
            subject=client,
            org_path=org.path,
            extra={"key": key, "scopes": chosen},
        )
    return client, secret


def rotate_lrs_client_secret(*, actor: Any, client: LrsClient, source: str = "ui") -> str:
    """Give ``client`` a new secret (returned once); the old one stops working at once.

    Writes ``learning.lrs_client.rotated``.
    """
    _check_org(actor, client.org)
    secret = new_secret()
    with transaction.atomic(), change_context(actor=actor, source=source):
        client.secret_hash = hash_secret(secret)
        client.save(update_fields=["secret_hash"])
        client.tokens.all().delete()
        record_audit(
            "learning.lrs_client.rotated",
            actor=actor,
            subject=client,
            org_path=client.org.path,
            extra={"key": client.key},
        )
    return secret


def set_lrs_client_active(
    *, actor: Any, client: LrsClient, active: bool, source: str = "ui"
) -> LrsClient:
    """Deactivate (or reactivate) a client; its tokens die with deactivation.

    Writes ``learning.lrs_client.deactivated`` or ``learning.lrs_client.activated``.
    """
    _check_org(actor, client.org)
    with transaction.atomic(), change_context(actor=actor, source=source):
        client.is_active = active
        client.save(update_fields=["is_active"])
        if not active:
            client.tokens.all().delete()
        record_audit(
            "learning.lrs_client.activated" if active else "learning.lrs_client.deactivated",
            actor=actor,
            subject=client,
            org_path=client.org.path,
            extra={"key": client.key},
        )
    return client
