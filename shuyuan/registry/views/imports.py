"""Portal pages of imports: the batch list, a new import (upload), a batch's page with a live
progress bar, resuming, the XLSX template, and the source-system register.

Thin views: reads through ``registry.queries.imports``, writes through
``registry.actions.imports``. An invisible batch is a 404; importing without the right is a 403.
Invalid input re-renders the form with 422 (only its partial for htmx); success redirects with
303. The progress region (``#progress``) polls itself every second while the batch runs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core.errors import PermissionDenied
from shuyuan.core.forms import OrgChoiceField, add_domain_errors
from shuyuan.core.scoping import can, has_permission
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from ..actions import imports as actions
from ..choices import BatchMode, BatchStatus, SourceKind
from ..importing.engine import effective_status
from ..importing.types import FILE_ORDER
from ..models import ImportBatch, SourceSystem
from ..queries import imports as queries

BATCHES_PER_PAGE = 25
SOURCES_PER_PAGE = 50
DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def max_upload_bytes() -> int:
    """``REGISTRY_MAX_UPLOAD_BYTES`` (default 2 GiB). Uploads above Django's
    ``FILE_UPLOAD_MAX_MEMORY_SIZE`` are streamed to a temporary file, never held in memory."""
    return int(getattr(settings, "REGISTRY_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def _require_import(user: Any) -> None:
    if not has_permission(user, "registry.import"):
        raise PermissionDenied()


def findings_url(batch: ImportBatch) -> str:
    """The batch's findings page, when the quality pages are installed."""
    try:
        return reverse("registry:batch_findings", args=[batch.pk])
    except NoReverseMatch:
        return ""


# --- forms -------------------------------------------------------------------------------------


class ImportForm(forms.Form):
    """A new import: source, org, file and (for files without a manifest) the mode."""

    source = forms.ModelChoiceField(
        label=gettext_lazy("Source system"), queryset=SourceSystem.objects.none()
    )
    org = OrgChoiceField(label=gettext_lazy("Organisation"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("A OneRoster 1.2 CSV bundle (zip) or the Excel template (xlsx)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.xlsx"}),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Mode"),
        choices=[("", gettext_lazy("As the file says")), *BatchMode.choices],
        required=False,
        help_text=gettext_lazy(
            "Bulk marks this source's records missing from the file as to be deleted."
        ),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = queries.list_sources(user).filter(is_active=True)  # type: ignore[attr-defined]  # ModelChoiceField
        self.fields["org"].set_queryset(queries.import_orgs(user))  # type: ignore[attr-defined]  # OrgChoiceField

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MiB.")
                % {"limit": max_upload_bytes() // (1024 * 1024)},
                code="FILE_TOO_LARGE",
            )
        return upload


class SourceForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=32)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=SourceKind.choices)
    id_prefix = forms.CharField(
        label=gettext_lazy("sourcedId prefix"),
        max_length=16,
        required=False,
        help_text=gettext_lazy("Prepended to this source's sourcedIds, e.g. gat/."),
    )
    org = OrgChoiceField(label=gettext_lazy("Owning organisation"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(queries.import_orgs(user))  # type: ignore[attr-defined]  # OrgChoiceField


# --- batches -----------------------------------------------------------------------------------


def _rows(batches: list[ImportBatch]) -> list[ImportBatch]:
    for batch in batches:
        batch.shown_status = effective_status(batch)  # type: ignore[attr-defined]  # template only
    return batches


@login_required
@http_errors
def import_list(request: HttpRequest) -> HttpResponse:
    """Import batches the user may see, newest first, 25 a page (htmx: #results)."""
    user: Any = request.user
    _require_import(user)
    page = Paginator(queries.list_batches(user), BATCHES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "batches": _rows(list(page.object_list))}
    return render_page(request, "registry/import_list.html", context, partial="results")


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def import_create(request: HttpRequest) -> HttpResponse:
    """Upload a file to start an import (invalid: 422 #import-form; valid: 303 to the batch)."""
    user: Any = request.user
    _require_import(user)
    bound = request.method == "POST"
    form = ImportForm(request.POST if bound else None, request.FILES if bound else None, user=user)
    if bound and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            batch = actions.start_import(
                actor=user,
                source=data["source"],
                org=data["org"],
                uploaded_file=upload,
                file_name=upload.name,
                mode_hint=data["mode"] or None,
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            return see_other(request, reverse("registry:import_detail", args=[batch.pk]))
    context = {"form": form, "max_mib": max_upload_bytes() // (1024 * 1024)}
    return render_page(
        request,
        "registry/import_form.html",
        context,
        partial="import-form",
        status=422 if bound else 200,
    )


def _detail_context(request: HttpRequest, batch: ImportBatch) -> dict[str, Any]:
    status = effective_status(batch)
    return {
        "batch": batch,
        "status": status,
        "status_label": BatchStatus(status).label,
        "running": status in {BatchStatus.PENDING, BatchStatus.RUNNING},
        "can_resume": status == BatchStatus.INTERRUPTED and can(request.user, "change", batch),
        "tables": [
            (name, counts)
            for name in FILE_ORDER
            if isinstance(counts := (batch.counts or {}).get(name), dict) and "rows" in counts
        ],
        "tobedeleted": (batch.counts or {}).get("tobedeleted") or {},
        "findings": queries.batch_finding_counts(batch),
        "findings_url": findings_url(batch),
    }


@never_cache
@login_required
@http_errors
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One batch: status, live progress (htmx: #progress, polled every second while it runs),
    counts per file, findings per code, the error of a failed batch, Resume when interrupted."""
    batch = queries.access_batch(request.user, pk)
    return render_page(
        request, "registry/import_detail.html", _detail_context(request, batch), partial="progress"
    )


@login_required
@require_POST
@http_errors
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Resume an interrupted batch (303 back to its page)."""
    batch = queries.access_batch(request.user, pk)
    try:
        actions.resume_import(actor=request.user, batch=batch)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    return see_other(request, reverse("registry:import_detail", args=[batch.pk]))


@login_required
@http_errors
def import_template(request: HttpRequest) -> HttpResponse:
    """The XLSX template administrators fill in (an attachment)."""
    _require_import(request.user)
    from ..importing.xlsx import build_template

    response = HttpResponse(build_template(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="shuyuan-registry-template.xlsx"'
    return response


# --- sources -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def source_list(request: HttpRequest) -> HttpResponse:
    """Registered source systems, and registering one (invalid: 422 #source-form)."""
    user: Any = request.user
    sources = queries.list_sources(user)
    can_create = queries.can_register_sources(user)
    bound = request.method == "POST"
    form = SourceForm(request.POST if bound else None, user=user)
    if bound:
        if not can_create:
            raise PermissionDenied()
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.register_source(
                    actor=user,
                    code=data["code"],
                    name=data["name"],
                    kind=data["kind"],
                    org=data["org"],
                    id_prefix=data["id_prefix"],
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
            else:
                return see_other(request, reverse("registry:source_list"))
    elif not sources.exists() and not can_create:
        raise PermissionDenied()
    page = Paginator(sources, SOURCES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "can_create": can_create}
    return render_page(
        request,
        "registry/import_sources.html",
        context,
        partial="source-form" if bound else None,
        status=422 if bound else 200,
    )


urlpatterns = [
    path("imports/", import_list, name="import_list"),
    path("imports/new/", import_create, name="import_create"),
    path("imports/template.xlsx", import_template, name="import_template"),
    path("imports/<int:pk>/", import_detail, name="import_detail"),
    path("imports/<int:pk>/resume/", import_resume, name="import_resume"),
    path("sources/", source_list, name="source_list"),
]
