"""Item content and answers, per kind: validation, marking and what a student may see.

Pure functions, no database. ``ItemVersion.content`` holds the normalised dict that
``validate_content`` returns; a ``Response.answer`` holds what ``validate_answer`` returns.

Content and answer shapes
    ============  ==========================================================  =================
    kind          content                                                     answer
    ============  ==========================================================  =================
    single        ``{"options": [{"id": "A", "text": "5"}, ...],              ``"A"``
                  "correct": "A"}``
    multiple      ``{"options": [...], "correct": ["A", "B"]}``               ``["A", "B"]``
    true_false    ``{"correct": true}``                                       ``true``
    fill_blank    ``{"blanks": [{"accepted": ["9", "nine"],                   ``["9", "2"]``
                  "case_sensitive": false}, ...]}``; the stem marks each
                  blank with ``___`` (three or more underscores)
    numeric       ``{"value": 1.41, "tolerance": 0.01, "unit": ""}``          ``"1.41"``
    matching      ``{"left": [{"id", "text"}], "right": [{"id", "text"}],     ``{"l1": "r1"}``
                  "pairs": {"l1": "r1", ...}}``
    ordering      ``{"options": [{"id", "text"}], "order": ["b", "a", "c"]}``  ``["b", "a", "c"]``
    short_answer  ``{"rubric": [{"criterion": "...", "points": 2.0}],         ``"text"``
                  "model_answer": "..."}``
    ============  ==========================================================  =================

Normalisation
    Unknown keys are dropped; texts lose control characters (newlines and tabs survive only in
    the stem, the model answer and short answers) and surrounding whitespace. Option ids are
    1-16 characters of ``[A-Za-z0-9_-]``, unique within the item (for matching: across both
    sides, as QTI requires). Numbers (``value``, ``tolerance``, rubric ``points``) are stored as
    JSON numbers (Python ``float``); rubric points are positive, at most 100, with at most two
    decimals, so ``Decimal(str(points))`` is exact.

Answers
    ``None`` means unanswered for every kind (an empty list, dict or string normalises to
    ``None``). Multiple-choice answers are kept in the option order of the content, matching
    answers in the order of the left side. Numeric answers are kept as the trimmed text the
    student typed: text that does not parse as a number is wrong, not invalid.

Students see rubric criteria and their points (as Chinese papers show 分值) but never the
answer key, the accepted blank answers, the model answer or numeric values and tolerances.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from shuyuan.core.errors import InvalidInput, invalid
from shuyuan.learning.models.exams import STEM_MAX, ItemKind

KINDS: tuple[str, ...] = tuple(ItemKind.values)

MIN_OPTIONS = 2
MAX_OPTIONS = 10
ID_MAX = 16
OPTION_TEXT_MAX = 1000
MAX_BLANKS = 20
MAX_ACCEPTED = 20
BLANK_ANSWER_MAX = 200
UNIT_MAX = 20
NUMERIC_ANSWER_MAX = 50
MAX_CRITERIA = 10
CRITERION_MAX = 500
POINTS_MAX = 100
MODEL_ANSWER_MAX = 5000
SHORT_ANSWER_MAX = 5000
#: Absolute slack added to a numeric tolerance, for binary floating point.
EPSILON = 1e-9
#: The fraction for a multiple-choice answer that is a non-empty subset of the key.
PARTIAL_MULTIPLE = 0.5

#: A blank in a fill-in-the-blank stem: three or more underscores.
BLANK_MARKER = re.compile(r"_{3,}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPACES = re.compile(r"\s+")

_CHOICE_KINDS = frozenset({ItemKind.SINGLE, ItemKind.MULTIPLE})


# --- text helpers -----------------------------------------------------------------------------


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` without control characters and surrounding whitespace.

    With ``multiline`` newlines (``\\r\\n`` becomes ``\\n``) and tabs are kept; otherwise they
    become spaces.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    keep = {"\n", "\t"} if multiline else set()
    out = []
    for char in value:
        if char in keep:
            out.append(char)
        elif char in "\n\t":
            out.append(" ")
        elif unicodedata.category(char) != "Cc":
            out.append(char)
    return "".join(out).strip()


def clean_stem(stem: Any) -> str:
    """The stem as stored: control characters removed, 1-10000 characters.

    Raises ``InvalidInput`` on field ``stem``.
    """
    return _text(stem, "stem", STEM_MAX, multiline=True)


def blank_count(stem: str) -> int:
    """How many ``___`` blanks the stem has."""
    return len(BLANK_MARKER.findall(stem))


def stem_segments(stem: str) -> list[str]:
    """The stem's text around its blanks: always ``blank_count(stem) + 1`` segments."""
    return BLANK_MARKER.split(stem)


def normalise_blank(text: str, *, case_sensitive: bool = False) -> str:
    """A blank answer as compared: NFKC, trimmed, inner whitespace collapsed, casefolded."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return text if case_sensitive else text.casefold()


def parse_number(text: str, *, unit: str = "") -> float | None:
    """A student's number, or ``None`` when it is not one.

    NFKC first (full-width digits), a leading ``+``/``-`` (also ``−``), a decimal comma when
    there is no dot (``"1,41"``), an optional trailing ``unit``; ``nan`` and ``inf`` are not
    numbers.
    """
    text = unicodedata.normalize("NFKC", text).strip().replace("\u2212", "-")
    if unit:
        folded_unit = unicodedata.normalize("NFKC", unit).strip().casefold()
        if folded_unit and text.casefold().endswith(folded_unit):
            text = text[: len(text) - len(folded_unit)].strip()
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = float(text)
    except ValueError:  # pragma: no cover - the pattern admits only floats
        return None
    return number if math.isfinite(number) else None


# --- validation helpers -----------------------------------------------------------------------


def _bad(field: str, message: str) -> InvalidInput:
    return invalid(field, "BAD_CONTENT", message)


def _text(value: Any, field: str, max_len: int, *, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise _bad(field, _("Enter text."))
    text = clean_text(value, multiline=multiline)
    if not text:
        raise invalid(field, "REQUIRED", _("This cannot be empty."))
    if len(text) > max_len:
        raise invalid(
            field,
            "TOO_LONG",
            _("Use at most %(max)d characters (this has %(n)d).")
            % {"max": max_len, "n": len(text)},
        )
    return text


def _optional_text(value: Any, field: str, max_len: int, *, multiline: bool = False) -> str:
    if value is None or (isinstance(value, str) and not clean_text(value)):
        return ""
    return _text(value, field, max_len, multiline=multiline)


def _list(value: Any, field: str, low: int, high: int) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(field, _("Give a list."))
    if len(value) < low:
        raise invalid(field, "TOO_FEW", _("Give at least %(min)d.") % {"min": low})
    if len(value) > high:
        raise invalid(field, "TOO_MANY", _("Give at most %(max)d.") % {"max": high})
    return value


def _dict(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(field, _("Give an object."))
    return value


def _id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise invalid(
            field,
            "BAD_ID",
            _("An id is 1 to %(max)d letters, digits, '-' or '_'.") % {"max": ID_MAX},
        )
    return value


def _options(value: Any, field: str, seen: set[str] | None = None) -> list[dict[str, str]]:
    """A list of ``{"id", "text"}``; ``seen`` collects ids across several lists."""
    seen = set() if seen is None else seen
    options = []
    for index, raw in enumerate(_list(value, field, MIN_OPTIONS, MAX_OPTIONS)):
        where = f"{field}[{index}]"
        option = _dict(raw, where)
        option_id = _id(option.get("id"), f"{where}.id")
        if option_id in seen:
            raise invalid(
                f"{where}.id",
                "DUPLICATE_ID",
                _("The id %(id)s is used twice.") % {"id": option_id},
            )
        seen.add(option_id)
        text = _text(option.get("text"), f"{where}.text", OPTION_TEXT_MAX)
        options.append({"id": option_id, "text": text})
    return options


def _known(value: Any, field: str, ids: list[str]) -> str:
    if not isinstance(value, str) or value not in ids:
        raise invalid(field, "UNKNOWN_OPTION", _("This is not the id of an option."))
    return value


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise invalid(field, "BAD_NUMBER", _("Enter a number."))
    number = parse_number(value) if isinstance(value, str) else float(value)
    if number is None or not math.isfinite(number):
        raise invalid(field, "BAD_NUMBER", _("Enter a finite number."))
    return number


def _points(value: Any, field: str) -> float:
    number = _number(value, field)
    try:
        exact = Decimal(str(number))
    except InvalidOperation:  # pragma: no cover - finite floats always convert
        raise invalid(field, "BAD_NUMBER", _("Enter a number.")) from None
    if not 0 < number <= POINTS_MAX or exact != exact.quantize(Decimal("0.01")):
        raise invalid(
            field,
            "BAD_NUMBER",
            _("Points are more than 0 and at most %(max)d, with at most two decimals.")
            % {"max": POINTS_MAX},
        )
    return number


def _ids(options: list[dict[str, str]]) -> list[str]:
    return [option["id"] for option in options]


# --- content ----------------------------------------------------------------------------------


def validate_content(kind: str, stem: str, content: Any) -> dict[str, Any]:
    """The normalised content of an item of ``kind``; raises ``InvalidInput`` naming the field
    (``stem``, ``content.options[2].id`` ...) with a code: ``BAD_KIND``, ``BAD_CONTENT``,
    ``REQUIRED``, ``TOO_LONG``, ``TOO_FEW``, ``TOO_MANY``, ``BAD_ID``, ``DUPLICATE_ID``,
    ``UNKNOWN_OPTION``, ``BAD_NUMBER``, ``BLANK_MISMATCH``, ``MISSING_PAIR``, ``BAD_ORDER``.
    """
    if kind not in KINDS:
        raise invalid("kind", "BAD_KIND", _("Unknown kind of item."))
    stem = clean_stem(stem)
    data = _dict(content, "content")
    validator = _VALIDATORS[kind]
    return validator(stem, data)


def _single(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    options = _options(data.get("options"), "content.options")
    correct = _known(data.get("correct"), "content.correct", _ids(options))
    return {"options": options, "correct": correct}


def _multiple(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    options = _options(data.get("options"), "content.options")
    ids = _ids(options)
    raw = _list(data.get("correct"), "content.correct", 1, len(ids))
    chosen = {_known(value, f"content.correct[{i}]", ids) for i, value in enumerate(raw)}
    if len(chosen) != len(raw):
        raise invalid("content.correct", "DUPLICATE_ID", _("An option is listed twice."))
    return {"options": options, "correct": [i for i in ids if i in chosen]}


def _true_false(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    correct = data.get("correct")
    if not isinstance(correct, bool):
        raise _bad("content.correct", _("Choose true or false."))
    return {"correct": correct}


def _fill_blank(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    raw = _list(data.get("blanks"), "content.blanks", 1, MAX_BLANKS)
    markers = blank_count(stem)
    if markers != len(raw):
        raise invalid(
            "content.blanks",
            "BLANK_MISMATCH",
            _("The stem has %(markers)d blanks (___) but %(n)d blanks have answers.")
            % {"markers": markers, "n": len(raw)},
        )
    blanks = []
    for index, value in enumerate(raw):
        where = f"content.blanks[{index}]"
        blank = _dict(value, where)
        accepted = [
            _text(text, f"{where}.accepted[{i}]", BLANK_ANSWER_MAX)
            for i, text in enumerate(
                _list(blank.get("accepted"), f"{where}.accepted", 1, MAX_ACCEPTED)
            )
        ]
        case_sensitive = blank.get("case_sensitive", False)
        if not isinstance(case_sensitive, bool):
            raise _bad(f"{where}.case_sensitive", _("Choose true or false."))
        blanks.append({"accepted": accepted, "case_sensitive": case_sensitive})
    return {"blanks": blanks}


def _numeric(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    value = _number(data.get("value"), "content.value")
    tolerance = _number(data.get("tolerance", 0), "content.tolerance")
    if tolerance < 0:
        raise invalid("content.tolerance", "BAD_NUMBER", _("The tolerance cannot be negative."))
    unit = _optional_text(data.get("unit"), "content.unit", UNIT_MAX)
    return {"value": value, "tolerance": tolerance, "unit": unit}


def _matching(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    left = _options(data.get("left"), "content.left", seen)
    right = _options(data.get("right"), "content.right", seen)
    right_ids = _ids(right)
    raw = _dict(data.get("pairs"), "content.pairs")
    for key in raw:
        if key not in seen or key in right_ids:
            raise invalid(
                "content.pairs",
                "UNKNOWN_OPTION",
                _("%(id)s is not an id on the left.") % {"id": key},
            )
    pairs = {}
    for option_id in _ids(left):
        if option_id not in raw:
            raise invalid(
                f"content.pairs.{option_id}",
                "MISSING_PAIR",
                _("Say what %(id)s matches.") % {"id": option_id},
            )
        pairs[option_id] = _known(raw[option_id], f"content.pairs.{option_id}", right_ids)
    return {"left": left, "right": right, "pairs": pairs}


def _ordering(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    options = _options(data.get("options"), "content.options")
    ids = _ids(options)
    order = data.get("order")
    if (
        not isinstance(order, list)
        or not all(isinstance(i, str) for i in order)
        or sorted(order) != sorted(ids)
    ):
        raise invalid(
            "content.order", "BAD_ORDER", _("The order must list every option exactly once.")
        )
    return {"options": options, "order": list(order)}


def _short_answer(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    rubric = []
    for index, value in enumerate(_list(data.get("rubric"), "content.rubric", 1, MAX_CRITERIA)):
        where = f"content.rubric[{index}]"
        row = _dict(value, where)
        rubric.append(
            {
                "criterion": _text(row.get("criterion"), f"{where}.criterion", CRITERION_MAX),
                "points": _points(row.get("points"), f"{where}.points"),
            }
        )
    model_answer = _optional_text(
        data.get("model_answer"), "content.model_answer", MODEL_ANSWER_MAX, multiline=True
    )
    return {"rubric": rubric, "model_answer": model_answer}


_VALIDATORS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    ItemKind.SINGLE: _single,
    ItemKind.MULTIPLE: _multiple,
    ItemKind.TRUE_FALSE: _true_false,
    ItemKind.FILL_BLANK: _fill_blank,
    ItemKind.NUMERIC: _numeric,
    ItemKind.MATCHING: _matching,
    ItemKind.ORDERING: _ordering,
    ItemKind.SHORT_ANSWER: _short_answer,
}


def rubric_total(content: dict[str, Any]) -> Decimal:
    """The sum of a short answer's rubric points (exact)."""
    return sum((Decimal(str(row["points"])) for row in content.get("rubric", [])), Decimal(0))


# --- answers ----------------------------------------------------------------------------------


def _bad_answer(message: str) -> InvalidInput:
    return invalid("answer", "BAD_ANSWER", message)


def _unknown_answer() -> InvalidInput:
    return invalid("answer", "UNKNOWN_OPTION", _("The answer names an option the item lacks."))


def _option_ids(content: dict[str, Any], key: str = "options") -> list[str]:
    return [str(option.get("id")) for option in content.get(key) or []]


def validate_answer(kind: str, content: dict[str, Any], answer: Any) -> Any:
    """The normalised answer, or ``None`` when unanswered.

    Raises ``invalid("answer", "BAD_ANSWER", ...)`` for a wrong shape or length and
    ``invalid("answer", "UNKNOWN_OPTION", ...)`` for ids the item does not have.
    """
    if answer is None:
        return None
    if kind not in KINDS:
        raise invalid("kind", "BAD_KIND", _("Unknown kind of item."))
    return _ANSWER_VALIDATORS[kind](content, answer)


def _answer_single(content: dict[str, Any], answer: Any) -> Any:
    if not isinstance(answer, str):
        raise _bad_answer(_("Choose one option."))
    if not answer:
        return None
    if answer not in _option_ids(content):
        raise _unknown_answer()
    return answer


def _answer_multiple(content: dict[str, Any], answer: Any) -> Any:
    if not isinstance(answer, list) or not all(isinstance(i, str) for i in answer):
        raise _bad_answer(_("Choose a list of options."))
    if not answer:
        return None
    ids = _option_ids(content)
    if any(i not in ids for i in answer):
        raise _unknown_answer()
    if len(set(answer)) != len(answer):
        raise _bad_answer(_("An option is chosen twice."))
    return [i for i in ids if i in answer]


def _answer_true_false(content: dict[str, Any], answer: Any) -> Any:
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str):
        folded = answer.strip().casefold()
        if not folded:
            return None
        if folded in ("true", "false"):
            return folded == "true"
    raise _bad_answer(_("Answer true or false."))


def _answer_fill_blank(content: dict[str, Any], answer: Any) -> Any:
    blanks = len(content.get("blanks") or [])
    if not isinstance(answer, list) or len(answer) != blanks:
        raise _bad_answer(_("Give one answer per blank (%(n)d).") % {"n": blanks})
    texts = []
    for value in answer:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise _bad_answer(_("Each blank's answer is text."))
        text = clean_text(value)
        if len(text) > BLANK_ANSWER_MAX:
            raise _bad_answer(
                _("Use at most %(max)d characters per blank.") % {"max": BLANK_ANSWER_MAX}
            )
        texts.append(text)
    return texts if any(texts) else None


def _answer_numeric(content: dict[str, Any], answer: Any) -> Any:
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        raise _bad_answer(_("Enter a number."))
    text = clean_text(answer if isinstance(answer, str) else repr(answer))
    if len(text) > NUMERIC_ANSWER_MAX:
        raise _bad_answer(_("Use at most %(max)d characters.") % {"max": NUMERIC_ANSWER_MAX})
    return text or None


def _answer_matching(content: dict[str, Any], answer: Any) -> Any:
    if not isinstance(answer, dict):
        raise _bad_answer(_("Match each item on the left to one on the right."))
    left = _option_ids(content, "left")
    right = _option_ids(content, "right")
    chosen = {}
    for key, value in answer.items():
        if value is None or value == "":
            continue
        if not isinstance(key, str) or not isinstance(value, str):
            raise _bad_answer(_("Match each item on the left to one on the right."))
        if key not in left or value not in right:
            raise _unknown_answer()
        chosen[key] = value
    return {key: chosen[key] for key in left if key in chosen} or None


def _answer_ordering(content: dict[str, Any], answer: Any) -> Any:
    if not isinstance(answer, list) or not all(isinstance(i, str) for i in answer):
        raise _bad_answer(_("Put the options in order."))
    if not answer:
        return None
    ids = _option_ids(content)
    if any(i not in ids for i in answer):
        raise _unknown_answer()
    if sorted(answer) != sorted(ids):
        raise _bad_answer(_("Put every option in the order exactly once."))
    return list(answer)


def _answer_short(content: dict[str, Any], answer: Any) -> Any:
    if not isinstance(answer, str):
        raise _bad_answer(_("Enter text."))
    text = clean_text(answer, multiline=True)
    if len(text) > SHORT_ANSWER_MAX:
        raise _bad_answer(_("Use at most %(max)d characters.") % {"max": SHORT_ANSWER_MAX})
    return text or None


_ANSWER_VALIDATORS: dict[str, Callable[[dict[str, Any], Any], Any]] = {
    ItemKind.SINGLE: _answer_single,
    ItemKind.MULTIPLE: _answer_multiple,
    ItemKind.TRUE_FALSE: _answer_true_false,
    ItemKind.FILL_BLANK: _answer_fill_blank,
    ItemKind.NUMERIC: _answer_numeric,
    ItemKind.MATCHING: _answer_matching,
    ItemKind.ORDERING: _answer_ordering,
    ItemKind.SHORT_ANSWER: _answer_short,
}


# --- marking ----------------------------------------------------------------------------------


def mark(kind: str, content: dict[str, Any], answer: Any) -> float | None:
    """The fraction of the item's points the answer earns, 0..1; ``None`` for short answers
    (a teacher marks them). Unanswered and invalid (tampered) answers earn 0.
    """
    if kind == ItemKind.SHORT_ANSWER:
        return None
    try:
        answer = validate_answer(kind, content, answer)
    except InvalidInput:
        return 0.0
    if answer is None:
        return 0.0
    return _MARKERS[kind](content, answer)


def _mark_single(content: dict[str, Any], answer: Any) -> float:
    return 1.0 if answer == content.get("correct") else 0.0


def _mark_multiple(content: dict[str, Any], answer: Any) -> float:
    chosen, correct = set(answer), set(content.get("correct") or [])
    if chosen == correct:
        return 1.0
    return PARTIAL_MULTIPLE if chosen <= correct else 0.0


def _mark_true_false(content: dict[str, Any], answer: Any) -> float:
    return 1.0 if answer is content.get("correct") else 0.0


def _mark_fill_blank(content: dict[str, Any], answer: Any) -> float:
    blanks = content.get("blanks") or []
    right = 0
    for blank, text in zip(blanks, answer, strict=True):
        case_sensitive = bool(blank.get("case_sensitive"))
        given = normalise_blank(text, case_sensitive=case_sensitive)
        accepted = {normalise_blank(a, case_sensitive=case_sensitive) for a in blank["accepted"]}
        right += bool(given) and given in accepted
    return right / len(blanks)


def _mark_numeric(content: dict[str, Any], answer: Any) -> float:
    number = parse_number(answer, unit=content.get("unit") or "")
    if number is None:
        return 0.0
    tolerance = float(content.get("tolerance") or 0)
    return 1.0 if abs(number - float(content["value"])) <= tolerance + EPSILON else 0.0


def _mark_matching(content: dict[str, Any], answer: Any) -> float:
    pairs = content.get("pairs") or {}
    right = sum(1 for left, target in pairs.items() if answer.get(left) == target)
    return right / len(pairs)


def _mark_ordering(content: dict[str, Any], answer: Any) -> float:
    return 1.0 if answer == content.get("order") else 0.0


_MARKERS: dict[str, Callable[[dict[str, Any], Any], float]] = {
    ItemKind.SINGLE: _mark_single,
    ItemKind.MULTIPLE: _mark_multiple,
    ItemKind.TRUE_FALSE: _mark_true_false,
    ItemKind.FILL_BLANK: _mark_fill_blank,
    ItemKind.NUMERIC: _mark_numeric,
    ItemKind.MATCHING: _mark_matching,
    ItemKind.ORDERING: _mark_ordering,
}


# --- presentation -----------------------------------------------------------------------------


def shuffled_option_ids(kind: str, content: dict[str, Any], rng: random.Random) -> list[str] | None:
    """A shuffled order of the option ids (for matching: of the right side); ``None`` for kinds
    without options. An ordering item is never shown already in its correct order.
    """
    if kind in _CHOICE_KINDS or kind == ItemKind.ORDERING:
        ids = _option_ids(content)
    elif kind == ItemKind.MATCHING:
        ids = _option_ids(content, "right")
    else:
        return None
    rng.shuffle(ids)
    if kind == ItemKind.ORDERING and len(ids) > 1 and ids == content.get("order"):
        ids = ids[1:] + ids[:1]
    return ids


def _in_order(options: list[dict[str, Any]], order: list[str] | None) -> list[dict[str, str]]:
    """``options`` (as ``{"id", "text"}``) in ``order``; ids missing from ``order`` keep their
    place after it, unknown ids in ``order`` are ignored.
    """
    plain = [{"id": str(o["id"]), "text": str(o["text"])} for o in options]
    if not order:
        return plain
    by_id = {option["id"]: option for option in plain}
    first = [by_id[i] for i in dict.fromkeys(order) if i in by_id]
    return first + [option for option in plain if option["id"] not in set(order)]


def student_view(
    kind: str, stem: str, content: dict[str, Any], option_order: list[str] | None
) -> dict[str, Any]:
    """What a student may see of an item; never the key.

    Always ``kind`` and ``stem``; plus ``options`` (single, multiple, ordering: in
    ``option_order``), ``blanks`` and ``segments`` (fill_blank: the stem's text around its
    blanks, one more segment than blanks), ``unit`` (numeric), ``left`` and ``right`` (matching,
    right in ``option_order``), ``rubric`` with criteria and points and ``max_length``
    (short_answer).
    """
    view: dict[str, Any] = {"kind": str(kind), "stem": stem}
    if kind in _CHOICE_KINDS or kind == ItemKind.ORDERING:
        view["options"] = _in_order(content.get("options") or [], option_order)
    elif kind == ItemKind.FILL_BLANK:
        view["blanks"] = len(content.get("blanks") or [])
        view["segments"] = stem_segments(stem)
    elif kind == ItemKind.NUMERIC:
        view["unit"] = str(content.get("unit") or "")
    elif kind == ItemKind.MATCHING:
        view["left"] = _in_order(content.get("left") or [], None)
        view["right"] = _in_order(content.get("right") or [], option_order)
    elif kind == ItemKind.SHORT_ANSWER:
        view["rubric"] = [
            {"criterion": str(row["criterion"]), "points": row["points"]}
            for row in content.get("rubric") or []
        ]
        view["max_length"] = SHORT_ANSWER_MAX
    return view


def _texts(options: Any) -> dict[str, str]:
    return {str(o.get("id")): str(o.get("text", "")) for o in options or [] if isinstance(o, dict)}


def readable_answer(kind: str, content: dict[str, Any], answer: Any) -> str:
    """``answer`` (or the key, in answer shape) as a person reads it: option ids with their
    texts, matching pairs by text, blanks in order, a number with its unit."""
    if answer is None:
        return ""
    if kind == ItemKind.TRUE_FALSE:
        return str(_("True")) if answer is True else str(_("False"))
    if kind in (ItemKind.SINGLE, ItemKind.MULTIPLE, ItemKind.ORDERING):
        texts = _texts(content.get("options"))
        chosen = answer if isinstance(answer, list) else [answer]
        joiner = " → " if kind == ItemKind.ORDERING else "; "
        return joiner.join(f"{i}. {texts.get(str(i), '')}" for i in chosen)
    if kind == ItemKind.MATCHING and isinstance(answer, dict):
        left, right = _texts(content.get("left")), _texts(content.get("right"))
        return "; ".join(
            f"{left.get(str(k), k)} → {right.get(str(v), v)}" for k, v in answer.items()
        )
    if kind == ItemKind.FILL_BLANK and isinstance(answer, list):
        return " | ".join(str(part) for part in answer)
    if kind == ItemKind.NUMERIC:
        unit = str(content.get("unit") or "")
        return f"{answer} {unit}".strip()
    return answer_text(kind, content, answer)


def answer_text(kind: str, content: dict[str, Any], answer: Any) -> str:
    """The answer as one readable string in the form of xAPI ``result.response``: choices and
    blanks joined by ``[,]``, matching pairs as ``l1[.]r1[,]l2[.]r2``; ``""`` when unanswered.
    """
    if answer is None:
        return ""
    if kind == ItemKind.TRUE_FALSE:
        return "true" if answer is True else "false"
    if kind == ItemKind.MATCHING and isinstance(answer, dict):
        return "[,]".join(f"{left}[.]{right}" for left, right in answer.items())
    if isinstance(answer, list):
        return "[,]".join(str(part) for part in answer)
    if kind == ItemKind.NUMERIC and isinstance(answer, float):
        return repr(answer)
    return str(answer)


def correct_answer(kind: str, content: dict[str, Any]) -> Any:
    """The key in the shape of an answer: the first accepted text per blank, the numeric value
    (a float), the model answer (``None`` when there is none) for short answers.
    """
    if kind in (ItemKind.SINGLE, ItemKind.MULTIPLE, ItemKind.TRUE_FALSE):
        return content.get("correct")
    if kind == ItemKind.FILL_BLANK:
        return [blank["accepted"][0] for blank in content.get("blanks") or []]
    if kind == ItemKind.NUMERIC:
        return content.get("value")
    if kind == ItemKind.MATCHING:
        return dict(content.get("pairs") or {})
    if kind == ItemKind.ORDERING:
        return list(content.get("order") or [])
    if kind == ItemKind.SHORT_ANSWER:
        return content.get("model_answer") or None
    raise invalid("kind", "BAD_KIND", _("Unknown kind of item."))
