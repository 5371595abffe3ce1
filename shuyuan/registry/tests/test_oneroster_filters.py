"""The OneRoster filter grammar parser and its mapping to ORM lookups (no database)."""

from __future__ import annotations

import pytest
from django.db.models import Q

from shuyuan.registry.oneroster.filters import (
    MAX_PREDICATES,
    FieldSpec,
    QueryParamError,
    filter_q,
    order_by,
    parse_filter,
    selected_fields,
)

FIELDS = {
    "name": FieldSpec("name"),
    "when": FieldSpec("when", "datetime"),
    "on": FieldSpec("on", "date"),
    "flag": FieldSpec("flag", "bool"),
}


def _preds(groups):
    return [[(p.field, p.op, p.value) for p in g] for g in groups]


def test_and_binds_tighter_than_or():
    groups = parse_filter("a='1' OR b='2' AND c='3'")
    assert _preds(groups) == [[("a", "=", "1")], [("b", "=", "2"), ("c", "=", "3")]]


def test_escaped_quote_spaces_and_lowercase_keywords():
    groups = parse_filter("name = 'O''Brien'  and x~'a b'")
    assert _preds(groups) == [[("name", "=", "O'Brien"), ("x", "~", "a b")]]


@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<=", "~"])
def test_each_operator_parses(op):
    assert _preds(parse_filter(f"f{op}'v'")) == [[("f", op, "v")]]


def test_dotted_field_names():
    assert parse_filter("school.sourcedId='x'")[0][0].field == "school.sourcedId"


@pytest.mark.parametrize(
    ("text", "position"),
    [("='x'", 1), ("name 'x'", 6), ("name=x", 6), ("name='x' ANDY b='1'", 9), ("a='1' AND ", 11)],
)
def test_malformed_filter_names_the_position(text, position):
    with pytest.raises(QueryParamError) as err:
        parse_filter(text)
    assert f"position {position}" in err.value.description
    assert err.value.code == "invalid_filter_field"


def test_too_many_predicates():
    parse_filter(" AND ".join(["a='1'"] * MAX_PREDICATES))
    with pytest.raises(QueryParamError):
        parse_filter(" AND ".join(["a='1'"] * (MAX_PREDICATES + 1)))


def test_contains_is_case_insensitive_and_not_equal_negates():
    assert filter_q("name~'ab'", FIELDS) == Q(name__icontains="ab")
    assert filter_q("name!='ab'", FIELDS) == ~Q(name__exact="ab")


def test_plain_date_on_a_datetime_field_is_the_whole_utc_day():
    q = filter_q("when='2025-01-02'", FIELDS)
    start, end = (dict(q.children)["when__gte"], dict(q.children)["when__lt"])
    assert start.isoformat() == "2025-01-02T00:00:00+00:00"
    assert end.isoformat() == "2025-01-03T00:00:00+00:00"
    assert filter_q("when>'2025-01-02'", FIELDS) == Q(when__gte=end)
    full = filter_q("when>='2025-01-02T08:00:00Z'", FIELDS)
    assert dict(full.children)["when__gte"].isoformat() == "2025-01-02T08:00:00+00:00"


@pytest.mark.parametrize(
    "text", ["flag>'true'", "flag='yes'", "on~'2025'", "on='tomorrow'", "x='1'"]
)
def test_bad_predicates_are_refused(text):
    with pytest.raises(QueryParamError):
        filter_q(text, FIELDS)


def test_order_by_and_selection():
    assert order_by("", "", FIELDS) == ["sourced_id", "pk"]
    assert order_by("name", "desc", FIELDS) == ["-name", "sourced_id", "pk"]
    with pytest.raises(QueryParamError):
        order_by("nope", "asc", FIELDS)
    assert selected_fields("a, b", ("a", "b")) == ["a", "b"]
    assert selected_fields("", ("a",)) is None
    with pytest.raises(QueryParamError) as err:
        selected_fields("a,c", ("a", "b"))
    assert err.value.code == "invalid_selection_field"
