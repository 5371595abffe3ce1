"""Portal views of the core app: the org tree, the change log, the audit log and the error pages.

Also the few helpers every app's portal views share (``http_errors``, ``render_page``,
``see_other``), so each page handles htmx, 404s and 303s the same way (STYLE.md §4).

Views are thin: they read through ``queries`` and write through ``actions``. Non-row permissions
(verifying the change log, opening the audit log) are asked of ``core.scoping.has_permission``;
``identity`` registers who holds them, because ``core`` must not import ``identity``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from . import actions, queries
from .changelog import verify_changelog
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .forms import (
    AuditEventFilterForm,
    ChangeRecordFilterForm,
    OrgCreateForm,
    OrgEditForm,
    OrgMoveForm,
    OrgSearchForm,
    add_domain_errors,
)
from .models import ALLOWED_PARENTS, Org
from .scoping import can, has_permission

ORGS_PER_PAGE = 50
RECORDS_PER_PAGE = 25
CHILDREN_SHOWN = 50
HISTORY_SHOWN = 50

View = Callable[..., HttpResponse]

#: Domain errors a form shows (422). ``NotFound`` and ``PermissionDenied`` become 404 and 403.
FORM_ERRORS = (InvalidInput, Conflict)


# --- helpers shared by every app's portal views ------------------------------------------------


def http_errors(view: View) -> View:
    """Turn ``NotFound`` into a 404 and ``PermissionDenied`` into a 403.

    An invisible row raises ``NotFound`` in its query, so it is a 404 that never confirms the row
    exists; ``PermissionDenied`` comes from actions on rows the user may see.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def wants_partial(request: HttpRequest, partial: str) -> bool:
    """True if htmx asked to refresh the element with id ``partial`` (its partial's name)."""
    htmx = getattr(request, "htmx", None)
    if htmx is None or not htmx:
        return False
    return not htmx.boosted and htmx.target == partial


def render_page(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template_name``, or only its ``{% partialdef partial %}`` when htmx targets the
    element of that id (by convention the element and its partial share the name)."""
    if partial is not None and wants_partial(request, partial):
        template_name = f"{template_name}#{partial}"
    response = render(request, template_name, context, status=status)
    if partial is not None:
        # The same URL answers with a page or a fragment: caches must tell them apart.
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def see_other(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful POST: a 303 to ``url``, or ``HX-Redirect`` for htmx."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def require_permission(request: HttpRequest, name: str) -> None:
    """Raise ``PermissionDenied`` unless the user holds the non-row permission ``name``."""
    if not has_permission(request.user, name):
        raise PermissionDenied()


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "").strip()
    return int(value) if value.isdigit() else None


# --- org tree ----------------------------------------------------------------------------------


@login_required
@http_errors
def org_list(request: HttpRequest) -> HttpResponse:
    """The orgs the user may see, in tree order; searchable, filterable, paged (htmx: #results)."""
    form = OrgSearchForm(request.GET)
    q = kind = ""
    if form.is_valid():
        q, kind = form.cleaned_data["q"], form.cleaned_data["kind"]
    parent_pk = _int_param(request, "parent")
    parent = queries.access_org(request.user, parent_pk) if parent_pk else None
    orgs = queries.list_orgs(request.user, q=q, kind=kind, parent=parent)
    page = Paginator(orgs, ORGS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "parent": parent,
        "base_depth": min((org.depth for org in rows), default=0),
        "can_create_region": bool(getattr(request.user, "is_platform_admin", False)),
    }
    return render_page(request, "core/org_list.html", context, partial="results")


def _org_detail_context(
    request: HttpRequest,
    org: Org,
    *,
    edit_form: OrgEditForm | None = None,
    move_form: OrgMoveForm | None = None,
) -> dict[str, Any]:
    user = request.user
    can_change = can(user, "change", org)
    # Only the ancestors the user may see: a school admin's breadcrumb starts at the school.
    ancestors = list(queries.list_orgs(user).filter(pk__in=org.ancestors().values("pk")))
    children = queries.list_orgs(user, parent=org)
    child_rows = list(children[: CHILDREN_SHOWN + 1])
    context: dict[str, Any] = {
        "org": org,
        "ancestors": ancestors,
        "children": child_rows[:CHILDREN_SHOWN],
        "more_children": len(child_rows) > CHILDREN_SHOWN,
        "history": list(queries.org_history(user, org).order_by("-seq")[:HISTORY_SHOWN]),
        "can_change": can_change,
        "can_add_child": can_change and any(org.kind in p for p in ALLOWED_PARENTS.values()),
    }
    if can_change:
        context["edit_form"] = edit_form or OrgEditForm(org=org)
        if org.parent_id is not None:
            context["move_form"] = move_form or OrgMoveForm(
                parents=queries.list_orgs(user, action="change"),
                initial={"parent": org.parent_id},
            )
    return context


@login_required
@http_errors
def org_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One org: codes, breadcrumb, children, history; edit and move forms when permitted."""
    org = queries.access_org(request.user, pk)
    return render(request, "core/org_detail.html", _org_detail_context(request, org))


@login_required
@require_POST
@http_errors
def org_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename an org, correct its codes or (de)activate it (invalid: 422 with #edit-form)."""
    org = queries.access_org(request.user, pk)
    form = OrgEditForm(request.POST, org=org)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_org(
                actor=request.user,
                org=org,
                name=data["name"],
                division_code=data.get("division_code"),
                credit_code=data.get("credit_code") if "credit_code" in form.fields else None,
                is_active=data["is_active"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The organisation was saved."))
            return see_other(request, reverse("core:org_detail", args=[org.pk]))
    # The action may have changed the instance before it refused; show the stored org.
    org = queries.access_org(request.user, pk)
    context = _org_detail_context(request, org, edit_form=form)
    return render_page(request, "core/org_detail.html", context, partial="edit-form", status=422)


@login_required
@require_POST
@http_errors
def org_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an org and its subtree under a new parent (a cycle is refused: ``ORG_CYCLE``)."""
    org = queries.access_org(request.user, pk)
    form = OrgMoveForm(request.POST, parents=queries.list_orgs(request.user, action="change"))
    if form.is_valid():
        try:
            actions.move_org(actor=request.user, org=org, new_parent=form.cleaned_data["parent"])
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The organisation was moved."))
            return see_other(request, reverse("core:org_detail", args=[org.pk]))
    org = queries.access_org(request.user, pk)
    context = _org_detail_context(request, org, move_form=form)
    return render_page(request, "core/org_detail.html", context, partial="move-form", status=422)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def org_create(request: HttpRequest) -> HttpResponse:
    """A new org under ``?parent=<id>`` (or a region, for platform admins)."""
    parent_pk = _int_param(request, "parent")
    parent = queries.access_org(request.user, parent_pk) if parent_pk else None
    if parent is None and request.GET.get("parent"):
        raise Http404
    allowed = (
        can(request.user, "change", parent)
        if parent
        else bool(getattr(request.user, "is_platform_admin", False))
    )
    if not allowed:
        raise PermissionDenied()
    parent_kind = parent.kind if parent else None
    kinds = [kind for kind, parents in ALLOWED_PARENTS.items() if parent_kind in parents]
    form = OrgCreateForm(request.POST if request.method == "POST" else None, kinds=kinds)
    if form.is_valid():
        data = form.cleaned_data
        try:
            org = actions.create_org(
                actor=request.user,
                kind=data["kind"],
                name=data["name"],
                parent=parent,
                division_code=data["division_code"],
                credit_code=data["credit_code"] or None,
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The organisation was created."))
            return see_other(request, reverse("core:org_detail", args=[org.pk]))
    context = {"form": form, "parent": parent, "kinds": kinds}
    status = 422 if form.is_bound else 200
    return render_page(request, "core/org_form.html", context, partial="org-form", status=status)


# --- change log and audit log ------------------------------------------------------------------


@login_required
@http_errors
def changelog(request: HttpRequest) -> HttpResponse:
    """Change records the user may read, newest first, with before/after diffs (htmx: #results).

    Needs ``core.view_changelog``.
    """
    require_permission(request, "core.view_changelog")
    form = ChangeRecordFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    records = queries.list_change_records(
        request.user,
        target_type=filters.get("target_type", ""),
        actor=filters.get("actor", ""),
    )
    page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "can_verify": has_permission(request.user, "core.verify_changelog"),
    }
    return render_page(request, "core/changelog.html", context, partial="results")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def changelog_verify(request: HttpRequest) -> HttpResponse:
    """POST walks the whole hash chain and reports whether it holds, or the first bad entry.

    Needs ``core.verify_changelog`` (it reads every record, so only platform-wide roles hold it).
    """
    require_permission(request, "core.verify_changelog")
    result = verify_changelog() if request.method == "POST" else None
    return render_page(
        request, "core/changelog_verify.html", {"result": result}, partial="verify-result"
    )


@login_required
@http_errors
def audit_events(request: HttpRequest) -> HttpResponse:
    """Audit events the user may read, newest first (htmx: #results).

    Needs ``core.view_audit_events`` (security officers, auditors, platform and region admins).
    """
    require_permission(request, "core.view_audit_events")
    form = AuditEventFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    events = queries.list_audit_events(
        request.user, code=filters.get("code", ""), actor=filters.get("actor", "")
    )
    page = Paginator(events, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request, "core/audit_events.html", {"form": form, "page": page}, partial="results"
    )


# --- error pages (handler403 / handler404 in shuyuan.urls) --------------------------------------


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 403 page; shows the domain error's message when there is one."""
    reason = str(exception) if exception is not None else ""
    return render(request, "403.html", {"reason": reason}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page (the same for a missing row and one the user may not see)."""
    return render(request, "404.html", {}, status=404)
