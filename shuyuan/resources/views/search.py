"""Resources pages: search (``/resources/``), for teachers, students and everyone signed in.

A GET form (the query stays in the box) with filters; results show the highlighted title and
description, type and subject badges, quality stars and paging. With htmx the results
refresh as one types (the ``results`` partial). Reads go through ``queries.search``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from shuyuan.core.errors import InvalidInput
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.views import http_errors, render_page

from ..choices import GRADES, ResourceType, Stage
from ..queries import search as queries

PER_PAGE = 20


class SearchForm(forms.Form):
    """The search box and its filters (all optional)."""

    q = forms.CharField(label=_("Search"), required=False, strip=True)
    subject = forms.ChoiceField(label=_("Subject"), required=False)
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("Any stage")), *Stage.choices]
    )
    grade = forms.ChoiceField(
        label=_("Grade"), required=False, choices=[("", _("Any grade")), *GRADES]
    )
    resource_type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("Any type")), *ResourceType.choices],
    )
    knowledge_point = forms.CharField(
        label=_("Knowledge-point code"), required=False, max_length=64, strip=True
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, subjects: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subject"].choices = [("", _("Any subject")), *subjects]  # type: ignore[attr-defined]  # ChoiceField has choices
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})


@login_required
@http_errors
def search_home(request: HttpRequest) -> HttpResponse:
    """Search listed resources (htmx: #results)."""
    user: Any = request.user
    subjects = [(s.code, s.name) for s in queries.subject_choices(user)]
    form = SearchForm(request.GET or None, subjects=subjects)
    page = None
    results: list[dict[str, Any]] = []
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            page = queries.search_resources(
                user,
                data["q"] or "",
                subject=data["subject"] or None,
                stage=data["stage"] or None,
                grade=data["grade"] or None,
                resource_type=data["resource_type"] or None,
                knowledge_point=data["knowledge_point"] or None,
                page=data["page"] or 1,
                per_page=PER_PAGE,
            )
        except InvalidInput as exc:
            add_domain_errors(form, exc)
    elif not form.is_bound:
        page = queries.search_resources(user, "", per_page=PER_PAGE)
    if page is not None:
        for hit in page.hits:
            resource: Any = hit.resource
            quality = resource.quality_score
            results.append(
                {
                    "hit": hit,
                    "url": queries.resource_url(resource.pk),
                    "version": resource.listed_version,
                    "stars": min(5, int(quality / 20 + 0.5)) if quality is not None else None,
                }
            )
    context = {"form": form, "page": page, "results": results}
    return render_page(request, "resources/search/home.html", context, partial="results")


urlpatterns: list[URLPattern] = [
    path("", search_home, name="search_home"),
]
