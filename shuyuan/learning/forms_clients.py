"""The form that issues an LRS credential."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shuyuan.core.forms import OrgChoiceField
from shuyuan.core.models import Org

from .choices import LrsScope


class LrsClientForm(forms.Form):
    """Issue a credential for a learning tool, limited to an org's subtree."""

    name = forms.CharField(label=_("Name"), max_length=120)
    org = OrgChoiceField(label=_("Limited to"))
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=LrsScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[LrsScope.STATEMENTS_WRITE, LrsScope.STATE],
    )

    def __init__(self, *args: Any, orgs: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField
