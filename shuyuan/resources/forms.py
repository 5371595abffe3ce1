"""HTML forms of the resources app's provider pages (submission) and the word-list page.

They check only what the browser can (lengths, choices, dates); the actions validate the rest
(chapter against subject, grade against stage, plain text, file content) and their errors are
put back on these forms by ``core.forms.add_domain_errors``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shuyuan.core.forms import OrgChoiceField
from shuyuan.core.models import Org

from .choices import GRADES, ProviderKind, ResourceType, Stage
from .models import Chapter, ResourceVersion, Subject, TextbookEdition

#: Form fields that are version metadata, in the action's names.
METADATA = (
    "title",
    "description",
    "subject",
    "stage",
    "grade",
    "edition",
    "chapter",
    "resource_type",
    "licence",
    "licence_expires",
    "external_url",
)


class DateInput(forms.DateInput):
    input_type = "date"


class ChapterChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # django-stubs generic
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.subject.name} · {obj.edition.name} · {obj.grade} · {obj.title}"


class VersionForm(forms.Form):
    """The metadata and file of a version (editing a draft, or starting a new version)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Plain text; at least 20 characters are recommended."),
    )
    subject = forms.ModelChoiceField(label=_("Subject"), queryset=Subject.objects.none())
    stage = forms.ChoiceField(label=_("Stage"), choices=[("", "---------"), *Stage.choices])
    grade = forms.ChoiceField(
        label=_("Grade"), required=False, choices=[("", "---------"), *GRADES]
    )
    edition = forms.ModelChoiceField(
        label=_("Textbook edition"), required=False, queryset=TextbookEdition.objects.none()
    )
    chapter = ChapterChoiceField(
        label=_("Chapter"), required=False, queryset=Chapter.objects.none()
    )
    resource_type = forms.ChoiceField(
        label=_("Type"), choices=[("", "---------"), *ResourceType.choices]
    )
    licence = forms.CharField(
        label=_("Licence"), max_length=64, help_text=_("E.g. CC BY 4.0, or the contract number.")
    )
    licence_expires = forms.DateField(label=_("Licence expires"), required=False, widget=DateInput)
    external_url = forms.URLField(
        label=_("Link"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=_("Required for a virtual lab (http or https)."),
    )
    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_(
            "Video: MP4 or WebM. Document and exercise set: PDF or DOCX. Courseware: PPTX or PDF."
        ),
    )
    change_note = forms.CharField(
        label=_("What changed"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["subject"].queryset = Subject.objects.visible_to(user).order_by("order", "code")
        fields["edition"].queryset = TextbookEdition.objects.visible_to(user).order_by("code")
        fields["chapter"].queryset = (
            Chapter.objects.visible_to(user)
            .select_related("subject", "edition")
            .order_by("subject__order", "edition__code", "grade", "order", "code")
        )

    @staticmethod
    def initial_for(version: ResourceVersion) -> dict[str, Any]:
        initial = {name: getattr(version, name) for name in METADATA}
        initial.update(subject=version.subject_id, edition=version.edition_id)
        initial.update(chapter=version.chapter_id, change_note=version.change_note)
        return initial

    def metadata(self) -> dict[str, Any]:
        """The cleaned metadata as the actions' keyword arguments."""
        data = self.cleaned_data
        values = {name: data.get(name) for name in METADATA}
        for name in ("description", "grade", "external_url"):
            values[name] = values[name] or ""
        return values


class ResourceForm(VersionForm):
    """A new resource: who provides it and which org answers for it, then its first version."""

    org = OrgChoiceField(label=_("Owning organisation"))
    provider_kind = forms.ChoiceField(
        label=_("Provider kind"), choices=[("", "---------"), *ProviderKind.choices]
    )
    provider_name = forms.CharField(
        label=_("Provider"),
        max_length=200,
        help_text=_("The school, teacher, company, library or museum that provides it."),
    )

    field_order = ["org", "provider_kind", "provider_name"]

    def __init__(self, *args: Any, user: Any, orgs: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField
        self.order_fields(self.field_order)


class WordListForm(forms.Form):
    """A new version of the sensitive-word list."""

    words = forms.CharField(
        label=_("Words"),
        max_length=2_000_000,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("One word a line; add |warn for a word that only warns (default: block)."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
    activate = forms.BooleanField(label=_("Make it the active list"), required=False, initial=True)
