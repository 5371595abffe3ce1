"""Provider pages: my resources, submitting a resource, managing its versions, the staff file
download, and the sensitive-word list.

Thin views: reads through ``queries.resources`` (``visible_to``; invisible is a 404), writes
through ``actions.submission`` / ``actions.words``. Invalid input re-renders the form with 422;
success redirects with 303.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core.errors import NotFound, PermissionDenied
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.scoping import can, has_permission
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from ..actions import submission as actions
from ..actions import words as word_actions
from ..choices import ResourceStatus, ReviewStage, VersionStatus
from ..forms import ResourceForm, VersionForm, WordListForm
from ..models import ResourceVersion
from ..queries import resources as queries

PER_PAGE = 25


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied()


@login_required
@http_errors
def mine(request: HttpRequest) -> HttpResponse:
    """The resources the user submitted, with the state of their latest version."""
    user: Any = request.user
    page = Paginator(queries.list_my_resources(user), PER_PAGE).get_page(request.GET.get("page"))
    for row in page.object_list:
        status, stage = row.latest_status, row.latest_stage
        row.latest_status_label = VersionStatus(status).label if status else ""
        row.latest_stage_label = ReviewStage(stage).label if stage else ""
    context = {"page": page, "can_create": actions.submit_orgs(user).exists()}
    return render_page(request, "resources/submission/mine.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def create(request: HttpRequest) -> HttpResponse:
    """Submit a new resource: its provider, metadata and file (invalid: 422)."""
    user: Any = request.user
    orgs = actions.submit_orgs(user)
    _require(orgs.exists())
    bound = request.method == "POST"
    top = orgs.first()  # tree order: the widest org, e.g. a teacher's school
    form = ResourceForm(
        request.POST if bound else None,
        request.FILES if bound else None,
        user=user,
        orgs=orgs,
        initial={"org": top.pk if top is not None else None},
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            resource = actions.create_resource(
                actor=user,
                org=data["org"],
                provider_kind=data["provider_kind"],
                provider_name=data["provider_name"],
                upload=data.get("file"),
                change_note=data.get("change_note") or "",
                **form.metadata(),
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request, _("The resource was saved as a draft. Check it, then submit it.")
            )
            return see_other(request, reverse("resources:submit_manage", args=[resource.pk]))
    status = 422 if form.is_bound else 200
    return render_page(
        request, "resources/submission/form.html", {"form": form, "version": None}, status=status
    )


def _manage_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    user: Any = request.user
    resource = queries.access_resource(user, pk, "staff_view")
    versions = list(queries.resource_versions(user, resource))
    latest = versions[0] if versions else None
    can_change = can(user, "change", resource)
    unfinished = any(v.status in actions.UNFINISHED for v in versions)
    return {
        "resource": resource,
        "versions": versions,
        "latest": latest,
        "findings": list(queries.version_findings(user, latest)) if latest else [],
        "can_change": can_change,
        "can_edit": can_change
        and latest is not None
        and latest.status in {VersionStatus.DRAFT, VersionStatus.REJECTED},
        "can_submit": can_change and latest is not None and latest.status == VersionStatus.DRAFT,
        "can_withdraw": can_change and latest is not None and latest.status in actions.UNFINISHED,
        "can_new_version": can_change
        and not unfinished
        and resource.status != ResourceStatus.RETIRED
        and has_permission(user, "resources.submit"),
    }


@login_required
@http_errors
def manage(request: HttpRequest, pk: int) -> HttpResponse:
    """A resource's versions with status and review stage, the latest version's audit findings,
    and the actions the user may take."""
    return render_page(request, "resources/submission/manage.html", _manage_context(request, pk))


def _editable_version(request: HttpRequest, pk: int) -> ResourceVersion:
    version = queries.access_version(request.user, pk)
    _require(can(request.user, "change", version))
    return version


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a draft or rejected version (a rejected one becomes a draft again)."""
    user: Any = request.user
    version = _editable_version(request, pk)
    if version.status not in {VersionStatus.DRAFT, VersionStatus.REJECTED}:
        messages.error(request, _("Only a draft or a rejected version can be edited."))
        return see_other(request, reverse("resources:submit_manage", args=[version.resource_id]))
    bound = request.method == "POST"
    form = VersionForm(
        request.POST if bound else None,
        request.FILES if bound else None,
        user=user,
        initial=VersionForm.initial_for(version),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_version(
                actor=user,
                version=version,
                upload=data.get("file"),
                change_note=data.get("change_note") or "",
                **form.metadata(),
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
            version = queries.access_version(user, pk)
        else:
            messages.success(request, _("The draft was saved."))
            return see_other(
                request, reverse("resources:submit_manage", args=[version.resource_id])
            )
    status = 422 if form.is_bound else 200
    return render_page(
        request, "resources/submission/form.html", {"form": form, "version": version}, status=status
    )


def _after_action(
    request: HttpRequest, version: ResourceVersion, fn: Any, done: str
) -> HttpResponse:
    try:
        fn(actor=request.user, version=version)
    except FORM_ERRORS as exc:
        details = "; ".join(e.message for e in exc.errors if e.message != exc.message)
        messages.error(request, f"{exc.message} {details}".strip())
    else:
        messages.success(request, done)
    return see_other(request, reverse("resources:submit_manage", args=[version.resource_id]))


@login_required
@require_POST
@http_errors
def version_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit a draft: the automatic check runs, then the version goes to review."""
    version = _editable_version(request, pk)
    return _after_action(
        request,
        version,
        actions.submit_version,
        _("The version was submitted. The automatic check runs first; then it goes to review."),
    )


@login_required
@require_POST
@http_errors
def version_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a draft or a version in review."""
    version = _editable_version(request, pk)
    return _after_action(
        request, version, actions.withdraw_version, _("The version was withdrawn.")
    )


@login_required
@require_POST
@http_errors
def new_version(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the next version as a copy of the latest, then edit it."""
    user: Any = request.user
    resource = queries.access_resource(user, pk, "staff_view")
    _require(can(user, "change", resource))
    try:
        version = actions.new_version(actor=user, resource=resource)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
        return see_other(request, reverse("resources:submit_manage", args=[pk]))
    messages.success(
        request, _("Version %(n)d was started as a copy of the latest one.") % {"n": version.number}
    )
    return see_other(request, reverse("resources:submit_version_edit", args=[version.pk]))


@login_required
def version_file(request: HttpRequest, pk: int) -> FileResponse:
    """The file of any version, for its submitter, admins and reviewers: always an attachment
    with the type the audit detected, never rendered by the browser."""
    try:
        version = queries.access_version(request.user, pk, "staff_view")
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not version.file or not version.file.storage.exists(version.file.name):
        raise Http404(_("This version has no file."))
    response = FileResponse(
        version.file.storage.open(version.file.name, "rb"),
        as_attachment=True,
        filename=version.file_name or "resource",
        content_type=version.mime_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def words(request: HttpRequest) -> HttpResponse:
    """Versions of the sensitive-word list, and a form for a new version."""
    user: Any = request.user
    _require(has_permission(user, "resources.manage_word_list"))
    lists = queries.list_word_lists(user)
    active = lists.filter(active=True).first()
    form = WordListForm(
        request.POST if request.method == "POST" else None,
        initial={"words": active.words if active else "", "activate": True},
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = word_actions.create_word_list(
                actor=user, words_text=data["words"], note=data["note"], activate=data["activate"]
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(n)d of the list was saved (%(count)d words).")
                % {"n": created.version, "count": created.word_count},
            )
            return see_other(request, reverse("resources:submit_words"))
    page = Paginator(lists, PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "active": active}
    status = 422 if form.is_bound else 200
    return render_page(request, "resources/submission/words.html", context, status=status)


@login_required
@require_POST
@http_errors
def words_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a version of the list the active one."""
    user: Any = request.user
    _require(has_permission(user, "resources.manage_word_list"))
    word_list = queries.access_word_list(user, pk)
    word_actions.activate_word_list(actor=user, word_list=word_list)
    messages.success(request, _("Version %(n)d is now the active list.") % {"n": word_list.version})
    return see_other(request, reverse("resources:submit_words"))


urlpatterns: list[URLPattern] = [
    path("mine/", mine, name="submit_mine"),
    path("new/", create, name="submit_create"),
    path("<int:pk>/manage/", manage, name="submit_manage"),
    path("<int:pk>/new-version/", new_version, name="submit_new_version"),
    path("versions/<int:pk>/edit/", version_edit, name="submit_version_edit"),
    path("versions/<int:pk>/submit/", version_submit, name="submit_version_submit"),
    path("versions/<int:pk>/withdraw/", version_withdraw, name="submit_version_withdraw"),
    path("versions/<int:pk>/file/", version_file, name="submit_version_file"),
    path("words/", words, name="submit_words"),
    path("words/<int:pk>/activate/", words_activate, name="submit_words_activate"),
]
