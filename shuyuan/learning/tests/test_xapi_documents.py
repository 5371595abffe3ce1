"""The xAPI document resources: State, Activity Profile and Agent Profile (2.0.0 and 1.0.3)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import uuid
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.utils import timezone

from shuyuan.learning.actions import documents as actions
from shuyuan.learning.choices import DocumentKind
from shuyuan.learning.models import Document
from shuyuan.learning.testing import LrsCredential, XapiClient, make_credential

ACTIVITY = "http://www.example.com/activityId/hashset"
AGENT = {
    "objectType": "Agent",
    "account": {"homePage": "http://www.example.com/agentId/1", "name": "Rick James"},
}
STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"
VERSIONS = ["2.0.0", "1.0.3"]


def state(**extra: Any) -> dict[str, Any]:
    params = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": str(uuid.uuid4())}
    params.update(extra)
    return params


def activity_profile(**extra: Any) -> dict[str, Any]:
    params = {"activityId": ACTIVITY, "profileId": str(uuid.uuid4())}
    params.update(extra)
    return params


def agent_profile(**extra: Any) -> dict[str, Any]:
    params = {"agent": json.dumps(AGENT), "profileId": str(uuid.uuid4())}
    params.update(extra)
    return params


RESOURCES = [
    pytest.param(STATE, state, "stateId", id="state"),
    pytest.param(ACTIVITY_PROFILE, activity_profile, "profileId", id="activity_profile"),
    pytest.param(AGENT_PROFILE, agent_profile, "profileId", id="agent_profile"),
]


def without(params: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key != name}


def etag(content: bytes) -> str:
    digest = hashlib.sha1(content, usedforsecurity=False).hexdigest()
    return f'"{digest}"'


def http_time(value: str) -> dt.datetime:
    return parsedate_to_datetime(value)


# --- storing and reading one document ----------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_put_then_get_returns_content_and_headers(
    xapi: XapiClient, version: str, path: str, build: Any, id_name: str
) -> None:
    params = build()
    body = {"name": "x", "location": {"name": "y"}}
    put = xapi.put(path, body, params=params, version=version, headers={"If-None-Match": "*"})
    assert put.status_code == 204
    response = xapi.get(path, params, version=version)
    assert response.status_code == 200
    assert response.json() == body
    assert response["Content-Type"] == "application/json"
    assert response["ETag"] == etag(response.content)
    assert response["X-Experience-API-Version"] == version
    assert http_time(response["Last-Modified"]) <= timezone.now()


@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_binary_content_round_trips_exactly(
    xapi: XapiClient, path: str, build: Any, id_name: str
) -> None:
    params = build()
    content = bytes(range(256)) * 3
    assert xapi.put(path, params=params, raw=content, content_type="image/png").status_code == 204
    response = xapi.get(path, params)
    assert response.content == content
    assert response["Content-Type"] == "image/png"
    assert response["ETag"] == etag(content)


def test_document_head_returns_headers_without_body(xapi: XapiClient) -> None:
    params = state()
    xapi.put(STATE, {"a": 1}, params=params)
    response = xapi.head(STATE, params)
    assert response.status_code == 200
    assert response.content == b""
    assert response["ETag"] == etag(b'{"a": 1}')


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_get_missing_is_404_and_delete_missing_is_204(
    xapi: XapiClient, version: str, path: str, build: Any, id_name: str
) -> None:
    params = build()
    assert xapi.get(path, params, version=version).status_code == 404
    assert xapi.delete(path, params=params, version=version).status_code == 204


def test_document_delete_removes_it(xapi: XapiClient) -> None:
    params = agent_profile()
    xapi.post(AGENT_PROFILE, {"a": 1}, params=params)
    assert xapi.delete(AGENT_PROFILE, params=params).status_code == 204
    assert xapi.get(AGENT_PROFILE, params).status_code == 404


def test_document_empty_body_is_stored(xapi: XapiClient) -> None:
    params = state()
    assert xapi.put(STATE, params=params, raw=b"", content_type="").status_code == 204
    response = xapi.get(STATE, params)
    assert response.content == b""
    assert response["Content-Type"] == "application/octet-stream"


def test_state_registration_names_a_separate_document(xapi: XapiClient) -> None:
    registration = str(uuid.uuid4())
    params = state(registration=registration.upper())
    xapi.put(STATE, {"with": "registration"}, params=params)
    assert xapi.get(STATE, without(params, "registration")).status_code == 404
    found = xapi.get(STATE, {**params, "registration": registration})
    assert found.json() == {"with": "registration"}


def test_state_agent_identity_ignores_name_and_object_type(xapi: XapiClient) -> None:
    params = state()
    xapi.put(STATE, {"a": 1}, params=params)
    other_form = {"account": AGENT["account"], "name": "R. James"}
    response = xapi.get(STATE, {**params, "agent": json.dumps(other_form)})
    assert response.json() == {"a": 1}


# --- POST (merge) ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_post_merges_top_level_properties(
    xapi: XapiClient, version: str, path: str, build: Any, id_name: str
) -> None:
    params = build()
    first = {"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale", "keep": 1}
    second = {"car": {"make": "Dodge"}, "driver": "Jeff", "type": "Civic"}
    assert xapi.post(path, first, params=params, version=version).status_code == 204
    assert xapi.post(path, second, params=params, version=version).status_code == 204
    merged = xapi.get(path, params, version=version)
    assert merged.json() == {"car": {"make": "Dodge"}, "driver": "Jeff", "keep": 1, "type": "Civic"}
    assert merged["ETag"] == etag(merged.content)


@pytest.mark.parametrize("version", VERSIONS)
def test_document_post_when_none_exists_stores_any_content(xapi: XapiClient, version: str) -> None:
    params = state()
    response = xapi.post(
        STATE,
        params=params,
        raw=b"1",
        content_type="application/x-www-form-urlencoded",
        version=version,
    )
    assert response.status_code == 204
    stored = xapi.get(STATE, params, version=version)
    assert stored.content == b"1"
    assert stored["Content-Type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"abcdefg", "application/octet-stream"),
        (b"abc", "application/x-www-form-urlencoded"),
        (b"abcdefg", "not/json"),
        (b'{"a": 1}{', "application/json"),
        (b'{"a": 1}[', "application/json"),
        (b"[1, 2]", "application/json"),
    ],
)
def test_document_post_of_non_json_object_onto_json_is_400_and_changes_nothing(
    xapi: XapiClient, path: str, build: Any, id_name: str, raw: bytes, content_type: str
) -> None:
    params = build()
    xapi.post(path, {"car": "Honda"}, params=params)
    response = xapi.post(path, params=params, raw=raw, content_type=content_type)
    assert response.status_code == 400
    assert xapi.get(path, params).json() == {"car": "Honda"}


@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_post_of_json_onto_non_json_is_400_and_changes_nothing(
    xapi: XapiClient, path: str, build: Any, id_name: str
) -> None:
    params = build()
    content = b"/ asdf / undefined"
    headers = {"If-None-Match": "*"}
    xapi.put(
        path, params=params, raw=content, content_type="application/octet-stream", headers=headers
    )
    assert xapi.post(path, {"car": "Honda"}, params=params).status_code == 400
    assert xapi.get(path, params).content == content


def test_document_post_of_invalid_json_to_new_document_is_400(xapi: XapiClient) -> None:
    params = activity_profile()
    response = xapi.post(
        ACTIVITY_PROFILE, params=params, raw=b'{"a": 1}[', content_type="application/json"
    )
    assert response.status_code == 400
    assert xapi.get(ACTIVITY_PROFILE, params).status_code == 404


def test_document_put_of_invalid_json_is_400(xapi: XapiClient) -> None:
    params = state()
    response = xapi.put(STATE, params=params, raw=b"{nope", content_type="application/json")
    assert response.status_code == 400


def test_document_post_updates_last_modified(xapi: XapiClient) -> None:
    params = state()
    xapi.post(STATE, {"a": 1}, params=params)
    Document.objects.update(updated_at=timezone.now() - dt.timedelta(minutes=5))
    before = xapi.get(STATE, params)["Last-Modified"]
    xapi.post(STATE, {"b": 2}, params=params)
    after = xapi.get(STATE, params)["Last-Modified"]
    assert http_time(after) > http_time(before)


# --- several documents -------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_state_get_without_state_id_lists_ids_filtered_by_since(
    xapi: XapiClient, version: str
) -> None:
    activity = ACTIVITY + "/" + str(uuid.uuid4())
    first, second = state(activityId=activity), state(activityId=activity)
    xapi.post(STATE, {"a": 1}, params=first, version=version)
    xapi.post(STATE, {"a": 2}, params=second, version=version)
    listing = without(first, "stateId")
    response = xapi.get(STATE, listing, version=version)
    assert response.status_code == 200
    assert sorted(response.json()) == sorted([first["stateId"], second["stateId"]])
    assert response["Last-Modified"]
    past = (timezone.now() - dt.timedelta(minutes=1)).astimezone(dt.UTC)
    since = past.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert len(xapi.get(STATE, {**listing, "since": since}, version=version).json()) == 2
    future = (timezone.now() + dt.timedelta(minutes=1)).astimezone(dt.UTC).isoformat()
    assert xapi.get(STATE, {**listing, "since": future}, version=version).json() == []


def test_state_list_with_registration_lists_only_that_registration(xapi: XapiClient) -> None:
    activity = ACTIVITY + "/" + str(uuid.uuid4())
    registration = str(uuid.uuid4())
    plain = state(activityId=activity)
    registered = state(activityId=activity, registration=registration)
    xapi.post(STATE, {"a": 1}, params=plain)
    xapi.post(STATE, {"a": 2}, params=registered)
    listing = without(plain, "stateId")
    assert sorted(xapi.get(STATE, listing).json()) == sorted(
        [plain["stateId"], registered["stateId"]]
    )
    only = xapi.get(STATE, {**listing, "registration": registration}).json()
    assert only == [registered["stateId"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_state_delete_without_state_id_deletes_every_matching_state(
    xapi: XapiClient, version: str
) -> None:
    activity = ACTIVITY + "/" + str(uuid.uuid4())
    first, second, other = state(activityId=activity), state(activityId=activity), state()
    for params in (first, second, other):
        xapi.post(STATE, {"a": 1}, params=params, version=version)
    listing = without(first, "stateId")
    assert xapi.delete(STATE, params=listing, version=version).status_code == 204
    assert xapi.get(STATE, listing, version=version).json() == []
    assert xapi.get(STATE, other, version=version).status_code == 200


@pytest.mark.parametrize(
    ("path", "build"),
    [(ACTIVITY_PROFILE, activity_profile), (AGENT_PROFILE, agent_profile)],
)
def test_profile_get_without_profile_id_lists_ids(xapi: XapiClient, path: str, build: Any) -> None:
    params = (
        build(activityId=ACTIVITY + "/" + str(uuid.uuid4()))
        if path == ACTIVITY_PROFILE
        else build()
    )
    xapi.post(path, {"a": 1}, params=params)
    response = xapi.get(path, without(params, "profileId"))
    assert params["profileId"] in response.json()


@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_get_with_id_accepts_since(
    xapi: XapiClient, path: str, build: Any, id_name: str
) -> None:
    params = build()
    xapi.post(path, {"a": 1}, params=params)
    since = "2020-01-01T00:00:00Z"
    assert xapi.get(path, {**params, "since": since}).json() == {"a": 1}


# --- parameter errors --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "post", "delete"])
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_missing_required_parameter_is_400(
    xapi: XapiClient, method: str, path: str, build: Any, id_name: str
) -> None:
    params = build()
    required = [name for name in params if name != id_name]
    if method in {"put", "post"} or (method == "delete" and path != STATE):
        required.append(id_name)
    for name in required:
        response = xapi.request(method.upper(), path, params=without(params, name), body={"a": 1})
        assert response.status_code == 400, name


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("agent", "not JSON"),
        ("agent", "true"),
        ("agent", "1"),
        ("agent", '{"key": "value"}'),
        ("agent", '{"objectType": "Agent", "name": "no identifier"}'),
        ("activityId", "true"),
        ("activityId", "1"),
        ("activityId", "undefined"),
        ("activityId", '{"key": "value"}'),
        ("registration", "true"),
        ("registration", "not UUID"),
        ("stateId", ""),
        ("since", "2020-01-01T00:00:00Z"),
        ("unknown", "x"),
    ],
)
def test_state_malformed_parameter_is_400(
    xapi: XapiClient, method: str, name: str, value: str
) -> None:
    if name == "since" and method == "GET":
        pytest.skip("since is a GET parameter")
    response = xapi.request(method, STATE, params=state(**{name: value}), body={"a": 1})
    assert response.status_code == 400


@pytest.mark.parametrize("value", ["not a timestamp", "true", "1"])
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_list_with_malformed_since_is_400(
    xapi: XapiClient, path: str, build: Any, id_name: str, value: str
) -> None:
    params = without(build(), id_name)
    assert xapi.get(path, {**params, "since": value}).status_code == 400


def test_agent_profile_with_broken_agent_json_is_400(xapi: XapiClient) -> None:
    params = agent_profile(agent=json.dumps(AGENT).replace(":", "", 1))
    assert xapi.post(AGENT_PROFILE, {"a": 1}, params=params).status_code == 400


def test_activity_profile_with_agent_parameter_is_400(xapi: XapiClient) -> None:
    params = activity_profile(agent=json.dumps(AGENT))
    assert xapi.get(ACTIVITY_PROFILE, params).status_code == 400


# --- concurrency -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_document_write_with_wrong_if_match_is_412_and_changes_nothing(
    xapi: XapiClient, version: str, path: str, build: Any, id_name: str, method: str
) -> None:
    params = build()
    xapi.post(path, {"name": "original"}, params=params, version=version)
    for tag in ["1234", '"1234"', '"1111111111111111111111111111111111111111"']:
        response = xapi.request(
            method,
            path,
            params=params,
            body={"name": "new"},
            version=version,
            headers={"If-Match": tag},
        )
        assert response.status_code == 412
    assert xapi.get(path, params, version=version).json() == {"name": "original"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_document_write_with_current_if_match_succeeds(
    xapi: XapiClient, version: str, path: str, build: Any, id_name: str, method: str
) -> None:
    params = build()
    xapi.post(path, {"name": "original"}, params=params, version=version)
    for form in ["{}", "W/{}", '"other", {}', "*"]:
        current = xapi.get(path, params, version=version)["ETag"]
        response = xapi.request(
            method,
            path,
            params=params,
            body={"name": "new"},
            version=version,
            headers={"If-Match": form.format(current)},
        )
        assert response.status_code == 204
        if method == "DELETE":
            break
    after = xapi.get(path, params, version=version)
    if method == "DELETE":
        assert after.status_code == 404
    else:
        assert after.json() == {"name": "new"}


@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_document_if_match_on_missing_document_is_412(
    xapi: XapiClient, path: str, build: Any, id_name: str, method: str
) -> None:
    response = xapi.request(method, path, params=build(), body={"a": 1}, headers={"If-Match": "*"})
    assert response.status_code == 412


@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_put_if_none_match_star_creates_once(
    xapi: XapiClient, path: str, build: Any, id_name: str
) -> None:
    params = build()
    headers = {"If-None-Match": "*"}
    assert xapi.put(path, {"a": 1}, params=params, headers=headers).status_code == 204
    assert xapi.put(path, {"a": 2}, params=params, headers=headers).status_code == 412
    assert xapi.post(path, {"b": 2}, params=params, headers=headers).status_code == 412
    current = xapi.get(path, params)
    assert current.json() == {"a": 1}
    stale = {"If-None-Match": current["ETag"]}
    assert xapi.put(path, {"a": 3}, params=params, headers=stale).status_code == 412
    fresh = {"If-None-Match": '"0000000000000000000000000000000000000000"'}
    assert xapi.put(path, {"a": 4}, params=params, headers=fresh).status_code == 204


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "build"), [(ACTIVITY_PROFILE, activity_profile), (AGENT_PROFILE, agent_profile)]
)
def test_profile_put_without_precondition_over_existing_is_409(
    xapi: XapiClient, version: str, path: str, build: Any
) -> None:
    params = build()
    assert xapi.put(path, {"a": 1}, params=params, version=version).status_code == 204
    response = xapi.put(path, {"a": 2}, params=params, version=version)
    assert response.status_code == 409
    assert "If-Match" in response.json()["message"]
    assert xapi.get(path, params, version=version).json() == {"a": 1}


def test_state_put_without_precondition_over_existing_is_409_in_2_0(xapi: XapiClient) -> None:
    params = state()
    xapi.post(STATE, {"a": 1}, params=params)
    assert xapi.put(STATE, {"a": 2}, params=params).status_code == 409
    assert xapi.get(STATE, params).json() == {"a": 1}


def test_state_put_without_precondition_over_existing_replaces_in_1_0_3(xapi: XapiClient) -> None:
    params = state()
    xapi.post(STATE, {"a": 1}, params=params, version="1.0.3")
    assert xapi.put(STATE, {"a": 2}, params=params, version="1.0.3").status_code == 204
    assert xapi.get(STATE, params, version="1.0.3").json() == {"a": 2}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "build", "id_name"), RESOURCES)
def test_document_post_and_delete_without_precondition_are_allowed(
    xapi: XapiClient, version: str, path: str, build: Any, id_name: str
) -> None:
    params = build()
    assert xapi.post(path, {"a": 1}, params=params, version=version).status_code == 204
    assert xapi.post(path, {"b": 1}, params=params, version=version).status_code == 204
    assert xapi.delete(path, params=params, version=version).status_code == 204


def test_put_document_retries_when_a_concurrent_writer_created_the_row(
    xapi: XapiClient, lrs: LrsCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = activity_profile()
    xapi.put(ACTIVITY_PROFILE, {"first": True}, params=params)
    real = actions._locked
    calls: list[int] = []

    def racing(scope: Any, doc_id: str) -> Document | None:
        # The first attempt does not see the row another writer has just inserted.
        calls.append(1)
        return None if len(calls) == 1 else real(scope, doc_id)

    monkeypatch.setattr(actions, "_locked", racing)
    response = xapi.put(ACTIVITY_PROFILE, {"second": True}, params=params)
    assert response.status_code == 409
    assert len(calls) == 2
    assert Document.objects.filter(doc_id=params["profileId"]).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_puts_leave_one_row(lrs_tree: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    credential = make_credential(lrs_tree.region, name="Race")
    params = state()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def writer(number: int) -> None:
        try:
            client = XapiClient(credential, version="1.0.3")
            barrier.wait()
            statuses.append(client.put(STATE, {"n": number}, params=params).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [204] * 4
    rows = Document.objects.filter(kind=DocumentKind.STATE, doc_id=params["stateId"])
    assert rows.count() == 1
    assert json.loads(bytes(rows.get().content))["n"] in range(4)


# --- scopes and org namespaces -----------------------------------------------------------------


def test_documents_live_in_the_callers_org_namespace(
    xapi: XapiClient, lrs_school_a: LrsCredential
) -> None:
    params = state()
    xapi.put(STATE, {"region": True}, params=params)
    assert xapi.get(STATE, params, credential=lrs_school_a).status_code == 404
    listing = without(params, "stateId")
    assert xapi.get(STATE, listing, credential=lrs_school_a).json() == []
    school = {"If-None-Match": "*"}
    assert (
        xapi.put(
            STATE, {"school": True}, params=params, credential=lrs_school_a, headers=school
        ).status_code
        == 204
    )
    assert xapi.delete(STATE, params=listing, credential=lrs_school_a).status_code == 204
    assert xapi.get(STATE, params).json() == {"region": True}


def test_documents_need_the_matching_scope(xapi: XapiClient, lrs_tree: Any) -> None:
    reader = make_credential(lrs_tree.region, name="Reader", scopes=["statements/read"])
    state_only = make_credential(lrs_tree.region, name="State", scopes=["state"])
    read_all = make_credential(lrs_tree.region, name="Read all", scopes=["all/read"])
    params = state()
    assert xapi.put(STATE, {"a": 1}, params=params, credential=reader).status_code == 403
    assert xapi.get(STATE, params, credential=reader).status_code == 403
    assert xapi.put(STATE, {"a": 1}, params=params, credential=state_only).status_code == 204
    assert xapi.get(STATE, params, credential=read_all).status_code == 200
    assert xapi.delete(STATE, params=params, credential=read_all).status_code == 403
    profile = agent_profile()
    assert (
        xapi.post(AGENT_PROFILE, {"a": 1}, params=profile, credential=state_only).status_code == 403
    )


def test_documents_need_authentication(xapi: XapiClient) -> None:
    assert xapi.get(STATE, state(), auth=False).status_code == 401


# --- xAPI 1.0.3 alternate request syntax -------------------------------------------------------


def test_state_put_and_get_through_alternate_request_syntax_in_1_0_3(xapi: XapiClient) -> None:
    params = state()
    form = {**params, "content": '{"via": "form"}', "If-None-Match": "*"}
    response = xapi.post(
        STATE,
        params={"method": "PUT"},
        raw=urlencode(form).encode(),
        content_type="application/x-www-form-urlencoded",
        version="1.0.3",
    )
    assert response.status_code == 204
    fetched = xapi.post(
        STATE,
        params={"method": "GET"},
        raw=urlencode(params).encode(),
        content_type="application/x-www-form-urlencoded",
        version="1.0.3",
    )
    assert fetched.status_code == 200
    assert fetched.json() == {"via": "form"}
    again = xapi.post(
        STATE,
        params={"method": "PUT"},
        raw=urlencode(form).encode(),
        content_type="application/x-www-form-urlencoded",
        version="1.0.3",
    )
    assert again.status_code == 412


def test_document_head_of_missing_document_is_404_without_body(xapi: XapiClient) -> None:
    response = xapi.head(STATE, state())
    assert response.status_code == 404
    assert response.content == b""
