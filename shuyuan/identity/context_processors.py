"""Template context for every portal page: the main navigation for the signed-in user's roles.

The menu is built lazily (only when a template shows it) from the user's role assignments,
which ``User.role_assignments_cached`` loads once per request. URLs are reversed when the menu
is built, and an entry whose URL does not exist (an app not installed yet) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from shuyuan.core.scoping import has_permission

from . import permissions
from .models import Role


@dataclass
class NavItem:
    """One menu entry; ``children`` makes it a group (rendered as a disclosure)."""

    key: str
    label: str
    url: str = ""
    active: bool = False
    children: list[NavItem] = field(default_factory=list)


#: Roles that see the registry's data catalog (``registry.permissions.CATALOG_VIEW_ROLES``;
#: identity sits below registry, so the set is repeated here).
CATALOG_ROLES = frozenset(
    {Role.REGION_ADMIN, Role.SCHOOL_ADMIN, Role.AUDITOR, Role.SECURITY_OFFICER}
)

#: Roles that see the registry's records and quality pages (``registry.permissions``'s
#: ``VIEW_RECORD_ROLES``, ``QUALITY_VIEW_ROLES`` and ``MANAGE_ROLES``; repeated likewise).
BASE_DATA_RECORD_ROLES = frozenset(
    {
        Role.REGION_ADMIN,
        Role.SCHOOL_ADMIN,
        Role.TEACHER,
        Role.HEAD_TEACHER,
        Role.SECURITY_OFFICER,
        Role.AUDITOR,
    }
)
BASE_DATA_QUALITY_ROLES = frozenset({Role.REGION_ADMIN, Role.SCHOOL_ADMIN, Role.AUDITOR})

#: Roles of the resources app (``resources.permissions``: ``SUBMIT_ROLES``, ``REVIEW_ROLES``,
#: ``STAFF_ROLES``; repeated here because identity sits below resources).
RESOURCE_SUBMIT_ROLES = frozenset(
    {Role.REGION_ADMIN, Role.SCHOOL_ADMIN, Role.TEACHER, Role.HEAD_TEACHER}
)
RESOURCE_REVIEW_ROLES = frozenset({Role.RESOURCE_REVIEWER})
RESOURCE_STAFF_ROLES = frozenset({Role.REGION_ADMIN, Role.SCHOOL_ADMIN, Role.RESOURCE_REVIEWER})
BASE_DATA_MANAGE_ROLES = frozenset({Role.REGION_ADMIN, Role.SCHOOL_ADMIN})


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _is_active(path: str, url: str) -> bool:
    if url == "/":
        return path == "/"
    return path.startswith(url)


def build_navigation(request: HttpRequest) -> list[NavItem]:
    """The menu for ``request.user``: each entry only for the roles that can use its page."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        return []
    roles = user.roles  # type: ignore[union-attr]  # authenticated: our User
    platform_admin = Role.PLATFORM_ADMIN in roles
    sees_people = platform_admin or bool(roles & permissions.VIEW_PEOPLE_ROLES)
    entries: list[tuple[str, str, str, bool]] = [
        ("home", "identity:home", _("Home"), True),
        ("orgs", "core:org_list", _("Organisations"), bool(roles)),
        ("accounts", "identity:user_list", _("Accounts"), sees_people),
        ("role_policy", "identity:role_policy", _("Login policies"), platform_admin),
        (
            "catalog",
            "registry:dataset_list",
            _("Data catalog"),
            platform_admin or bool(roles & CATALOG_ROLES),
        ),
        (
            "changelog",
            "core:changelog",
            _("Change log"),
            has_permission(user, "core.view_changelog"),
        ),
        (
            "audit_events",
            "core:audit_events",
            _("Audit log"),
            has_permission(user, "core.view_audit_events"),
        ),
    ]
    path = request.path
    items: list[NavItem] = []
    for key, name, label, shown in entries:
        url = _url(name) if shown else None
        if url:
            items.append(NavItem(key, label, url))
    # The longest matching URL is the current section (so /orgs/changelog/ is not "Organisations").
    matches = [item for item in items if _is_active(path, item.url)]
    if matches:
        max(matches, key=lambda item: len(item.url)).active = True
    base_data: list[NavItem] = []
    for key, name, label, shown in (
        ("people", "registry:person_list", _("People"), bool(roles & BASE_DATA_RECORD_ROLES)),
        ("classes", "registry:class_list", _("Classes"), bool(roles & BASE_DATA_RECORD_ROLES)),
        (
            "quality",
            "registry:quality_report",
            _("Data quality"),
            bool(roles & BASE_DATA_QUALITY_ROLES),
        ),
        (
            "duplicates",
            "registry:candidate_list",
            _("Duplicate review"),
            bool(roles & BASE_DATA_MANAGE_ROLES),
        ),
        (
            "authorities",
            "registry:authority_list",
            _("Survivorship rules"),
            bool(roles & BASE_DATA_MANAGE_ROLES),
        ),
    ):
        url = _url(name) if (shown or platform_admin) else None
        if url:
            base_data.append(NavItem(key, label, url, active=_is_active(path, url)))
    if base_data:
        items.append(
            NavItem(
                "base_data",
                _("Base data"),
                active=any(child.active for child in base_data),
                children=base_data,
            )
        )
    resources = _resource_items(roles, platform_admin, path)
    if resources:
        items.append(
            NavItem(
                "resources",
                _("Resources"),
                active=any(child.active for child in resources),
                children=resources,
            )
        )
    learning = _learning_items(roles, platform_admin, path)
    if learning:
        items.append(
            NavItem(
                "learning",
                _("Learning"),
                active=any(child.active for child in learning),
                children=learning,
            )
        )
    exams = _exam_items(roles, platform_admin, path)
    if exams:
        items.append(
            NavItem(
                "exams",
                _("Exams"),
                active=any(child.active for child in exams),
                children=exams,
            )
        )
    account: list[NavItem] = []
    for key, name, label in (
        ("mfa_setup", "identity:mfa_setup", _("Two-step sign-in")),
        ("sessions", "identity:sessions", _("Signed-in devices")),
        ("tokens", "identity:tokens", _("API tokens")),
        ("password_change", "identity:password_change", _("Change password")),
    ):
        url = _url(name)
        if url:
            account.append(NavItem(key, label, url, active=_is_active(path, url)))
    if account:
        items.append(
            NavItem(
                "account",
                _("My account"),
                active=any(child.active for child in account),
                children=account,
            )
        )
    return items


def _entries(entries: tuple[tuple[str, str, Any, bool], ...], path: str) -> list[NavItem]:
    """The shown entries of a menu group (key, URL name, label, shown), with the longest one
    whose URL ``path`` is under marked current."""
    items: list[NavItem] = []
    for key, name, label, shown in entries:
        url = _url(name) if shown else None
        if url:
            items.append(NavItem(key, label, url))
    matches = [item for item in items if _is_active(path, item.url)]
    if matches:
        max(matches, key=lambda item: len(item.url)).active = True
    return items


def _learning_items(roles: set[str], platform_admin: bool, path: str) -> list[NavItem]:
    """The learning group: one's own space for everyone, the teaching space for teachers, the
    children's view for parents, LRS credentials for administrators."""
    entries = (
        ("my_space", "learning:space_home", _("My space"), True),
        (
            "teaching_space",
            "learning:teach_home",
            _("Teaching space"),
            bool(roles & {Role.TEACHER, Role.HEAD_TEACHER}),
        ),
        ("children", "learning:children", _("My children's learning"), Role.PARENT in roles),
        (
            "lrs_clients",
            "learning:client_list",
            _("LRS clients"),
            platform_admin or bool(roles & BASE_DATA_MANAGE_ROLES),
        ),
    )
    return _entries(entries, path)


def _exam_items(roles: set[str], platform_admin: bool, path: str) -> list[NavItem]:
    """The exams group: sitting, "what to learn next" and one's diagnosis for students; the
    item bank, papers, marking and diagnosis for teachers."""
    student = Role.STUDENT in roles
    teacher = bool(roles & {Role.TEACHER, Role.HEAD_TEACHER})
    entries = (
        ("my_exams", "learning:my_exams", _("My exams"), student),
        ("learn_next", "learning:learn_next", _("What to learn next"), student),
        ("my_diagnosis", "learning:diagnosis_me", _("My diagnosis"), student),
        ("item_bank", "learning:item_list", _("Item bank"), teacher),
        ("papers", "learning:paper_list", _("Papers and exams"), teacher),
        ("marking", "learning:marking_queue", _("Marking"), teacher),
        ("diagnosis", "learning:diagnosis_home", _("Diagnosis"), teacher or platform_admin),
    )
    return _entries(entries, path)


def _resource_items(roles: set[str], platform_admin: bool, path: str) -> list[NavItem]:
    """The resources group: search and the graph for everyone, the rest by role. Every page
    sits under /resources/, so only the longest matching entry is marked current."""
    entries = (
        ("resource_search", "resources:search_home", _("Find resources"), True),
        ("resource_for_you", "resources:eval_for_you", _("Suggested for me"), True),
        ("knowledge_graph", "resources:graph_index", _("Knowledge graph"), True),
        (
            "my_resources",
            "resources:submit_mine",
            _("My resources"),
            bool(roles & RESOURCE_SUBMIT_ROLES),
        ),
        (
            "review_queue",
            "resources:review_queue",
            _("Review queue"),
            bool(roles & RESOURCE_REVIEW_ROLES),
        ),
        (
            "reviewer_assignments",
            "resources:review_assignments",
            _("Reviewer assignments"),
            bool(roles & BASE_DATA_MANAGE_ROLES),
        ),
        (
            "moderation",
            "resources:eval_moderation",
            _("Comment moderation"),
            bool(roles & RESOURCE_STAFF_ROLES),
        ),
        (
            "retirement",
            "resources:eval_retirement",
            _("Retirement"),
            bool(roles & RESOURCE_STAFF_ROLES),
        ),
        (
            "sensitive_words",
            "resources:submit_words",
            _("Sensitive words"),
            Role.REGION_ADMIN in roles,
        ),
    )
    items: list[NavItem] = []
    for key, name, label, shown in entries:
        url = _url(name) if (shown or platform_admin) else None
        if url:
            items.append(NavItem(key, label, url))
    matches = [item for item in items if _is_active(path, item.url)]
    if matches:
        max(matches, key=lambda item: len(item.url)).active = True
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    """``nav_items``: the main menu, computed only if the page renders it."""
    return {"nav_items": SimpleLazyObject(lambda: build_navigation(request))}
