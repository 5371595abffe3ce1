"""Read functions for accounts and roles; always through ``visible_to``."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core import validators
from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org

from .actions import id_number_index, mobile_index
from .models import ApiToken, RoleAssignment, RolePolicy, User, UserSession


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
    qs: QuerySet[User] = User.objects.visible_to(user, action).select_related("home_org")
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
    found: User | None = (
        User.objects.visible_to(user, action).select_related("home_org").filter(pk=pk).first()
    )
    if found is None:
        raise NotFound(_("Account not found."), code="ACCOUNT_NOT_FOUND")
    return found


def list_role_assignments(
    user: Any, *, subject: User | None = None, role: str = "", org: Org | None = None
) -> QuerySet[RoleAssignment]:
    qs: QuerySet[RoleAssignment] = RoleAssignment.objects.visible_to(user).select_related(
        "user", "org", "child"
    )
    if subject is not None:
        qs = qs.filter(user=subject)
    if role:
        qs = qs.filter(role=role)
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    return qs.order_by("user__username", "role", "id")


def access_role_assignment(user: Any, pk: int, action: str = "view") -> RoleAssignment:
    found: RoleAssignment | None = (
        RoleAssignment.objects.visible_to(user, action)
        .select_related("user", "org", "child")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Role assignment not found."), code="ROLE_ASSIGNMENT_NOT_FOUND")
    return found


def list_role_policies(user: Any) -> QuerySet[RolePolicy]:
    """Stored per-role login policies ``user`` may read (roles without a row use the defaults)."""
    return RolePolicy.objects.visible_to(user).order_by("role")


def list_sessions(user: Any) -> QuerySet[UserSession]:
    """``user``'s own live sessions (not revoked, active within the session lifetime), most
    recently used first. Nobody lists another person's sessions."""
    if user is None or not getattr(user, "is_authenticated", False):
        return UserSession.objects.none()
    since = timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return UserSession.objects.filter(
        user_id=user.pk, revoked_at__isnull=True, last_seen_at__gte=since
    ).order_by("-last_seen_at", "-pk")


def access_session(user: Any, pk: int) -> UserSession:
    """``user``'s own live session ``pk``; anyone else's (or a revoked one) is ``NotFound``."""
    found = list_sessions(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Session not found."), code="SESSION_NOT_FOUND")
    return found


def list_api_tokens(user: Any) -> QuerySet[ApiToken]:
    """``user``'s own personal API tokens, newest first (revoked and expired ones included)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")


def access_api_token(user: Any, pk: int) -> ApiToken:
    """``user``'s own API token ``pk``; anyone else's is ``NotFound``."""
    found = list_api_tokens(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("API token not found."), code="API_TOKEN_NOT_FOUND")
    return found


def role_paths(user: Any, roles: frozenset[str] | set[str] | None = None) -> list[str]:
    """Org-subtree paths where ``user`` holds one of ``roles`` (any role if ``None``), nested
    paths collapsed. Higher apps build their own row rules on this."""
    from .permissions import _paths

    return _paths(user, frozenset(roles) if roles is not None else None)
