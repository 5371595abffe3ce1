"""Portal pages of the data catalog: datasets, API clients, access requests, the access log.

Thin views: reads through ``registry.queries.catalog`` (built on ``visible_to``), writes through
``registry.actions.catalog``. A row the user cannot see is a 404; an action they may not take
on a row they can see is a 403; a page of a kind they have no part in (a teacher opening the
catalog) is a 403. Invalid input re-renders the form with 422 (only its partial for htmx);
success redirects with 303, except where a client secret is shown once: that page is the POST's
own response and is never cached.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core import queries as core_queries
from shuyuan.core.errors import PermissionDenied
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.scoping import can
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other
from shuyuan.identity import queries as identity_queries

from ..actions import catalog as actions
from ..choices import SharingLevel
from ..forms import (
    AccessLogFilterForm,
    AccessRequestForm,
    ClientForm,
    DatasetFilterForm,
    DatasetForm,
    DecisionForm,
    RequestFilterForm,
)
from ..models import AccessRequest, Dataset
from ..queries import catalog as queries

DATASETS_PER_PAGE = 25
CLIENTS_PER_PAGE = 25
REQUESTS_PER_PAGE = 25
LOG_PER_PAGE = 50
DETAIL_REQUESTS_SHOWN = 50
DETAIL_LOG_SHOWN = 20
EXPORT_LIMIT = 50_000
#: Characters a spreadsheet reads as the start of a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied()


# --- datasets ----------------------------------------------------------------------------------


@login_required
@http_errors
def dataset_list(request: HttpRequest) -> HttpResponse:
    """The catalog: datasets with scope, collections, level and consumers (htmx: #results)."""
    user: Any = request.user
    _require(queries.can_browse_catalog(user))
    form = DatasetFilterForm(request.GET, orgs=core_queries.list_orgs(user))
    datasets = queries.list_datasets(user, **form.filters())
    page = Paginator(datasets, DATASETS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "can_create": core_queries.list_orgs(user, action="change").exists(),
        "can_manage_clients": queries.can_manage_clients(user),
        "can_use_requests": queries.can_use_requests(user),
        "can_read_log": queries.can_read_access_log(user),
    }
    return render_page(request, "registry/dataset_list.html", context, partial="results")


def _dataset_context(
    request: HttpRequest, dataset: Dataset, request_form: AccessRequestForm | None = None
) -> dict[str, Any]:
    user: Any = request.user
    can_change = can(user, "change", dataset)
    requests = list(
        queries.list_access_requests(user, box="all", dataset=dataset)[:DETAIL_REQUESTS_SHOWN]
    )
    context: dict[str, Any] = {
        "dataset": dataset,
        "can_change": can_change,
        "requests": requests,
        "decidable": {r.pk for r in requests if can_change},
        "log": list(queries.list_access_log(user, dataset=dataset)[:DETAIL_LOG_SHOWN]),
        "can_read_log": queries.can_read_access_log(user),
        "consumer_count": queries.count_consumers(dataset),
    }
    if dataset.sharing_level == SharingLevel.CONDITIONAL:
        clients = queries.requestable_clients(user)
        if request_form is not None or clients.exists():
            context["request_form"] = request_form or AccessRequestForm(clients=clients)
    return context


@login_required
@http_errors
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One dataset: its facts, requests (with decisions for stewards), recent access log."""
    dataset = queries.access_dataset(request.user, pk)
    return render_page(request, "registry/dataset_detail.html", _dataset_context(request, dataset))


def _steward(request: HttpRequest, form: DatasetForm) -> tuple[bool, Any]:
    """Resolve the steward's account name among the accounts the user may see."""
    name = form.cleaned_data.get("steward") or ""
    if not name:
        return True, None
    found = identity_queries.list_users(request.user, q=name).filter(username=name).first()
    if found is None:
        form.add_error("steward", _("No account with this name is visible to you."))
        return False, None
    return True, found


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def dataset_create(request: HttpRequest) -> HttpResponse:
    """Publish a dataset for an org the user may change (invalid: 422 with #dataset-form)."""
    user: Any = request.user
    orgs = core_queries.list_orgs(user, action="change")
    _require(queries.can_browse_catalog(user) and orgs.exists())
    form = DatasetForm(request.POST if request.method == "POST" else None, orgs=orgs)
    if form.is_valid():
        ok, steward = _steward(request, form)
        if ok:
            data = form.cleaned_data
            try:
                dataset = actions.create_dataset(
                    actor=user,
                    code=data["code"],
                    title=data["title"],
                    description=data["description"],
                    org=data["org"],
                    entity_types=data["entity_types"],
                    includes_demographics=data["includes_demographics"],
                    sharing_level=data["sharing_level"],
                    steward=steward,
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("The dataset was published in the catalog."))
                return see_other(request, reverse("registry:dataset_detail", args=[dataset.pk]))
    context = {"form": form, "dataset": None}
    status = 422 if form.is_bound else 200
    return render_page(
        request, "registry/dataset_form.html", context, partial="dataset-form", status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def dataset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a dataset the user may change; making it not shared closes its requests."""
    user: Any = request.user
    dataset = queries.access_dataset(user, pk)
    _require(can(user, "change", dataset))
    form = DatasetForm(
        request.POST if request.method == "POST" else None,
        orgs=core_queries.list_orgs(user, action="change"),
        initial=DatasetForm.initial_for(dataset),
    )
    if form.is_valid():
        ok, steward = _steward(request, form)
        if ok:
            data = form.cleaned_data
            try:
                actions.update_dataset(
                    actor=user,
                    dataset=dataset,
                    code=data["code"],
                    title=data["title"],
                    description=data["description"],
                    org=data["org"],
                    entity_types=data["entity_types"],
                    includes_demographics=data["includes_demographics"],
                    sharing_level=data["sharing_level"],
                    steward=steward,
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
                dataset = queries.access_dataset(user, pk)
            else:
                messages.success(request, _("The dataset was saved."))
                return see_other(request, reverse("registry:dataset_detail", args=[pk]))
    context = {"form": form, "dataset": dataset}
    status = 422 if form.is_bound else 200
    return render_page(
        request, "registry/dataset_form.html", context, partial="dataset-form", status=status
    )


@login_required
@require_POST
@http_errors
def access_request_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Request access to the dataset for one of the user's clients (422 with #request-form)."""
    user: Any = request.user
    dataset = queries.access_dataset(user, pk)
    clients = queries.requestable_clients(user)
    _require(queries.can_manage_clients(user))
    form = AccessRequestForm(request.POST, clients=clients)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.request_access(
                actor=user,
                dataset=dataset,
                client=data["client"],
                purpose=data["purpose"],
                valid_until=data["valid_until"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The request was sent to the dataset's stewards."))
            return see_other(request, reverse("registry:dataset_detail", args=[pk]))
    context = _dataset_context(request, dataset, request_form=form)
    return render_page(
        request, "registry/dataset_detail.html", context, partial="request-form", status=422
    )


# --- access requests ---------------------------------------------------------------------------


@login_required
@http_errors
def access_request_list(request: HttpRequest) -> HttpResponse:
    """Incoming requests (to decide) or outgoing ones (made for the user's clients)."""
    user: Any = request.user
    _require(queries.can_use_requests(user))
    form = RequestFilterForm(request.GET)
    filters = form.filters()
    rows = queries.list_access_requests(user, **filters)
    page = Paginator(rows, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    incoming = filters["box"] == "incoming"
    context = {
        "form": form,
        "page": page,
        "box": filters["box"],
        # Incoming rows are exactly those the user may decide.
        "decidable": {r.pk for r in page.object_list} if incoming else set(),
    }
    return render_page(request, "registry/access_requests.html", context, partial="results")


def _decide(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user: Any = request.user
    access_request: AccessRequest = queries.access_access_request(user, pk)
    _require(can(user, "change", access_request))
    form = DecisionForm(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            if verb == "approve":
                actions.approve_access_request(
                    actor=user,
                    request=access_request,
                    valid_until=data["valid_until"],
                    note=data["note"],
                )
                messages.success(request, _("The request was approved."))
            elif verb == "reject":
                actions.reject_access_request(actor=user, request=access_request, note=data["note"])
                messages.success(request, _("The request was rejected."))
            else:
                actions.revoke_access_request(actor=user, request=access_request, note=data["note"])
                messages.success(request, _("The approval was revoked."))
        except FORM_ERRORS as exc:
            error = exc.message
            status = exc.status
        else:
            target = request.POST.get("next") or ""
            if target != "dataset":
                return see_other(request, reverse("registry:access_request_list"))
            return see_other(
                request, reverse("registry:dataset_detail", args=[access_request.dataset_id])
            )
    else:
        error = _("Check the date and the note.")
        status = 422
    access_request = queries.access_access_request(user, pk)
    context = {"access_request": access_request, "form": form, "error": error}
    return render_page(request, "registry/access_decision.html", context, status=status)


@login_required
@require_POST
@http_errors
def access_request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """A steward approves a pending request (optionally shortening its period)."""
    return _decide(request, pk, "approve")


@login_required
@require_POST
@http_errors
def access_request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """A steward rejects a pending request with a note."""
    return _decide(request, pk, "reject")


@login_required
@require_POST
@http_errors
def access_request_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """A steward revokes an approval."""
    return _decide(request, pk, "revoke")


# --- API clients -------------------------------------------------------------------------------


@login_required
@http_errors
def client_list(request: HttpRequest) -> HttpResponse:
    """API clients of the orgs the user administers (htmx: #results)."""
    user: Any = request.user
    _require(queries.can_manage_clients(user))
    clients = queries.list_clients(user)
    page = Paginator(clients, CLIENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render_page(request, "registry/client_list.html", {"page": page}, partial="results")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def client_create(request: HttpRequest) -> HttpResponse:
    """Register a client; the response shows its secret once (invalid: 422 #client-form)."""
    user: Any = request.user
    _require(queries.can_manage_clients(user))
    form = ClientForm(
        request.POST if request.method == "POST" else None,
        orgs=core_queries.list_orgs(user, action="change"),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            client, secret = actions.register_client(
                actor=user, name=data["name"], org=data["org"], scopes=data["scopes"]
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            context = {"client": client, "secret": secret, "created": True}
            return render_page(request, "registry/client_secret.html", context, status=201)
    status = 422 if form.is_bound else 200
    return render_page(
        request, "registry/client_form.html", {"form": form}, partial="client-form", status=status
    )


@login_required
@http_errors
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One client: its facts, scopes, requests and the datasets it reads."""
    user: Any = request.user
    client = queries.access_client(user, pk)
    context = {
        "client": client,
        "can_change": can(user, "change", client),
        "requests": list(
            queries.list_access_requests(user, box="all", client=client)[:DETAIL_REQUESTS_SHOWN]
        ),
        "datasets": list(queries.readable_datasets(client)[:DETAIL_REQUESTS_SHOWN]),
    }
    return render_page(request, "registry/client_detail.html", context)


@never_cache
@login_required
@require_POST
@http_errors
def client_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the client a new secret, shown once; its tokens stop working."""
    user: Any = request.user
    client = queries.access_client(user, pk)
    try:
        client, secret = actions.rotate_client_secret(actor=user, client=client)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
        return see_other(request, reverse("registry:client_detail", args=[pk]))
    context = {"client": client, "secret": secret, "created": False}
    return render_page(request, "registry/client_secret.html", context)


@login_required
@require_POST
@http_errors
def client_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch the client off; its tokens are revoked."""
    user: Any = request.user
    client = queries.access_client(user, pk)
    actions.deactivate_client(actor=user, client=client)
    messages.success(request, _("The client was deactivated and its tokens revoked."))
    return see_other(request, reverse("registry:client_detail", args=[pk]))


# --- access log --------------------------------------------------------------------------------


def _log_form(request: HttpRequest) -> AccessLogFilterForm:
    user: Any = request.user
    _require(queries.can_read_access_log(user))
    return AccessLogFilterForm(request.GET, datasets=queries.list_datasets(user))


@login_required
@http_errors
def access_log(request: HttpRequest) -> HttpResponse:
    """Reads by consumers in the user's subtrees, filtered and paged (htmx: #results)."""
    form = _log_form(request)
    entries = queries.list_access_log(request.user, **form.filters())
    page = Paginator(entries, LOG_PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page}
    return render_page(request, "registry/access_log.html", context, partial="results")


def neutralise(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ tab or
    CR gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


@login_required
@http_errors
def access_log_export(request: HttpRequest) -> HttpResponse:
    """The filtered access log as CSV (at most ``EXPORT_LIMIT`` rows), audited."""
    form = _log_form(request)
    entries = queries.list_access_log(request.user, **form.filters())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Time"),
            _("Client id"),
            _("Client"),
            _("Dataset"),
            _("Method"),
            _("Path"),
            _("Query"),
            _("Status"),
            _("Rows"),
            _("IP address"),
        ]
    )
    count = 0
    for entry in entries[:EXPORT_LIMIT]:
        writer.writerow(
            [
                neutralise(x)
                for x in (
                    timezone.localtime(entry.created_at).isoformat(),
                    entry.client.client_id,
                    entry.client.name,
                    entry.dataset.code if entry.dataset else "",
                    entry.method,
                    entry.path,
                    entry.query,
                    entry.status_code,
                    entry.rows,
                    entry.ip or "",
                )
            ]
        )
        count += 1
    actions.record_access_log_export(
        actor=request.user, filters=form.export_filters(), row_count=count
    )
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="access-log.csv"'
    return response


urlpatterns = [
    path("catalog/", dataset_list, name="dataset_list"),
    path("catalog/new/", dataset_create, name="dataset_create"),
    path("catalog/<int:pk>/", dataset_detail, name="dataset_detail"),
    path("catalog/<int:pk>/edit/", dataset_edit, name="dataset_edit"),
    path("catalog/<int:pk>/request/", access_request_create, name="access_request_create"),
    path("catalog/requests/", access_request_list, name="access_request_list"),
    path(
        "catalog/requests/<int:pk>/approve/", access_request_approve, name="access_request_approve"
    ),
    path("catalog/requests/<int:pk>/reject/", access_request_reject, name="access_request_reject"),
    path("catalog/requests/<int:pk>/revoke/", access_request_revoke, name="access_request_revoke"),
    path("catalog/access-log/", access_log, name="access_log"),
    path("catalog/access-log/export/", access_log_export, name="access_log_export"),
    path("clients/", client_list, name="client_list"),
    path("clients/new/", client_create, name="client_create"),
    path("clients/<int:pk>/", client_detail, name="client_detail"),
    path("clients/<int:pk>/rotate/", client_rotate, name="client_rotate"),
    path("clients/<int:pk>/deactivate/", client_deactivate, name="client_deactivate"),
]
