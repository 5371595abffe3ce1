"""HTML forms of the core app (the org tree), and the form helpers every app's portal shares.

Forms only check what HTML can express (required fields, lengths, choices); the actions do the
real validation and raise ``ShuyuanError``, which ``add_domain_errors`` puts back on the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from .errors import ShuyuanError
from .models import Org, OrgKind

#: Above this many orgs a ``<select>`` becomes unusable; the field asks for the org's number.
ORG_CHOICE_LIMIT = 500

#: Indentation of nested orgs in option labels (non-breaking spaces: not read aloud).
_INDENT = "\u00a0\u00a0"


def add_domain_errors(form: forms.Form, error: ShuyuanError) -> None:
    """Show ``error`` on ``form``: each field error on its field, the rest above the form.

    Call after ``form.is_valid()``. An error naming a field the form does not have becomes a
    form-wide error, so nothing the action said is lost.
    """
    for field_error in error.errors:
        field = field_error.field if field_error.field in form.fields else None
        form.add_error(field, field_error.message)
    if not error.errors:
        form.add_error(None, error.message)


class OrgChoiceField(forms.Field):
    """Choose an org from a scoped queryset (set with ``set_queryset`` in the form's ``__init__``).

    Up to ``ORG_CHOICE_LIMIT`` orgs it is a ``<select>`` in tree order, indented by depth; beyond
    that it is a number input for the org's number (shown on the org's page). Either way the value
    is looked up in the queryset, so an org outside it is refused like a wrong choice.
    """

    default_error_messages = {
        "invalid_choice": _("Choose an organisation from the list."),
    }

    def __init__(self, *, empty_label: str | Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queryset: QuerySet[Org] = Org.objects.none()
        self.empty_label = empty_label or _("(choose)")

    def set_queryset(self, queryset: QuerySet[Org]) -> None:
        """Offer the orgs of ``queryset`` (one query for the choices)."""
        self.queryset = queryset
        rows = list(
            queryset.select_related(None).values_list("pk", "name", "depth")[: ORG_CHOICE_LIMIT + 1]
        )
        attrs = dict(self.widget.attrs)
        if len(rows) <= ORG_CHOICE_LIMIT:
            base = min((depth for _pk, _name, depth in rows), default=0)
            choices: list[tuple[Any, str]] = [("", str(self.empty_label))]
            choices += [(pk, _INDENT * (depth - base) + name) for pk, name, depth in rows]
            self.widget = forms.Select(attrs=attrs, choices=choices)
        else:
            self.widget = forms.NumberInput(attrs={**attrs, "min": 1, "inputmode": "numeric"})
            self.help_text = _("Enter the organisation's number, shown on its page.")
        self.widget.is_required = self.required

    def to_python(self, value: Any) -> Org | None:
        if value in self.empty_values:
            return None
        try:
            pk = int(str(value).strip())
        except (TypeError, ValueError) as exc:
            raise ValidationError(self.error_messages["invalid_choice"], "invalid_choice") from exc
        org = self.queryset.filter(pk=pk).first()
        if org is None:
            raise ValidationError(self.error_messages["invalid_choice"], "invalid_choice")
        return org

    def prepare_value(self, value: Any) -> Any:
        return value.pk if isinstance(value, Org) else value


class OrgSearchForm(forms.Form):
    """The org list's search box and filters (GET; bad values are ignored)."""

    q = forms.CharField(label=_("Search by name or code"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *OrgKind.choices]
    )


class OrgCreateForm(forms.Form):
    """A new org under a parent (or a region at the top level, for platform admins)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=OrgKind.choices)
    name = forms.CharField(label=_("Name"), max_length=120)
    division_code = forms.CharField(
        label=_("Administrative division code"),
        required=False,
        max_length=6,
        help_text=_("Six digits (GB/T 2260); regions, cities and counties only."),
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        required=False,
        max_length=18,
        help_text=_("Eighteen characters (GB 32100); schools only."),
    )

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kinds is not None:
            labels = dict(OrgKind.choices)
            self.fields["kind"].choices = [(k, labels[k]) for k in kinds]  # type: ignore[attr-defined]  # ChoiceField


class OrgEditForm(forms.Form):
    """Rename an org, correct its codes, or (de)activate it."""

    name = forms.CharField(label=_("Name"), max_length=120)
    division_code = forms.CharField(
        label=_("Administrative division code"), required=False, max_length=6
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"), required=False, max_length=18
    )
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args: Any, org: Org, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": org.name,
                "division_code": org.division_code,
                "credit_code": org.credit_code or "",
                "is_active": org.is_active,
            },
        )
        super().__init__(*args, **kwargs)
        if org.is_administrative:
            del self.fields["credit_code"]
        else:
            del self.fields["division_code"]
            if org.kind != OrgKind.SCHOOL:
                del self.fields["credit_code"]


class OrgMoveForm(forms.Form):
    """Move an org (and its subtree) under another parent."""

    parent = OrgChoiceField(label=_("New parent"))

    def __init__(self, *args: Any, parents: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].set_queryset(parents)  # type: ignore[attr-defined]  # OrgChoiceField


class ChangeRecordFilterForm(forms.Form):
    """Filters of the change log (GET)."""

    target_type = forms.CharField(label=_("Record type"), required=False, max_length=100)
    actor = forms.CharField(label=_("Changed by (account name)"), required=False, max_length=150)


class AuditEventFilterForm(forms.Form):
    """Filters of the audit log (GET)."""

    code = forms.CharField(
        label=_("Event code starts with"),
        required=False,
        max_length=64,
        help_text=_("For example identity.login or identity.pii.revealed."),
    )
    actor = forms.CharField(label=_("Actor (account name)"), required=False, max_length=150)
