"""HTML forms of diagnosis and push: the class page's push form, and reading a practice answer
from the practice page's inputs. They check what HTML can express; the actions in
``actions.push`` do the real validation (``add_domain_errors`` puts their errors back)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .models import ItemKind


class PushForm(forms.Form):
    """Push one resource or practice item for a point to chosen students of a class."""

    point = forms.IntegerField(widget=forms.HiddenInput)
    target = forms.ChoiceField(label=_("What to push"), widget=forms.RadioSelect)
    students = forms.TypedMultipleChoiceField(
        label=_("Students"), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self,
        *args: Any,
        targets: list[tuple[str, str]] | None = None,
        students: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = targets or []  # type: ignore[attr-defined]  # ChoiceField
        self.fields["students"].choices = students or []  # type: ignore[attr-defined]  # ChoiceField

    def target_parts(self) -> tuple[str, int]:
        """(``resource`` or ``item``, pk) of the chosen target."""
        kind, _sep, pk = str(self.cleaned_data["target"]).partition(":")
        return kind, int(pk)


def practice_answer(
    kind: str, data: QueryDict, *, blanks: int = 0, left: list[str] | None = None
) -> Any:
    """The answer JSON of an item of ``kind`` from the practice form's inputs (the shapes of
    ``learning.exams.content``); ``None`` when nothing was given. ``content.validate_answer``
    checks it afterwards, so a tampered form gives a 422 there, not here."""
    if kind == ItemKind.MULTIPLE:
        chosen = [v for v in data.getlist("answer") if v]
        return chosen or None
    if kind == ItemKind.TRUE_FALSE:
        value = data.get("answer", "")
        if value in {"true", "false"}:
            return value == "true"
        return value or None
    if kind == ItemKind.FILL_BLANK:
        values = data.getlist("blank")[: max(blanks, 0) or None]
        return values if any(v.strip() for v in values) else None
    if kind == ItemKind.MATCHING:
        pairs = {lid: data.get(f"match_{lid}", "") for lid in left or []}
        pairs = {k: v for k, v in pairs.items() if v}
        return pairs or None
    if kind == ItemKind.ORDERING:
        order = [v for v in data.getlist("order") if v]
        return order or None
    value = data.get("answer", "")
    return value if value != "" else None
