"""HTML forms of the item bank. ``ItemForm`` works without JavaScript: each kind of question
has a fixed number of rows (options, blanks, pairs, rubric criteria) and empty rows are
ignored. The form turns its rows into the content dict of ``learning.exams.content``; the
actions validate it, and ``ItemForm.add_domain_errors`` puts their errors (which name content
paths such as ``content.options[2].text``) back on the row they came from.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shuyuan.core.errors import FieldError, ShuyuanError
from shuyuan.core.forms import OrgChoiceField, add_domain_errors
from shuyuan.core.models import Org
from shuyuan.resources.models import Subject

from .models import Difficulty, Item, ItemKind, ItemStatus
from .models.exams import EXPLANATION_MAX, STEM_MAX

#: Rows each kind offers (empty rows are ignored); an item with more gets a few extra.
OPTION_ROWS = 6
BLANK_ROWS = 4
PAIR_ROWS = 6
ORDER_ROWS = 6
RUBRIC_ROWS = 6
#: Most rows a form offers (the content rules allow at most 10 options, 20 blanks).
ROWS_MAX = 20
#: Blank rows offered beyond an existing item's rows when editing it.
EXTRA_ROWS = 2
#: Most upload size of a QTI package.
IMPORT_MAX_BYTES = 20 * 1024 * 1024

_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_POINT_SEPARATORS = re.compile("[,;\n\r\uff0c\uff1b\u3001]+")
_CONTENT_PATH = re.compile(r"content\.(\w+)(?:\[(\d+)\]|\.(\w+))?(?:\.(\w+))?")

CHOICE_KINDS = frozenset({ItemKind.SINGLE, ItemKind.MULTIPLE})


def split_points(text: str) -> list[str]:
    """Codes (or exact names) of knowledge points typed into one box, in order."""
    return [part.strip() for part in _POINT_SEPARATORS.split(text or "") if part.strip()]


def _letter(index: int) -> str:
    return string.ascii_uppercase[index] if index < 26 else f"O{index}"


def _scrambled(options: list[dict[str, str]]) -> list[dict[str, str]]:
    """``options`` in a stable order that does not give the correct order away."""
    return sorted(
        options,
        key=lambda o: hashlib.sha256(f"{o['id']}\0{o['text']}".encode()).hexdigest(),
    )


def _pairs(options: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(str(o.get("id")), str(o.get("text"))) for o in options if isinstance(o, dict)}


def _fresh_id(taken: set[str], candidates: list[str]) -> str:
    for candidate in candidates:
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise AssertionError("no free id")  # pragma: no cover - candidates outnumber rows


def _points_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Row:
    """One row of the form as the template shows it."""

    number: int
    label: str
    fields: tuple[forms.BoundField, ...]
    choice: Any = None  # the row's radio or checkbox (a BoundWidget)

    @property
    def errors(self) -> list[str]:
        return [str(e) for f in self.fields for e in f.errors]


class ItemFilterForm(forms.Form):
    """The bank's search box and filters (GET; bad values are ignored)."""

    q = forms.CharField(label=_("Search the question text"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *ItemKind.choices]
    )
    difficulty = forms.TypedChoiceField(
        label=_("Difficulty"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any difficulty")), *Difficulty.choices],
    )
    knowledge_point = forms.CharField(
        label=_("Knowledge point (code or name)"), required=False, max_length=100
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[*ItemStatus.choices, ("all", _("Any status"))],
    )


class ItemImportForm(forms.Form):
    """Upload a QTI 3.0 content package into a bank."""

    org = OrgChoiceField(label=_("Question bank"))
    file = forms.FileField(
        label=_("QTI file"),
        help_text=_(
            "A QTI 3.0 content package (.zip) or one item (.xml), at most 20 MB. Questions "
            "already in a bank you may change are revised."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.xml"}),
    )

    def __init__(self, *args: Any, orgs: QuerySet[Org], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload is not None and upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."), code="FILE_TOO_LARGE")
        return upload


class ItemForm(forms.Form):
    """A question of one kind: the common fields and the rows of its kind.

    ``orgs`` offers a bank (new items only); ``subjects`` a subject (new items only);
    ``base_version`` is set when editing, so an edit of an outdated version is refused;
    ``current`` is the content being edited (an ordering question keeps the order its items
    are shown in while they stay the same).
    """

    org = OrgChoiceField(label=_("Question bank"))
    subject = forms.ModelChoiceField(
        label=_("Subject"), required=False, queryset=Subject.objects.none(), empty_label=_("(none)")
    )
    difficulty = forms.TypedChoiceField(
        label=_("Difficulty"), coerce=int, choices=Difficulty.choices, initial=Difficulty.MEDIUM
    )
    stem = forms.CharField(
        label=_("Question"),
        max_length=STEM_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Plain text."),
    )
    knowledge_points = forms.CharField(
        label=_("Knowledge points"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "kp-codes"}),
        help_text=_("Codes (or exact names), separated by commas or new lines."),
    )
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        max_length=EXPLANATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to students with their results (plain text)."),
    )
    base_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        kind: str,
        orgs: QuerySet[Org] | None = None,
        subjects: QuerySet[Subject] | None = None,
        editing: bool = False,
        current: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.current = current or {}
        if orgs is None:
            del self.fields["org"]
        else:
            self.fields["org"].set_queryset(orgs)  # type: ignore[attr-defined]  # OrgChoiceField
        if subjects is None:
            del self.fields["subject"]
        else:
            self.fields["subject"].queryset = subjects  # type: ignore[attr-defined]  # ModelChoiceField
        if not editing:
            del self.fields["base_version"]
        if kind == ItemKind.FILL_BLANK:
            self.fields["stem"].help_text = _(
                "Plain text; mark each blank with three underscores ___."
            )
        self._row_counts: dict[str, int] = {}
        self._rows_of: dict[str, list[int]] = {}
        self._add_kind_fields()

    # --- fields per kind ------------------------------------------------------------------------

    def _count(self, prefix: str, default: int) -> int:
        """Rows to offer: the default, or as many as the data or initial values use."""
        pattern = re.compile(rf"{prefix}_(\d+)_")
        used = 0
        for source in (self.data, self.initial):
            for key in source or {}:
                found = pattern.match(str(key))
                if found:
                    used = max(used, int(found.group(1)) + 1)
        extra = used if self.is_bound else used + EXTRA_ROWS if used else 0
        count = min(ROWS_MAX, max(default, extra))
        self._row_counts[prefix] = count
        return count

    def _text(self, name: str, label: Any, *, max_length: int = 1000, **attrs: Any) -> None:
        self.fields[name] = forms.CharField(
            label=label,
            required=False,
            max_length=max_length,
            widget=forms.TextInput(attrs=attrs) if attrs else forms.TextInput,
        )

    def _hidden(self, name: str) -> None:
        self.fields[name] = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)

    def _add_kind_fields(self) -> None:
        kind = self.kind
        if kind in CHOICE_KINDS:
            count = self._count("option", OPTION_ROWS)
            for i in range(count):
                self._hidden(f"option_{i}_id")
                self._text(f"option_{i}_text", _("Option %(letter)s") % {"letter": _letter(i)})
            choices = [(str(i), _letter(i)) for i in range(count)]
            if kind == ItemKind.SINGLE:
                self.fields["correct"] = forms.ChoiceField(
                    label=_("Correct option"), choices=choices, widget=forms.RadioSelect
                )
            else:
                self.fields["correct"] = forms.MultipleChoiceField(
                    label=_("Correct options"), choices=choices, widget=forms.CheckboxSelectMultiple
                )
        elif kind == ItemKind.TRUE_FALSE:
            self.fields["correct"] = forms.ChoiceField(
                label=_("The statement is"),
                choices=[("true", _("True")), ("false", _("False"))],
                widget=forms.RadioSelect,
            )
        elif kind == ItemKind.FILL_BLANK:
            for i in range(self._count("blank", BLANK_ROWS)):
                self.fields[f"blank_{i}_accepted"] = forms.CharField(
                    label=_("Blank %(n)d: accepted answers") % {"n": i + 1},
                    required=False,
                    max_length=4000,
                    widget=forms.Textarea(attrs={"rows": 2}),
                    help_text=_("One accepted answer per line."),
                )
                self.fields[f"blank_{i}_case"] = forms.BooleanField(
                    label=_("Case-sensitive"), required=False
                )
        elif kind == ItemKind.NUMERIC:
            self.fields["value"] = forms.CharField(
                label=_("Correct value"),
                max_length=50,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )
            self.fields["tolerance"] = forms.CharField(
                label=_("Tolerance (plus or minus)"),
                required=False,
                max_length=50,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                help_text=_("Empty: the exact value only."),
            )
            self._text("unit", _("Unit"), max_length=20)
        elif kind == ItemKind.MATCHING:
            for i in range(self._count("pair", PAIR_ROWS)):
                self._hidden(f"pair_{i}_left_id")
                self._hidden(f"pair_{i}_right_id")
                self._text(f"pair_{i}_left", _("Pair %(n)d: left") % {"n": i + 1})
                self._text(f"pair_{i}_right", _("Pair %(n)d: matches") % {"n": i + 1})
        elif kind == ItemKind.ORDERING:
            for i in range(self._count("order", ORDER_ROWS)):
                self._hidden(f"order_{i}_id")
                self._text(f"order_{i}_text", _("Position %(n)d") % {"n": i + 1})
        elif kind == ItemKind.SHORT_ANSWER:
            for i in range(self._count("rubric", RUBRIC_ROWS)):
                self._text(
                    f"rubric_{i}_criterion", _("Criterion %(n)d") % {"n": i + 1}, max_length=500
                )
                self.fields[f"rubric_{i}_points"] = forms.CharField(
                    label=_("Points"),
                    required=False,
                    max_length=10,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
                )
            self.fields["model_answer"] = forms.CharField(
                label=_("Model answer"),
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={"rows": 4}),
                help_text=_("For markers; students see it with their results."),
            )

    # --- rows for the template ------------------------------------------------------------------

    def _choices(self) -> list[Any]:
        return list(self["correct"]) if "correct" in self.fields else []

    def option_rows(self) -> list[Row]:
        choices = self._choices()
        return [
            Row(
                i + 1,
                _letter(i),
                (self[f"option_{i}_id"], self[f"option_{i}_text"]),
                choices[i] if i < len(choices) else None,
            )
            for i in range(self._row_counts.get("option", 0))
        ]

    def blank_rows(self) -> list[Row]:
        return [
            Row(i + 1, str(i + 1), (self[f"blank_{i}_accepted"], self[f"blank_{i}_case"]))
            for i in range(self._row_counts.get("blank", 0))
        ]

    def pair_rows(self) -> list[Row]:
        return [
            Row(
                i + 1,
                str(i + 1),
                (
                    self[f"pair_{i}_left_id"],
                    self[f"pair_{i}_left"],
                    self[f"pair_{i}_right_id"],
                    self[f"pair_{i}_right"],
                ),
            )
            for i in range(self._row_counts.get("pair", 0))
        ]

    def order_rows(self) -> list[Row]:
        return [
            Row(i + 1, str(i + 1), (self[f"order_{i}_id"], self[f"order_{i}_text"]))
            for i in range(self._row_counts.get("order", 0))
        ]

    def rubric_rows(self) -> list[Row]:
        return [
            Row(i + 1, str(i + 1), (self[f"rubric_{i}_criterion"], self[f"rubric_{i}_points"]))
            for i in range(self._row_counts.get("rubric", 0))
        ]

    # --- content --------------------------------------------------------------------------------

    def point_texts(self) -> list[str]:
        return split_points(self.cleaned_data.get("knowledge_points", ""))

    def _value(self, name: str) -> str:
        return str(self.cleaned_data.get(name) or "").strip()

    def _given_id(self, name: str, taken: set[str]) -> str:
        value = self._value(name)
        if _ID.fullmatch(value) and value not in taken:
            taken.add(value)
            return value
        return ""

    def _listed(self, prefix: str, key: str) -> list[int]:
        """Row indexes of ``prefix`` whose ``key`` field is not empty."""
        count = self._row_counts.get(prefix, 0)
        return [i for i in range(count) if self._value(f"{prefix}_{i}_{key}")]

    def _options(self, prefix: str, rows: list[int], base: str) -> list[dict[str, str]]:
        """Options of ``rows`` keeping the ids they had (hidden fields), new ones numbered."""
        taken: set[str] = set()
        ids = [self._given_id(f"{prefix}_{i}_id", taken) for i in rows]
        if base:
            candidates = [f"{base}{n}" for n in range(1, 2 * ROWS_MAX + 2)]
        else:
            candidates = [_letter(n) for n in range(26)]
        options = []
        for i, option_id in zip(rows, ids, strict=True):
            if not option_id:
                option_id = _fresh_id(taken, candidates)
            options.append({"id": option_id, "text": self._value(f"{prefix}_{i}_text")})
        return options

    def build_content(self) -> dict[str, Any]:
        """The content dict of the form's rows (call after ``is_valid``); the actions check
        it."""
        kind = self.kind
        if kind in CHOICE_KINDS:
            rows = self._listed("option", "text")
            self._rows_of["options"] = rows
            letters = self._options("option", rows, "")
            by_row = {i: option["id"] for i, option in zip(rows, letters, strict=True)}
            raw = self.cleaned_data.get("correct")
            picked = [raw] if isinstance(raw, str) else list(raw or [])
            correct = [by_row[int(p)] for p in picked if p.isdigit() and int(p) in by_row]
            if kind == ItemKind.SINGLE:
                return {"options": letters, "correct": correct[0] if correct else None}
            return {"options": letters, "correct": correct}
        if kind == ItemKind.TRUE_FALSE:
            choice = self.cleaned_data.get("correct")
            return {"correct": {"true": True, "false": False}.get(str(choice))}
        if kind == ItemKind.FILL_BLANK:
            rows = self._listed("blank", "accepted")
            self._rows_of["blanks"] = rows
            return {
                "blanks": [
                    {
                        "accepted": [
                            line.strip()
                            for line in self._value(f"blank_{i}_accepted").splitlines()
                            if line.strip()
                        ],
                        "case_sensitive": bool(self.cleaned_data.get(f"blank_{i}_case")),
                    }
                    for i in rows
                ]
            }
        if kind == ItemKind.NUMERIC:
            return {
                "value": self._value("value"),
                "tolerance": self._value("tolerance") or 0,
                "unit": self._value("unit"),
            }
        if kind == ItemKind.MATCHING:
            return self._matching()
        if kind == ItemKind.ORDERING:
            rows = self._listed("order", "text")
            options = self._options("order", rows, "o")
            shown = self.current.get("options")
            if isinstance(shown, list) and _pairs(shown) == _pairs(options):
                scrambled = [dict(o) for o in shown]  # unchanged items keep the order shown
            else:
                scrambled = _scrambled(options)
            self._rows_of["options"] = [rows[options.index(o)] for o in scrambled]
            return {"options": scrambled, "order": [o["id"] for o in options]}
        rows = self._listed("rubric", "criterion")
        self._rows_of["rubric"] = rows
        return {
            "rubric": [
                {
                    "criterion": self._value(f"rubric_{i}_criterion"),
                    "points": self._value(f"rubric_{i}_points"),
                }
                for i in rows
            ],
            "model_answer": self._value("model_answer"),
        }

    def _matching(self) -> dict[str, Any]:
        count = self._row_counts.get("pair", 0)
        taken: set[str] = set()
        left: list[dict[str, str]] = []
        right: list[dict[str, str]] = []
        pairs: dict[str, str] = {}
        left_rows: list[int] = []
        right_rows: list[int] = []
        fresh_left = [f"l{n}" for n in range(1, 2 * ROWS_MAX + 2)]
        fresh_right = [f"r{n}" for n in range(1, 2 * ROWS_MAX + 2)]
        for i in range(count):
            left_text = self._value(f"pair_{i}_left")
            right_text = self._value(f"pair_{i}_right")
            right_id = ""
            if right_text:
                right_id = self._given_id(f"pair_{i}_right_id", taken)
                right_id = right_id or _fresh_id(taken, fresh_right)
                right.append({"id": right_id, "text": right_text})
                right_rows.append(i)
            if left_text:
                left_id = self._given_id(f"pair_{i}_left_id", taken)
                left_id = left_id or _fresh_id(taken, fresh_left)
                left.append({"id": left_id, "text": left_text})
                left_rows.append(i)
                if right_id:
                    pairs[left_id] = right_id
        self._rows_of["left"] = left_rows
        self._rows_of["right"] = right_rows
        self._left_ids = {o["id"]: i for o, i in zip(left, left_rows, strict=True)}
        return {"left": left, "right": right, "pairs": pairs}

    # --- errors ---------------------------------------------------------------------------------

    def form_field(self, path: str | None, code: str = "") -> str | None:
        """The form field an action's error field (``content.options[2].text``) is about;
        None for the form as a whole (a problem of a whole list, such as too few options)."""
        if not path:
            return None
        if path in self.fields:
            return path
        found = _CONTENT_PATH.fullmatch(path) or _CONTENT_PATH.match(path)
        if found is None:
            return None
        key, index_text, sub_key, part = found.groups()
        index = int(index_text) if index_text is not None else None
        rows = self._rows_of.get(key, [])
        row = rows[index] if index is not None and index < len(rows) else None
        if key == "correct":
            return "correct" if "correct" in self.fields else None
        if key in {"value", "tolerance", "unit", "model_answer"}:
            return key
        if key == "blanks" and code == "BLANK_MISMATCH":
            return "stem"
        if key == "pairs":
            left_row = getattr(self, "_left_ids", {}).get(sub_key or "")
            return f"pair_{left_row}_right" if left_row is not None else None
        if row is None:
            return None
        if key == "options":
            prefix = "order" if self.kind == ItemKind.ORDERING else "option"
            return f"{prefix}_{row}_text"
        if key == "blanks":
            return f"blank_{row}_accepted"
        if key in {"left", "right"}:
            return f"pair_{row}_{key}"
        if key == "rubric":
            return f"rubric_{row}_{'points' if (part or sub_key) == 'points' else 'criterion'}"
        return None

    def _section(self, path: str) -> str:
        found = _CONTENT_PATH.match(path)
        key = found.group(1) if found else ""
        if self.kind == ItemKind.ORDERING and key in {"options", "order"}:
            return str(_("Items in the correct order"))
        labels = {
            "options": _("Options"),
            "left": _("Pairs"),
            "right": _("Pairs"),
            "pairs": _("Pairs"),
            "blanks": _("Blanks"),
            "rubric": _("Marking rubric"),
        }
        return str(labels.get(key, _("Answer")))

    def add_domain_errors(self, error: ShuyuanError) -> None:
        """Show an action's error on the field (row) it is about; a problem of a whole list
        above the form, saying which list."""
        mapped: list[FieldError] = []
        for e in error.errors:
            name = self.form_field(e.field, e.code)
            message = e.message
            if name is None and e.field and e.field.startswith("content"):
                message = _("%(section)s: %(message)s") % {
                    "section": self._section(e.field),
                    "message": e.message,
                }
            mapped.append(FieldError(name or "", e.code, str(message)))
        error.errors = mapped
        add_domain_errors(self, error)


def initial_for(item: Item) -> dict[str, Any]:
    """The form's initial values of ``item``'s current version."""
    version = item.current_version
    content: dict[str, Any] = dict(version.content) if version else {}
    initial: dict[str, Any] = {
        "difficulty": item.difficulty,
        "stem": version.stem if version else "",
        "explanation": version.explanation if version else "",
        "knowledge_points": ", ".join(tag.knowledge_point.code for tag in item.tags.all()),
        "base_version": version.number if version else None,
    }
    kind = item.kind
    if kind in CHOICE_KINDS:
        correct = content.get("correct")
        chosen = set(correct) if isinstance(correct, list) else {correct}
        picked = []
        for i, option in enumerate(content.get("options", [])):
            initial[f"option_{i}_id"] = option["id"]
            initial[f"option_{i}_text"] = option["text"]
            if option["id"] in chosen:
                picked.append(str(i))
        initial["correct"] = picked if kind == ItemKind.MULTIPLE else (picked or [""])[0]
    elif kind == ItemKind.TRUE_FALSE:
        initial["correct"] = "true" if content.get("correct") else "false"
    elif kind == ItemKind.FILL_BLANK:
        for i, blank in enumerate(content.get("blanks", [])):
            initial[f"blank_{i}_accepted"] = "\n".join(blank.get("accepted", []))
            initial[f"blank_{i}_case"] = bool(blank.get("case_sensitive"))
    elif kind == ItemKind.NUMERIC:
        initial["value"] = _points_text(content.get("value", ""))
        initial["tolerance"] = _points_text(content.get("tolerance", 0))
        initial["unit"] = content.get("unit", "")
    elif kind == ItemKind.MATCHING:
        right = {o["id"]: o for o in content.get("right", [])}
        pairs = content.get("pairs", {})
        used: set[str] = set()
        row = 0
        for option in content.get("left", []):
            initial[f"pair_{row}_left_id"] = option["id"]
            initial[f"pair_{row}_left"] = option["text"]
            match = right.get(pairs.get(option["id"], ""))
            if match is not None:
                if match["id"] not in used:  # a right side matched twice is repeated
                    used.add(match["id"])
                    initial[f"pair_{row}_right_id"] = match["id"]
                initial[f"pair_{row}_right"] = match["text"]
            row += 1
        for option in content.get("right", []):
            if option["id"] not in used:
                initial[f"pair_{row}_right_id"] = option["id"]
                initial[f"pair_{row}_right"] = option["text"]
                row += 1
    elif kind == ItemKind.ORDERING:
        by_id = {o["id"]: o for o in content.get("options", [])}
        for i, option_id in enumerate(content.get("order", [])):
            if option_id in by_id:
                initial[f"order_{i}_id"] = option_id
                initial[f"order_{i}_text"] = by_id[option_id]["text"]
    elif kind == ItemKind.SHORT_ANSWER:
        for i, row_data in enumerate(content.get("rubric", [])):
            initial[f"rubric_{i}_criterion"] = row_data.get("criterion", "")
            initial[f"rubric_{i}_points"] = _points_text(row_data.get("points", ""))
        initial["model_answer"] = content.get("model_answer", "")
    return initial
