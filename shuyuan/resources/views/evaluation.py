"""Resources pages: the public resource page, use and evaluation, moderation, retirement,
suggestions, and the (anonymous) certificate verification pages.

Thin views: reads through ``queries.evaluation`` / ``queries.certificates`` / ``recommend``,
writes through ``actions.evaluation``. Resource pages need a signed-in account (teachers and
students); the certificate pages are public — they carry no ``login_required`` and the portal
has no login-required middleware — and are throttled per client IP.
"""

from __future__ import annotations

import os
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shuyuan.core.errors import NotFound, PermissionDenied
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.middleware import client_ip
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from .. import recommend
from ..actions import evaluation as actions
from ..actions.evaluation import COMMENT_MAX, EVALUATION_COMMENT_MAX, REASON_MAX
from ..choices import UsageKind
from ..models import Resource
from ..queries import certificates as cert_queries
from ..queries import evaluation as queries

COMMENTS_SHOWN = 50
SIMILAR_SHOWN = 6
SUGGESTIONS_SHOWN = 12
QUEUE_PER_PAGE = 25
NUMBER_MAX = 40
STAR_CHOICES = [(n, str(n)) for n in range(5, 0, -1)]


# --- forms -------------------------------------------------------------------------------------


class RatingForm(forms.Form):
    stars = forms.TypedChoiceField(
        label=gettext_lazy("Stars"), choices=STAR_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Shown to others after a moderator has checked it."),
    )


class EvaluationForm(forms.Form):
    #: Shares the page with the rating form, so its field ids get a prefix.
    PREFIX = "evaluation"

    score = forms.IntegerField(label=gettext_lazy("Score (0-100)"), min_value=0, max_value=100)
    criteria = forms.CharField(
        label=gettext_lazy("Criteria"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One criterion per line: name: score (0-100)."),
    )
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        max_length=EVALUATION_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_criteria(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for line in (self.cleaned_data.get("criteria") or "").splitlines():
            if not line.strip():
                continue
            name, sep, value = line.rpartition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(_("Write each criterion as name: score."))
            result[name.strip()] = value.strip()
        return result

    @staticmethod
    def initial_for(evaluation: Any) -> dict[str, Any]:
        if evaluation is None:
            return {}
        lines = "\n".join(f"{k}: {v}" for k, v in (evaluation.criteria or {}).items())
        return {"score": evaluation.score, "criteria": lines, "comment": evaluation.comment}


class ModerationForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("approve", gettext_lazy("Publish")), ("reject", gettext_lazy("Reject"))],
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=REASON_MAX)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CertificateLookupForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Certificate number"), max_length=NUMBER_MAX)
    file = forms.FileField(
        label=gettext_lazy("File to compare (optional)"),
        required=False,
        help_text=gettext_lazy("Its SM3 hash is compared with the certificate's content hash."),
    )


# --- the resource page -------------------------------------------------------------------------


def _detail_context(
    request: HttpRequest,
    resource: Resource,
    *,
    rating_form: RatingForm | None = None,
    evaluation_form: EvaluationForm | None = None,
) -> dict[str, Any]:
    user: Any = request.user
    mine = queries.my_rating(user, resource)
    can_rate = resource.created_by_id != user.pk
    can_evaluate = actions.can_evaluate(user, resource)
    context: dict[str, Any] = {
        "resource": resource,
        "version": resource.listed_version,
        "points": queries.resource_points(user, resource),
        "summary": queries.rating_summary(resource),
        "my_rating": mine,
        "can_rate": can_rate,
        "comments": list(queries.published_comments(user, resource)[:COMMENTS_SHOWN]),
        "experts": queries.expert_summary(user, resource),
        "certificate": queries.listed_certificate(resource),
        "similar": recommend.more_like_this(user, resource, SIMILAR_SHOWN),
        "can_evaluate": can_evaluate,
        "can_moderate": actions.can_moderate(user, resource),
    }
    if can_rate:
        initial = {"stars": mine.stars, "comment": mine.comment} if mine else {}
        context["rating_form"] = rating_form or RatingForm(initial=initial)
    if can_evaluate:
        context["evaluation_form"] = evaluation_form or EvaluationForm(
            initial=EvaluationForm.initial_for(queries.my_evaluation(user, resource)),
            prefix=EvaluationForm.PREFIX,
        )
    return context


@login_required
@require_GET
@http_errors
def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A listed resource: its listed version's metadata, ratings, comments, certificate."""
    resource = queries.access_listed_resource(request.user, pk)
    if actions.record_usage(actor=request.user, resource=resource, kind=UsageKind.VIEW):
        resource.view_count += 1
    return render(
        request, "resources/evaluation/resource_detail.html", _detail_context(request, resource)
    )


@login_required
@require_GET
def resource_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The listed version's file as an attachment (counted as a download)."""
    try:
        resource = queries.access_listed_resource(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    version = resource.listed_version
    if version is None or not version.file:
        raise Http404(_("This resource has no file."))
    try:
        handle = version.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404(_("The file is not available.")) from exc
    actions.record_usage(actor=request.user, resource=resource, kind=UsageKind.DOWNLOAD)
    name = version.file_name or os.path.basename(version.file.name)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type=version.mime_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
@http_errors
def resource_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a link resource (a virtual lab) through a counted redirect."""
    resource = queries.access_listed_resource(request.user, pk)
    version = resource.listed_version
    url = version.external_url if version is not None else ""
    if not url or not url.lower().startswith(("https://", "http://")):
        raise Http404(_("This resource has no link."))
    actions.record_usage(actor=request.user, resource=resource, kind=UsageKind.DOWNLOAD)
    return HttpResponseRedirect(url)


@login_required
@require_POST
@http_errors
def resource_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """Rate the resource (invalid: 422 with #rating-form)."""
    resource = queries.access_listed_resource(request.user, pk)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            actions.rate(
                actor=request.user,
                resource=resource,
                stars=form.cleaned_data["stars"],
                comment=form.cleaned_data["comment"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request, _("Thank you. Your rating was saved; a comment is shown once checked.")
            )
            return see_other(request, reverse("resources:eval_detail", args=[pk]))
    context = _detail_context(request, resource, rating_form=form)
    return render_page(
        request,
        "resources/evaluation/resource_detail.html",
        context,
        partial="rating-form",
        status=422,
    )


@login_required
@require_POST
@http_errors
def resource_evaluate(request: HttpRequest, pk: int) -> HttpResponse:
    """An expert's evaluation (invalid: 422 with #evaluation-form)."""
    resource = queries.access_listed_resource(request.user, pk)
    form = EvaluationForm(request.POST, prefix=EvaluationForm.PREFIX)
    if form.is_valid():
        try:
            actions.evaluate(
                actor=request.user,
                resource=resource,
                score=form.cleaned_data["score"],
                criteria=form.cleaned_data["criteria"],
                comment=form.cleaned_data["comment"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Your evaluation was saved."))
            return see_other(request, reverse("resources:eval_detail", args=[pk]))
    context = _detail_context(request, resource, evaluation_form=form)
    return render_page(
        request,
        "resources/evaluation/resource_detail.html",
        context,
        partial="evaluation-form",
        status=422,
    )


# --- suggestions ---------------------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def for_you(request: HttpRequest) -> HttpResponse:
    """Suggestions from the account's use and ratings (or the best of its grade)."""
    resources = recommend.suggestions_for(request.user, SUGGESTIONS_SHOWN)
    return render(request, "resources/evaluation/for_you.html", {"resources": resources})


# --- moderation ----------------------------------------------------------------------------------


def _require_moderator(request: HttpRequest) -> None:
    if not queries.is_moderator(request.user):
        raise PermissionDenied()


@login_required
@require_GET
@http_errors
def moderation(request: HttpRequest) -> HttpResponse:
    """Comments awaiting moderation on resources the user moderates."""
    _require_moderator(request)
    page = Paginator(queries.pending_comments(request.user), QUEUE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "form": ModerationForm()}
    return render_page(request, "resources/evaluation/moderation.html", context, partial="results")


@login_required
@require_POST
@http_errors
def moderate(request: HttpRequest, rating_pk: int) -> HttpResponse:
    """Publish or reject one comment."""
    _require_moderator(request)
    rating = queries.access_rating(request.user, rating_pk, "moderate")
    form = ModerationForm(request.POST)
    if form.is_valid():
        try:
            actions.moderate_comment(
                actor=request.user,
                rating=rating,
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except FORM_ERRORS as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The comment was moderated."))
    else:
        messages.error(request, _("Choose a decision."))
    return see_other(request, reverse("resources:eval_moderation"))


# --- retirement ----------------------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def retirement(request: HttpRequest) -> HttpResponse:
    """Resources flagged for retirement, and those retired, among those the user moderates."""
    _require_moderator(request)
    context = {
        "flagged": list(queries.retirement_list(request.user)[:200]),
        "retired": list(queries.retirement_list(request.user, retired=True)[:200]),
        "form": ReasonForm(),
    }
    return render(request, "resources/evaluation/retirement.html", context)


def _retirement_action(request: HttpRequest, pk: int, *, retire: bool) -> HttpResponse:
    resource = queries.access_resource(request.user, pk)
    form = ReasonForm(request.POST)
    if form.is_valid() or not retire:
        reason = form.cleaned_data.get("reason", "") if form.is_bound else ""
        try:
            if retire:
                actions.retire_resource(actor=request.user, resource=resource, reason=reason)
            else:
                actions.reinstate_resource(actor=request.user, resource=resource, reason=reason)
        except FORM_ERRORS as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("The resource was retired.") if retire else _("The resource was reinstated."),
            )
    else:
        messages.error(request, _("Give the reason for retiring the resource."))
    return see_other(request, reverse("resources:eval_retirement"))


@login_required
@require_POST
@http_errors
def resource_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """Retire a listed resource (with a reason)."""
    return _retirement_action(request, pk, retire=True)


@login_required
@require_POST
@http_errors
def resource_reinstate(request: HttpRequest, pk: int) -> HttpResponse:
    """List a retired resource again."""
    return _retirement_action(request, pk, retire=False)


# --- certificates (public) -----------------------------------------------------------------------


def _throttled_page(request: HttpRequest) -> HttpResponse | None:
    if cert_queries.public_throttled(client_ip(request)):
        return render(
            request,
            "resources/certificates/throttled.html",
            {},
            status=429,
        )
    return None


@require_http_methods(["GET", "POST"])
def certificate_verify(request: HttpRequest) -> HttpResponse:
    """Check a certificate by number, optionally comparing a file (public, no sign-in)."""
    refused = _throttled_page(request)
    if refused is not None:
        return refused
    if request.method == "POST":
        form = CertificateLookupForm(request.POST, request.FILES)
    else:
        form = CertificateLookupForm(request.GET if "number" in request.GET else None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_bound and form.is_valid():
        result = cert_queries.verify_certificate(form.cleaned_data["number"])
        context["result"] = result
        upload = form.cleaned_data.get("file")
        if result.certificate is not None and upload is not None:
            same, digest = cert_queries.file_matches(result.certificate, upload.chunks())
            context["file_check"] = {"matches": same, "digest": digest, "name": upload.name}
        if result.certificate is None:
            status = 404
    elif form.is_bound:
        status = 422
    return render(request, "resources/certificates/certificate_verify.html", context, status=status)


def _certificate_page(request: HttpRequest, number: str, template: str) -> HttpResponse:
    refused = _throttled_page(request)
    if refused is not None:
        return refused
    result = cert_queries.verify_certificate(number)
    if result.certificate is None:
        raise Http404(_("Certificate not found."))
    return render(request, template, {"result": result, "certificate": result.certificate})


@require_GET
def certificate_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One certificate with every check (public)."""
    return _certificate_page(request, number, "resources/certificates/certificate_detail.html")


@require_GET
def certificate_print(request: HttpRequest, number: str) -> HttpResponse:
    """The printable certificate (public)."""
    return _certificate_page(request, number, "resources/certificates/certificate_print.html")


urlpatterns: list[URLPattern] = [
    path("<int:pk>/", resource_detail, name="eval_detail"),
    path("<int:pk>/download/", resource_download, name="eval_download"),
    path("<int:pk>/open/", resource_open, name="eval_open"),
    path("<int:pk>/rate/", resource_rate, name="eval_rate"),
    path("<int:pk>/evaluate/", resource_evaluate, name="eval_evaluate"),
    path("<int:pk>/retire/", resource_retire, name="eval_retire"),
    path("<int:pk>/reinstate/", resource_reinstate, name="eval_reinstate"),
    path("for-you/", for_you, name="eval_for_you"),
    path("moderation/", moderation, name="eval_moderation"),
    path("moderation/<int:rating_pk>/", moderate, name="eval_moderate"),
    path("retirement/", retirement, name="eval_retirement"),
    path("certificates/verify/", certificate_verify, name="cert_verify"),
    path("certificates/<str:number>/", certificate_detail, name="cert_detail"),
    path("certificates/<str:number>/print/", certificate_print, name="cert_print"),
]
