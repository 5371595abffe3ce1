"""Portal pages: data-quality reports (per org and per import), findings with drill-down and
export, the duplicate review queue (merge, keep apart, unmerge) and the survivorship rules.

Thin views over ``queries.quality`` and ``actions.quality``: an invisible row is a 404, an
action on a visible row without the right a 403; invalid forms re-render with 422 and success
redirects with 303 (``HX-Redirect`` for htmx).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core import queries as core_queries
from shuyuan.core.errors import PermissionDenied
from shuyuan.core.forms import OrgChoiceField, add_domain_errors
from shuyuan.core.models import Org
from shuyuan.core.scoping import has_permission
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from .. import exports
from ..actions import quality as actions
from ..choices import (
    Dimension,
    EntityType,
    FindingStatus,
    MatchStatus,
    Severity,
    SurvivorshipStrategy,
)
from ..models import FieldAuthority, ImportBatch, SourceSystem
from ..queries import quality as queries

FINDINGS_PER_PAGE = 50
CANDIDATES_PER_PAGE = 20
DECIDED_SHOWN = 50
EXPORT_FORMATS = ("csv", "xlsx")


# --- forms -------------------------------------------------------------------------------------


class FindingFilterForm(forms.Form):
    """The drill-down filters (GET); an invalid filter is ignored."""

    code = forms.CharField(label=gettext_lazy("Code"), required=False, max_length=64)
    dimension = forms.ChoiceField(
        label=gettext_lazy("Dimension"),
        required=False,
        choices=[("", gettext_lazy("All dimensions")), *Dimension.choices],
    )
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"),
        required=False,
        choices=[("", gettext_lazy("All severities")), *Severity.choices],
    )
    file = forms.CharField(label=gettext_lazy("File"), required=False, max_length=64)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All statuses")), *FindingStatus.choices],
    )

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            name: data.get(name) or ""
            for name in ("code", "dimension", "severity", "file", "status")
        }


class OrgPickForm(forms.Form):
    org = OrgChoiceField(label=gettext_lazy("Organisation"), required=False)

    def __init__(self, *args: Any, orgs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField


class FindingDecisionForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500)


class AuthorityForm(forms.Form):
    """One survivorship rule; the action checks the field against the whitelist."""

    entity_type = forms.ChoiceField(label=gettext_lazy("Entity type"), choices=EntityType.choices)
    field = forms.CharField(
        label=gettext_lazy("Field"),
        max_length=64,
        help_text=gettext_lazy("For people: name, sex, birth_date, id_number, mobile, ..."),
    )
    strategy = forms.ChoiceField(
        label=gettext_lazy("Strategy"), choices=SurvivorshipStrategy.choices
    )
    source: forms.ModelChoiceField[SourceSystem] = forms.ModelChoiceField(
        label=gettext_lazy("Authoritative source"), required=False, queryset=None
    )

    def __init__(self, *args: Any, sources: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = sources  # type: ignore[attr-defined]  # ModelChoiceField


# --- quality reports ---------------------------------------------------------------------------


def _picked_org(request: HttpRequest) -> tuple[OrgPickForm, Org | None]:
    orgs = core_queries.list_orgs(request.user).filter(
        kind__in=["region", "city", "county", "school"]
    )
    form = OrgPickForm(request.GET or None, orgs=orgs)
    org = form.cleaned_data.get("org") if form.is_bound and form.is_valid() else None
    return form, org


def _default_org(request: HttpRequest) -> Org | None:
    """The one report-level org a user sees (a school administrator's school), if only one."""
    orgs = list(
        core_queries.list_orgs(request.user).filter(
            kind__in=["region", "city", "county", "school"]
        )[:2]
    )
    return orgs[0] if len(orgs) == 1 else None


def _require_quality_view(request: HttpRequest) -> None:
    """The quality pages are for those whose role lets them see findings (admins, auditors)."""
    if not queries.may_see_findings(request.user):
        raise PermissionDenied()


@login_required
@http_errors
def quality_report(request: HttpRequest) -> HttpResponse:
    """Pick an org among those visible; its five scores, counts and open findings by code."""
    _require_quality_view(request)
    form, org = _picked_org(request)
    if org is None and not form.is_bound:
        org = _default_org(request)
    context: dict[str, Any] = {"form": form, "org": org}
    if org is not None:
        context.update(queries.org_report(request.user, org))
    return render_page(request, "registry/quality_report.html", context, partial="report")


def _findings_page(
    request: HttpRequest, *, batch: ImportBatch | None, org: Org | None
) -> tuple[FindingFilterForm, Any, Any]:
    form = FindingFilterForm(request.GET)
    form.fields["file"].widget.attrs["list"] = "finding-files"
    findings = queries.list_findings(request.user, batch=batch, org=org, **form.filters())
    return form, findings, Paginator(findings, FINDINGS_PER_PAGE).get_page(request.GET.get("page"))


def _export(
    request: HttpRequest, findings: Any, basename: str, filters: dict[str, Any], org_path: str
) -> HttpResponse | None:
    """The filtered findings as a download when ``?format=csv|xlsx`` (audited), else ``None``."""
    fmt = request.GET.get("format", "")
    if fmt not in EXPORT_FORMATS:
        return None
    actions.record_findings_export(actor=request.user, fmt=fmt, filters=filters, org_path=org_path)
    # A streaming response; typed as the views' HttpResponse (Django serves either).
    return cast("HttpResponse", exports.findings_export(findings, fmt, basename))


@login_required
@http_errors
def batch_findings(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's quality report: scores, findings by code, and the filtered, paged drill-down
    (htmx: #results); ``?format=csv|xlsx`` exports the filtered findings."""
    batch = queries.access_batch(request.user, pk)
    form, findings, page = _findings_page(request, batch=batch, org=None)
    exported = _export(
        request,
        findings,
        f"findings-batch-{batch.pk}",
        {"batch": batch.pk, **form.filters()},
        batch.org.path,
    )
    if exported is not None:
        return exported
    all_findings = queries.list_findings(request.user, batch=batch)
    context = {
        "batch": batch,
        "scores": batch.scores or {},
        "score_rows": queries.score_rows(batch.scores or {}),
        "by_code": queries.summarize_findings(all_findings),
        "files": queries.finding_files(all_findings),
        "form": form,
        "page": page,
        "list_url": reverse("registry:batch_findings", args=[batch.pk]),
        "can_decide": queries.may_decide_findings(request.user),
    }
    return render_page(request, "registry/quality_batch.html", context, partial="results")


@login_required
@http_errors
def org_findings(request: HttpRequest) -> HttpResponse:
    """Findings in an org subtree (``?org=``), filtered and paged (htmx: #results);
    ``?format=csv|xlsx`` exports them."""
    _require_quality_view(request)
    org_form, org = _picked_org(request)
    form, findings, page = _findings_page(request, batch=None, org=org)
    exported = _export(
        request,
        findings,
        f"findings-org-{org.pk if org else 'all'}",
        {"org": org.pk if org else None, **form.filters()},
        org.path if org else "",
    )
    if exported is not None:
        return exported
    context = {
        "org": org,
        "org_form": org_form,
        "form": form,
        "page": page,
        "list_url": reverse("registry:finding_list"),
        "can_decide": queries.may_decide_findings(request.user),
    }
    return render_page(request, "registry/finding_list.html", context, partial="results")


@login_required
@require_POST
@http_errors
def finding_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Resolve or dismiss one finding (403 without the right; 422 if already decided)."""
    finding = queries.access_finding(request.user, pk)
    form = FindingDecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    act = actions.resolve_finding if decision == "resolve" else actions.dismiss_finding
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = (
            reverse("registry:batch_findings", args=[finding.batch_id])
            if finding.batch_id
            else reverse("registry:finding_list")
        )
    try:
        act(actor=request.user, finding=finding, note=note)
    except FORM_ERRORS as exc:
        return _error_page(request, exc.message)
    if decision == "resolve":
        messages.success(request, _("The finding was marked resolved."))
    else:
        messages.success(request, _("The finding was dismissed."))
    return see_other(request, back)


def _error_page(request: HttpRequest, message: str) -> HttpResponse:
    return render_page(request, "registry/quality_error.html", {"message": message}, status=422)


# --- duplicates --------------------------------------------------------------------------------


@login_required
@http_errors
def candidate_list(request: HttpRequest) -> HttpResponse:
    """Open duplicate candidates side by side (masked PII), with Merge and Keep apart; decided
    ones below, merged ones with Unmerge. Paged (htmx: #results)."""
    user = request.user
    if not queries.may_review(user):
        raise PermissionDenied()
    open_page = Paginator(queries.list_open_candidates(user), CANDIDATES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    decided = list(queries.list_decided_candidates(user)[:DECIDED_SHOWN])
    merges = queries.latest_merges(user, [c.pk for c in decided if c.status == MatchStatus.MERGED])
    context = {
        "page": open_page,
        "decided": [(c, merges.get(c.pk)) for c in decided],
    }
    return render_page(request, "registry/match_list.html", context, partial="results")


def _decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    user = request.user
    candidate = queries.access_candidate(user, pk)
    try:
        if decision == "merge":
            survivor_id = request.POST.get("survivor", "")
            survivor = None
            if survivor_id.isdigit():
                wanted = int(survivor_id)
                if wanted == candidate.left_id:
                    survivor = candidate.left
                elif wanted == candidate.right_id:
                    survivor = candidate.right
                else:
                    return _error_page(request, _("The survivor must be one of the pair."))
            actions.merge_candidate(actor=user, candidate=candidate, survivor=survivor)
            messages.success(request, _("The records were merged."))
        else:
            actions.keep_apart(actor=user, candidate=candidate)
            messages.success(request, _("The records were kept apart."))
    except FORM_ERRORS as exc:
        return _error_page(request, exc.message)
    return see_other(request, reverse("registry:candidate_list"))


@login_required
@require_POST
@http_errors
def candidate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "merge")


@login_required
@require_POST
@http_errors
def candidate_keep_apart(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "keep_apart")


@login_required
@require_POST
@http_errors
def merge_unmerge(request: HttpRequest, pk: int) -> HttpResponse:
    """Reverse a merge (422 with the reason when the survivor changed since: MERGE_STALE)."""
    merge = queries.access_merge(request.user, pk)
    try:
        actions.unmerge(actor=request.user, merge=merge)
    except FORM_ERRORS as exc:
        return _error_page(request, exc.message)
    messages.success(request, _("The merge was reversed."))
    return see_other(request, reverse("registry:candidate_list"))


# --- survivorship rules ------------------------------------------------------------------------


def _authority_context(request: HttpRequest, form: AuthorityForm, rule: Any) -> dict[str, Any]:
    return {
        "form": form,
        "rule": rule,
        "rules": list(queries.list_authorities(request.user)),
        "fields": actions.AUTHORITY_FIELDS,
        "can_configure": has_permission(request.user, "registry.configure_authorities"),
    }


def _save_authority(request: HttpRequest, rule: FieldAuthority | None) -> HttpResponse:
    user = request.user
    sources = queries.list_sources(user)
    initial = (
        {
            "entity_type": rule.entity_type,
            "field": rule.field,
            "strategy": rule.strategy,
            "source": rule.source_id,
        }
        if rule is not None
        else None
    )
    form = AuthorityForm(
        request.POST if request.method == "POST" else None, sources=sources, initial=initial
    )
    if request.method == "POST":
        if not has_permission(user, "registry.configure_authorities"):
            raise PermissionDenied()
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.set_field_authority(
                    actor=user,
                    entity_type=data["entity_type"],
                    field=data["field"].strip(),
                    strategy=data["strategy"],
                    source=data["source"],
                    authority=rule,
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("The rule was saved."))
                return see_other(request, reverse("registry:authority_list"))
    status = 422 if form.is_bound else 200
    return render_page(
        request,
        "registry/authority_list.html",
        _authority_context(request, form, rule),
        partial="authority-form",
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def authority_list(request: HttpRequest) -> HttpResponse:
    """The survivorship rules; a form to add one (``registry.configure_authorities``)."""
    if not queries.may_see_authorities(request.user):
        raise PermissionDenied()
    return _save_authority(request, None)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def authority_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = queries.access_authority(request.user, pk)
    return _save_authority(request, rule)


@login_required
@require_POST
@http_errors
def authority_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = queries.access_authority(request.user, pk)
    actions.delete_field_authority(actor=request.user, authority=rule)
    messages.success(request, _("The rule was deleted."))
    return see_other(request, reverse("registry:authority_list"))


urlpatterns = [
    path("quality/", quality_report, name="quality_report"),
    path("quality/findings/", org_findings, name="finding_list"),
    path("imports/<int:pk>/findings/", batch_findings, name="batch_findings"),
    path(
        "findings/<int:pk>/resolve/",
        finding_decide,
        {"decision": "resolve"},
        name="finding_resolve",
    ),
    path(
        "findings/<int:pk>/dismiss/",
        finding_decide,
        {"decision": "dismiss"},
        name="finding_dismiss",
    ),
    path("duplicates/", candidate_list, name="candidate_list"),
    path("duplicates/<int:pk>/merge/", candidate_merge, name="candidate_merge"),
    path("duplicates/<int:pk>/keep-apart/", candidate_keep_apart, name="candidate_keep_apart"),
    path("merges/<int:pk>/unmerge/", merge_unmerge, name="merge_unmerge"),
    path("authorities/", authority_list, name="authority_list"),
    path("authorities/<int:pk>/", authority_edit, name="authority_edit"),
    path("authorities/<int:pk>/delete/", authority_delete, name="authority_delete"),
]
