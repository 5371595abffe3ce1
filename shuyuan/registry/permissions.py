"""Who may see and change registry data: the only place the registry interprets roles.

Every registry row belongs to an org (a school for people, classes and enrolments; the batch's
org for imports and findings), and access is by org subtree, deny by default:

=======================  ======================  =====================  ======================
rows                     view                    change                 other
=======================  ======================  =====================  ======================
records (people, ...)    platform; region,       platform; region and   ``reveal_pii``: same
                         school admins, teachers, school admins          as change
                         head teachers, security
                         officers, auditors
imports, findings,       platform; region and    platform; region and   auditors view findings
duplicates, merges       school admins           school admins
sources                  platform; admins        platform; region admins
field authorities        platform; admins        platform; top-level region admins
datasets                 any admin or auditor    platform; admins of the dataset's subtree
API clients              platform; admins of     same
                         the client's org
access requests          admins of the client's  admins of the dataset's subtree (decide)
                         or the dataset's org
access log               admins and auditors of the dataset's subtree
=======================  ======================  =====================  ======================

A person is in a subtree if their primary org is, or they hold a role at an org in it (a
teacher who teaches at two schools is visible to both).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce
from typing import Any

from django.db.models import Q

from shuyuan.core.scoping import ALL, register_permission, register_scope_rule
from shuyuan.identity.models import Role as R  # noqa: N817  # short alias keeps rules readable
from shuyuan.identity.queries import role_paths

from . import models as m

MANAGE_ROLES = frozenset({R.REGION_ADMIN, R.SCHOOL_ADMIN})
VIEW_RECORD_ROLES = frozenset(
    {R.REGION_ADMIN, R.SCHOOL_ADMIN, R.TEACHER, R.HEAD_TEACHER, R.SECURITY_OFFICER, R.AUDITOR}
)
QUALITY_VIEW_ROLES = frozenset({R.REGION_ADMIN, R.SCHOOL_ADMIN, R.AUDITOR})
CATALOG_VIEW_ROLES = frozenset({R.REGION_ADMIN, R.SCHOOL_ADMIN, R.AUDITOR, R.SECURITY_OFFICER})


def _prefix(field: str, paths: list[str]) -> Q | None:
    if not paths:
        return None
    return reduce(operator.or_, (Q(**{f"{field}__startswith": p}) for p in paths))


def _rule(
    field: str, view_roles: frozenset[str], change_roles: frozenset[str] = MANAGE_ROLES
) -> Callable[[Any, str], Any]:
    """A rule scoping rows by ``field`` (an org path lookup) for view and change."""

    def rule(user: Any, action: str) -> Any:
        if user.is_platform_admin:
            return ALL if action in {"view", "change", "reveal_pii"} else None
        if action == "view":
            return _prefix(field, role_paths(user, view_roles))
        if action in {"change", "reveal_pii"}:
            return _prefix(field, role_paths(user, change_roles))
        return None

    return rule


def person_rule(user: Any, action: str) -> Any:
    if user.is_platform_admin:
        return ALL if action in {"view", "change", "reveal_pii"} else None
    if action == "view":
        paths = role_paths(user, VIEW_RECORD_ROLES)
    elif action in {"change", "reveal_pii"}:
        paths = role_paths(user, MANAGE_ROLES)
    else:
        return None
    primary = _prefix("primary_org__path", paths)
    if primary is None:
        return None
    with_role = m.PersonRole.objects.filter(_prefix("org__path", paths)).values("person_id")
    return primary | Q(pk__in=with_role)


def source_rule(user: Any, action: str) -> Any:
    if user.is_platform_admin:
        return ALL if action in {"view", "change"} else None
    if action == "view":
        return ALL if role_paths(user, MANAGE_ROLES) else None
    if action == "change":
        return _prefix("org__path", role_paths(user, frozenset({R.REGION_ADMIN})))
    return None


def _top_region_admin(user: Any) -> bool:
    return any(
        a.role == R.REGION_ADMIN and a.org is not None and a.org.depth == 0
        for a in user.role_assignments_cached()
    )


def authority_rule(user: Any, action: str) -> Any:
    if user.is_platform_admin:
        return ALL if action in {"view", "change"} else None
    if action == "view":
        return ALL if role_paths(user, MANAGE_ROLES) else None
    if action == "change":
        return ALL if _top_region_admin(user) else None
    return None


def dataset_rule(user: Any, action: str) -> Any:
    if user.is_platform_admin:
        return ALL if action in {"view", "change"} else None
    if action == "view":
        return ALL if role_paths(user, CATALOG_VIEW_ROLES) else None
    if action == "change":
        return _prefix("org__path", role_paths(user, MANAGE_ROLES))
    return None


def access_request_rule(user: Any, action: str) -> Any:
    if user.is_platform_admin:
        return ALL if action in {"view", "change"} else None
    paths = role_paths(user, MANAGE_ROLES)
    decide = _prefix("dataset__org__path", paths)
    if action == "view":
        mine = _prefix("client__org__path", paths)
        present = [q for q in (decide, mine) if q is not None]
        return reduce(operator.or_, present) if present else None
    if action == "change":
        return decide
    return None


def can_configure_authorities(user: Any) -> bool:
    return bool(user.is_platform_admin) or _top_region_admin(user)


def can_import(user: Any) -> bool:
    return bool(user.is_platform_admin) or bool(role_paths(user, MANAGE_ROLES))


def register() -> None:
    """Connect the rules to core's scoped querysets (called from ``RegistryConfig.ready``)."""
    records = _rule("org__path", VIEW_RECORD_ROLES)
    register_scope_rule(m.OrgRecord, records)
    register_scope_rule(m.AcademicSession, records)
    register_scope_rule(m.Course, records)
    register_scope_rule(m.RosterClass, _rule("school__path", VIEW_RECORD_ROLES))
    register_scope_rule(m.Person, person_rule)
    register_scope_rule(m.PersonRole, records)
    register_scope_rule(m.Enrollment, _rule("school__path", VIEW_RECORD_ROLES))
    register_scope_rule(m.Guardianship, _rule("student__primary_org__path", VIEW_RECORD_ROLES))
    register_scope_rule(m.ImportBatch, _rule("org__path", MANAGE_ROLES))
    register_scope_rule(m.Finding, _rule("org__path", QUALITY_VIEW_ROLES))
    register_scope_rule(m.MatchCandidate, _rule("org__path", MANAGE_ROLES))
    register_scope_rule(m.Merge, _rule("survivor__primary_org__path", MANAGE_ROLES))
    register_scope_rule(m.SourceSystem, source_rule)
    register_scope_rule(m.FieldAuthority, authority_rule)
    register_scope_rule(m.Dataset, dataset_rule)
    register_scope_rule(m.ApiClient, _rule("org__path", MANAGE_ROLES))
    register_scope_rule(m.AccessRequest, access_request_rule)
    register_scope_rule(
        m.AccessLog, _rule("org_path", frozenset({*MANAGE_ROLES, R.AUDITOR}), frozenset())
    )
    register_permission("registry.import", can_import)
    register_permission("registry.configure_authorities", can_configure_authorities)
