"""The Statement resource (/xapi/statements) over HTTP, for xAPI 2.0.0 and 1.0.3."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection

from shuyuan.learning.actions.events import record_platform_event
from shuyuan.learning.actions.statements import store_statements
from shuyuan.learning.choices import LrsScope
from shuyuan.learning.models import Activity, Statement, StatementActivity, StatementAgent
from shuyuan.learning.queries.spaces import list_timeline
from shuyuan.learning.testing import XapiClient, make_credential
from shuyuan.learning.xapi.auth import system_caller

VERSIONS = ["2.0.0", "1.0.3"]
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
URL = "/xapi/statements"


def statement(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "actor": {"objectType": "Agent", "name": "Xiao Ming", "mbox": "mailto:xm@example.cn"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/attended",
            "display": {"en-GB": "attended", "en-US": "attended"},
        },
        "object": {
            "objectType": "Activity",
            "id": "http://www.example.com/meetings/occurances/34534",
            "definition": {
                "name": {"en-GB": "example meeting", "en-US": "example meeting"},
                "description": {"en-GB": "An example meeting.", "en-US": "An example meeting."},
                "type": "http://adlnet.gov/expapi/activities/meeting",
            },
        },
    }
    data.update(overrides)
    return data


def voiding(target: str, **overrides: Any) -> dict[str, Any]:
    return statement(
        verb={"id": VOIDED, "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": target},
        **overrides,
    )


def post_ok(xapi: XapiClient, body: Any, **kw: Any) -> list[str]:
    response = xapi.post(URL, body, **kw)
    assert response.status_code == 200, response.content
    ids: list[str] = json.loads(response.content)
    return ids


def get_json(xapi: XapiClient, params: dict[str, Any] | None = None, **kw: Any) -> Any:
    response = xapi.get(URL, params, **kw)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def ids_of(result: dict[str, Any]) -> list[str]:
    return [s["id"] for s in result["statements"]]


# --- POST and PUT ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_post_single_statement_returns_generated_id(xapi: XapiClient, version: str) -> None:
    ids = post_ok(xapi, statement(), version=version)
    assert len(ids) == 1
    assert uuid.UUID(ids[0]).version == 4
    stored = get_json(xapi, {"statementId": ids[0]}, version=version)
    assert stored["id"] == ids[0]
    assert stored["authority"]["account"]["name"] == xapi.credential.key
    assert stored["version"] == ("2.0.0" if version == "2.0.0" else "1.0.0")
    assert stored["timestamp"] == stored["stored"]
    assert stored["stored"].endswith("Z") and len(stored["stored"]) == len(
        "2024-01-01T00:00:00.000Z"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_post_batch_returns_ids_in_order(xapi: XapiClient, version: str) -> None:
    given = str(uuid.uuid4())
    ids = post_ok(xapi, [statement(), statement(id=given), statement()], version=version)
    assert len(ids) == 3 and ids[1] == given and len(set(ids)) == 3
    assert Statement.objects.count() == 3


def test_post_empty_batch_is_ok(xapi: XapiClient) -> None:
    assert post_ok(xapi, []) == []


def test_post_keeps_given_version_and_replaces_authority(xapi: XapiClient) -> None:
    other = {"objectType": "Agent", "mbox": "mailto:someone@example.com"}
    [sid] = post_ok(xapi, statement(version="2.0.0", authority=other))
    stored = get_json(xapi, {"statementId": sid})
    assert stored["version"] == "2.0.0"
    assert stored["authority"] != other


def test_post_client_stored_is_replaced(xapi: XapiClient) -> None:
    [sid] = post_ok(xapi, statement(stored="2011-07-15T00:00:00.000Z"))
    assert get_json(xapi, {"statementId": sid})["stored"] != "2011-07-15T00:00:00.000Z"


def test_post_batch_with_duplicate_ids_is_400_and_stores_nothing(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    response = xapi.post(URL, [statement(id=sid), statement(id=sid)])
    assert response.status_code == 400
    assert not Statement.objects.exists()


def test_post_batch_with_one_invalid_statement_stores_nothing(xapi: XapiClient) -> None:
    good = statement(id=str(uuid.uuid4()))
    bad = statement(verb={"id": "should fail"})
    assert xapi.post(URL, [good, bad]).status_code == 400
    assert xapi.get(URL, {"statementId": good["id"]}).status_code == 404


def test_post_with_unknown_property_is_400(xapi: XapiClient) -> None:
    assert xapi.post(URL, statement(dummy="dummy")).status_code == 400


def test_post_with_duplicate_json_key_is_400(xapi: XapiClient) -> None:
    raw = json.dumps(statement())[:-1] + ', "actor": {"mbox": "mailto:b@example.com"}}'
    assert xapi.post(URL, raw=raw.encode()).status_code == 400


def test_post_invalid_json_is_400(xapi: XapiClient) -> None:
    assert xapi.post(URL, raw=b"{not json").status_code == 400


def test_post_with_query_parameter_is_400(xapi: XapiClient) -> None:
    assert xapi.post(URL + "?statementId=" + str(uuid.uuid4()), statement()).status_code == 400


def test_post_other_content_type_is_400(xapi: XapiClient) -> None:
    response = xapi.post(
        URL, raw=json.dumps(statement()).encode(), content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("version", VERSIONS)
def test_put_stores_statement_with_id_204(xapi: XapiClient, version: str) -> None:
    sid = str(uuid.uuid4())
    response = xapi.put(URL, statement(), params={"statementId": sid}, version=version)
    assert response.status_code == 204, response.content
    assert get_json(xapi, {"statementId": sid}, version=version)["id"] == sid


def test_put_without_statement_id_is_400(xapi: XapiClient) -> None:
    assert xapi.put(URL, statement(id=str(uuid.uuid4()))).status_code == 400


def test_put_with_differently_cased_parameter_is_400(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    assert xapi.put(URL, statement(id=sid), params={"StatementId": sid}).status_code == 400


def test_put_with_mismatching_id_is_400(xapi: XapiClient) -> None:
    response = xapi.put(
        URL, statement(id=str(uuid.uuid4())), params={"statementId": str(uuid.uuid4())}
    )
    assert response.status_code == 400


def test_put_with_batch_is_400(xapi: XapiClient) -> None:
    assert (
        xapi.put(URL, [statement()], params={"statementId": str(uuid.uuid4())}).status_code == 400
    )


def test_put_same_statement_again_is_204(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    assert xapi.put(URL, statement(), params={"statementId": sid}).status_code == 204
    assert xapi.put(URL, statement(), params={"statementId": sid}).status_code == 204
    assert Statement.objects.count() == 1


def test_put_different_statement_with_same_id_is_409_and_keeps_first(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    xapi.put(URL, statement(), params={"statementId": sid})
    changed = statement(verb={"id": "http://example.com/different/verb/iri"})
    assert xapi.put(URL, changed, params={"statementId": sid}).status_code == 409
    assert get_json(xapi, {"statementId": sid})["verb"]["id"] == statement()["verb"]["id"]


def test_post_existing_id_same_content_returns_id_without_duplicate(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    post_ok(xapi, statement(id=sid))
    assert post_ok(xapi, [statement(id=sid), statement()])[0] == sid
    assert Statement.objects.count() == 2


def test_post_existing_id_other_content_is_409(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    post_ok(xapi, statement(id=sid))
    changed = statement(id=sid, verb={"id": "http://example.com/other"})
    assert xapi.post(URL, [statement(), changed]).status_code == 409
    assert Statement.objects.count() == 1


def test_delete_is_405(xapi: XapiClient) -> None:
    assert xapi.delete(URL, params={"statementId": str(uuid.uuid4())}).status_code == 405


def test_missing_version_header_is_400(xapi: XapiClient) -> None:
    assert xapi.post(URL, statement(), version="").status_code == 400


def test_no_credentials_is_401(xapi: XapiClient) -> None:
    assert xapi.get(URL, auth=False).status_code == 401


def test_write_without_scope_is_403(lrs_tree: Any) -> None:
    reader = XapiClient(make_credential(lrs_tree.region, scopes=[LrsScope.STATEMENTS_READ]))
    assert reader.post(URL, statement()).status_code == 403
    assert reader.get(URL).status_code == 200


def test_read_without_scope_is_403(lrs_tree: Any) -> None:
    writer = XapiClient(make_credential(lrs_tree.region, scopes=[LrsScope.STATEMENTS_WRITE]))
    assert writer.post(URL, statement()).status_code == 200
    response = writer.get(URL)
    assert response.status_code == 403
    assert response["X-Experience-API-Consistent-Through"]


def test_statements_store_index_rows(xapi: XapiClient) -> None:
    instructor = {"objectType": "Agent", "mbox": "mailto:teacher@example.cn"}
    data = statement(
        context={
            "instructor": instructor,
            "registration": str(uuid.uuid4()),
            "contextActivities": {"category": {"id": "http://example.com/cat"}},
        }
    )
    [sid] = post_ok(xapi, data)
    row = Statement.objects.get(statement_id=sid)
    assert row.registration == uuid.UUID(data["context"]["registration"])
    # The actor and object are matched on the row itself; the side tables hold the rest.
    assert StatementAgent.objects.filter(statement=row).count() == 2  # instructor, authority
    assert StatementActivity.objects.filter(statement=row).count() == 1  # the category
    found = xapi.get(URL, {"agent": json.dumps(instructor), "related_agents": "true"})
    assert [s["id"] for s in json.loads(found.content)["statements"]] == [sid]
    actor = json.dumps(data["actor"])
    found = xapi.get(URL, {"agent": actor, "related_agents": "true"})
    assert [s["id"] for s in json.loads(found.content)["statements"]] == [sid]
    found = xapi.get(URL, {"activity": data["object"]["id"], "related_activities": "true"})
    assert sid in [s["id"] for s in json.loads(found.content)["statements"]]
    assert Activity.objects.filter(activity_id="http://example.com/cat").exists()


def test_activity_definition_is_merged(xapi: XapiClient) -> None:
    activity_id = "http://example.com/activity/merged"
    first = statement(object={"id": activity_id, "definition": {"name": {"en-US": "First"}}})
    second = statement(
        object={
            "id": activity_id,
            "definition": {"name": {"zh-CN": "第二"}, "description": {"en-US": "Described"}},
        }
    )
    post_ok(xapi, first)
    post_ok(xapi, second)
    definition = Activity.objects.get(activity_id=activity_id).definition
    assert definition == {
        "name": {"en-US": "First", "zh-CN": "第二"},
        "description": {"en-US": "Described"},
    }


# --- voiding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_voided_statement_only_by_voided_statement_id(xapi: XapiClient, version: str) -> None:
    [target] = post_ok(xapi, statement(), version=version)
    [voider] = post_ok(xapi, voiding(target), version=version)
    assert xapi.get(URL, {"statementId": target}, version=version).status_code == 404
    assert get_json(xapi, {"voidedStatementId": target}, version=version)["id"] == target
    assert xapi.get(URL, {"voidedStatementId": voider}, version=version).status_code == 404
    assert get_json(xapi, {"statementId": voider}, version=version)["id"] == voider
    listed = ids_of(get_json(xapi, version=version))
    assert voider in listed and target not in listed


def test_voiding_a_voiding_statement_is_400(xapi: XapiClient) -> None:
    [target] = post_ok(xapi, statement())
    [voider] = post_ok(xapi, voiding(target))
    assert xapi.post(URL, voiding(voider)).status_code == 400
    assert get_json(xapi, {"statementId": voider})["id"] == voider


def test_voiding_unknown_statement_is_accepted(xapi: XapiClient) -> None:
    assert len(post_ok(xapi, voiding(str(uuid.uuid4())))) == 1


def test_voiding_statement_arriving_before_target_voids_it(xapi: XapiClient) -> None:
    target = str(uuid.uuid4())
    post_ok(xapi, voiding(target))
    post_ok(xapi, statement(id=target))
    assert xapi.get(URL, {"statementId": target}).status_code == 404
    assert get_json(xapi, {"voidedStatementId": target})["id"] == target


def test_voiding_target_in_same_batch(xapi: XapiClient) -> None:
    target = str(uuid.uuid4())
    post_ok(xapi, [statement(id=target), voiding(target)])
    assert xapi.get(URL, {"statementId": target}).status_code == 404


def test_voiding_voiding_statement_in_same_batch_is_400(xapi: XapiClient) -> None:
    first = str(uuid.uuid4())
    assert xapi.post(URL, [voiding(str(uuid.uuid4()), id=first), voiding(first)]).status_code == 400
    assert not Statement.objects.exists()


def test_voiding_without_statement_ref_is_400(xapi: XapiClient) -> None:
    assert xapi.post(URL, statement(verb={"id": VOIDED})).status_code == 400


def test_voiding_does_not_reach_other_schools(lrs_tree: Any, xapi: XapiClient) -> None:
    school_b = XapiClient(make_credential(lrs_tree.school_b, name="B tool"))
    [target] = post_ok(school_b, statement())
    school_a = XapiClient(make_credential(lrs_tree.school_a, name="A tool"))
    post_ok(school_a, voiding(target))
    assert get_json(school_b, {"statementId": target})["id"] == target


def test_refs_meet_filters_of_their_target(xapi: XapiClient) -> None:
    verb = "http://adlnet.gov/expapi/test/voided/target/" + str(uuid.uuid4())
    [voided] = post_ok(xapi, statement(verb={"id": verb}))
    [voider] = post_ok(xapi, voiding(voided))
    [ref] = post_ok(
        xapi, statement(verb={"id": verb}, object={"objectType": "StatementRef", "id": voided})
    )
    assert ids_of(get_json(xapi, {"verb": verb})) == [ref, voider]
    limited = get_json(xapi, {"verb": verb, "limit": 1})
    assert ids_of(limited) == [ref]
    assert limited["more"]


# --- GET: single -------------------------------------------------------------------------------


def test_get_single_has_last_modified_and_consistent_through(xapi: XapiClient) -> None:
    [sid] = post_ok(xapi, statement())
    response = xapi.get(URL, {"statementId": sid})
    stored = dt.datetime.fromisoformat(json.loads(response.content)["stored"])
    from email.utils import parsedate_to_datetime

    assert parsedate_to_datetime(response["Last-Modified"]) == stored.replace(microsecond=0)
    assert dt.datetime.fromisoformat(response["X-Experience-API-Consistent-Through"])
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "extra",
    [
        {"agent": json.dumps({"mbox": "mailto:a@example.com"})},
        {"verb": "http://example.com/v"},
        {"activity": "http://example.com/a"},
        {"registration": str(uuid.uuid4())},
        {"related_activities": "true"},
        {"related_agents": "true"},
        {"since": "2012-06-01T19:09:13.245Z"},
        {"until": "2012-06-01T19:09:13.245Z"},
        {"limit": "1"},
        {"ascending": "true"},
        {"voidedStatementId": str(uuid.uuid4())},
    ],
)
def test_get_statement_id_with_other_parameter_is_400(
    xapi: XapiClient, extra: dict[str, str]
) -> None:
    [sid] = post_ok(xapi, statement())
    response = xapi.get(URL, {"statementId": sid, **extra})
    assert response.status_code == 400
    assert response["X-Experience-API-Consistent-Through"]


def test_get_statement_id_with_format_and_attachments_is_200(xapi: XapiClient) -> None:
    [sid] = post_ok(xapi, statement())
    assert xapi.get(URL, {"statementId": sid, "format": "ids"}).status_code == 200
    assert xapi.get(URL, {"statementId": sid, "attachments": "false"}).status_code == 200


def test_get_unknown_and_malformed_ids(xapi: XapiClient) -> None:
    assert xapi.get(URL, {"statementId": str(uuid.uuid4())}).status_code == 404
    assert xapi.get(URL, {"statementId": "not-a-uuid"}).status_code == 400
    assert xapi.get(URL, {"StatementId": str(uuid.uuid4())}).status_code == 400


def test_head_has_headers_and_no_body(xapi: XapiClient) -> None:
    [sid] = post_ok(xapi, statement())
    response = xapi.head(URL, {"statementId": sid})
    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Experience-API-Consistent-Through"]
    assert xapi.head(URL).status_code == 200


# --- GET: lists --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"foo": "bar"},
        {"LIMIT": "1"},
        {"limit": "-1"},
        {"limit": "x"},
        {"format": "full"},
        {"ascending": "yes"},
        {"attachments": "1"},
        {"related_agents": "maybe"},
        {"since": "yesterday"},
        {"until": "2012-06-01"},
        {"agent": "{not json"},
        {"agent": json.dumps({"name": "no ifi"})},
        {"verb": "not an iri"},
        {"activity": "not an iri"},
        {"registration": "nope"},
        {"more": "tampered"},
    ],
)
def test_get_bad_parameters_are_400_with_consistent_through(
    xapi: XapiClient, params: dict[str, str]
) -> None:
    response = xapi.get(URL, params)
    assert response.status_code == 400, params
    assert response["X-Experience-API-Consistent-Through"]


@pytest.mark.parametrize("version", VERSIONS)
def test_get_list_is_statement_result_newest_first(xapi: XapiClient, version: str) -> None:
    first = post_ok(xapi, statement(), version=version)
    second = post_ok(xapi, statement(), version=version)
    result = get_json(xapi, version=version)
    assert result["more"] == ""
    assert ids_of(result) == second + first
    ascending = get_json(xapi, {"ascending": "true"}, version=version)
    assert ids_of(ascending) == first + second


def test_get_empty_result(xapi: XapiClient) -> None:
    assert get_json(xapi, {"verb": "http://adlnet.gov/expapi/non/existent"}) == {
        "statements": [],
        "more": "",
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_paging_with_more(xapi: XapiClient, version: str) -> None:
    ids = post_ok(xapi, [statement() for _ in range(5)], version=version)
    seen: list[str] = []
    result = get_json(xapi, {"limit": 2}, version=version)
    pages = 1
    while True:
        seen += ids_of(result)
        if not result["more"]:
            break
        assert result["more"].startswith("/xapi/statements?more=")
        response = xapi.get(result["more"], version=version)
        assert response.status_code == 200
        result = json.loads(response.content)
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(ids) and len(seen) == 5


def test_more_keeps_filters_and_rejects_extra_parameters(xapi: XapiClient) -> None:
    verb = "http://example.com/verbs/paged"
    ids = post_ok(xapi, [statement(verb={"id": verb}) for _ in range(3)] + [statement()])
    result = get_json(xapi, {"verb": verb, "limit": 2, "ascending": "true"})
    assert ids_of(result) == ids[:2]
    more = result["more"]
    assert xapi.get(more + "&limit=1").status_code == 400
    rest = json.loads(xapi.get(more).content)
    assert ids_of(rest) == [ids[2]] and rest["more"] == ""


def test_limit_zero_and_above_page_size_use_server_maximum(xapi: XapiClient, settings: Any) -> None:
    settings.LEARNING_XAPI_PAGE_SIZE = 3
    post_ok(xapi, [statement() for _ in range(4)])
    assert len(get_json(xapi, {"limit": 0})["statements"]) == 3
    assert len(get_json(xapi, {"limit": 50})["statements"]) == 3
    assert get_json(xapi, {"limit": 0})["more"]


def test_filters(xapi: XapiClient) -> None:
    registration = str(uuid.uuid4())
    actor = {"mbox": "mailto:filter@example.cn"}
    instructor = {"objectType": "Agent", "mbox": "mailto:instructor@example.cn"}
    category = "http://example.com/category/" + str(uuid.uuid4())
    [a] = post_ok(xapi, statement(actor=actor))
    [b] = post_ok(
        xapi,
        statement(
            verb={"id": "http://example.com/verbs/other"},
            object={"id": "http://example.com/other-activity"},
            context={
                "registration": registration,
                "instructor": instructor,
                "contextActivities": {"category": [{"id": category}]},
            },
        ),
    )
    [c] = post_ok(
        xapi, statement(object={"objectType": "Agent", "mbox": "mailto:filter@example.cn"})
    )

    def query(**params: Any) -> list[str]:
        return ids_of(get_json(xapi, params))

    assert query(agent=json.dumps(actor)) == [c, a]
    assert query(agent=json.dumps(instructor)) == []
    assert query(agent=json.dumps(instructor), related_agents="true") == [b]
    assert query(verb="http://example.com/verbs/other") == [b]
    assert query(activity="http://example.com/other-activity") == [b]
    assert query(activity=category) == []
    assert query(activity=category, related_activities="true") == [b]
    assert query(registration=registration) == [b]
    stored_b = get_json(xapi, {"statementId": b})["stored"]
    assert set(query(since=stored_b)) == {c}
    assert set(query(until=stored_b)) == {a, b}
    assert query(since="2012-06-01T19:09:13.245Z", verb="http://example.com/verbs/other") == [b]


def test_related_agents_include_authority_and_substatement(xapi: XapiClient) -> None:
    sub_actor = {"objectType": "Agent", "mbox": "mailto:sub@example.cn"}
    [sid] = post_ok(
        xapi,
        statement(
            object={
                "objectType": "SubStatement",
                "actor": sub_actor,
                "verb": {"id": "http://example.com/verbs/planned"},
                "object": {"id": "http://example.com/sub-activity"},
            }
        ),
    )
    by_sub = get_json(xapi, {"agent": json.dumps(sub_actor), "related_agents": "true"})
    assert ids_of(by_sub) == [sid]
    authority = get_json(xapi, {"statementId": sid})["authority"]
    by_authority = get_json(xapi, {"agent": json.dumps(authority), "related_agents": "true"})
    assert ids_of(by_authority) == [sid]
    related = get_json(
        xapi, {"activity": "http://example.com/sub-activity", "related_activities": "true"}
    )
    assert ids_of(related) == [sid]


def test_formats(xapi: XapiClient) -> None:
    group = {
        "objectType": "Group",
        "name": "Team",
        "mbox": "mailto:team@example.cn",
        "member": [{"mbox": "mailto:m@example.cn", "name": "M"}],
    }
    [sid] = post_ok(xapi, statement(actor=group))
    exact = get_json(xapi, {"statementId": sid, "format": "exact"})
    assert exact["actor"] == group
    ids = get_json(xapi, {"statementId": sid, "format": "ids"})
    assert ids["actor"] == {"objectType": "Group", "mbox": "mailto:team@example.cn"}
    assert ids["verb"] == {"id": statement()["verb"]["id"]}
    assert ids["object"] == {"objectType": "Activity", "id": statement()["object"]["id"]}
    canonical = get_json(xapi, {"format": "canonical"}, headers={"Accept-Language": "en-GB"})[
        "statements"
    ][0]
    assert canonical["verb"]["display"] == {"en-GB": "attended"}
    assert canonical["object"]["definition"]["name"] == {"en-GB": "example meeting"}


def test_canonical_uses_lrs_definition(xapi: XapiClient) -> None:
    activity = "http://example.com/canonical/" + str(uuid.uuid4())
    [first] = post_ok(
        xapi, statement(object={"id": activity, "definition": {"name": {"en-US": "Old"}}})
    )
    post_ok(xapi, statement(object={"id": activity, "definition": {"name": {"en-US": "New"}}}))
    canonical = get_json(xapi, {"statementId": first, "format": "canonical"})
    assert canonical["object"]["definition"]["name"] == {"en-US": "New"}
    exact = get_json(xapi, {"statementId": first}, headers={"Accept-Language": "en-GB"})
    assert exact["object"]["definition"]["name"] == {"en-US": "Old"}


# --- org limitation ----------------------------------------------------------------------------


def test_school_credential_reads_only_its_subtree(lrs_tree: Any, xapi: XapiClient) -> None:
    school_a = XapiClient(make_credential(lrs_tree.school_a, name="A tool"))
    school_b = XapiClient(make_credential(lrs_tree.school_b, name="B tool"))
    [region_id] = post_ok(xapi, statement())
    [a_id] = post_ok(school_a, statement())
    [b_id] = post_ok(school_b, statement())
    assert ids_of(get_json(school_a)) == [a_id]
    assert school_a.get(URL, {"statementId": b_id}).status_code == 404
    assert school_a.get(URL, {"statementId": region_id}).status_code == 404
    assert set(ids_of(get_json(xapi))) == {region_id, a_id, b_id}


def test_read_mine_scope_reads_only_own_client(lrs_tree: Any) -> None:
    mine = XapiClient(
        make_credential(
            lrs_tree.school_a,
            name="Mine",
            scopes=[LrsScope.STATEMENTS_WRITE, LrsScope.STATEMENTS_READ_MINE],
        )
    )
    other = XapiClient(make_credential(lrs_tree.school_a, name="Other"))
    [own] = post_ok(mine, statement())
    [theirs] = post_ok(other, statement())
    assert ids_of(get_json(mine)) == [own]
    assert mine.get(URL, {"statementId": theirs}).status_code == 404
    assert set(ids_of(get_json(other))) == {own, theirs}


def test_more_link_of_other_org_reveals_nothing(lrs_tree: Any, xapi: XapiClient) -> None:
    post_ok(xapi, [statement() for _ in range(3)])
    more = get_json(xapi, {"limit": 1})["more"]
    school_a = XapiClient(make_credential(lrs_tree.school_a, name="A tool"))
    assert json.loads(school_a.get(more).content)["statements"] == []


# --- alternate request syntax (1.0.3) ----------------------------------------------------------


def _form(xapi: XapiClient, method: str, fields: dict[str, str], **kw: Any) -> Any:
    return xapi.request(
        "POST",
        URL + "?method=" + method,
        raw=urlencode(fields).encode(),
        content_type="application/x-www-form-urlencoded",
        version="1.0.3",
        **kw,
    )


def test_alternate_syntax_get(xapi: XapiClient) -> None:
    post_ok(xapi, [statement(), statement()])
    response = _form(xapi, "GET", {"limit": "1"})
    assert response.status_code == 200
    result = json.loads(response.content)
    assert len(result["statements"]) == 1 and result["more"]
    assert response["X-Experience-API-Consistent-Through"]


def test_alternate_syntax_put_with_headers_in_form(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    fields = {
        "statementId": sid,
        "content": json.dumps(statement()),
        "X-Experience-API-Version": "1.0.3",
        "Authorization": xapi.credential.authorization,
    }
    response = _form(xapi, "PUT", fields, auth=False)
    assert response.status_code == 204, response.content
    assert get_json(xapi, {"statementId": sid})["id"] == sid


def test_alternate_syntax_form_version_is_the_request_version(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    fields = {
        "statementId": sid,
        "content": json.dumps(statement()),
        "X-Experience-API-Version": "0.8",
    }
    assert _form(xapi, "PUT", fields).status_code == 400
    assert xapi.get(URL, {"statementId": sid}).status_code == 404


def test_alternate_syntax_without_body_is_400_in_the_request_version(xapi: XapiClient) -> None:
    response = xapi.request("POST", URL + "?method=PUT", version="1.0.3")
    assert response.status_code == 400
    assert response["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize("path", [URL, "/xapi/activities", "/xapi/agents"])
def test_unknown_method_is_405_before_authentication(xapi: XapiClient, path: str) -> None:
    response = xapi.delete(path, auth=False, version="1.0.1")
    assert response.status_code == 405
    assert "DELETE" not in response["Allow"]


def test_alternate_syntax_errors(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    assert _form(xapi, "PUT", {}).status_code == 400
    extra = xapi.request(
        "POST",
        URL + "?method=PUT&statementId=" + sid,
        raw=urlencode({"content": json.dumps(statement())}).encode(),
        content_type="application/x-www-form-urlencoded",
        version="1.0.3",
    )
    assert extra.status_code == 400
    not_form = xapi.request(
        "POST",
        URL + "?method=PUT",
        raw=json.dumps({"statementId": sid, "content": json.dumps(statement())}).encode(),
        content_type="application/x-www-form-urlencoded",
        version="1.0.3",
    )
    assert not_form.status_code == 400
    assert xapi.request("GET", URL + "?method=POST", version="1.0.3").status_code == 400


# --- actions and queries used without HTTP -----------------------------------------------------


def test_record_platform_event_and_timeline(lrs_tree: Any, make_user: Any) -> None:
    user = make_user(org=lrs_tree.school_a)
    sid = record_platform_event(
        user=user,
        verb_id="http://adlnet.gov/expapi/verbs/completed",
        verb_display="completed",
        object_id="https://shuyuan.example.cn/resources/1",
        object_name="Fractions",
        result={"completion": True},
    )
    row = Statement.objects.get(statement_id=sid)
    assert row.client is None and row.org_path == lrs_tree.school_a.path
    timeline = list_timeline(user)
    assert [item.statement_id for item in timeline] == [sid]
    assert timeline[0].verb == "completed" and timeline[0].object_name == "Fractions"
    assert timeline[0].completion is True


def test_timeline_hides_other_users_and_voided(lrs_tree: Any, make_user: Any) -> None:
    user = make_user(org=lrs_tree.school_a)
    other = make_user(org=lrs_tree.school_a)
    kept = record_platform_event(
        user=user,
        verb_id="http://example.com/v",
        verb_display="v",
        object_id="http://example.com/o",
        object_name="o",
    )
    gone = record_platform_event(
        user=user,
        verb_id="http://example.com/v",
        verb_display="v",
        object_id="http://example.com/o",
        object_name="o",
    )
    caller = system_caller(org_id=lrs_tree.school_a.pk, org_path=lrs_tree.school_a.path)
    store_statements(caller=caller, statements=[voiding(gone)], attachments={}, version="2.0.0")
    assert [i.statement_id for i in list_timeline(user)] == [kept]
    assert list_timeline(other, for_user=user) == []


def test_post_batch_of_100_uses_few_queries(xapi: XapiClient, assert_max_queries: Any) -> None:
    batch = [
        statement(
            context={
                "registration": str(uuid.uuid4()),
                "contextActivities": {"parent": [{"id": "http://example.com/course"}]},
            }
        )
        for _ in range(100)
    ]
    with assert_max_queries(20):
        assert len(post_ok(xapi, batch)) == 100


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_puts_of_one_new_id_store_one(lrs_tree: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers")
    credential = make_credential(lrs_tree.region, name="Racer")
    sid = str(uuid.uuid4())
    codes: list[int] = []

    def put(data: dict[str, Any]) -> None:
        try:
            codes.append(
                XapiClient(credential).put(URL, data, params={"statementId": sid}).status_code
            )
        finally:
            connection.close()

    threads = [
        threading.Thread(target=put, args=(statement(),)),
        threading.Thread(target=put, args=(statement(),)),
        threading.Thread(target=put, args=(statement(verb={"id": "http://example.com/x"}),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Statement.objects.filter(statement_id=sid).count() == 1
    assert sorted(codes) in ([204, 204, 409], [204, 409, 409])
