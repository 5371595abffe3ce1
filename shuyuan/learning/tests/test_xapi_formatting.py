"""Tests of the ``format`` parameter's output and Accept-Language handling (no database)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shuyuan.learning.xapi.formatting import (
    choose_language,
    format_statement,
    parse_accept_language,
)

ACTIVITY: dict[str, Any] = {
    "objectType": "Activity",
    "id": "http://example.com/activities/quiz",
    "definition": {
        "name": {"en-US": "Quiz", "zh-Hans": "测验", "fr": "Questionnaire"},
        "description": {"en-US": "A quiz", "zh-Hans": "一次测验"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": "choice",
        "choices": [
            {"id": "a", "description": {"en-US": "Yes", "zh-Hans": "是"}},
            {"id": "b", "description": {"en-US": "No", "zh-Hans": "否"}},
        ],
    },
}
STATEMENT: dict[str, Any] = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "学生甲", "mbox": "mailto:a@example.com"},
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/answered",
        "display": {"en-US": "answered", "zh-Hans": "回答"},
    },
    "object": ACTIVITY,
    "result": {"success": True},
    "context": {
        "instructor": {
            "objectType": "Agent",
            "name": "老师",
            "account": {"homePage": "http://h.example", "name": "t1"},
        },
        "team": {
            "objectType": "Group",
            "name": "一班",
            "member": [{"name": "学生甲", "mbox": "mailto:a@example.com"}],
        },
        "contextActivities": {"parent": [ACTIVITY]},
        "contextAgents": [
            {
                "objectType": "contextAgent",
                "agent": {"name": "助教", "mbox": "mailto:ta@example.com"},
            }
        ],
        "contextGroups": [
            {
                "objectType": "contextGroup",
                "group": {"objectType": "Group", "name": "组", "openid": "http://o.example/g"},
            }
        ],
    },
    "timestamp": "2024-01-01T00:00:00Z",
    "stored": "2024-01-01T00:00:01Z",
    "authority": {
        "objectType": "Group",
        "member": [
            {"name": "app", "account": {"homePage": "http://h.example", "name": "app"}},
            {"name": "user", "mbox": "mailto:u@example.com"},
        ],
    },
    "version": "2.0.0",
}


def test_format_statement_exact_is_a_deep_copy() -> None:
    result = format_statement(STATEMENT, fmt="exact", languages=["zh-hans"])
    assert result == STATEMENT
    assert result is not STATEMENT
    result["object"]["definition"]["name"].clear()
    assert STATEMENT["object"]["definition"]["name"]


def test_format_statement_ids_keeps_only_identifiers() -> None:
    result = format_statement(STATEMENT, fmt="ids", languages=[])
    assert result["actor"] == {"objectType": "Agent", "mbox": "mailto:a@example.com"}
    assert result["verb"] == {"id": "http://adlnet.gov/expapi/verbs/answered"}
    assert result["object"] == {
        "objectType": "Activity",
        "id": "http://example.com/activities/quiz",
    }
    context = result["context"]
    assert context["instructor"] == {
        "objectType": "Agent",
        "account": {"homePage": "http://h.example", "name": "t1"},
    }
    assert context["team"] == {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}
    assert context["contextActivities"]["parent"] == [
        {"objectType": "Activity", "id": "http://example.com/activities/quiz"}
    ]
    assert context["contextAgents"][0]["agent"] == {"mbox": "mailto:ta@example.com"}
    assert context["contextGroups"][0]["group"] == {
        "objectType": "Group",
        "openid": "http://o.example/g",
    }
    assert result["authority"]["member"][1] == {"mbox": "mailto:u@example.com"}
    assert (result["id"], result["result"], result["timestamp"], result["version"]) == (
        STATEMENT["id"],
        STATEMENT["result"],
        STATEMENT["timestamp"],
        STATEMENT["version"],
    )


def test_format_statement_ids_identified_group_drops_members() -> None:
    statement = copy.deepcopy(STATEMENT)
    statement["actor"] = {
        "objectType": "Group",
        "mbox": "mailto:g@example.com",
        "member": [{"mbox": "mailto:x@y.z"}],
    }
    result = format_statement(statement, fmt="ids", languages=[])
    assert result["actor"] == {"objectType": "Group", "mbox": "mailto:g@example.com"}


def test_format_statement_ids_substatement_reduced_inside() -> None:
    statement = copy.deepcopy(STATEMENT)
    statement["object"] = {
        "objectType": "SubStatement",
        "actor": STATEMENT["actor"],
        "verb": STATEMENT["verb"],
        "object": ACTIVITY,
    }
    result = format_statement(statement, fmt="ids", languages=[])
    assert result["object"]["actor"] == {"objectType": "Agent", "mbox": "mailto:a@example.com"}
    assert result["object"]["object"] == {"id": ACTIVITY["id"]}  # XAPI-00171: the id alone


def test_format_statement_ids_statementref_unchanged() -> None:
    statement = {
        **STATEMENT,
        "object": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
    }
    assert format_statement(statement, fmt="ids", languages=[])["object"] == statement["object"]


def test_format_statement_canonical_reduces_language_maps() -> None:
    result = format_statement(STATEMENT, fmt="canonical", languages=["zh-hans", "en"])
    definition = result["object"]["definition"]
    assert definition["name"] == {"zh-Hans": "测验"}
    assert definition["description"] == {"zh-Hans": "一次测验"}
    assert [c["description"] for c in definition["choices"]] == [
        {"zh-Hans": "是"},
        {"zh-Hans": "否"},
    ]
    assert result["verb"]["display"] == {"zh-Hans": "回答"}
    assert result["context"]["contextActivities"]["parent"][0]["definition"]["name"] == {
        "zh-Hans": "测验"
    }
    assert result["actor"] == STATEMENT["actor"]
    assert STATEMENT["verb"]["display"] == {"en-US": "answered", "zh-Hans": "回答"}


def test_format_statement_canonical_falls_back_per_map() -> None:
    result = format_statement(STATEMENT, fmt="canonical", languages=["fr"])
    definition = result["object"]["definition"]
    assert definition["name"] == {"fr": "Questionnaire"}
    assert definition["description"] == {"en-US": "A quiz"}


def test_format_statement_canonical_uses_stored_definition() -> None:
    canonical: dict[str, dict[str, Any]] = {
        ACTIVITY["id"]: {"name": {"en-US": "Final quiz", "zh-Hans": "期末测验"}}
    }
    result = format_statement(
        STATEMENT, fmt="canonical", languages=["zh-hans"], activity_definitions=canonical
    )
    assert result["object"]["definition"] == {"name": {"zh-Hans": "期末测验"}}
    assert canonical[ACTIVITY["id"]]["name"] == {"en-US": "Final quiz", "zh-Hans": "期末测验"}


def test_format_statement_canonical_single_context_activity_as_list() -> None:
    statement = copy.deepcopy(STATEMENT)
    statement["context"]["contextActivities"] = {"parent": {"id": "http://example.com/p"}}
    result = format_statement(statement, fmt="canonical", languages=[])
    assert result["context"]["contextActivities"]["parent"] == [{"id": "http://example.com/p"}]


def test_format_statement_unknown_format_raises() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        format_statement(STATEMENT, fmt="full", languages=[])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", []),
        ("da, en-gb;q=0.8, en;q=0.7", ["da", "en-gb", "en"]),
        ("en;q=0.5, zh-Hans", ["zh-hans", "en"]),
        ("fr;q=0, de", ["de"]),
        ("*;q=0.1, ja", ["ja", "*"]),
        ("en;q=abc, fr;q=0.9", ["en", "fr"]),
        ("en, en, EN;q=0.2", ["en"]),
        ("zh_CN, ??, de", ["de"]),
    ],
)
def test_parse_accept_language(header: str, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (["en-us"], "en-US"),
        (["en"], "en"),
        (["en-gb"], "en-GB"),
        (["en-au"], "en"),
        (["zh-hant-tw", "en-gb"], "zh-Hant"),
        (["*"], "en"),
        (["ko"], "und"),
        ([], "und"),
    ],
)
def test_choose_language(languages: list[str], expected: str) -> None:
    language_map = {"en": "x", "en-US": "x", "en-GB": "x", "zh-Hant": "x", "und": "x"}
    assert choose_language(language_map, languages) == expected


def test_choose_language_without_match_or_und_takes_first() -> None:
    assert choose_language({"fr": "a", "de": "b"}, ["ko"]) == "fr"
    assert choose_language({}, ["en"]) is None


def test_choose_language_skips_singleton_when_truncating() -> None:
    assert choose_language({"de": "a", "de-x": "b"}, ["de-x-foo"]) == "de"


def test_choose_language_range_prefix_of_tag() -> None:
    assert choose_language({"fr": "y", "en-US": "x"}, ["en"]) == "en-US"
