"""HTML forms of papers, assessments and marking. They check what HTML can express; the
actions in ``actions.papers`` and ``actions.marking`` do the real validation
(``add_domain_errors`` puts their errors back on the fields)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shuyuan.core.forms import OrgChoiceField
from shuyuan.core.models import Org
from shuyuan.resources.models import KnowledgePoint, Subject

from .models import Difficulty, ItemKind
from .models.exams import EXPLANATION_MAX, TITLE_MAX

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
#: Rows of the blueprint form.
BLUEPRINT_ROWS = 5


class SubjectChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # django-stubs generic
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class PointChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # django-stubs generic
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code})"


class PaperForm(forms.Form):
    """A new paper: school, subject, title, instructions."""

    org = OrgChoiceField(label=_("School"))
    subject = SubjectChoiceField(
        label=_("Subject"), required=False, queryset=Subject.objects.none(), empty_label=_("(none)")
    )
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    instructions = forms.CharField(
        label=_("Instructions"),
        required=False,
        max_length=EXPLANATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to students before the first question (plain text)."),
    )

    def __init__(
        self, *args: Any, schools: QuerySet[Org], subjects: QuerySet[Subject], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(schools)  # type: ignore[attr-defined]  # OrgChoiceField
        self.fields["subject"].queryset = subjects  # type: ignore[attr-defined]  # ModelChoiceField


class PaperEditForm(forms.Form):
    """A paper's title and instructions."""

    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    instructions = forms.CharField(
        label=_("Instructions"),
        required=False,
        max_length=EXPLANATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ItemSearchForm(forms.Form):
    """Find bank items to add to a paper (GET; bad values are ignored)."""

    q = forms.CharField(label=_("Question text"), required=False, max_length=100)
    knowledge_point = PointChoiceField(
        label=_("Knowledge point"),
        required=False,
        queryset=KnowledgePoint.objects.none(),
        empty_label=_("Any"),
    )
    difficulty = forms.TypedChoiceField(
        label=_("Difficulty"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any")), *Difficulty.choices],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any")), *ItemKind.choices]
    )

    def __init__(self, *args: Any, points: QuerySet[KnowledgePoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["knowledge_point"].queryset = points  # type: ignore[attr-defined]  # ModelChoiceField


class AddItemForm(forms.Form):
    """Add one bank item (its id) to a paper, worth ``points``."""

    item = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    points = forms.DecimalField(label=_("Points"), initial=Decimal(2), max_digits=8)


class PointsForm(forms.Form):
    """What one question is worth."""

    points = forms.DecimalField(label=_("Points"), max_digits=8)


class BlueprintRowForm(forms.Form):
    """One blueprint row: knowledge point x difficulty x count x points (blank rows skipped)."""

    knowledge_point = PointChoiceField(
        label=_("Knowledge point"),
        required=False,
        queryset=KnowledgePoint.objects.none(),
        empty_label=_("(choose)"),
    )
    difficulty = forms.TypedChoiceField(
        label=_("Difficulty"),
        coerce=int,
        choices=Difficulty.choices,
        initial=Difficulty.MEDIUM,
        required=False,
    )
    count = forms.IntegerField(label=_("Questions"), required=False, initial=1)
    points = forms.DecimalField(label=_("Points each"), required=False, initial=2, max_digits=8)

    def __init__(self, *args: Any, points: QuerySet[KnowledgePoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["knowledge_point"].queryset = points  # type: ignore[attr-defined]  # ModelChoiceField

    @property
    def is_blank(self) -> bool:
        return not self.is_bound or not self.cleaned_data.get("knowledge_point")


class BlueprintForm(forms.Form):
    """The blueprint: ``BLUEPRINT_ROWS`` rows, prefixed ``rows-<i>-``."""

    def __init__(
        self,
        data: Any = None,
        *,
        points: QuerySet[KnowledgePoint],
        rows: int = BLUEPRINT_ROWS,
    ) -> None:
        super().__init__(data)
        self.rows = [BlueprintRowForm(data, points=points, prefix=f"rows-{i}") for i in range(rows)]

    def is_valid(self) -> bool:
        results = [super().is_valid(), *(row.is_valid() for row in self.rows)]
        return all(results)

    def filled(self) -> list[tuple[int, dict[str, Any]]]:
        """(row index, cleaned data) of the rows with a knowledge point."""
        return [(i, row.cleaned_data) for i, row in enumerate(self.rows) if not row.is_blank]


class PublishForm(forms.Form):
    """Publish a paper to a class (the action checks ranges, so its codes reach the page)."""

    class_org = forms.TypedChoiceField(label=_("Class"), coerce=int, choices=[])
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    opens_at = forms.DateTimeField(
        label=_("Opens at"),
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at"),
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    duration_minutes = forms.IntegerField(
        label=_("Time limit (minutes)"),
        required=False,
        help_text=_("Empty: until the window closes."),
    )
    max_attempts = forms.IntegerField(label=_("Attempts allowed"), initial=1)
    shuffle_items = forms.BooleanField(label=_("Shuffle questions"), required=False)
    shuffle_options = forms.BooleanField(label=_("Shuffle options"), required=False)

    def __init__(self, *args: Any, classes: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rows = list(classes.values_list("pk", "name", "parent__name")[:500])
        self.fields["class_org"].choices = [  # type: ignore[attr-defined]  # ChoiceField
            ("", _("(choose)")),
            *((pk, f"{parent} {name}" if parent else name) for pk, name, parent in rows),
        ]

    def clean_class_org(self) -> int:
        # Any id passes here: the view resolves it through the user's classes (404 if not).
        value: int = self.cleaned_data["class_org"]
        return value


class MarkForm(forms.Form):
    """Scores per rubric criterion (``score_<i>``) or one score, and feedback."""

    feedback = forms.CharField(
        label=_("Feedback to the student"),
        required=False,
        max_length=EXPLANATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args: Any,
        rubric: list[dict[str, Any]],
        points: Decimal,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = rubric or [{"criterion": "", "points": points}]
        scores: dict[str, forms.Field] = {}
        for index, row in enumerate(self.criteria):
            limit = Decimal(str(row.get("points", 0)))
            label = str(row.get("criterion") or _("Score"))
            scores[f"score_{index}"] = forms.DecimalField(
                label=label,
                max_digits=8,
                help_text=_("0 to %(max)s points") % {"max": format(limit.normalize(), "f")},
                widget=forms.NumberInput(attrs={"step": "0.5", "min": 0, "max": str(limit)}),
            )
        self.fields = {**scores, **self.fields}

    def scores(self) -> list[Decimal]:
        return [self.cleaned_data[f"score_{i}"] for i in range(len(self.criteria))]
