"""Portal views for everyone's home page and for account and role administration.

Thin views: reads through ``identity.queries`` / ``core.queries`` (all built on ``visible_to``),
writes through ``identity.actions``. An account the user may not see is a 404; an action the
user may not take on an account they can see is a 403. Invalid input re-renders the form with
status 422 (only the form's partial for htmx); success redirects with 303 (``HX-Redirect``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core import queries as core_queries
from shuyuan.core.errors import PermissionDenied, ShuyuanError
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.scoping import can, has_permission
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from .. import actions, permissions, queries
from ..actions import auth as auth_actions
from ..actions.accounts import DEFAULT_MFA_ROLES
from ..forms.accounts import (
    GrantRoleForm,
    RevealForm,
    RolePolicyForm,
    UserCreateForm,
    UserEditForm,
    UserSearchForm,
)
from ..models import Role, RoleAssignment, User

USERS_PER_PAGE = 25
HOME_LIST_SIZE = 5
HISTORY_SHOWN = 20
LIST_DEFERRED = ("password", "id_number_cipher", "mobile_cipher", "totp_secret_cipher")

ADMIN_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.REGION_ADMIN, Role.SCHOOL_ADMIN})
TEACHING_ROLES = frozenset({Role.TEACHER, Role.HEAD_TEACHER})
OVERSIGHT_ROLES = frozenset({Role.SECURITY_OFFICER, Role.AUDITOR})


def _can_administer(user: Any) -> bool:
    """May ``user`` register accounts and grant roles somewhere?"""
    return bool(user.is_platform_admin or permissions.manage_paths(user))


# --- home --------------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in user's home page: their roles, then one panel per kind of role they hold."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    assignments = user.role_assignments_cached()
    roles = user.roles
    context: dict[str, Any] = {"assignments": assignments, "roles": roles}
    if roles & ADMIN_ROLES:
        context["admin_panel"] = {
            "org_count": core_queries.list_orgs(user).count(),
            "account_count": queries.list_users(user).count(),
            "can_create_region": user.is_platform_admin,
        }
    if roles & TEACHING_ROLES:
        people = queries.list_users(user)
        context["teaching_panel"] = {
            "assignments": [a for a in assignments if a.role in TEACHING_ROLES],
            "accounts": list(people[:HOME_LIST_SIZE]),
            "account_count": people.count(),
        }
    if Role.STUDENT in roles:
        context["student_panel"] = {
            "assignments": [a for a in assignments if a.role == Role.STUDENT],
        }
    if Role.PARENT in roles:
        context["parent_panel"] = {
            "assignments": [a for a in assignments if a.role == Role.PARENT and a.child],
        }
    if roles & OVERSIGHT_ROLES:
        panel: dict[str, Any] = {
            "can_verify": has_permission(user, "core.verify_changelog"),
        }
        if has_permission(user, "core.view_audit_events"):
            panel["events"] = list(core_queries.list_audit_events(user)[:HOME_LIST_SIZE])
        if has_permission(user, "core.view_changelog"):
            panel["records"] = list(core_queries.list_change_records(user)[:HOME_LIST_SIZE])
        context["oversight_panel"] = panel
    context["reviewer_panel"] = Role.RESOURCE_REVIEWER in roles
    return render_page(request, "identity/home.html", context)


# --- accounts ----------------------------------------------------------------------------------


@login_required
@http_errors
def user_list(request: HttpRequest) -> HttpResponse:
    """Accounts the user may see: search, filters, sort, 25 a page (htmx: #results).

    A fixed number of queries whatever the page holds: the count, the page (with the home org
    joined) and one query for the roles of the page's accounts that the user may see.
    """
    user = request.user
    form = UserSearchForm(request.GET, orgs=core_queries.list_orgs(user))
    filters = form.filters()
    sort = filters.pop("sort")
    accounts = queries.list_users(user, **filters)
    if sort == "-username":
        accounts = accounts.order_by("-username")
    # A list never shows ciphertext or hashes: keep them in the database.
    accounts = accounts.defer(*LIST_DEFERRED)
    visible_roles = queries.list_role_assignments(user).select_related(None).select_related("org")
    accounts = accounts.prefetch_related(
        Prefetch("role_assignments", queryset=visible_roles, to_attr="visible_roles")
    )
    page = Paginator(accounts, USERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "sort": sort,
        "can_create": _can_administer(user),
    }
    return render_page(request, "identity/user_list.html", context, partial="results")


def _detail_context(request: HttpRequest, subject: User, **extra: Any) -> dict[str, Any]:
    actor: Any = request.user
    can_change = can(actor, "change", subject)
    assignments = list(queries.list_role_assignments(actor, subject=subject))
    revocable = {
        a.pk
        for a in assignments
        if permissions.can_grant(actor, a.role, a.org) and can(actor, "change", a)
    }
    context: dict[str, Any] = {
        "subject": subject,
        "assignments": assignments,
        "revocable": revocable,
        "can_change": can_change,
        "can_reveal": can(actor, "reveal_pii", subject),
        "history": list(
            core_queries.record_timeline(actor, User._meta.label_lower, str(subject.pk))[
                :HISTORY_SHOWN
            ]
        ),
        "revealed": {},
        "temporary_password": "",
        "action_error": "",
        "error_section": "",
    }
    if _can_administer(actor):
        context["grant_form"] = GrantRoleForm(
            orgs=core_queries.list_orgs(actor, action="change"),
            platform_roles=actor.is_platform_admin,
        )
    context.update(extra)
    return context


@never_cache
@login_required
@http_errors
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: masked personal data, roles, administration buttons, history."""
    subject = queries.access_user(request.user, pk)
    return render_page(request, "identity/user_detail.html", _detail_context(request, subject))


@never_cache
@login_required
@require_POST
@http_errors
def user_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one personal data field in full, once, in this response (audited by the action)."""
    subject = queries.access_user(request.user, pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        context = _detail_context(
            request, subject, action_error=_("Choose what to reveal."), error_section="pii"
        )
        return render_page(request, "identity/user_detail.html", context, partial="pii", status=422)
    field = form.cleaned_data["field"]
    value = actions.reveal_pii(actor=request.user, user=subject, field=field)
    context = _detail_context(request, subject, revealed={field: value})
    return render_page(request, "identity/user_detail.html", context, partial="pii")


@never_cache
@login_required
@require_POST
@http_errors
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue a temporary password and show it once; the account must change it at sign-in."""
    subject = queries.access_user(request.user, pk)
    temporary = actions.reset_password(actor=request.user, user=subject)
    context = _detail_context(request, subject, temporary_password=temporary)
    return render_page(request, "identity/user_detail.html", context, partial="admin-actions")


@login_required
@require_POST
@http_errors
def user_reset_mfa(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch off the account's second factor after a lost device; it enrols again at sign-in
    (and must, where its role requires MFA)."""
    actor: Any = request.user
    subject = queries.access_user(actor, pk)
    auth_actions.disable_mfa(actor=actor, user=subject)
    messages.success(
        request, _("Multi-factor sign-in was reset. The account enrols again at its next sign-in.")
    )
    return see_other(request, reverse("identity:user_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate or deactivate an account (deactivating also ends its sessions)."""
    subject = queries.access_user(request.user, pk)
    is_active = request.POST.get("is_active") == "1"
    try:
        actions.update_user(actor=request.user, user=subject, is_active=is_active)
    except FORM_ERRORS as exc:
        subject = queries.access_user(request.user, pk)
        context = _detail_context(
            request, subject, action_error=exc.message, error_section="admin-actions"
        )
        return render_page(
            request, "identity/user_detail.html", context, partial="admin-actions", status=422
        )
    if is_active:
        messages.success(request, _("The account was activated."))
    else:
        messages.success(request, _("The account was deactivated and its sessions ended."))
    return see_other(request, reverse("identity:user_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def role_grant(request: HttpRequest, pk: int) -> HttpResponse:
    """Grant a role to the account (invalid: 422 with #grant-form)."""
    actor: Any = request.user
    subject = queries.access_user(actor, pk)
    form = GrantRoleForm(
        request.POST,
        orgs=core_queries.list_orgs(actor, action="change"),
        platform_roles=actor.is_platform_admin,
    )
    if form.is_valid():
        data = form.cleaned_data
        child = None
        if data["child"]:
            child = (
                queries.list_users(actor, q=data["child"]).filter(username=data["child"]).first()
            )
            if child is None:
                form.add_error("child", _("No account with this name is visible to you."))
        if form.is_valid():
            try:
                actions.grant_role(
                    actor=actor, user=subject, role=data["role"], org=data["org"], child=child
                )
            except ShuyuanError as exc:
                # A refusal to grant this role on this org is an answer about the input,
                # so it is shown on the form like the other errors.
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("The role was granted."))
                return see_other(request, reverse("identity:user_detail", args=[pk]))
    context = _detail_context(request, subject, grant_form=form)
    return render_page(
        request, "identity/user_detail.html", context, partial="grant-form", status=422
    )


@login_required
@require_POST
@http_errors
def role_revoke(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    """Revoke one of the account's role assignments (the change log keeps it)."""
    subject = queries.access_user(request.user, pk)
    assignment: RoleAssignment = queries.access_role_assignment(request.user, assignment_pk)
    if assignment.user_id != subject.pk:
        raise Http404
    try:
        actions.revoke_role(actor=request.user, assignment=assignment)
    except FORM_ERRORS as exc:
        context = _detail_context(request, subject, action_error=exc.message, error_section="roles")
        return render_page(
            request, "identity/user_detail.html", context, partial="roles", status=422
        )
    messages.success(request, _("The role was revoked."))
    return see_other(request, reverse("identity:user_detail", args=[pk]))


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def user_create(request: HttpRequest) -> HttpResponse:
    """Register a new account under an org the user manages (invalid: 422 with #user-form)."""
    actor: Any = request.user
    if not _can_administer(actor):
        raise PermissionDenied()
    form = UserCreateForm(
        request.POST if request.method == "POST" else None,
        orgs=core_queries.list_orgs(actor, action="change"),
        org_required=not actor.is_platform_admin,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = actions.create_user(
                actor=actor,
                username=data["username"],
                real_name=data["real_name"],
                home_org=data["home_org"],
                id_number=data["id_number"] or None,
                mobile=data["mobile"] or None,
                email=data["email"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                _("The account was created. Issue a temporary password so it can sign in."),
            )
            return see_other(request, reverse("identity:user_detail", args=[created.pk]))
    context = {"form": form, "subject": None}
    status = 422 if form.is_bound else 200
    return render_page(
        request, "identity/user_form.html", context, partial="user-form", status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct an account's real-name data (invalid: 422 with #user-form)."""
    actor: Any = request.user
    subject = queries.access_user(actor, pk)
    if not can(actor, "change", subject):
        raise PermissionDenied()
    form = UserEditForm(
        request.POST if request.method == "POST" else None,
        orgs=core_queries.list_orgs(actor, action="change"),
        org_required=not actor.is_platform_admin,
        initial={
            "real_name": subject.real_name,
            "home_org": subject.home_org_id,
            "email": subject.email,
        },
    )
    if form.is_valid():
        data = form.cleaned_data
        changes: dict[str, Any] = form.pii_changes()
        if data["home_org"] != subject.home_org:
            changes["home_org"] = data["home_org"]
        try:
            actions.update_user(
                actor=actor,
                user=subject,
                real_name=data["real_name"],
                email=data["email"],
                **changes,
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
            # The action may have changed the instance before it refused; show the stored one.
            subject = queries.access_user(actor, pk)
        else:
            messages.success(request, _("The account was saved."))
            return see_other(request, reverse("identity:user_detail", args=[pk]))
    context = {"form": form, "subject": subject}
    status = 422 if form.is_bound else 200
    return render_page(
        request, "identity/user_form.html", context, partial="user-form", status=status
    )


# --- login policies ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def role_policy(request: HttpRequest) -> HttpResponse:
    """Platform admins choose which roles must sign in with a second factor."""
    actor: Any = request.user
    if not actor.is_platform_admin:
        raise PermissionDenied()
    stored = dict(queries.list_role_policies(actor).values_list("role", "mfa_required"))
    current = {role: stored.get(role, role in DEFAULT_MFA_ROLES) for role in Role.values}
    form = RolePolicyForm(request.POST if request.method == "POST" else None, current=current)
    if form.is_valid():
        for role, required in form.changed_roles(current).items():
            actions.set_role_policy(actor=actor, role=role, mfa_required=required)
        messages.success(request, _("The login policies were saved."))
        return see_other(request, reverse("identity:role_policy"))
    rows = [
        {
            "field": form[role],
            "default": role in DEFAULT_MFA_ROLES,
            "overridden": role in stored,
        }
        for role in Role.values
    ]
    context = {"form": form, "rows": rows}
    status = 422 if form.is_bound else 200
    return render_page(request, "identity/role_policy.html", context, status=status)


urlpatterns = [
    path("", home, name="home"),
    path("accounts/", user_list, name="user_list"),
    path("accounts/new/", user_create, name="user_create"),
    path("accounts/role-policies/", role_policy, name="role_policy"),
    path("accounts/<int:pk>/", user_detail, name="user_detail"),
    path("accounts/<int:pk>/edit/", user_edit, name="user_edit"),
    path("accounts/<int:pk>/reveal/", user_reveal, name="user_reveal"),
    path("accounts/<int:pk>/reset-password/", user_reset_password, name="user_reset_password"),
    path("accounts/<int:pk>/active/", user_set_active, name="user_set_active"),
    path("accounts/<int:pk>/reset-mfa/", user_reset_mfa, name="user_reset_mfa"),
    path("accounts/<int:pk>/roles/grant/", role_grant, name="role_grant"),
    path("accounts/<int:pk>/roles/<int:assignment_pk>/revoke/", role_revoke, name="role_revoke"),
]
