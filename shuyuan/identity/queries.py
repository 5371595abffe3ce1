"""Read functions for accounts and roles; always through ``visible_to``."""

from __future__ import annotations

import contextlib
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core import validators
from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org

from .actions import id_number_index, mobile_index
from .models import RoleAssignment, User


def _identifier_filter(q: str) -> Q:
    """Search by account name prefix, real name, or exactly by mobile or ID number."""
    text = q.strip()[:64]
    condition = Q(username__istartswith=text) | Q(real_name__icontains=text)
    normalized = validators.normalize_identifier(text)
    with contextlib.suppress(validators.IdentifierError):
        condition |= Q(mobile_index=mobile_index(validators.validate_mobile(normalized)))
    with contextlib.suppress(validators.IdentifierError):
        condition |= Q(
            id_number_index=id_number_index(validators.validate_id_number(normalized).number)
        )
    return condition


def list_users(
    user: Any,
    *,
    q: str = "",
    role: str = "",
    org: Org | None = None,
    is_active: bool | None = None,
    action: str = "view",
) -> QuerySet[User]:
    """Accounts ``user`` may see; searched, filtered by role held and by org subtree."""
    qs = User.objects.visible_to(user, action).select_related("home_org")
    if q:
        qs = qs.filter(_identifier_filter(q))
    if role or org is not None:
        held = RoleAssignment.objects.all()
        if role:
            held = held.filter(role=role)
        if org is not None:
            held = held.filter(org__path__startswith=org.path)
        qs = qs.filter(pk__in=held.values("user_id"))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("username")


def access_user(user: Any, pk: int, action: str = "view") -> User:
    """The account ``pk`` if ``user`` may ``action`` it; otherwise ``NotFound``."""
    found = User.objects.visible_to(user, action).select_related("home_org").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Account not found."), code="ACCOUNT_NOT_FOUND")
    return found


def list_role_assignments(
    user: Any, *, subject: User | None = None, role: str = "", org: Org | None = None
) -> QuerySet[RoleAssignment]:
    qs = RoleAssignment.objects.visible_to(user).select_related("user", "org", "child")
    if subject is not None:
        qs = qs.filter(user=subject)
    if role:
        qs = qs.filter(role=role)
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    return qs.order_by("user__username", "role", "id")


def access_role_assignment(user: Any, pk: int, action: str = "view") -> RoleAssignment:
    found = (
        RoleAssignment.objects.visible_to(user, action)
        .select_related("user", "org", "child")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Role assignment not found."), code="ROLE_ASSIGNMENT_NOT_FOUND")
    return found
