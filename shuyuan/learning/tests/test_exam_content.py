"""Tests of item content and answers (pure functions, no database): validation per kind with
field and code, marking (full, partial, zero), tampered answers, and that the student view never
shows the key.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from shuyuan.core.errors import InvalidInput
from shuyuan.learning.exams.content import (
    KINDS,
    answer_text,
    clean_stem,
    correct_answer,
    mark,
    normalise_blank,
    parse_number,
    rubric_total,
    shuffled_option_ids,
    student_view,
    validate_answer,
    validate_content,
)

from .exam_world import CONTENTS


def content(kind: str) -> dict[str, Any]:
    stem, raw = CONTENTS[kind]
    return validate_content(kind, stem, copy.deepcopy(raw))


def stem(kind: str) -> str:
    return CONTENTS[kind][0]


# --- validate_content -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_fixture_content_is_valid_and_normalises_idempotently(kind: str) -> None:
    once = content(kind)
    assert validate_content(kind, stem(kind), copy.deepcopy(once)) == once
    json.dumps(once)  # stored as JSON


def test_unknown_keys_are_dropped_and_text_cleaned() -> None:
    raw = copy.deepcopy(CONTENTS["single"][1])
    raw["extra"] = 1
    raw["options"][0]["text"] = "  5\x00\n "
    raw["options"][0]["colour"] = "red"
    result = validate_content("single", " stem\x07 with\nnewline ", raw)
    assert "extra" not in result
    assert result["options"][0] == {"id": "A", "text": "5"}
    assert clean_stem(" stem\x07 with\r\nnewline ") == "stem with\nnewline"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``value`` at a dotted path with ``[i]`` indices inside a content dict."""

    def apply(data: dict[str, Any]) -> None:
        keys: list[Any] = []
        for part in path.split("."):
            name, _, rest = part.partition("[")
            keys.append(name)
            if rest:
                keys.extend(int(i) for i in rest.rstrip("]").split("]["))
        target: Any = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return apply


def _options(n: int) -> list[dict[str, str]]:
    return [{"id": f"o{i}", "text": f"t{i}"} for i in range(n)]


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


BAD_CONTENT: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # single
    ("single", _set("options", _options(1)), "content.options", "TOO_FEW"),
    ("single", _set("options", _options(11)), "content.options", "TOO_MANY"),
    ("single", _set("options", "A,B"), "content.options", "BAD_CONTENT"),
    ("single", _set("options[2]", "C"), "content.options[2]", "BAD_CONTENT"),
    ("single", _set("options[2].id", "C D"), "content.options[2].id", "BAD_ID"),
    ("single", _set("options[2].id", "x" * 17), "content.options[2].id", "BAD_ID"),
    ("single", _set("options[2].id", ""), "content.options[2].id", "BAD_ID"),
    ("single", _set("options[2].id", 3), "content.options[2].id", "BAD_ID"),
    ("single", _set("options[2].id", "A"), "content.options[2].id", "DUPLICATE_ID"),
    ("single", _set("options[1].text", " \x01 "), "content.options[1].text", "REQUIRED"),
    ("single", _set("options[1].text", "x" * 1001), "content.options[1].text", "TOO_LONG"),
    ("single", _set("correct", "E"), "content.correct", "UNKNOWN_OPTION"),
    ("single", _set("correct", ["A"]), "content.correct", "UNKNOWN_OPTION"),
    ("single", _delete("correct"), "content.correct", "UNKNOWN_OPTION"),
    # multiple
    ("multiple", _set("correct", []), "content.correct", "TOO_FEW"),
    ("multiple", _set("correct", "A"), "content.correct", "BAD_CONTENT"),
    ("multiple", _set("correct", ["A", "Z"]), "content.correct[1]", "UNKNOWN_OPTION"),
    ("multiple", _set("correct", ["A", "A"]), "content.correct", "DUPLICATE_ID"),
    # true_false
    ("true_false", _set("correct", "true"), "content.correct", "BAD_CONTENT"),
    ("true_false", _delete("correct"), "content.correct", "BAD_CONTENT"),
    # fill_blank
    ("fill_blank", _set("blanks", []), "content.blanks", "TOO_FEW"),
    ("fill_blank", _set("blanks", [{"accepted": ["1"]}] * 21), "content.blanks", "TOO_MANY"),
    ("fill_blank", _set("blanks", [{"accepted": ["1"]}]), "content.blanks", "BLANK_MISMATCH"),
    ("fill_blank", _set("blanks[0].accepted", []), "content.blanks[0].accepted", "TOO_FEW"),
    (
        "fill_blank",
        _set("blanks[0].accepted", ["a"] * 21),
        "content.blanks[0].accepted",
        "TOO_MANY",
    ),
    (
        "fill_blank",
        _set("blanks[1].accepted", ["2", "  "]),
        "content.blanks[1].accepted[1]",
        "REQUIRED",
    ),
    (
        "fill_blank",
        _set("blanks[1].accepted", [2]),
        "content.blanks[1].accepted[0]",
        "BAD_CONTENT",
    ),
    (
        "fill_blank",
        _set("blanks[0].case_sensitive", "no"),
        "content.blanks[0].case_sensitive",
        "BAD_CONTENT",
    ),
    # numeric
    ("numeric", _set("value", float("nan")), "content.value", "BAD_NUMBER"),
    ("numeric", _set("value", float("inf")), "content.value", "BAD_NUMBER"),
    ("numeric", _set("value", "abc"), "content.value", "BAD_NUMBER"),
    ("numeric", _set("value", True), "content.value", "BAD_NUMBER"),
    ("numeric", _delete("value"), "content.value", "BAD_NUMBER"),
    ("numeric", _set("tolerance", -0.1), "content.tolerance", "BAD_NUMBER"),
    ("numeric", _set("tolerance", float("inf")), "content.tolerance", "BAD_NUMBER"),
    ("numeric", _set("unit", "m" * 21), "content.unit", "TOO_LONG"),
    # matching
    ("matching", _set("left", _options(1)), "content.left", "TOO_FEW"),
    ("matching", _set("right", _options(11)), "content.right", "TOO_MANY"),
    ("matching", _set("right[0].id", "l1"), "content.right[0].id", "DUPLICATE_ID"),
    ("matching", _set("pairs", {"l1": "r1"}), "content.pairs.l2", "MISSING_PAIR"),
    ("matching", _set("pairs.l2", "r9"), "content.pairs.l2", "UNKNOWN_OPTION"),
    ("matching", _set("pairs.r1", "r1"), "content.pairs", "UNKNOWN_OPTION"),
    ("matching", _set("pairs", [["l1", "r1"]]), "content.pairs", "BAD_CONTENT"),
    # ordering
    ("ordering", _set("options", _options(11)), "content.options", "TOO_MANY"),
    ("ordering", _set("order", ["a", "b"]), "content.order", "BAD_ORDER"),
    ("ordering", _set("order", ["a", "b", "b"]), "content.order", "BAD_ORDER"),
    ("ordering", _set("order", ["a", "b", "z"]), "content.order", "BAD_ORDER"),
    ("ordering", _set("order", "abc"), "content.order", "BAD_ORDER"),
    # short_answer
    ("short_answer", _set("rubric", []), "content.rubric", "TOO_FEW"),
    (
        "short_answer",
        _set("rubric", [{"criterion": "c", "points": 1}] * 11),
        "content.rubric",
        "TOO_MANY",
    ),
    ("short_answer", _set("rubric[1].criterion", ""), "content.rubric[1].criterion", "REQUIRED"),
    (
        "short_answer",
        _set("rubric[1].criterion", "c" * 501),
        "content.rubric[1].criterion",
        "TOO_LONG",
    ),
    ("short_answer", _set("rubric[0].points", 0), "content.rubric[0].points", "BAD_NUMBER"),
    ("short_answer", _set("rubric[0].points", -1), "content.rubric[0].points", "BAD_NUMBER"),
    ("short_answer", _set("rubric[0].points", 101), "content.rubric[0].points", "BAD_NUMBER"),
    ("short_answer", _set("rubric[0].points", 1.005), "content.rubric[0].points", "BAD_NUMBER"),
    ("short_answer", _set("rubric[0].points", "x"), "content.rubric[0].points", "BAD_NUMBER"),
    (
        "short_answer",
        _set("model_answer", "m" * 5001),
        "content.model_answer",
        "TOO_LONG",
    ),
]


@pytest.mark.parametrize(
    ("kind", "change", "field", "code"),
    BAD_CONTENT,
    ids=[f"{kind}-{field}-{code}" for kind, _, field, code in BAD_CONTENT],
)
def test_bad_content_names_field_and_code(
    kind: str, change: Callable[[dict[str, Any]], None], field: str, code: str
) -> None:
    raw = copy.deepcopy(CONTENTS[kind][1])
    change(raw)
    with pytest.raises(InvalidInput) as caught:
        validate_content(kind, stem(kind), raw)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert caught.value.message


@pytest.mark.parametrize(
    ("kind", "stem_text", "raw", "field", "code"),
    [
        ("essay", "x", {}, "kind", "BAD_KIND"),
        ("single", "", CONTENTS["single"][1], "stem", "REQUIRED"),
        ("single", " \x00\x01 ", CONTENTS["single"][1], "stem", "REQUIRED"),
        ("single", "x" * 10_001, CONTENTS["single"][1], "stem", "TOO_LONG"),
        ("single", None, CONTENTS["single"][1], "stem", "BAD_CONTENT"),
        ("single", "x", ["A"], "content", "BAD_CONTENT"),
        ("true_false", "x", None, "content", "BAD_CONTENT"),
    ],
)
def test_bad_stem_kind_or_content_type(
    kind: str, stem_text: Any, raw: Any, field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_content(kind, stem_text, copy.deepcopy(raw))
    assert (caught.value.field, caught.value.code) == (field, code)


def test_content_normalisation_details() -> None:
    multiple = validate_content(
        "multiple",
        "x",
        {"options": _options(3), "correct": ["o2", "o0"]},
    )
    assert multiple["correct"] == ["o0", "o2"]  # option order
    numeric = validate_content("numeric", "x", {"value": "1,5", "tolerance": 0})
    assert numeric == {"value": 1.5, "tolerance": 0.0, "unit": ""}
    numeric = validate_content("numeric", "x", {"value": Decimal("2.5"), "unit": " cm "})
    assert numeric == {"value": 2.5, "tolerance": 0.0, "unit": "cm"}
    blanks = validate_content(
        "fill_blank", "a _____ b ___", {"blanks": [{"accepted": [" x "]}] * 2}
    )
    assert blanks["blanks"][0] == {"accepted": ["x"], "case_sensitive": False}
    short = validate_content(
        "short_answer",
        "x",
        {"rubric": [{"criterion": "c", "points": "1.5"}, {"criterion": "d", "points": 2}]},
    )
    assert short["rubric"] == [
        {"criterion": "c", "points": 1.5},
        {"criterion": "d", "points": 2.0},
    ]
    assert all(isinstance(row["points"], float) for row in short["rubric"])
    assert short["model_answer"] == ""
    assert rubric_total(short) == Decimal("3.5")
    assert rubric_total(content("short_answer")) == Decimal(4)


# --- validate_answer --------------------------------------------------------------------------

GOOD_ANSWERS: list[tuple[str, Any, Any]] = [
    ("single", "A", "A"),
    ("single", "", None),
    ("multiple", ["B", "A"], ["A", "B"]),
    ("multiple", [], None),
    ("true_false", False, False),
    ("true_false", "TRUE", True),
    ("true_false", " false ", False),
    ("true_false", "", None),
    ("fill_blank", [" 9 ", "2"], ["9", "2"]),
    ("fill_blank", ["9", None], ["9", ""]),
    ("fill_blank", ["", " "], None),
    ("numeric", " 1.41 ", "1.41"),
    ("numeric", 1.41, "1.41"),
    ("numeric", 2, "2"),
    ("numeric", "abc", "abc"),  # wrong, not invalid
    ("numeric", "  ", None),
    ("matching", {"l2": "r2", "l1": "r1"}, {"l1": "r1", "l2": "r2"}),
    ("matching", {"l1": "r2", "l2": None}, {"l1": "r2"}),
    ("matching", {}, None),
    ("ordering", ["b", "a", "c"], ["b", "a", "c"]),
    ("ordering", [], None),
    ("short_answer", " text\x00\nmore ", "text\nmore"),
    ("short_answer", "   ", None),
]


@pytest.mark.parametrize("kind", KINDS)
def test_none_is_unanswered_for_every_kind(kind: str) -> None:
    assert validate_answer(kind, content(kind), None) is None


@pytest.mark.parametrize(("kind", "answer", "expected"), GOOD_ANSWERS)
def test_good_answers_normalise(kind: str, answer: Any, expected: Any) -> None:
    assert validate_answer(kind, content(kind), answer) == expected


BAD_ANSWERS: list[tuple[str, Any, str]] = [
    ("single", ["A"], "BAD_ANSWER"),
    ("single", 1, "BAD_ANSWER"),
    ("single", "E", "UNKNOWN_OPTION"),
    ("multiple", "A", "BAD_ANSWER"),
    ("multiple", ["A", 1], "BAD_ANSWER"),
    ("multiple", ["A", "A"], "BAD_ANSWER"),
    ("multiple", ["A", "Z"], "UNKNOWN_OPTION"),
    ("true_false", "yes", "BAD_ANSWER"),
    ("true_false", 1, "BAD_ANSWER"),
    ("fill_blank", ["9"], "BAD_ANSWER"),
    ("fill_blank", "9,2", "BAD_ANSWER"),
    ("fill_blank", ["9", 2], "BAD_ANSWER"),
    ("fill_blank", ["9", "x" * 201], "BAD_ANSWER"),
    ("numeric", True, "BAD_ANSWER"),
    ("numeric", ["1.41"], "BAD_ANSWER"),
    ("numeric", {"v": 1}, "BAD_ANSWER"),
    ("numeric", "1" * 51, "BAD_ANSWER"),
    ("matching", [["l1", "r1"]], "BAD_ANSWER"),
    ("matching", {"l1": 1}, "BAD_ANSWER"),
    ("matching", {"l9": "r1"}, "UNKNOWN_OPTION"),
    ("matching", {"l1": "r9"}, "UNKNOWN_OPTION"),
    ("matching", {"r1": "l1"}, "UNKNOWN_OPTION"),
    ("ordering", ["b", "a"], "BAD_ANSWER"),
    ("ordering", ["b", "a", "a"], "BAD_ANSWER"),
    ("ordering", ["b", "a", "z"], "UNKNOWN_OPTION"),
    ("ordering", "bac", "BAD_ANSWER"),
    ("short_answer", 5, "BAD_ANSWER"),
    ("short_answer", "x" * 5001, "BAD_ANSWER"),
]


@pytest.mark.parametrize(("kind", "answer", "code"), BAD_ANSWERS)
def test_bad_answers(kind: str, answer: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_answer(kind, content(kind), answer)
    assert (caught.value.field, caught.value.code) == ("answer", code)


# --- mark -------------------------------------------------------------------------------------

MARKS: list[tuple[str, Any, float | None]] = [
    ("single", "A", 1.0),
    ("single", "B", 0.0),
    ("single", None, 0.0),
    ("multiple", ["A", "B"], 1.0),
    ("multiple", ["B", "A"], 1.0),
    ("multiple", ["A"], 0.5),
    ("multiple", ["A", "C"], 0.0),
    ("multiple", ["A", "B", "C"], 0.0),
    ("multiple", ["C"], 0.0),
    ("multiple", [], 0.0),
    ("true_false", True, 1.0),
    ("true_false", "true", 1.0),
    ("true_false", False, 0.0),
    ("fill_blank", ["9", "2"], 1.0),
    ("fill_blank", ["NINE", " 2 "], 1.0),
    ("fill_blank", ["ｎｉｎｅ", "２"], 1.0),  # full-width
    ("fill_blank", ["9", "3"], 0.5),
    ("fill_blank", ["", "2"], 0.5),
    ("fill_blank", ["8", "3"], 0.0),
    ("numeric", "1.41", 1.0),
    ("numeric", 1.41, 1.0),
    ("numeric", "１.４１", 1.0),  # full-width digits
    ("numeric", "１．４１", 1.0),  # full-width dot
    ("numeric", "1,41", 1.0),
    ("numeric", "+1.41", 1.0),
    ("numeric", " 1.42 ", 1.0),  # the tolerance edge, despite binary floats
    ("numeric", "1.40", 1.0),
    ("numeric", "1.4", 1.0),
    ("numeric", "1.43", 0.0),
    ("numeric", "1.399", 0.0),
    ("numeric", "-1.41", 0.0),
    ("numeric", "1.41e0", 1.0),
    ("numeric", "141e-2", 1.0),
    ("numeric", "1,410.0", 0.0),
    ("numeric", "1.4.1", 0.0),
    ("numeric", "nan", 0.0),
    ("numeric", "inf", 0.0),
    ("numeric", "sqrt 2", 0.0),
    ("matching", {"l1": "r1", "l2": "r2"}, 1.0),
    ("matching", {"l1": "r1"}, 0.5),
    ("matching", {"l1": "r2", "l2": "r2"}, 0.5),
    ("matching", {"l1": "r2", "l2": "r1"}, 0.0),
    ("ordering", ["b", "a", "c"], 1.0),
    ("ordering", ["a", "b", "c"], 0.0),
    ("short_answer", "anything", None),
    ("short_answer", None, None),
]


@pytest.mark.parametrize(("kind", "answer", "expected"), MARKS)
def test_mark(kind: str, answer: Any, expected: float | None) -> None:
    assert mark(kind, content(kind), answer) == expected


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("single", "Z"),
        ("single", {"A": True}),
        ("multiple", ["A", "B", "Z"]),
        ("multiple", ["A", "B", "B"]),
        ("true_false", 1),
        ("fill_blank", ["9", "2", "x"]),
        ("numeric", [1.41]),
        ("matching", {"l1": "r1", "l2": "r2", "l3": "r1"}),
        ("ordering", ["b", "a", "c", "c"]),
    ],
)
def test_tampered_answers_earn_nothing(kind: str, answer: Any) -> None:
    assert mark(kind, content(kind), answer) == 0.0


def test_fill_blank_case_sensitivity_and_spaces() -> None:
    data = validate_content(
        "fill_blank",
        "Symbol ___ and phrase ___",
        {
            "blanks": [
                {"accepted": ["Na"], "case_sensitive": True},
                {"accepted": ["right  angle"]},
            ]
        },
    )
    assert mark("fill_blank", data, ["Na", "Right Angle"]) == 1.0
    assert mark("fill_blank", data, ["NA", "right\u3000 angle"]) == 0.5
    assert normalise_blank(" Ａ  b ") == "a b"
    assert normalise_blank("Ａ", case_sensitive=True) == "A"


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("1.5", "", 1.5),
        ("−2", "", -2.0),
        (".5", "", 0.5),
        ("5.", "", 5.0),
        ("3 cm", "cm", 3.0),
        ("3CM", "cm", 3.0),
        ("3 cm", "", None),
        ("1,5,0", "", None),
        ("", "", None),
        ("-inf", "", None),
        ("1e999", "", None),
        ("0x10", "", None),
        ("1_000", "", None),
    ],
)
def test_parse_number(text: str, unit: str, expected: float | None) -> None:
    assert parse_number(text, unit=unit) == expected


def test_numeric_exact_and_unit() -> None:
    data = validate_content("numeric", "Length?", {"value": 3, "unit": "cm"})
    assert mark("numeric", data, "3") == 1.0
    assert mark("numeric", data, "3 cm") == 1.0
    assert mark("numeric", data, "3.0000000001") == 1.0  # within the epsilon
    assert mark("numeric", data, "3.001") == 0.0


# --- presentation -----------------------------------------------------------------------------

#: Values of the key that must never reach a student, per kind (only unambiguous ones: they do
#: not occur in the stem or the visible option texts).
SECRETS: dict[str, list[str]] = {
    "single": ['"correct"'],
    "multiple": ['"correct"'],
    "true_false": ['"correct"', ": true"],
    "fill_blank": ['"accepted"', '"case_sensitive"', "nine", '"9"'],
    "numeric": ['"value"', '"tolerance"', "1.41", "0.01"],
    "matching": ['"pairs"'],
    "ordering": ['"order"'],
    "short_answer": ['"model_answer"', "converse it is", "13 squared"],
}


@pytest.mark.parametrize("kind", KINDS)
def test_student_view_never_leaks_the_key(kind: str) -> None:
    data = content(kind)
    order = shuffled_option_ids(kind, data, random.Random(7))
    view = student_view(kind, stem(kind), data, order)
    text = json.dumps(view, ensure_ascii=False)
    for secret in SECRETS[kind]:
        assert secret not in text, secret
    for key in ("correct", "accepted", "pairs", "order", "value", "tolerance", "model_answer"):
        assert f'"{key}"' not in text
    assert view["kind"] == kind
    assert view["stem"] == stem(kind)


def test_student_view_shapes() -> None:
    single = student_view("single", "s", content("single"), ["C", "A", "D", "B"])
    assert [o["id"] for o in single["options"]] == ["C", "A", "D", "B"]
    assert single["options"][1] == {"id": "A", "text": "5"}
    # a stale or partial order keeps every option
    partial = student_view("single", "s", content("single"), ["D", "Z"])
    assert [o["id"] for o in partial["options"]] == ["D", "A", "B", "C"]
    blanks = student_view("fill_blank", stem("fill_blank"), content("fill_blank"), None)
    assert blanks["blanks"] == 2
    assert blanks["segments"] == ["The square root of 81 is ", " and of 4 is ", "."]
    matching = student_view("matching", "s", content("matching"), ["r2", "r1"])
    assert [o["id"] for o in matching["left"]] == ["l1", "l2"]
    assert [o["id"] for o in matching["right"]] == ["r2", "r1"]
    ordering = student_view("ordering", "s", content("ordering"), ["c", "a", "b"])
    assert [o["id"] for o in ordering["options"]] == ["c", "a", "b"]
    numeric = student_view("numeric", "s", content("numeric"), None)
    assert numeric == {"kind": "numeric", "stem": "s", "unit": ""}
    short = student_view("short_answer", "s", content("short_answer"), None)
    assert short["rubric"][0] == {"criterion": "States the converse of the theorem", "points": 2}
    assert short["max_length"] == 5000
    assert student_view("true_false", "s", content("true_false"), None) == {
        "kind": "true_false",
        "stem": "s",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_shuffled_option_ids(kind: str) -> None:
    data = content(kind)
    order = shuffled_option_ids(kind, data, random.Random(1))
    if kind in ("single", "multiple", "ordering"):
        assert order is not None
        assert sorted(order) == sorted(o["id"] for o in data["options"])
    elif kind == "matching":
        assert order is not None
        assert sorted(order) == ["r1", "r2"]
    else:
        assert order is None
    # deterministic for a seed
    assert shuffled_option_ids(kind, data, random.Random(1)) == order


def test_ordering_is_never_shown_solved() -> None:
    data = validate_content("ordering", "x", {"options": _options(2), "order": ["o0", "o1"]})
    for seed in range(30):
        assert shuffled_option_ids("ordering", data, random.Random(seed)) == ["o1", "o0"]


@pytest.mark.parametrize(
    ("kind", "answer", "text"),
    [
        ("single", "A", "A"),
        ("multiple", ["A", "B"], "A[,]B"),
        ("true_false", True, "true"),
        ("true_false", False, "false"),
        ("fill_blank", ["9", "2"], "9[,]2"),
        ("numeric", "1.41", "1.41"),
        ("numeric", 1.41, "1.41"),
        ("matching", {"l1": "r1", "l2": "r2"}, "l1[.]r1[,]l2[.]r2"),
        ("ordering", ["b", "a", "c"], "b[,]a[,]c"),
        ("short_answer", "Because.", "Because."),
        ("single", None, ""),
    ],
)
def test_answer_text(kind: str, answer: Any, text: str) -> None:
    assert answer_text(kind, content(kind), answer) == text


@pytest.mark.parametrize("kind", KINDS)
def test_correct_answer_is_a_valid_full_mark_answer(kind: str) -> None:
    data = content(kind)
    key = correct_answer(kind, data)
    if kind == "short_answer":
        assert key == data["model_answer"]
        assert mark(kind, data, key) is None
    else:
        assert validate_answer(kind, data, key) is not None
        assert mark(kind, data, key) == 1.0
