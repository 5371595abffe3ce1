"""Pages that issue and manage LRS credentials (administrators of an org subtree)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core import queries as core_queries
from shuyuan.core.errors import PermissionDenied
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from ..actions import clients as actions
from ..forms_clients import LrsClientForm
from ..queries import clients as queries

CLIENTS_PER_PAGE = 50


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied()


@login_required
@http_errors
def client_list(request: HttpRequest) -> HttpResponse:
    """LRS clients of the orgs the user administers (htmx: #results)."""
    user: Any = request.user
    _require(queries.may_manage_clients(user))
    page = Paginator(queries.list_lrs_clients(user), CLIENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render_page(request, "learning/client_list.html", {"page": page}, partial="results")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def client_create(request: HttpRequest) -> HttpResponse:
    """Issue a credential; the response shows its secret once (invalid: 422 #client-form)."""
    user: Any = request.user
    _require(queries.may_manage_clients(user))
    form = LrsClientForm(
        request.POST if request.method == "POST" else None,
        orgs=core_queries.list_orgs(user, action="change"),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            client, secret = actions.create_lrs_client(
                actor=user, name=data["name"], org=data["org"], scopes=data["scopes"]
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            context = {"client": client, "secret": secret, "created": True}
            return render_page(request, "learning/client_secret.html", context, status=201)
    status = 422 if form.is_bound else 200
    return render_page(
        request, "learning/client_form.html", {"form": form}, partial="client-form", status=status
    )


@login_required
@http_errors
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One client: its org, scopes, status and how to connect."""
    client = queries.access_lrs_client(request.user, pk)
    endpoint = request.build_absolute_uri("/xapi/")
    return render_page(
        request, "learning/client_detail.html", {"client": client, "endpoint": endpoint}
    )


@never_cache
@login_required
@require_POST
@http_errors
def client_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the client a new secret, shown once; its tokens stop working."""
    client = queries.access_lrs_client(request.user, pk, "change")
    secret = actions.rotate_lrs_client_secret(actor=request.user, client=client)
    context = {"client": client, "secret": secret, "created": False}
    return render_page(request, "learning/client_secret.html", context)


@login_required
@require_POST
@http_errors
def client_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate an active client (its tokens are revoked) or reactivate an inactive one."""
    client = queries.access_lrs_client(request.user, pk, "change")
    actions.set_lrs_client_active(actor=request.user, client=client, active=not client.is_active)
    if client.is_active:
        messages.success(request, _("The client was reactivated."))
    else:
        messages.success(request, _("The client was deactivated and its tokens revoked."))
    return see_other(request, reverse("learning:client_detail", args=[pk]))


urlpatterns = [
    path("lrs-clients/", client_list, name="client_list"),
    path("lrs-clients/new/", client_create, name="client_create"),
    path("lrs-clients/<int:pk>/", client_detail, name="client_detail"),
    path("lrs-clients/<int:pk>/rotate/", client_rotate, name="client_rotate"),
    path("lrs-clients/<int:pk>/toggle/", client_toggle, name="client_toggle"),
]
