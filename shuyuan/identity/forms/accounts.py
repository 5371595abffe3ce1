"""HTML forms for account and role administration.

They check only what the browser can (lengths, choices, required fields); the actions in
``identity.actions.accounts`` validate ID numbers, mobiles, names and permissions, and their
``ShuyuanError``s are put back on these forms by ``core.forms.add_domain_errors``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shuyuan.core.forms import OrgChoiceField
from shuyuan.core.models import Org

from ..models import Role

ACTIVE_CHOICES = [
    ("", _("Active and inactive")),
    ("yes", _("Active only")),
    ("no", _("Inactive only")),
]
SORT_CHOICES = [("username", _("Account name, A to Z")), ("-username", _("Account name, Z to A"))]
PII_FIELDS = [("id_number", _("ID number")), ("mobile", _("Mobile number"))]


class UserSearchForm(forms.Form):
    """The account list's search box and filters (GET). Invalid filters are ignored one by one."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        help_text=_("Account name (beginning), real name, or a full mobile or ID number."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices]
    )
    org = OrgChoiceField(
        label=_("Organisation"), required=False, empty_label=_("All organisations")
    )
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, orgs: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField

    def filters(self) -> dict[str, Any]:
        """The valid filters as keyword arguments of ``queries.list_users`` plus ``sort``."""
        self.is_valid()
        data = self.cleaned_data
        active = data.get("active") or ""
        return {
            "q": data.get("q") or "",
            "role": data.get("role") or "",
            "org": data.get("org"),
            "is_active": {"yes": True, "no": False}.get(active),
            "sort": data.get("sort") or "username",
        }


def _pii_widget() -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})


class UserCreateForm(forms.Form):
    """Register a person's one account (一人一号)."""

    username = forms.CharField(
        label=_("Account name"),
        max_length=64,
        help_text=_("Letters, digits, and . _ - only; 3 to 64 characters."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    real_name = forms.CharField(label=_("Real name"), max_length=64)
    home_org = OrgChoiceField(label=_("Registered at"), required=False)
    id_number = forms.CharField(
        label=_("Resident ID number"),
        required=False,
        max_length=32,
        help_text=_("18 characters; it is stored encrypted and shown masked."),
        widget=_pii_widget(),
    )
    mobile = forms.CharField(
        label=_("Mobile number"), required=False, max_length=20, widget=_pii_widget()
    )
    email = forms.EmailField(label=_("Email"), required=False)

    def __init__(self, *args: Any, orgs: QuerySet[Org], org_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["home_org"]
        field.required = org_required
        field.set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField


class UserEditForm(forms.Form):
    """Correct an account's real-name data. Empty ID and mobile fields keep the stored values."""

    real_name = forms.CharField(label=_("Real name"), max_length=64)
    home_org = OrgChoiceField(label=_("Registered at"), required=False)
    id_number = forms.CharField(
        label=_("New resident ID number"),
        required=False,
        max_length=32,
        help_text=_("Leave empty to keep the stored number."),
        widget=_pii_widget(),
    )
    clear_id_number = forms.BooleanField(label=_("Remove the stored ID number"), required=False)
    mobile = forms.CharField(
        label=_("New mobile number"),
        required=False,
        max_length=20,
        help_text=_("Leave empty to keep the stored number."),
        widget=_pii_widget(),
    )
    clear_mobile = forms.BooleanField(label=_("Remove the stored mobile number"), required=False)
    email = forms.EmailField(label=_("Email"), required=False)

    def __init__(self, *args: Any, orgs: QuerySet[Org], org_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["home_org"]
        field.required = org_required
        field.set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField

    def pii_changes(self) -> dict[str, str | None]:
        """``update_user`` keywords for the ID and mobile fields: only those being changed."""
        data = self.cleaned_data
        changes: dict[str, str | None] = {}
        for name in ("id_number", "mobile"):
            if data.get(f"clear_{name}"):
                changes[name] = None
            elif data.get(name):
                changes[name] = data[name]
        return changes


class GrantRoleForm(forms.Form):
    """Grant a role on an org; a parent's role names the child by account name."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    org = OrgChoiceField(
        label=_("Organisation"),
        required=False,
        empty_label=_("(none: platform-wide role)"),
    )
    child = forms.CharField(
        label=_("Child's account name"),
        required=False,
        max_length=64,
        help_text=_("Only for the parent or guardian role."),
    )

    def __init__(
        self, *args: Any, orgs: QuerySet[Org], platform_roles: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField
        if not platform_roles:
            self.fields["role"].choices = [  # type: ignore[attr-defined]  # ChoiceField
                (value, label) for value, label in Role.choices if value != Role.PLATFORM_ADMIN
            ]


class RevealForm(forms.Form):
    """Which personal data field to reveal."""

    field = forms.ChoiceField(label=_("Field"), choices=PII_FIELDS)


class RolePolicyForm(forms.Form):
    """One "MFA required" checkbox per role."""

    def __init__(self, *args: Any, current: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for value, label in Role.choices:
            self.fields[value] = forms.BooleanField(
                label=label,
                required=False,
                initial=current.get(value, False),
                widget=forms.CheckboxInput(attrs={"aria-describedby": f"id_{value}_note"}),
            )

    def changed_roles(self, current: dict[str, bool]) -> dict[str, bool]:
        """Roles whose checkbox differs from ``current``, with the new value."""
        return {
            role: bool(self.cleaned_data.get(role))
            for role in Role.values
            if bool(self.cleaned_data.get(role)) != current.get(role, False)
        }
