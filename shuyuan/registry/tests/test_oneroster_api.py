"""The OneRoster REST API: collections, single reads, nested paths, parameters, errors, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.registry.choices import RosterRole, SharingLevel
from shuyuan.registry.models import AccessLog, ClientToken, Person
from shuyuan.registry.oneroster.auth import SCOPE_CORE, SCOPE_DEMOGRAPHICS, SCOPE_ROSTER
from shuyuan.registry.oneroster.testing import (
    BASE,
    approve,
    auth_header,
    make_client,
    make_dataset,
    person,
    roster,
)

__all__ = ["roster"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(roster):
    """A client approved (unconditionally) for everything under the region, all scopes."""
    make_dataset(roster.tree.region, "all", demographics=True)
    client = make_client(roster.tree.region)
    headers = auth_header(client)

    def get(path, **params):
        return Client().get(BASE + path, params, **headers)

    get.client = client
    return get


@pytest.fixture
def county_a_api(roster):
    """A client approved only for county A's (conditional) dataset."""
    ds = make_dataset(roster.tree.county_a, "county-a", sharing=SharingLevel.CONDITIONAL)
    make_dataset(roster.tree.county_b, "county-b", sharing=SharingLevel.CONDITIONAL)
    client = make_client(roster.tree.county_a, "county-a-app")
    approve(client, ds)
    headers = auth_header(client)

    def get(path, **params):
        return Client().get(BASE + path, params, **headers)

    get.client = client
    return get


def _ids(response, key):
    assert response.status_code == 200, response.content
    return sorted(o["sourcedId"] for o in response.json()[key])


def _minor(response):
    return response.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ("/orgs", "orgs", ["org-ca", "org-sa", "org-sb"]),
        ("/schools", "orgs", ["org-sa", "org-sb"]),
        ("/academicSessions", "academicSessions", ["gp-a", "t-a", "t-b", "y-a"]),
        ("/terms", "academicSessions", ["t-a", "t-b"]),
        ("/gradingPeriods", "academicSessions", ["gp-a"]),
        ("/courses", "courses", ["c-a", "c-b"]),
        ("/classes", "classes", ["k-a", "k-b"]),
        ("/enrollments", "enrollments", ["e-s-a", "e-s-b", "e-t-a"]),
        ("/users", "users", ["g-a", "s-a", "s-b", "t-a"]),
        ("/students", "users", ["s-a", "s-b"]),
        ("/teachers", "users", ["t-a"]),
        ("/demographics", "demographics", ["g-a", "s-a", "s-b", "t-a"]),
    ],
)
def test_collection_lists_its_rows(api, path, key, expected):
    response = api(path)
    assert _ids(response, key) == expected
    assert response["X-Total-Count"] == str(len(expected))
    assert list(response.json()) == [key]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/orgs/org-sa", "org"),
        ("/schools/org-sa", "org"),
        ("/academicSessions/t-a", "academicSession"),
        ("/terms/t-a", "academicSession"),
        ("/gradingPeriods/gp-a", "academicSession"),
        ("/courses/c-a", "course"),
        ("/classes/k-a", "class"),
        ("/enrollments/e-s-a", "enrollment"),
        ("/users/s-a", "user"),
        ("/students/s-a", "user"),
        ("/teachers/t-a", "user"),
        ("/demographics/s-a", "demographics"),
    ],
)
def test_single_read_returns_one_object(api, path, key):
    response = api(path)
    assert response.status_code == 200
    assert list(response.json()) == [key]
    assert response.json()[key]["sourcedId"] == path.rsplit("/", 1)[1]


def test_single_read_of_wrong_subcollection_is_unknown(api):
    assert api("/teachers/s-a").status_code == 404
    assert api("/terms/y-a").status_code == 404
    assert api("/schools/org-ca").status_code == 404


def test_org_fields_and_refs(api):
    org = api("/orgs/org-sa").json()["org"]
    assert org["name"] == "School A"
    assert org["type"] == "school"
    assert org["identifier"] == "S4101020001"
    assert org["parent"] == {
        "href": "http://testserver/ims/oneroster/rostering/v1p2/orgs/org-ca",
        "sourcedId": "org-ca",
        "type": "org",
    }
    assert [c["sourcedId"] for c in api("/orgs/org-ca").json()["org"]["children"]] == ["org-sa"]
    assert org["status"] == "active"
    parsed = dt.datetime.fromisoformat(org["dateLastModified"].replace("Z", "+00:00"))
    assert parsed.tzinfo is not None
    assert org["dateLastModified"].endswith("Z")
    assert len(org["dateLastModified"]) == 24


def test_class_course_and_session_shapes(api):
    klass = api("/classes/k-a").json()["class"]
    assert klass["course"]["sourcedId"] == "c-a"
    assert klass["school"]["sourcedId"] == "org-sa"
    assert [t["sourcedId"] for t in klass["terms"]] == ["t-a"]
    assert klass["classType"] == "homeroom"
    assert klass["grades"] == ["07"]
    course_b = api("/courses/c-b").json()["course"]
    assert course_b["courseCode"] == ""
    assert course_b["org"]["sourcedId"] == "org-sb"
    term = api("/terms/t-a").json()["academicSession"]
    assert term["startDate"] == "2025-09-01"
    assert term["schoolYear"] == "2026"
    assert term["parent"]["sourcedId"] == "y-a"
    assert [c["sourcedId"] for c in term["children"]] == ["gp-a"]


def test_user_shape_masks_pii_and_puts_chinese_fields_in_metadata(api):
    user = api("/users/s-a").json()["user"]
    assert user["givenName"] == "San"
    assert user["familyName"] == "Zhang"
    assert user["enabledUser"] == "true"
    assert user["sms"] == "138****0000"
    assert user["metadata"] == {
        "cn.fullName": "Zhang San",
        "cn.studentNumber": "G410102200001011234",
        "cn.idNumberMasked": "4101**********1234",
    }
    assert user["roles"] == [
        {
            "roleType": "primary",
            "role": "student",
            "org": {
                "href": "http://testserver/ims/oneroster/rostering/v1p2/orgs/org-sa",
                "sourcedId": "org-sa",
                "type": "org",
            },
        }
    ]
    assert user["primaryOrg"]["sourcedId"] == "org-sa"
    assert [a["sourcedId"] for a in user["agents"]] == ["g-a"]
    assert user["userIds"] == []
    assert [a["sourcedId"] for a in api("/users/g-a").json()["user"]["agents"]] == ["s-a"]


def test_enrollment_and_demographics_shapes(api):
    enrollment = api("/enrollments/e-t-a").json()["enrollment"]
    assert enrollment["user"]["type"] == "user"
    assert enrollment["class"]["sourcedId"] == "k-a"
    assert enrollment["school"]["sourcedId"] == "org-sa"
    assert enrollment["role"] == "teacher"
    assert enrollment["primary"] == "true"
    demo = api("/demographics/s-a").json()["demographics"]
    assert demo["birthDate"] == "2012-05-01"
    assert demo["sex"] == "male"
    assert demo["metadata"] == {"cn.ethnicity": "01"}


def test_merged_people_are_never_served(api):
    assert "s-merged" not in _ids(api("/users"), "users")
    assert api("/users/s-merged").status_code == 404


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ("/classes/k-a/students", "users", ["s-a"]),
        ("/classes/k-a/teachers", "users", ["t-a"]),
        ("/courses/c-a/classes", "classes", ["k-a"]),
        ("/schools/org-sa/classes", "classes", ["k-a"]),
        ("/schools/org-sa/classes/k-a/enrollments", "enrollments", ["e-s-a", "e-t-a"]),
        ("/schools/org-sa/classes/k-a/students", "users", ["s-a"]),
        ("/schools/org-sa/classes/k-a/teachers", "users", ["t-a"]),
        ("/schools/org-sa/courses", "courses", ["c-a"]),
        ("/schools/org-sa/enrollments", "enrollments", ["e-s-a", "e-t-a"]),
        ("/schools/org-sa/students", "users", ["s-a"]),
        ("/schools/org-sa/teachers", "users", ["t-a"]),
        ("/schools/org-sa/terms", "academicSessions", ["t-a"]),
        ("/students/s-a/classes", "classes", ["k-a"]),
        ("/teachers/t-a/classes", "classes", ["k-a"]),
        ("/terms/t-a/classes", "classes", ["k-a"]),
        ("/terms/t-a/gradingPeriods", "academicSessions", ["gp-a"]),
        ("/users/s-b/classes", "classes", ["k-b"]),
    ],
)
def test_nested_collections(api, path, key, expected):
    response = api(path)
    assert _ids(response, key) == expected
    assert response["X-Total-Count"] == str(len(expected))


def test_nested_with_unknown_or_mismatched_parent_is_404(api):
    assert _minor(api("/classes/nope/students")) == "unknownobject"
    assert api("/schools/org-sb/classes/k-a/students").status_code == 404
    assert api("/schools/org-sa/classes/k-b/enrollments").status_code == 404


# --- query parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("sourcedId='s-a'", ["s-a"]),
        ("sourcedId!='s-a'", ["g-a", "s-b", "t-a"]),
        ("sourcedId>'s-a'", ["s-b", "t-a"]),
        ("sourcedId>='s-a'", ["s-a", "s-b", "t-a"]),
        ("sourcedId<'s-a'", ["g-a"]),
        ("sourcedId<='s-a'", ["g-a", "s-a"]),
        ("givenName~'AN'", ["s-a"]),
        ("role='teacher'", ["t-a"]),
        ("roles.role='guardian' OR roles.role='teacher'", ["g-a", "t-a"]),
        ("roles.org.sourcedId='org-sb'", ["s-b"]),
        ("primaryOrg.sourcedId='org-sa' AND role='student'", ["s-a"]),
        ("role='student' AND sourcedId='s-b' OR sourcedId='t-a'", ["s-b", "t-a"]),
        ("enabledUser='true' AND status='active' AND username='zhangsan'", ["s-a"]),
        ("dateLastModified>'2000-01-01'", ["g-a", "s-a", "s-b", "t-a"]),
        ("dateLastModified<'2000-01-01T00:00:00Z'", []),
        ("metadata.cn.fullName='Zhang San'", ["s-a"]),
    ],
)
def test_filter_on_users(api, expr, expected):
    assert _ids(api("/users", filter=expr), "users") == expected


def test_filter_escaped_quote(api, roster):
    person(roster.source, "o-q", roster.tree.school_a, name="O'Brien", family_name="O'Brien")
    assert _ids(api("/users", filter="familyName='O''Brien'"), "users") == ["o-q"]


def test_filter_on_reference_subfields(api):
    assert _ids(api("/classes", filter="school.sourcedId='org-sb'"), "classes") == ["k-b"]
    assert _ids(api("/classes", filter="terms.sourcedId='t-a'"), "classes") == ["k-a"]
    assert _ids(api("/enrollments", filter="class.sourcedId='k-a' AND role='teacher'"),
                "enrollments") == ["e-t-a"]  # fmt: skip
    assert _ids(api("/academicSessions", filter="startDate>='2025-09-01' AND type='term'"),
                "academicSessions") == ["t-a", "t-b"]  # fmt: skip


@pytest.mark.parametrize(
    "expr",
    ["nope='x'", "sourcedId", "sourcedId='x", "sourcedId=x", "a='1' XOR b='2'", "enabledUser>'1'",
     "dateLastModified~'2020'", "dateLastModified>'yesterday'"],
)  # fmt: skip
def test_bad_filter_is_400_invalid_filter_field(api, expr):
    response = api("/users", filter=expr)
    assert response.status_code == 400
    assert _minor(response) == "invalid_filter_field"


def test_malformed_filter_names_the_position(api):
    response = api("/users", filter="sourcedId='a' AND")
    assert "position 14" in response.json()["imsx_description"]


def test_sort_and_order_by(api):
    assert _ids(api("/users", sort="familyName"), "users")  # accepted
    names = [
        u["sourcedId"] for u in api("/users", sort="sourcedId", orderBy="desc").json()["users"]
    ]
    assert names == ["t-a", "s-b", "s-a", "g-a"]
    assert _minor(api("/users", sort="roles.role")) == "invalid_filter_field"
    assert api("/users", sort="sourcedId", orderBy="up").status_code == 400


def test_fields_selects_output(api):
    users = api("/users", fields="sourcedId,familyName").json()["users"]
    assert all(set(u) <= {"sourcedId", "familyName"} for u in users)
    assert set(api("/users/s-a", fields="sourcedId").json()["user"]) == {"sourcedId"}
    response = api("/users", fields="sourcedId,bogus")
    assert response.status_code == 400
    assert _minor(response) == "invalid_selection_field"


def test_limit_offset_link_and_total(api):
    response = api("/users", limit="2", offset="1")
    assert _ids(response, "users") == ["s-a", "s-b"]
    assert response["X-Total-Count"] == "4"
    link = response["Link"]
    assert 'offset=3>; rel="next"' in link
    assert 'offset=0>; rel="prev"' in link
    assert 'offset=0>; rel="first"' in link
    assert 'offset=2>; rel="last"' in link
    assert link.startswith("<http://testserver/ims/oneroster/rostering/v1p2/users?")
    assert 'rel="next"' not in api("/users", limit="2", offset="2")["Link"]
    assert api("/users", offset="10").json() == {"users": []}
    assert len(api("/users", limit="5000").json()["users"]) == 4


@pytest.mark.parametrize(("name", "value"), [("limit", "0"), ("limit", "x"), ("offset", "-1")])
def test_bad_paging_is_400(api, name, value):
    response = api("/users", **{name: value})
    assert response.status_code == 400
    assert _minor(response) == "invaliddata"


# --- errors and auth ---------------------------------------------------------------------------


def test_missing_token_is_401_with_exact_payload(roster):
    response = Client().get(BASE + "/users")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": "A valid bearer access token is required.",
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": "unauthorisedrequest",
                }
            ]
        },
    }


def test_expired_or_revoked_token_is_401(roster):
    client = make_client(roster.tree.region)
    headers = auth_header(client)
    ClientToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert Client().get(BASE + "/users", **headers).status_code == 401
    headers = auth_header(client)
    ClientToken.objects.update(revoked_at=timezone.now())
    assert Client().get(BASE + "/users", **headers).status_code == 401


def test_unknown_object_payload_is_exact(api):
    assert api("/users/nobody").json() == {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": "Unknown Object",
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": "unknownobject",
                }
            ]
        },
    }
    assert api("/nothing-here").status_code == 404


def test_missing_scope_is_403(roster):
    make_dataset(roster.tree.region, "all", demographics=True)
    client = make_client(roster.tree.region)
    core = auth_header(client, [SCOPE_CORE])
    response = Client().get(BASE + "/demographics", **core)
    assert response.status_code == 403
    assert _minor(response) == "forbidden"
    assert Client().get(BASE + "/classes/k-a/students", **core).status_code == 403
    assert Client().get(BASE + "/users", **core).status_code == 200
    roster_only = auth_header(client, [SCOPE_ROSTER])
    assert Client().get(BASE + "/classes/k-a/students", **roster_only).status_code == 200
    demo = auth_header(client, [SCOPE_DEMOGRAPHICS])
    assert Client().get(BASE + "/users", **demo).status_code == 403
    assert Client().get(BASE + "/demographics", **demo).status_code == 200


def test_post_is_405_with_imsx_payload(api):
    response = Client().post(BASE + "/users", {}, **auth_header(api.client))
    assert response.status_code == 405
    assert response.json()["imsx_codeMajor"] == "failure"


# --- dataset restriction -----------------------------------------------------------------------


def test_county_a_client_never_sees_school_b(county_a_api):
    assert _ids(county_a_api("/users"), "users") == ["g-a", "s-a", "t-a"]
    assert _ids(county_a_api("/schools"), "orgs") == ["org-sa"]
    assert _ids(county_a_api("/classes"), "classes") == ["k-a"]
    assert _ids(county_a_api("/enrollments"), "enrollments") == ["e-s-a", "e-t-a"]
    for path in ("/users/s-b", "/orgs/org-sb", "/classes/k-b", "/courses/c-b", "/terms/t-b"):
        assert county_a_api(path).status_code == 404, path
    escape = county_a_api("/users", filter="sourcedId='s-a' OR sourcedId='s-b'")
    assert _ids(escape, "users") == ["s-a"]
    assert _ids(county_a_api("/users", filter="sourcedId='x' OR status='active'"),
                "users") == ["g-a", "s-a", "t-a"]  # fmt: skip
    assert county_a_api("/schools/org-sb/students").status_code == 404
    assert county_a_api("/schools/org-sb/classes/k-b/students").status_code == 404
    assert county_a_api("/users/s-b/classes").status_code == 404


def test_county_a_client_gets_no_demographics_without_a_dataset_flag(county_a_api):
    assert county_a_api("/demographics").json() == {"demographics": []}


def test_teacher_with_role_in_scope_shows_only_in_scope_roles(roster, county_a_api):
    teacher = person(roster.source, "t-b", roster.tree.school_b, RosterRole.TEACHER, name="T")
    with change_context(actor=system_actor(), source="system"), bulk_writes():
        teacher.roles.create(
            sourced_id="role-t-b-a", source=roster.source, role=RosterRole.TEACHER,
            role_type="secondary", org=roster.tree.school_a,
        )  # fmt: skip
    user = county_a_api("/users/t-b").json()["user"]
    assert [r["org"]["sourcedId"] for r in user["roles"]] == ["org-sa"]
    assert "primaryOrg" in user


def test_not_shared_dataset_gives_nothing(roster):
    make_dataset(roster.tree.region, "secret", sharing=SharingLevel.NOT_SHARED)
    client = make_client(roster.tree.region)
    assert _ids(Client().get(BASE + "/users", **auth_header(client)), "users") == []


def test_conditional_without_approval_gives_nothing(roster):
    make_dataset(roster.tree.region, "cond", sharing=SharingLevel.CONDITIONAL)
    client = make_client(roster.tree.region)
    assert _ids(Client().get(BASE + "/users", **auth_header(client)), "users") == []
    assert Client().get(BASE + "/users/s-a", **auth_header(client)).status_code == 404


def test_expired_approval_gives_nothing(roster):
    ds = make_dataset(roster.tree.region, "cond", sharing=SharingLevel.CONDITIONAL)
    client = make_client(roster.tree.region)
    approve(client, ds, valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert _ids(Client().get(BASE + "/users", **auth_header(client)), "users") == []


def test_dataset_limited_to_some_collections(roster):
    make_dataset(roster.tree.region, "classes-only", types=["classes"])
    client = make_client(roster.tree.region)
    headers = auth_header(client)
    assert _ids(Client().get(BASE + "/classes", **headers), "classes") == ["k-a", "k-b"]
    assert _ids(Client().get(BASE + "/users", **headers), "users") == []


def test_students_dataset_grants_students_only(roster):
    make_dataset(roster.tree.region, "students", types=["students"])
    client = make_client(roster.tree.region)
    headers = auth_header(client)
    assert _ids(Client().get(BASE + "/students", **headers), "users") == ["s-a", "s-b"]
    assert _ids(Client().get(BASE + "/users", **headers), "users") == []


# --- access log and efficiency -----------------------------------------------------------------


def test_every_request_is_logged(county_a_api):
    county_a_api("/users", filter="role='student'")
    county_a_api("/users/s-b")
    rows = list(AccessLog.objects.order_by("id"))
    assert [(r.status_code, r.rows) for r in rows] == [(200, 1), (404, 0)]
    assert rows[0].dataset.code == "county-a"
    assert rows[0].query == "filter=role='student'"
    assert rows[0].path.endswith("/users")
    assert rows[0].ip == "127.0.0.1"
    assert rows[0].client == county_a_api.client


def test_forbidden_request_is_logged(roster):
    client = make_client(roster.tree.region, scopes=[SCOPE_CORE])
    Client().get(BASE + "/demographics", **auth_header(client, [SCOPE_CORE]))
    assert AccessLog.objects.get().status_code == 403


def test_user_list_query_count_does_not_grow_with_rows(api, roster, assert_max_queries):
    with change_context(actor=system_actor(), source="system"), bulk_writes():
        for n in range(50):
            person(roster.source, f"bulk-{n:02d}", roster.tree.school_a, name=f"N{n}")
    with assert_max_queries(12):
        response = api("/users", limit="100")
    assert len(response.json()["users"]) == 54
    with assert_max_queries(12):
        api("/enrollments")
    with assert_max_queries(12):
        api("/classes")
    assert Person.objects.count() == 55
