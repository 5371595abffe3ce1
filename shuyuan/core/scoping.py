"""Row-level access: one scoped queryset per model, deny by default.

Every scoped model's queryset has ``visible_to(user, action)``. The rule that decides which rows a
user may see lives in the app that understands roles (``identity.permissions``) and is registered
here at start-up, because ``core`` must not import higher apps. A model with no registered rule
shows nothing to anybody: forgetting a rule fails closed.

Permissions that are not about rows ("may verify the whole change log") are registered the same
way, by name (``register_permission``), and checked with ``has_permission``: an unregistered name
is denied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models

#: A rule returns a ``Q`` filter for the rows ``user`` may act on, ``ALL`` for every row, or
#: ``None`` for no row.
ALL = object()
Rule = Callable[[Any, str], Any]

_rules: dict[type[models.Model], Rule] = {}

_QS = TypeVar("_QS", bound="ScopedQuerySet")


def register_scope_rule(model: type[models.Model], rule: Rule) -> None:
    """Register the row filter for ``model`` (called from an AppConfig's ``ready()``)."""
    _rules[model] = rule


def scope_rule_for(model: type[models.Model]) -> Rule | None:
    for klass in model.__mro__:
        if klass in _rules:
            return _rules[klass]
    return None


class ScopedQuerySet(models.QuerySet[Any]):
    """A queryset that can be narrowed to the rows a user may act on."""

    def visible_to(self: _QS, user: Any, action: str = "view") -> _QS:
        """Rows ``user`` may ``action``; none for anonymous or inactive users or unknown models."""
        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        if not getattr(user, "is_active", False):
            return self.none()
        rule = scope_rule_for(self.model)
        if rule is None:
            return self.none()
        condition = rule(user, action)
        if condition is ALL:
            return self.all()
        if condition is None:
            return self.none()
        # Rules filter through single-valued relations or subqueries, never multi-valued joins,
        # so no DISTINCT is needed (it would slow down big lists).
        return self.filter(condition)


def can(user: Any, action: str, obj: models.Model) -> bool:
    """True if ``obj`` is among the rows ``user`` may ``action``."""
    manager = type(obj)._default_manager
    qs = manager.all()
    if not isinstance(qs, ScopedQuerySet):
        return False
    return qs.visible_to(user, action).filter(pk=obj.pk).exists()


# --- permissions that are not about rows -------------------------------------------------------

#: A check answers whether ``user`` holds a named, row-independent permission.
Check = Callable[[Any], bool]

_checks: dict[str, Check] = {}


def register_permission(name: str, check: Check) -> None:
    """Register the check for the permission ``name`` (called from an AppConfig's ``ready()``).

    Names are ``<app>.<verb>_<noun>``, e.g. ``core.verify_changelog``.
    """
    _checks[name] = check


def has_permission(user: Any, name: str) -> bool:
    """True if ``user`` holds ``name``; false for anonymous or inactive users and unknown names."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", False):
        return False
    check = _checks.get(name)
    return bool(check is not None and check(user))
