"""Reads of LRS credentials for the portal."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound

from ..models import LrsClient
from ..permissions import can_manage_clients


def may_manage_clients(user: Any) -> bool:
    """True if ``user`` may issue LRS credentials somewhere (admins of an org subtree)."""
    return can_manage_clients(user)


def list_lrs_clients(user: Any) -> QuerySet[LrsClient]:
    """Clients of the orgs ``user`` administers, by name."""
    return LrsClient.objects.visible_to(user).select_related("org").order_by("name", "pk")


def access_lrs_client(user: Any, pk: int, action: str = "view") -> LrsClient:
    """One client ``user`` may ``action``; ``NotFound`` otherwise (never a 403)."""
    client: LrsClient | None = (
        LrsClient.objects.visible_to(user, action).select_related("org").filter(pk=pk).first()
    )
    if client is None:
        raise NotFound(_("No such LRS client."))
    return client
