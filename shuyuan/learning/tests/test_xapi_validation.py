"""Tests of xAPI Statement validation (pure functions, no database).

Valid fixtures must pass for both protocol versions; every invalid variant changes one thing
and must fail at the expected path. The cases follow the ADL LRS conformance suite's configs.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

import pytest

from shuyuan.learning.xapi.validation import (
    V1,
    V2,
    XapiValidationError,
    agent_from_param,
    agent_key,
    is_iri,
    is_language_tag,
    is_uuid,
    loads_json,
    parse_duration,
    parse_timestamp,
    statements_equal,
    validate_agent,
    validate_language_map,
    validate_statement,
    validate_statement_batch,
)

BOTH = [V2, V1]
UUID_A = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
UUID_B = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
SHA2 = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"

AGENT = {"objectType": "Agent", "name": "xAPI mbox", "mbox": "mailto:xapi@adlnet.gov"}
VERB = {
    "id": "http://adlnet.gov/expapi/verbs/attended",
    "display": {"en-GB": "attended", "en-US": "attended"},
}
ACTIVITY = {
    "objectType": "Activity",
    "id": "http://www.example.com/meetings/occurances/34534",
    "definition": {
        "type": "http://adlnet.gov/expapi/activities/meeting",
        "name": {"en-GB": "example meeting", "en-US": "example meeting"},
        "description": {"en-US": "An example meeting."},
        "moreInfo": "http://virtualmeeting.example.com/345256",
        "extensions": {
            "http://example.com/profiles/meetings/extension/location": "X:\\meetings\\one",
            "http://example.com/profiles/meetings/extension/reporter": {"name": "Thomas"},
        },
    },
}
LIKERT = {
    "objectType": "Activity",
    "id": "http://www.example.com/meetings/categories/teammeeting",
    "definition": {
        "name": {"en": "Likert"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": "likert",
        "correctResponsesPattern": ["likert_3"],
        "scale": [
            {"id": "likert_0", "description": {"sr-Latn-RS": "OK"}},
            {"id": "likert_3", "description": {"en-US": "It's Gonna Change the World"}},
        ],
    },
}
GROUP_ANON = {
    "objectType": "Group",
    "member": [
        {"mbox": "mailto:a@example.com"},
        {"objectType": "Agent", "openid": "http://o.example/x"},
    ],
}
GROUP_IDENTIFIED = {
    "objectType": "Group",
    "name": "team",
    "account": {"homePage": "http://www.example.com", "name": "team-1"},
}
AUTHORITY_GROUP = {
    "objectType": "Group",
    "member": [
        {
            "account": {
                "homePage": "http://example.com/xAPI/OAuth/Token",
                "name": "oauth_consumer_x75db",
            }
        },
        {"mbox": "mailto:bob_authority@example.com"},
    ],
}
CONTEXT = {
    "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
    "instructor": {
        "objectType": "Agent",
        "mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975",
    },
    "team": GROUP_IDENTIFIED,
    "contextActivities": {
        "parent": {"id": "http://www.example.com/meetings/series/267"},
        "grouping": [{"objectType": "Activity", "id": "http://www.example.com/meetings/series"}],
        "category": [{"id": "http://www.example.com/meetings/categories/teammeeting"}],
        "other": [ACTIVITY],
    },
    "revision": "rev_10_3_2",
    "platform": "Example virtual meeting software",
    "language": "tlh",
    "statement": {"objectType": "StatementRef", "id": UUID_B},
    "extensions": {"http://example.com/profiles/meetings/contextextensions/airspeed": "600mph"},
}
CONTEXT_AGENTS = [
    {
        "objectType": "contextAgent",
        "agent": {"objectType": "Agent", "mbox": "mailto:player-1@example.com"},
        "relevantTypes": ["https://example.com/activities/type/coach"],
    }
]
CONTEXT_GROUPS = [
    {
        "objectType": "contextGroup",
        "group": {"objectType": "Group", "mbox": "mailto:team-1@example.com"},
        "relevantTypes": ["https://example.com/activities/type/team"],
    }
]
RESULT = {
    "score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
    "success": True,
    "completion": True,
    "response": "We agreed on some example actions.",
    "duration": "PT1H0M0S",
    "extensions": {"http://example.com/profiles/meetings/resultextensions/minuteslocation": "X:"},
}
ATTACHMENT = {
    "usageType": "http://example.com/attachment-usage/test",
    "display": {"en-US": "A test attachment", "es": "Un accesorio de prueba"},
    "description": {"en-US": "A test attachment (description)", "es-MX": "descripción"},
    "contentType": "text/plain; charset=ascii",
    "length": 27,
    "sha2": SHA2,
    "fileUrl": "http://over.there.com/file.txt",
}


def base() -> dict[str, Any]:
    return copy.deepcopy({"actor": AGENT, "verb": VERB, "object": ACTIVITY})


def full() -> dict[str, Any]:
    statement = base()
    statement.update(
        id=UUID_A,
        result=copy.deepcopy(RESULT),
        context=copy.deepcopy(CONTEXT),
        timestamp="2013-05-18T05:32:34.804Z",
        stored="2013-05-18T05:32:34.804+00:00",
        authority=copy.deepcopy(AUTHORITY_GROUP),
        version="1.0.3",
        attachments=[copy.deepcopy(ATTACHMENT)],
    )
    return statement


def substatement() -> dict[str, Any]:
    statement = base()
    inner = base()
    inner.update(
        objectType="SubStatement",
        result=copy.deepcopy(RESULT),
        context=copy.deepcopy(CONTEXT),
        timestamp="2013-05-18T05:32:34.804Z",
        attachments=[copy.deepcopy(ATTACHMENT)],
    )
    statement["object"] = inner
    return statement


def with_object(value: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        statement = base()
        statement["object"] = copy.deepcopy(value)
        return statement

    return build


def with_context(**values: Any) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        statement = base()
        statement["context"] = copy.deepcopy(values)
        return statement

    return build


VALID: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    ("minimal", base),
    ("all properties", full),
    ("substatement with everything allowed", substatement),
    ("actor without objectType", lambda: {**base(), "actor": {"mbox": "mailto:xapi@adlnet.gov"}}),
    (
        "actor account",
        lambda: {**base(), "actor": {"account": {"homePage": "http://h.example", "name": "1"}}},
    ),
    ("actor openid", lambda: {**base(), "actor": {"openid": "http://openid.example.org/12345"}}),
    ("actor anonymous group", lambda: {**base(), "actor": copy.deepcopy(GROUP_ANON)}),
    (
        "actor identified group without members",
        lambda: {**base(), "actor": copy.deepcopy(GROUP_IDENTIFIED)},
    ),
    (
        "identified group with members",
        lambda: {**base(), "actor": {**GROUP_IDENTIFIED, "member": GROUP_ANON["member"]}},
    ),
    ("verb without display", lambda: {**base(), "verb": {"id": VERB["id"]}}),
    ("activity without objectType", with_object({"id": "http://www.example.com/x"})),
    ("likert interaction", with_object(LIKERT)),
    ("agent object", with_object(AGENT)),
    ("group object", with_object(GROUP_ANON)),
    ("statementref object", with_object({"objectType": "StatementRef", "id": UUID_B.upper()})),
    ("authority agent", lambda: {**base(), "authority": copy.deepcopy(AGENT)}),
    (
        "extension values null, empty string, empty object",
        with_object(
            {
                "id": "http://x.example/a",
                "definition": {
                    "extensions": {
                        "http://example.com/null": None,
                        "http://example.com/s": "",
                        "http://example.com/o": {},
                    }
                },
            }
        ),
    ),
    ("empty extensions", with_context(extensions={})),
    ("context revision with objectType-less activity", with_context(revision="r1", platform="p")),
    (
        "language tags",
        lambda: {
            **base(),
            "verb": {
                "id": VERB["id"],
                "display": {
                    "de": "besucht",
                    "zh-Hant": "x",
                    "sr-Cyrl": "y",
                    "zh-Hans-CN": "z",
                    "ase": "w",
                    "ja": "v",
                },
            },
        },
    ),
    ("score raw between min and max", lambda: {**base(), "result": {"score": {"raw": 0.6767676}}}),
    ("scaled -1 and 1 inclusive", lambda: {**base(), "result": {"score": {"scaled": -1.0}}}),
    ("durations", lambda: {**base(), "result": {"duration": "P3Y1M29DT4H35M59.14S"}}),
    ("duration weeks", lambda: {**base(), "result": {"duration": "P4W"}}),
    (
        "timestamp with space (RFC 3339)",
        lambda: {**base(), "timestamp": "2008-09-15 15:53:00.601+00:00"},
    ),
    ("version 1.0", lambda: {**base(), "version": "1.0"}),
    ("version 1.0.9", lambda: {**base(), "version": "1.0.9"}),
    (
        "voiding statement",
        lambda: {
            **base(),
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": UUID_B},
        },
    ),
    (
        "context statement with no value in correctResponsesPattern",
        with_object(
            {
                "id": "http://x.example/q",
                "definition": {"interactionType": "fill-in", "correctResponsesPattern": [""]},
            }
        ),
    ),
]


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize(("name", "build"), VALID, ids=[case[0] for case in VALID])
def test_validate_statement_valid_fixture_passes(
    name: str, build: Callable[[], Any], version: str
) -> None:
    statement = build()
    assert validate_statement(statement, version=version) is statement


def test_validate_statement_single_context_activity_becomes_list() -> None:
    statement = validate_statement(full(), version=V2)
    parent = statement["context"]["contextActivities"]["parent"]
    assert parent == [{"id": "http://www.example.com/meetings/series/267"}]


def test_validate_statement_v2_context_agents_and_groups_pass() -> None:
    statement = with_context(contextAgents=CONTEXT_AGENTS, contextGroups=CONTEXT_GROUPS)()
    validate_statement(statement, version=V2)


def test_validate_statement_v1_rejects_context_agents() -> None:
    statement = with_context(contextAgents=CONTEXT_AGENTS)()
    with pytest.raises(XapiValidationError) as error:
        validate_statement(statement, version=V1)
    assert error.value.path == "context.contextAgents"


def test_validate_statement_version_2_0_0_follows_protocol() -> None:
    statement = {**base(), "version": "2.0.0"}
    validate_statement(statement, version=V2)
    with pytest.raises(XapiValidationError) as error:
        validate_statement(statement, version=V1)
    assert error.value.path == "version"


def test_validate_statement_timestamp_without_offset_only_in_v1() -> None:
    statement = {**base(), "timestamp": "2013-05-18T05:32:34.804"}
    validate_statement(statement, version=V1)
    with pytest.raises(XapiValidationError) as error:
        validate_statement(statement, version=V2)
    assert error.value.path == "timestamp"


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a dotted path (``context.team.mbox``, ``attachments.0.length``) in a statement."""

    def mutate(statement: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = statement
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(statement: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = statement
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return mutate


INVALID: list[tuple[str, Callable[[], dict[str, Any]], Mutation, str]] = [
    # required properties and key case (XAPI-00003..5, 00008, 00010)
    ("no actor", full, _delete("actor"), "actor"),
    ("no verb", full, _delete("verb"), "verb"),
    ("no object", full, _delete("object"), "object"),
    ("key case iD", base, _set("iD", UUID_A), "iD"),
    ("key case Actor", base, _set("Actor", AGENT), "Actor"),
    ("key case timeStamp", base, _set("timeStamp", "2013-05-18T05:32:34.804Z"), "timeStamp"),
    ("unknown top-level key", base, _set("objectType", "Statement"), "objectType"),
    ("unknown key in result", full, _set("result.grade", "A"), "result.grade"),
    (
        "unknown key in definition",
        full,
        _set("object.definition.title", {"en": "x"}),
        "object.definition.title",
    ),
    # null and empty (XAPI-00001)
    ("null actor name", base, _set("actor.name", None), "actor.name"),
    ("null display entry", base, _set("verb.display.en-US", None), "verb.display.en-US"),
    ("null registration", full, _set("context.registration", None), "context.registration"),
    ("null moreInfo", full, _set("object.definition.moreInfo", None), "object.definition.moreInfo"),
    ("empty display", base, _set("verb.display", {}), "verb.display"),
    ("empty result", base, _set("result", {}), "result"),
    # id (XAPI-00027..30)
    ("id numeric", base, _set("id", 12345), "id"),
    ("id object", base, _set("id", {"key": "x"}), "id"),
    ("id too many digits", base, _set("id", "AA97B177-9383-4934-8543-0F91A7A028368"), "id"),
    ("id non-hex letter", base, _set("id", "MA97B177-9383-4934-8543-0F91A7A02836"), "id"),
    # actor
    ("actor objectType lower case", base, _set("actor.objectType", "agent"), "actor.objectType"),
    ("actor objectType numeric", base, _set("actor.objectType", 123), "actor.objectType"),
    (
        "actor objectType JSON text",
        base,
        _set("actor.objectType", '"objectType": "Agent"'),
        "actor.objectType",
    ),
    ("actor name numeric", base, _set("actor.name", 123), "actor.name"),
    ("actor without IFI", base, _delete("actor.mbox"), "actor"),
    ("actor two IFIs", base, _set("actor.openid", "http://openid.example.org/1"), "actor"),
    ("mbox not mailto", base, _set("actor.mbox", "http://should.fail.com"), "actor.mbox"),
    ("mbox without address", base, _set("actor.mbox", "mailto:should.fail.com"), "actor.mbox"),
    (
        "mbox_sha1sum object",
        base,
        _set("actor", {"mbox_sha1sum": {"key": "v"}}),
        "actor.mbox_sha1sum",
    ),
    ("mbox_sha1sum short", base, _set("actor", {"mbox_sha1sum": "cd9b00a5"}), "actor.mbox_sha1sum"),
    (
        "openid without scheme",
        base,
        _set("actor", {"openid": "open.id.com/testUser"}),
        "actor.openid",
    ),
    (
        "account without homePage",
        base,
        _set("actor", {"account": {"name": "n"}}),
        "actor.account.homePage",
    ),
    (
        "account without name",
        base,
        _set("actor", {"account": {"homePage": "http://h.example"}}),
        "actor.account.name",
    ),
    (
        "account name object",
        base,
        _set("actor", {"account": {"homePage": "http://h.example", "name": {}}}),
        "actor.account.name",
    ),
    (
        "account homePage no scheme",
        base,
        _set("actor", {"account": {"homePage": "homePage.com/u", "name": "1"}}),
        "actor.account.homePage",
    ),
    (
        "account homePage bad scheme",
        base,
        _set("actor", {"account": {"homePage": "ab=c://should.fail.com", "name": "1"}}),
        "actor.account.homePage",
    ),
    (
        "anonymous group without member",
        base,
        _set("actor", {"objectType": "Group"}),
        "actor.member",
    ),
    (
        "anonymous group empty member",
        base,
        _set("actor", {"objectType": "Group", "member": []}),
        "actor.member",
    ),
    (
        "group member not array",
        base,
        _set("actor", {"objectType": "Group", "member": AGENT}),
        "actor.member",
    ),
    (
        "group member is a group",
        base,
        _set("actor", {"objectType": "Group", "member": [GROUP_IDENTIFIED]}),
        "actor.member[0]",
    ),
    (
        "group member invalid",
        base,
        _set("actor", {"objectType": "Group", "member": [{"name": "x"}]}),
        "actor.member[0]",
    ),
    ("member on an agent", base, _set("actor.member", [AGENT]), "actor.member"),
    # verb
    ("verb without id", base, _delete("verb.id"), "verb.id"),
    (
        "verb id without scheme",
        base,
        _set("verb.id", "adlnet.gov/expapi/verbs/attended"),
        "verb.id",
    ),
    ("verb id bad scheme", base, _set("verb.id", "ab=c://should.fail.com"), "verb.id"),
    ("verb display string", base, _set("verb.display", "a12345 attended"), "verb.display"),
    ("verb display numeric", base, _set("verb.display", 12345), "verb.display"),
    (
        "verb display bad tag",
        base,
        _set("verb.display", {"something": "besucht"}),
        "verb.display.something",
    ),
    # object
    (
        "object objectType lower case",
        base,
        _set("object.objectType", "activity"),
        "object.objectType",
    ),
    ("activity without id", base, _delete("object.id"), "object.id"),
    ("activity id not IRI", base, _set("object.id", "www.example.com/meetings"), "object.id"),
    ("definition not object", base, _set("object.definition", "should error"), "object.definition"),
    (
        "definition name string",
        base,
        _set("object.definition.name", "should error"),
        "object.definition.name",
    ),
    ("definition name empty", base, _set("object.definition.name", {}), "object.definition.name"),
    (
        "definition name bad tag",
        base,
        _set("object.definition.name", {"a12345": "x"}),
        "object.definition.name.a12345",
    ),
    (
        "definition description bad tag",
        base,
        _set("object.definition.description", {"zh-z-aaa-z-bbb-c-ccc": "x"}),
        "object.definition.description.zh-z-aaa-z-bbb-c-ccc",
    ),
    (
        "definition type not IRI",
        base,
        _set("object.definition.type", "should error"),
        "object.definition.type",
    ),
    (
        "definition moreInfo not IRL",
        base,
        _set("object.definition.moreInfo", "virtualmeeting.example.com/1"),
        "object.definition.moreInfo",
    ),
    (
        "definition extensions string",
        base,
        _set("object.definition.extensions", "should error"),
        "object.definition.extensions",
    ),
    (
        "definition extension key not IRI",
        base,
        _set("object.definition.extensions", {"id": "valid"}),
        "object.definition.extensions.id",
    ),
    (
        "interactionType wrong case",
        with_object(LIKERT),
        _set("object.definition.interactionType", "liKert"),
        "object.definition.interactionType",
    ),
    (
        "interactionType numeric",
        with_object(LIKERT),
        _set("object.definition.interactionType", 12345),
        "object.definition.interactionType",
    ),
    (
        "interactionType IRI",
        with_object(LIKERT),
        _set("object.definition.interactionType", "http://x.example/likert"),
        "object.definition.interactionType",
    ),
    (
        "interaction without interactionType",
        with_object(LIKERT),
        _delete("object.definition.interactionType"),
        "object.definition.interactionType",
    ),
    (
        "correctResponsesPattern not array",
        with_object(LIKERT),
        _set("object.definition.correctResponsesPattern", "likert_3"),
        "object.definition.correctResponsesPattern",
    ),
    (
        "correctResponsesPattern number",
        with_object(LIKERT),
        _set("object.definition.correctResponsesPattern", [3]),
        "object.definition.correctResponsesPattern[0]",
    ),
    (
        "component without id",
        with_object(LIKERT),
        _delete("object.definition.scale.0.id"),
        "object.definition.scale[0].id",
    ),
    (
        "component duplicate id",
        with_object(LIKERT),
        _set("object.definition.scale.1.id", "likert_0"),
        "object.definition.scale[1].id",
    ),
    (
        "component description bad",
        with_object(LIKERT),
        _set("object.definition.scale.0.description", {"something": "x"}),
        "object.definition.scale[0].description.something",
    ),
    (
        "component not object",
        with_object(LIKERT),
        _set("object.definition.scale.0", "likert_0"),
        "object.definition.scale[0]",
    ),
    (
        "agent object without objectType",
        with_object(AGENT),
        _delete("object.objectType"),
        "object.name",
    ),
    (
        "group object without objectType",
        with_object(GROUP_ANON),
        _delete("object.objectType"),
        "object.member",
    ),
    (
        "statementref wrong case",
        with_object({"objectType": "StatementRef", "id": UUID_B}),
        _set("object.objectType", "statementref"),
        "object.objectType",
    ),
    (
        "statementref without id",
        with_object({"objectType": "StatementRef", "id": UUID_B}),
        _delete("object.id"),
        "object.id",
    ),
    (
        "statementref id not UUID",
        with_object({"objectType": "StatementRef", "id": UUID_B}),
        _set("object.id", "should fail"),
        "object.id",
    ),
    (
        "voiding statement with activity",
        base,
        _set("verb", {"id": "http://adlnet.gov/expapi/verbs/voided"}),
        "object.objectType",
    ),
    # substatement (XAPI-00066..71)
    (
        "substatement wrong case",
        substatement,
        _set("object.objectType", "substatement"),
        "object.objectType",
    ),
    ("substatement with id", substatement, _set("object.id", UUID_A), "object.id"),
    (
        "substatement with stored",
        substatement,
        _set("object.stored", "2013-05-18T05:32:34.804Z"),
        "object.stored",
    ),
    ("substatement with version", substatement, _set("object.version", "1.0.0"), "object.version"),
    (
        "substatement with authority",
        substatement,
        _set("object.authority", AGENT),
        "object.authority",
    ),
    ("substatement without actor", substatement, _delete("object.actor"), "object.actor"),
    ("substatement without verb", substatement, _delete("object.verb"), "object.verb"),
    ("substatement without object", substatement, _delete("object.object"), "object.object"),
    (
        "nested substatement",
        substatement,
        _set("object.object", {**base(), "objectType": "SubStatement"}),
        "object.object.objectType",
    ),
    (
        "substatement timestamp",
        substatement,
        _set("object.timestamp", "01/011/2015"),
        "object.timestamp",
    ),
    (
        "substatement context language",
        substatement,
        _set("object.context.language", {"a12345": "x"}),
        "object.context.language",
    ),
    (
        "substatement revision with agent object",
        substatement,
        _set("object.object", AGENT),
        "object.context.revision",
    ),
    # result and score (XAPI-00074..83, 00006)
    ("success string", full, _set("result.success", "true"), "result.success"),
    ("completion string", full, _set("result.completion", "false"), "result.completion"),
    ("response numeric", full, _set("result.response", 12345), "result.response"),
    ("duration invalid", full, _set("result.duration", "PA1H0M0S"), "result.duration"),
    ("duration weeks and days", full, _set("result.duration", "P4W1D"), "result.duration"),
    ("duration numeric", full, _set("result.duration", 12345), "result.duration"),
    ("result extensions numeric", full, _set("result.extensions", 12345), "result.extensions"),
    (
        "result extension key no scheme",
        full,
        _set("result.extensions", {"example.com/extension/wrong": 1}),
        "result.extensions.example.com/extension/wrong",
    ),
    ("score numeric", full, _set("result.score", 12345), "result.score"),
    ("score max string", full, _set("result.score.max", "100"), "result.score.max"),
    ("score raw boolean", full, _set("result.score.raw", True), "result.score.raw"),
    ("scaled above 1", full, _set("result.score.scaled", 1.01), "result.score.scaled"),
    ("scaled below -1", full, _set("result.score.scaled", -1.00001), "result.score.scaled"),
    ("raw above max", full, _set("result.score.raw", 100.5), "result.score.raw"),
    ("raw below min", full, _set("result.score.raw", -0.5), "result.score.raw"),
    ("min above max", full, _set("result.score.min", 101), "result.score.min"),
    # context (XAPI-00084..96)
    (
        "registration string",
        full,
        _set("context.registration", "should fail"),
        "context.registration",
    ),
    (
        "registration object",
        full,
        _set("context.registration", {"key": "x"}),
        "context.registration",
    ),
    ("instructor string", full, _set("context.instructor", "should fail"), "context.instructor"),
    ("instructor object", full, _set("context.instructor", {"key": "x"}), "context.instructor.key"),
    ("team agent", full, _set("context.team", AGENT), "context.team.objectType"),
    ("team string", full, _set("context.team", "should fail"), "context.team"),
    (
        "contextActivities string",
        full,
        _set("context.contextActivities", "should fail"),
        "context.contextActivities",
    ),
    (
        "contextActivities unknown key",
        full,
        _set("context.contextActivities.consequences", ACTIVITY),
        "context.contextActivities.consequences",
    ),
    (
        "contextActivities invalid activity",
        full,
        _set("context.contextActivities.other", [ACTIVITY, {"key": "x"}]),
        "context.contextActivities.other[1].key",
    ),
    ("revision numeric", full, _set("context.revision", 12345), "context.revision"),
    ("platform object", full, _set("context.platform", {"key": "x"}), "context.platform"),
    ("revision with agent object", full, _set("object", AGENT), "context.revision"),
    (
        "platform with statementref object",
        lambda: {
            **with_context(platform="p")(),
            "object": {"objectType": "StatementRef", "id": UUID_B},
        },
        lambda s: None,
        "context.platform",
    ),
    ("language invalid", full, _set("context.language", "something"), "context.language"),
    ("language numeric", full, _set("context.language", 12345), "context.language"),
    (
        "context statement wrong case",
        full,
        _set("context.statement.objectType", "statementref"),
        "context.statement.objectType",
    ),
    (
        "context statement id not UUID",
        full,
        _set("context.statement.id", "should fail"),
        "context.statement.id",
    ),
    (
        "context extension key no scheme",
        full,
        _set("context.extensions", {"example.com/x": 1}),
        "context.extensions.example.com/x",
    ),
    # authority (XAPI-00024, 00098..100)
    (
        "authority without IFI",
        full,
        _set("authority", {"objectType": "Agent", "name": "x"}),
        "authority",
    ),
    ("authority identified group", full, _set("authority", GROUP_IDENTIFIED), "authority"),
    (
        "authority group with mbox",
        full,
        _set("authority.mbox", "mailto:bob@example.com"),
        "authority",
    ),
    ("authority one member", full, _set("authority.member", [AGENT]), "authority.member"),
    (
        "authority three members",
        full,
        _set("authority.member", [AGENT, *AUTHORITY_GROUP["member"]]),
        "authority.member",
    ),
    (
        "authority objectType wrong case",
        full,
        _set("authority", {**AGENT, "objectType": "group"}),
        "authority.objectType",
    ),
    # timestamps, stored, version
    ("timestamp invalid string", full, _set("timestamp", "should fail"), "timestamp"),
    ("timestamp invalid date", full, _set("timestamp", "01/011/2015"), "timestamp"),
    ("timestamp -00", full, _set("timestamp", "2008-09-15T15:53:00.601-00"), "timestamp"),
    ("timestamp -0000", full, _set("timestamp", "2008-09-15T15:53:00.601-0000"), "timestamp"),
    ("timestamp -00:00", full, _set("timestamp", "2008-09-15T15:53:00.601-00:00"), "timestamp"),
    ("timestamp impossible date", full, _set("timestamp", "2013-02-30T05:32:34Z"), "timestamp"),
    ("stored invalid", full, _set("stored", "yesterday"), "stored"),
    ("version string", full, _set("version", "should fail"), "version"),
    ("version 0.9.9", full, _set("version", "0.9.9"), "version"),
    ("version 1.1.0", full, _set("version", "1.1.0"), "version"),
    ("version numeric", full, _set("version", 1.0), "version"),
    # attachments (XAPI-00025, 00102..107)
    ("attachments not array", full, _set("attachments", ATTACHMENT), "attachments"),
    ("attachment numeric", full, _set("attachments", [12345]), "attachments[0]"),
    (
        "attachment usageType not IRI",
        full,
        _set("attachments.0.usageType", "should fail"),
        "attachments[0].usageType",
    ),
    (
        "attachment without usageType",
        full,
        _delete("attachments.0.usageType"),
        "attachments[0].usageType",
    ),
    (
        "attachment display numeric",
        full,
        _set("attachments.0.display", 12345),
        "attachments[0].display",
    ),
    (
        "attachment display bad tag",
        full,
        _set("attachments.0.display", {"something": "x"}),
        "attachments[0].display.something",
    ),
    (
        "attachment description string",
        full,
        _set("attachments.0.description", "should error"),
        "attachments[0].description",
    ),
    (
        "attachment contentType numeric",
        full,
        _set("attachments.0.contentType", 999),
        "attachments[0].contentType",
    ),
    (
        "attachment contentType not a type",
        full,
        _set("attachments.0.contentType", "text"),
        "attachments[0].contentType",
    ),
    (
        "attachment length string",
        full,
        _set("attachments.0.length", "should fail"),
        "attachments[0].length",
    ),
    ("attachment length float", full, _set("attachments.0.length", 27.5), "attachments[0].length"),
    ("attachment sha2 numeric", full, _set("attachments.0.sha2", 12345), "attachments[0].sha2"),
    (
        "attachment sha2 not hex",
        full,
        _set("attachments.0.sha2", "not a hash"),
        "attachments[0].sha2",
    ),
    (
        "attachment fileUrl invalid",
        full,
        _set("attachments.0.fileUrl", "should fail"),
        "attachments[0].fileUrl",
    ),
    (
        "attachment key case",
        full,
        _set("attachments.0.FileUrl", "http://x.example/f"),
        "attachments[0].FileUrl",
    ),
]


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize(
    ("name", "build", "mutate", "path"), INVALID, ids=[case[0] for case in INVALID]
)
def test_validate_statement_invalid_variant_fails_at_path(
    name: str, build: Callable[[], Any], mutate: Mutation, path: str, version: str
) -> None:
    statement = build()
    mutate(statement)
    with pytest.raises(XapiValidationError) as error:
        validate_statement(statement, version=version)
    assert error.value.path == path, error.value


V2_INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "contextAgent objectType",
        {"contextAgents": [{**CONTEXT_AGENTS[0], "objectType": "Should fail"}]},
        "context.contextAgents[0].objectType",
    ),
    (
        "contextAgent invalid agent",
        {"contextAgents": [{"objectType": "contextAgent", "agent": {"key": "Should fail"}}]},
        "context.contextAgents[0].agent.key",
    ),
    (
        "contextAgent group as agent",
        {"contextAgents": [{"objectType": "contextAgent", "agent": GROUP_IDENTIFIED}]},
        "context.contextAgents[0].agent.objectType",
    ),
    (
        "contextAgent relevantTypes empty",
        {"contextAgents": [{**CONTEXT_AGENTS[0], "relevantTypes": []}]},
        "context.contextAgents[0].relevantTypes",
    ),
    (
        "contextAgent relevantTypes not IRI",
        {"contextAgents": [{**CONTEXT_AGENTS[0], "relevantTypes": ["abc"]}]},
        "context.contextAgents[0].relevantTypes[0]",
    ),
    (
        "contextAgent without agent",
        {"contextAgents": [{"objectType": "contextAgent"}]},
        "context.contextAgents[0].agent",
    ),
    (
        "contextAgents not array",
        {"contextAgents": CONTEXT_AGENTS[0]},
        "context.contextAgents",
    ),
    (
        "contextGroup objectType",
        {"contextGroups": [{**CONTEXT_GROUPS[0], "objectType": "Should fail"}]},
        "context.contextGroups[0].objectType",
    ),
    (
        "contextGroup invalid group",
        {"contextGroups": [{"objectType": "contextGroup", "group": {"key": "Should fail"}}]},
        "context.contextGroups[0].group.objectType",
    ),
    (
        "contextGroup relevantTypes empty",
        {"contextGroups": [{**CONTEXT_GROUPS[0], "relevantTypes": []}]},
        "context.contextGroups[0].relevantTypes",
    ),
    (
        "contextGroup relevantTypes not IRI",
        {"contextGroups": [{**CONTEXT_GROUPS[0], "relevantTypes": ["abc"]}]},
        "context.contextGroups[0].relevantTypes[0]",
    ),
]


@pytest.mark.parametrize(("name", "context", "path"), V2_INVALID, ids=[c[0] for c in V2_INVALID])
def test_validate_statement_v2_context_agents_invalid(
    name: str, context: dict[str, Any], path: str
) -> None:
    statement = with_context(**context)()
    with pytest.raises(XapiValidationError) as error:
        validate_statement(statement, version=V2)
    assert error.value.path == path
    sub = substatement()
    sub["object"]["context"] = copy.deepcopy(context)
    with pytest.raises(XapiValidationError) as error:
        validate_statement(sub, version=V2)
    assert error.value.path == "object." + path


def test_validate_statement_not_an_object_fails() -> None:
    with pytest.raises(XapiValidationError) as error:
        validate_statement(["x"], version=V2, path="statement")
    assert error.value.path == "statement"


def test_validate_statement_unknown_version_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown xAPI version"):
        validate_statement(base(), version="0.95")


def test_xapi_validation_error_carries_path_and_message() -> None:
    error = XapiValidationError("statements[3].id", "must be a UUID")
    assert (error.path, error.message, str(error)) == (
        "statements[3].id",
        "must be a UUID",
        "statements[3].id: must be a UUID",
    )


# --- batches -----------------------------------------------------------------------------------


def test_validate_statement_batch_single_object_becomes_list() -> None:
    statement = base()
    assert validate_statement_batch(statement, version=V2) == [statement]


def test_validate_statement_batch_empty_list_allowed() -> None:
    assert validate_statement_batch([], version=V1) == []


def test_validate_statement_batch_paths_name_the_index() -> None:
    bad = base()
    bad["context"] = {"contextActivities": {"parent": [{"id": "nope"}]}}
    with pytest.raises(XapiValidationError) as error:
        validate_statement_batch([base(), base(), base(), bad], version=V2)
    assert error.value.path == "statements[3].context.contextActivities.parent[0].id"


def test_validate_statement_batch_duplicate_ids_rejected() -> None:
    first, second = {**base(), "id": UUID_A}, {**base(), "id": UUID_A.upper()}
    with pytest.raises(XapiValidationError) as error:
        validate_statement_batch([first, second], version=V2)
    assert error.value.path == "statements[1].id"


def test_validate_statement_batch_not_array_or_object() -> None:
    with pytest.raises(XapiValidationError) as error:
        validate_statement_batch("x", version=V2)
    assert error.value.path == "statements"


def test_validate_statement_batch_single_object_path() -> None:
    with pytest.raises(XapiValidationError) as error:
        validate_statement_batch({**base(), "id": "x"}, version=V2)
    assert error.value.path == "statement.id"


# --- agents ------------------------------------------------------------------------------------


def test_validate_agent_group_not_allowed() -> None:
    with pytest.raises(XapiValidationError) as error:
        validate_agent(GROUP_IDENTIFIED, version=V2, path="agent", allow_group=False)
    assert error.value.path == "agent.objectType"


@pytest.mark.parametrize(
    ("agent", "key"),
    [
        ({"mbox": "mailto:A@B"}, "Agent|mbox|mailto:A@B"),
        (
            {"objectType": "Agent", "mbox_sha1sum": "CD9B00A5611F94EAA7B1661EDAB976068E364975"},
            "Agent|mbox_sha1sum|cd9b00a5611f94eaa7b1661edab976068e364975",
        ),
        ({"openid": "http://openid.example.org/1"}, "Agent|openid|http://openid.example.org/1"),
        (GROUP_IDENTIFIED, "Group|account|http://www.example.com|team-1"),
    ],
)
def test_agent_key_objecttype_and_ifi(agent: dict[str, Any], key: str) -> None:
    assert agent_key(agent) == key


def test_agent_key_anonymous_group_raises() -> None:
    with pytest.raises(ValueError, match="anonymous"):
        agent_key(GROUP_ANON)


def test_agent_from_param_valid() -> None:
    raw = '{"objectType": "Agent", "mbox": "mailto:xapi@adlnet.gov"}'
    assert agent_from_param(raw, version=V1) == {
        "objectType": "Agent",
        "mbox": "mailto:xapi@adlnet.gov",
    }


@pytest.mark.parametrize(
    "raw",
    [
        "wrong",
        "[]",
        '{"mbox": "mailto:a@b.c", "mbox": "mailto:d@e.f"}',
        '{"objectType": "Agent"}',
        '{"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}',
        '{"mbox": "a@b.c"}',
    ],
)
def test_agent_from_param_invalid(raw: str) -> None:
    with pytest.raises(XapiValidationError) as error:
        agent_from_param(raw, version=V2)
    assert error.value.path.startswith("agent")


def test_loads_json_rejects_duplicate_keys_and_nan() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        loads_json('{"a": {"b": 1, "b": 2}}')
    with pytest.raises(ValueError, match="NaN"):
        loads_json('{"a": NaN}')
    assert loads_json(b'{"a": [1, 2.5]}') == {"a": [1, 2.5]}


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "http://example.com/path/../x",
        "https://w3id.org/xapi/video/verbs/played",
        "urn:uuid:6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "mailto:a@b.c",
        "http://例子.测试/路径?查询=值#片段",
        "http://example.com:8080/%E4%BD%A0",
        "tag:example.com,2024:x",
    ],
)
def test_is_iri_valid(value: str) -> None:
    assert is_iri(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "ab=c://should.fail.com",
        "not.a.valid.iri.com/verb",
        "example.com/extension/wrong",
        "should fail",
        "http://",
        "http:example.com",
        "http://exa mple.com/",
        "http://example.com/%zz",
        "http://example.com:80a/",
        "1http://example.com",
        12345,
        None,
    ],
)
def test_is_iri_invalid(value: object) -> None:
    assert not is_iri(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (UUID_A, True),
        (UUID_A.upper(), True),
        ("AA97B177-9383-4934-8543-0F91A7A028368", False),
        ("MA97B177-9383-4934-8543-0F91A7A02836", False),
        ("fd41c918b88b4b20a0a5a4c32391aaa0", False),
        ("{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}", False),
        (12345, False),
    ],
)
def test_is_uuid(value: object, expected: bool) -> None:
    assert is_uuid(value) is expected


@pytest.mark.parametrize(
    "tag",
    [
        "de",
        "de-DE",
        "zh-Hant",
        "sr-Latn-RS",
        "zh-Hans-CN",
        "cmn",
        "tlh",
        "ase",
        "es-419",
        "en-US-x-twain",
        "x-private",
        "i-klingon",
        "de-CH-1901",
        "en-a-bbb-c-ddd",
        "zh-yue-HK",
    ],
)
def test_is_language_tag_valid(tag: str) -> None:
    assert is_language_tag(tag)


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "something",
        "a12345",
        "e",
        "en-",
        "-en",
        "en_US",
        "zh-z-aaa-z-bbb-c-ccc",
        "de-DE-1901-1901",
        "en-a",
        "123",
        "en-US-",
    ],
)
def test_is_language_tag_invalid(tag: str) -> None:
    assert not is_language_tag(tag)


def test_validate_language_map_returns_map() -> None:
    value = {"en-US": "x"}
    assert validate_language_map(value, "display") is value


@pytest.mark.parametrize(
    "value",
    [
        "PT1H0M0.1S",
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P4W",
        "P1DT0,5H",
        "PT0S",
    ],
)
def test_parse_duration_valid(value: str) -> None:
    assert parse_duration(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "PA1H0M0S",
        "P4W1D",
        "P",
        "PT",
        "P1DT",
        "P1.5YT1H",
        "1D",
        "should fail",
        "pt1h",
        12345,
        "P0001-02-03T04:05:06",
    ],
)
def test_parse_duration_invalid(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


UTC = datetime.UTC


@pytest.mark.parametrize(
    ("value", "version", "expected"),
    [
        (
            "2013-05-18T05:32:34.804Z",
            V2,
            datetime.datetime(2013, 5, 18, 5, 32, 34, 804000, tzinfo=UTC),
        ),
        (
            "2008-09-15 15:53:00.601+00:00",
            V2,
            datetime.datetime(2008, 9, 15, 15, 53, 0, 601000, tzinfo=UTC),
        ),
        ("2013-05-18t05:32:34+08:00", V2, datetime.datetime(2013, 5, 17, 21, 32, 34, tzinfo=UTC)),
        (
            "2013-05-18T05:32:34.123456789Z",
            V2,
            datetime.datetime(2013, 5, 18, 5, 32, 34, 123456, tzinfo=UTC),
        ),
        ("2016-12-31T23:59:60Z", V2, datetime.datetime(2017, 1, 1, tzinfo=UTC)),
        (
            "2013-05-18T05:32:34.804Z",
            V1,
            datetime.datetime(2013, 5, 18, 5, 32, 34, 804000, tzinfo=UTC),
        ),
        ("2013-05-18T05:32:34", V1, datetime.datetime(2013, 5, 18, 5, 32, 34, tzinfo=UTC)),
        ("2013-05-18T05:32", V1, datetime.datetime(2013, 5, 18, 5, 32, tzinfo=UTC)),
        ("20130518T053234Z", V1, datetime.datetime(2013, 5, 18, 5, 32, 34, tzinfo=UTC)),
        (
            "2013-05-18T05:32:34,5+0800",
            V1,
            datetime.datetime(2013, 5, 17, 21, 32, 34, 500000, tzinfo=UTC),
        ),
        ("2013-05-18T05:32:34-05", V1, datetime.datetime(2013, 5, 18, 10, 32, 34, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_valid(value: str, version: str, expected: datetime.datetime) -> None:
    parsed = parse_timestamp(value, version=version)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("value", "version"),
    [
        ("2013-05-18T05:32:34", V2),
        ("2013-05-18T05:32Z", V2),
        ("2013-05-18T05:32:34+0800", V2),
        ("20130518T053234Z", V2),
        ("2013-05-18", V1),
        ("2013-05-18T25:32:34Z", V1),
        ("2013-05-18T05:32:34+24:00", V1),
        ("2013-05-18T05:32:34.1Z ", V2),
        (1368855154, V2),
    ],
)
def test_parse_timestamp_invalid(value: object, version: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value, version=version)


# --- statement comparison ----------------------------------------------------------------------


def test_statements_equal_ignores_lrs_assigned_properties() -> None:
    sent = {**base(), "id": UUID_A}
    stored = {
        **copy.deepcopy(sent),
        "id": UUID_A.upper(),
        "authority": AGENT,
        "stored": "2024-01-01T00:00:00Z",
        "version": "1.0.0",
        "timestamp": "2024-01-01T00:00:00Z",
    }
    assert statements_equal(sent, stored)


def test_statements_equal_timestamps_compared_as_instants() -> None:
    a = {**base(), "timestamp": "2013-05-18T05:32:34.804Z"}
    b = {**base(), "timestamp": "2013-05-18T13:32:34.804000+08:00"}
    c = {**base(), "timestamp": "2013-05-18T05:32:34.805Z"}
    assert statements_equal(a, b)
    assert not statements_equal(a, c)


def test_statements_equal_ignores_definitions_displays_member_order_and_case() -> None:
    a = full()
    b = full()
    b["verb"]["display"] = {"fr": "a assisté"}
    b["object"]["definition"] = {"name": {"fr": "réunion"}}
    b["context"]["contextActivities"]["parent"] = [
        {"objectType": "Activity", "id": "http://www.example.com/meetings/series/267"}
    ]
    b["context"]["registration"] = b["context"]["registration"].upper()
    b["context"]["language"] = "TLH"
    b["actor"]["mbox"] = "MAILTO:xapi@ADLNET.gov"
    b["authority"]["member"].reverse()
    b["object"]["objectType"] = "Activity"
    assert statements_equal(a, b)


@pytest.mark.parametrize(
    "mutate",
    [
        _set("actor.name", "someone else"),
        _set("actor.mbox", "mailto:XAPI@adlnet.gov"),
        _set("verb.id", "http://adlnet.gov/expapi/verbs/passed"),
        _set("object.id", "http://www.example.com/meetings/occurances/other"),
        _set("result.duration", "PT60M"),
        _set("result.score.raw", 96),
        _set("context.platform", "other"),
        _set("context.extensions", {}),
        _delete("result"),
        _set("attachments.0.length", 28),
    ],
)
def test_statements_equal_detects_real_differences(mutate: Mutation) -> None:
    a = full()
    b = full()
    mutate(b)
    assert not statements_equal(a, b)


def test_statements_equal_substatement_compared_deeply() -> None:
    a = substatement()
    b = substatement()
    b["object"]["object"]["definition"] = {"name": {"en": "other"}}
    assert statements_equal(a, b)
    b["object"]["result"]["success"] = False
    assert not statements_equal(a, b)


def test_empty_activity_definition_is_accepted() -> None:
    statement = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"objectType": "Activity", "id": "http://example.com/a", "definition": {}},
    }
    assert validate_statement(statement, version=V2) is statement


@pytest.mark.parametrize(
    ("signed", "received", "equal"),
    [
        ("P1DT12H36M0.12S", "P1DT12H36M0.1237S", True),
        ("PT1.5S", "PT1.50S", True),
        ("PT1S", "PT1.009S", True),
        ("PT1.12S", "PT1.13S", False),
        ("PT1H", "PT60M", False),
    ],
)
def test_durations_compare_to_hundredths(signed: str, received: str, equal: bool) -> None:
    base = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "http://example.com/a"},
    }
    a = {**base, "result": {"duration": signed}}
    b = {**base, "result": {"duration": received}}
    assert statements_equal(a, b) is equal
