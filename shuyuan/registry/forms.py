"""HTML forms of the data catalog (datasets, API clients, access requests, the access log).

They check only what the browser can (lengths, choices, dates); the actions in
``registry.actions.catalog`` validate the rest, and their ``ShuyuanError``s are put back on
these forms by ``core.forms.add_domain_errors``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shuyuan.core.forms import OrgChoiceField
from shuyuan.core.models import Org

from .actions.catalog import COLLECTIONS, SCOPES
from .choices import AccessRequestStatus, SharingLevel
from .models import ApiClient, Dataset

SCOPE_LABELS = {
    SCOPES[0]: _("Core rostering (orgs, classes, enrolments, people without demographics)"),
    SCOPES[1]: _("Full rostering"),
    SCOPES[2]: _("Demographics"),
}
LOG_STATUS_CHOICES = [
    ("", _("All responses")),
    ("success", _("Successful")),
    ("failure", _("Refused or failed")),
]
BOX_CHOICES = [("incoming", _("Incoming")), ("outgoing", _("Outgoing"))]


class DateInput(forms.DateInput):
    input_type = "date"


class DatasetFilterForm(forms.Form):
    """The catalog's search box and filters (GET); invalid filters are ignored."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    sharing_level = forms.ChoiceField(
        label=_("Sharing level"),
        required=False,
        choices=[("", _("All levels")), *SharingLevel.choices],
    )
    org = OrgChoiceField(
        label=_("Organisation"), required=False, empty_label=_("All organisations")
    )

    def __init__(self, *args: Any, orgs: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField

    def filters(self) -> dict[str, Any]:
        """The valid filters as keyword arguments of ``queries.catalog.list_datasets``."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "q": data.get("q") or "",
            "sharing_level": data.get("sharing_level") or "",
            "org": data.get("org"),
        }


class DatasetForm(forms.Form):
    """Create or edit a dataset."""

    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        help_text=_("Lower-case letters, digits, hyphens and underscores, e.g. county-students."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=5000, widget=forms.Textarea
    )
    org = OrgChoiceField(label=_("Scope (organisation subtree)"))
    entity_types = forms.MultipleChoiceField(
        label=_("Collections"),
        choices=[(c, c) for c in COLLECTIONS],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The OneRoster collections the dataset includes."),
    )
    includes_demographics = forms.BooleanField(label=_("Includes demographics"), required=False)
    sharing_level = forms.ChoiceField(label=_("Sharing level"), choices=SharingLevel.choices)
    steward = forms.CharField(
        label=_("Data steward (account name)"),
        required=False,
        max_length=64,
        help_text=_("An administrator of the organisation; empty: you."),
    )

    def __init__(self, *args: Any, orgs: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField

    @staticmethod
    def initial_for(dataset: Dataset) -> dict[str, Any]:
        return {
            "code": dataset.code,
            "title": dataset.title,
            "description": dataset.description,
            "org": dataset.org_id,
            "entity_types": list(dataset.entity_types or []),
            "includes_demographics": dataset.includes_demographics,
            "sharing_level": dataset.sharing_level,
            "steward": dataset.owner.username if dataset.owner else "",
        }


class ClientForm(forms.Form):
    """Register an API client (consumer system)."""

    name = forms.CharField(label=_("Name"), max_length=120)
    org = OrgChoiceField(label=_("Owning organisation"))
    scopes = forms.MultipleChoiceField(
        label=_("Allowed scopes"),
        choices=[(s, SCOPE_LABELS[s]) for s in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=[SCOPES[0]],
    )

    def __init__(self, *args: Any, orgs: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField


class AccessRequestForm(forms.Form):
    """Request access to a conditional dataset for one of the actor's clients."""

    client = forms.ModelChoiceField(
        label=_("Client"), queryset=ApiClient.objects.none(), empty_label=_("(choose)")
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the data is used for (at least 10 characters)."),
    )
    valid_until = forms.DateField(
        label=_("Needed until"), required=False, widget=DateInput(format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, clients: QuerySet[ApiClient], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients  # type: ignore[attr-defined]  # ModelChoiceField


class DecisionForm(forms.Form):
    """A steward's decision on a request: the optional end date and a note."""

    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=DateInput(format="%Y-%m-%d")
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RequestFilterForm(forms.Form):
    box = forms.ChoiceField(label=_("Requests"), required=False, choices=BOX_CHOICES)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *AccessRequestStatus.choices],
    )

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = self.cleaned_data
        return {"box": data.get("box") or "incoming", "status": data.get("status") or ""}


class AccessLogFilterForm(forms.Form):
    """The access log's filters (GET); invalid filters are ignored one by one."""

    client_id = forms.CharField(label=_("Client id"), required=False, max_length=64)
    dataset = forms.ModelChoiceField(
        label=_("Dataset"),
        required=False,
        queryset=Dataset.objects.none(),
        empty_label=_("All datasets"),
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    status = forms.ChoiceField(label=_("Response"), required=False, choices=LOG_STATUS_CHOICES)

    def __init__(self, *args: Any, datasets: QuerySet[Dataset], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets  # type: ignore[attr-defined]  # ModelChoiceField

    def filters(self) -> dict[str, Any]:
        """Valid filters as keyword arguments of ``queries.catalog.list_access_log``."""
        self.is_valid()
        data = self.cleaned_data
        date_from: dt.date | None = data.get("date_from")
        return {
            "client_id": data.get("client_id") or "",
            "dataset": data.get("dataset"),
            "date_from": date_from,
            "date_to": data.get("date_to"),
            "status": data.get("status") or "",
        }

    def export_filters(self) -> dict[str, Any]:
        """The filters as plain values (for the export's audit event)."""
        out: dict[str, Any] = {}
        for key, value in self.filters().items():
            if value in (None, ""):
                continue
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, Dataset):
                value = value.code
            out[key] = str(value)
        return out
