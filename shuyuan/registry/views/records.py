"""Portal pages: people (list and the lineage page), classes and school summaries.

Thin views over ``queries.records`` (all through ``visible_to``): an invisible record is a 404.
A person's full ID or mobile number is shown only after a POST by a user with ``reveal_pii``
on the record, and every reveal is audited by ``actions.quality.reveal_person_pii``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from shuyuan.core import queries as core_queries
from shuyuan.core.errors import PermissionDenied
from shuyuan.core.forms import OrgChoiceField
from shuyuan.core.scoping import can
from shuyuan.core.views import http_errors, render_page

from ..actions import quality as actions
from ..choices import EntityType, RosterRole
from ..models import Person
from ..quality import compute_org_scores
from ..queries import quality as quality_queries
from ..queries import records as queries

PEOPLE_PER_PAGE = 25
CLASSES_PER_PAGE = 25
HISTORY_SHOWN = 50


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("Name, match key, sourcedId or student-status number."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    org = OrgChoiceField(
        label=gettext_lazy("Organisation"),
        required=False,
        empty_label=gettext_lazy("All organisations"),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        required=False,
        choices=[("", gettext_lazy("All roles")), *RosterRole.choices],
    )

    def __init__(self, *args: Any, orgs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q") or "",
            "org": data.get("org"),
            "role": data.get("role") or "",
        }


class ClassSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    org = OrgChoiceField(
        label=gettext_lazy("School"), required=False, empty_label=gettext_lazy("All schools")
    )

    def __init__(self, *args: Any, orgs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[(f, f) for f in actions.PII_FIELDS])


def _record_orgs(request: HttpRequest) -> Any:
    return core_queries.list_orgs(request.user).filter(
        kind__in=["region", "city", "county", "school"]
    )


@login_required
@http_errors
def person_list(request: HttpRequest) -> HttpResponse:
    """People the user may see: search, org and role filters, 25 a page (htmx: #results).
    ID and mobile numbers are masked. A fixed number of queries whatever the page holds."""
    form = PersonSearchForm(request.GET, orgs=_record_orgs(request))
    people = queries.list_people(request.user, **form.filters())
    page = Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request, "registry/person_list.html", {"form": form, "page": page}, partial="results"
    )


def _person_context(request: HttpRequest, person: Person, **extra: Any) -> dict[str, Any]:
    user = request.user
    label = Person._meta.label_lower
    context: dict[str, Any] = {
        "person": person,
        "lineage": queries.person_lineage(user, person),
        "record_changes": list(queries.record_changes(EntityType.USER, person.pk)[:HISTORY_SHOWN]),
        "history": list(core_queries.record_timeline(user, label, str(person.pk))[:HISTORY_SHOWN]),
        "roles": list(queries.person_roles(user, person)),
        "enrollments": list(queries.person_enrollments(user, person)),
        "guardians": list(queries.person_guardians(user, person)),
        "wards": list(queries.person_wards(user, person)),
        "findings": list(queries.person_findings(user, person)[:HISTORY_SHOWN]),
        "candidates": list(queries.person_candidates(user, person)),
        "merges": list(queries.person_merges(user, person)),
        "merged_records": list(queries.merged_records(user, person)),
        "can_reveal": can(user, "reveal_pii", person),
        "revealed": {},
        "action_error": "",
    }
    context.update(extra)
    return context


@never_cache
@login_required
@http_errors
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's lineage page: each field with the source, batch and time that set it, other
    sources' observations, every change since, roles, enrolments, guardians, open findings,
    duplicate candidates and merges."""
    person = queries.access_person(request.user, pk)
    return render_page(request, "registry/person_detail.html", _person_context(request, person))


@never_cache
@login_required
@require_POST
@http_errors
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the full ID or mobile number once (``reveal_pii``; audited). htmx: #pii."""
    person = queries.access_person(request.user, pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        context = _person_context(request, person, action_error=_("Choose what to reveal."))
        return render_page(
            request, "registry/person_detail.html", context, partial="pii", status=422
        )
    field = form.cleaned_data["field"]
    value = actions.reveal_person_pii(actor=request.user, person=person, field=field)
    context = _person_context(request, person, revealed={field: value})
    return render_page(request, "registry/person_detail.html", context, partial="pii")


@login_required
@http_errors
def class_list(request: HttpRequest) -> HttpResponse:
    """Classes the user may see, with their student counts (htmx: #results)."""
    form = ClassSearchForm(request.GET, orgs=_record_orgs(request))
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    classes = queries.list_classes(request.user, q=data.get("q") or "", org=data.get("org"))
    page = Paginator(classes, CLASSES_PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request, "registry/record_class_list.html", {"form": form, "page": page}, partial="results"
    )


@login_required
@http_errors
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A class: its students and teachers (through enrolments)."""
    roster_class = queries.access_class(request.user, pk)
    members = list(queries.class_members(request.user, roster_class))
    context = {
        "roster_class": roster_class,
        "students": [m for m in members if m.role == "student"],
        "teachers": [m for m in members if m.role != "student"],
    }
    return render_page(request, "registry/record_class_detail.html", context)


@login_required
@http_errors
def school_summary(request: HttpRequest, org_id: int) -> HttpResponse:
    """A school's counts (students, teachers, classes, open findings) and quality scores."""
    school = core_queries.access_org(request.user, org_id)
    if not quality_queries.may_see_findings(request.user):
        raise PermissionDenied()
    context = {
        "school": school,
        "counts": queries.school_summary(school),
        "score_rows": quality_queries.score_rows(compute_org_scores(school)),
    }
    return render_page(request, "registry/record_school.html", context)


urlpatterns = [
    path("people/", person_list, name="person_list"),
    path("people/<int:pk>/", person_detail, name="person_detail"),
    path("people/<int:pk>/reveal/", person_reveal, name="person_reveal"),
    path("classes/", class_list, name="class_list"),
    path("classes/<int:pk>/", class_detail, name="class_detail"),
    path("schools/<int:org_id>/", school_summary, name="school_summary"),
]
