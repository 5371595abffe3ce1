"""HTML forms of the learning spaces. They check what HTML can express; the actions in
``actions.spaces`` do the real validation (``add_domain_errors`` puts their errors back)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shuyuan.core.forms import OrgChoiceField
from shuyuan.core.models import Org

from .models import LessonPlan
from .models.spaces import (
    INSTRUCTIONS_MAX,
    NOTE_BODY_MAX,
    NOTE_TITLE_MAX,
    PLAN_NOTES_MAX,
    PLAN_TITLE_MAX,
)


class NoteForm(forms.Form):
    """A plain-text note (optionally about a resource, chosen from the page)."""

    title = forms.CharField(label=_("Title"), max_length=NOTE_TITLE_MAX)
    body = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Plain text, only you can read it."),
    )
    resource = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ResourceSearchForm(forms.Form):
    """Find listed resources to keep or to add to a lesson (GET)."""

    q = forms.CharField(label=_("Find resources"), required=False, max_length=100)


class LessonPlanForm(forms.Form):
    """A lesson plan's class, title, date and notes."""

    class_org = OrgChoiceField(label=_("Class"))
    title = forms.CharField(label=_("Title"), max_length=PLAN_TITLE_MAX)
    taught_on = forms.DateField(
        label=_("Lesson date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=PLAN_NOTES_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Goals, steps and questions for the lesson (plain text)."),
    )

    def __init__(self, *args: Any, classes: QuerySet[Org] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if classes is None:
            del self.fields["class_org"]
        else:
            self.fields["class_org"].set_queryset(classes)  # type: ignore[attr-defined]  # OrgChoiceField


class PlanChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # django-stubs generic
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.title)


class AssignmentForm(forms.Form):
    """An assignment for a class: title, instructions, due time, resources of a lesson plan."""

    class_org = OrgChoiceField(label=_("Class"))
    title = forms.CharField(label=_("Title"), max_length=PLAN_TITLE_MAX)
    instructions = forms.CharField(
        label=_("Instructions"),
        required=False,
        max_length=INSTRUCTIONS_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    due_at = forms.DateTimeField(
        label=_("Due at"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    lesson_plan = PlanChoiceField(
        label=_("Resources of the lesson plan"),
        required=False,
        queryset=LessonPlan.objects.none(),
        empty_label=_("(none)"),
    )

    def __init__(
        self,
        *args: Any,
        classes: QuerySet[Org],
        plans: QuerySet[LessonPlan],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["class_org"].set_queryset(classes)  # type: ignore[attr-defined]  # OrgChoiceField
        self.fields["lesson_plan"].queryset = plans  # type: ignore[attr-defined]  # ModelChoiceField
