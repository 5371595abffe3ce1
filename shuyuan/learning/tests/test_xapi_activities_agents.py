"""The Activities, Agents and About resources of the LRS (2.0.0 and 1.0.3)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.utils import timezone

from shuyuan.learning.models import Activity, Statement
from shuyuan.learning.testing import LrsCredential, XapiClient, make_credential
from shuyuan.learning.xapi.keys import activity_key, agent_digest, digest
from shuyuan.learning.xapi.validation import agent_key

VERSIONS = ["2.0.0", "1.0.3"]
ACCOUNT_AGENT = {
    "objectType": "Agent",
    "name": "Rick James",
    "account": {"homePage": "http://www.example.com/agentId/1", "name": "Rick James"},
}
DEFINITION = {
    "type": "http://adlnet.gov/expapi/activities/meeting",
    "name": {"en-US": "example meeting", "fr-FR": "réunion"},
}


def store_statement(agent: dict[str, Any], org_path: str, name: str) -> None:
    """A stored statement whose actor is ``agent`` under ``name`` (the statements helper's
    columns, filled in directly)."""
    now = timezone.now()
    statement_id = uuid.uuid4()
    actor = {**agent, "name": name}
    data = {"id": str(statement_id), "actor": actor, "verb": {"id": "http://x.org/v"}}
    Statement.objects.create(
        statement_id=statement_id,
        stored=now,
        timestamp=now,
        actor_key=agent_digest(agent_key(agent)),
        verb_key=digest("verb|http://x.org/v"),
        org_path=org_path,
        data=json.dumps(data),
    )


# --- Activities resource -----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_activities_get_returns_canonical_definition(xapi: XapiClient, version: str) -> None:
    iri = "http://www.example.com/verify/complete/34534"
    Activity.objects.create(activity_key=activity_key(iri), activity_id=iri, definition=DEFINITION)
    response = xapi.get("/xapi/activities", {"activityId": iri}, version=version)
    assert response.status_code == 200
    assert response.json() == {"objectType": "Activity", "id": iri, "definition": DEFINITION}
    assert response["X-Experience-API-Version"] == version


@pytest.mark.parametrize("version", VERSIONS)
def test_activities_get_unknown_activity_returns_bare_activity(
    xapi: XapiClient, version: str
) -> None:
    iri = "http://www.example.com/never-before-seen-activityId/" + str(uuid.uuid4())
    response = xapi.get("/xapi/activities", {"activityId": iri}, version=version)
    assert response.status_code == 200
    assert response.json() == {"objectType": "Activity", "id": iri}


def test_activities_get_with_empty_definition_omits_it(xapi: XapiClient) -> None:
    iri = "http://www.example.com/bare"
    Activity.objects.create(activity_key=activity_key(iri), activity_id=iri, definition={})
    assert xapi.get("/xapi/activities", {"activityId": iri}).json() == {
        "objectType": "Activity",
        "id": iri,
    }


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"activityId": "true"},
        {"activityId": "not an iri"},
        {"activityId": "http://www.example.com/a", "since": "2020-01-01T00:00:00Z"},
    ],
)
def test_activities_get_with_bad_parameters_is_400(
    xapi: XapiClient, params: dict[str, str]
) -> None:
    assert xapi.get("/xapi/activities", params).status_code == 400


def test_activities_get_needs_a_read_scope(xapi: XapiClient, lrs_tree: Any) -> None:
    writer = make_credential(lrs_tree.region, name="Writer", scopes=["statements/write"])
    params = {"activityId": "http://www.example.com/a"}
    assert xapi.get("/xapi/activities", params, credential=writer).status_code == 403


# --- Agents resource ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            ACCOUNT_AGENT,
            {
                "objectType": "Person",
                "name": ["Rick James"],
                "account": [ACCOUNT_AGENT["account"]],
            },
        ),
        (
            {"objectType": "Agent", "name": "xAPI mbox", "mbox": "mailto:xapi@adlnet.gov"},
            {"objectType": "Person", "name": ["xAPI mbox"], "mbox": ["mailto:xapi@adlnet.gov"]},
        ),
        (
            {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
            {"objectType": "Person", "mbox_sha1sum": ["cd9b00a5611f94eaa7b1661edab976068e364975"]},
        ),
        (
            {"openid": "http://openid.example.org/12345"},
            {"objectType": "Person", "openid": ["http://openid.example.org/12345"]},
        ),
    ],
)
def test_agents_get_returns_person_with_array_properties(
    xapi: XapiClient, version: str, agent: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = xapi.get("/xapi/agents", {"agent": json.dumps(agent)}, version=version)
    assert response.status_code == 200
    assert response.json() == expected


def test_agents_get_adds_names_used_in_readable_statements(
    xapi: XapiClient, lrs_tree: Any, lrs_school_a: LrsCredential
) -> None:
    agent = {"mbox": "mailto:learner@example.org"}
    store_statement(agent, lrs_tree.region.path, "Region name")
    store_statement(agent, lrs_tree.school_a.path, "School name")
    params = {"agent": json.dumps({**agent, "name": "Given"})}
    assert xapi.get("/xapi/agents", params).json()["name"] == [
        "Given",
        "School name",
        "Region name",
    ]
    school_view = xapi.get("/xapi/agents", params, credential=lrs_school_a).json()
    assert school_view["name"] == ["Given", "School name"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"agent": "not JSON"},
        {"agent": json.dumps({"objectType": "Agent", "name": "Rick James"})},
        {"agent": json.dumps({"objectType": "Group", "mbox": "mailto:g@example.org"})},
        {"agent": json.dumps(ACCOUNT_AGENT), "profileId": "x"},
    ],
)
def test_agents_get_with_bad_parameters_is_400(xapi: XapiClient, params: dict[str, str]) -> None:
    assert xapi.get("/xapi/agents", params).status_code == 400


def test_agents_get_needs_authentication(xapi: XapiClient) -> None:
    params = {"agent": json.dumps(ACCOUNT_AGENT)}
    assert xapi.get("/xapi/agents", params, auth=False).status_code == 401


# --- About resource ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("", ["2.0.0", "1.0.3"]),
        ("2.0.0", ["2.0.0", "1.0.3"]),
        ("1.0.3", ["1.0.3"]),
        ("1.0", ["1.0.3"]),
    ],
)
def test_about_lists_the_versions_for_the_announced_protocol(
    xapi: XapiClient, version: str, expected: list[str]
) -> None:
    response = xapi.get("/xapi/about", version=version, auth=False)
    assert response.status_code == 200
    assert response.json() == {"version": expected, "extensions": {}}


def test_about_answers_with_the_negotiated_version_header(xapi: XapiClient) -> None:
    assert xapi.get("/xapi/about", version="1.0.1", auth=False)["X-Experience-API-Version"] == (
        "1.0.3"
    )
    assert xapi.get("/xapi/about", version="", auth=False)["X-Experience-API-Version"] == "2.0.0"
