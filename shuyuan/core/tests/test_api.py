"""REST API of the core app: the org tree, the change log and the audit log (/api/v1/core/)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context, system_actor
from shuyuan.core.models import ChangeRecord, Org
from shuyuan.core.synthetic import make_credit_code

ORGS = "/api/v1/core/orgs"
CHANGELOG = "/api/v1/core/changelog"
AUDIT = "/api/v1/core/audit-events"


def send(client: Client, method: str, path: str, body: Any = None) -> Any:
    """A JSON request; returns the response with ``.data`` set to the decoded body."""
    if body is None:
        response = getattr(client, method)(path)
    else:
        response = getattr(client, method)(path, body, content_type="application/json")
    response.data = response.json() if response.content else None
    return response


@pytest.fixture
def platform_admin(make_user):
    return make_user("platform_admin", None, totp_confirmed_at=timezone.now())


@pytest.fixture
def region_admin(make_user, tree):
    return make_user("region_admin", tree.region, totp_confirmed_at=timezone.now())


@pytest.fixture
def school_admin_a(make_user, tree):
    return make_user("school_admin", tree.school_a)


@pytest.fixture
def teacher_a(make_user, tree):
    return make_user("teacher", tree.school_a)


# --- orgs --------------------------------------------------------------------------------------


def test_org_list_school_admin_sees_only_own_subtree(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "get", ORGS)
    assert response.status_code == 200
    ids = {item["id"] for item in response.data["items"]}
    assert ids == {tree.school_a.pk, tree.grade_a.pk, tree.class_a.pk}
    assert response.data["count"] == 3


def test_org_list_limit_and_offset_page_through_rows(client_for, platform_admin, tree):
    response = send(client_for(platform_admin), "get", f"{ORGS}?limit=4&offset=8")
    assert response.data["count"] == 10
    assert len(response.data["items"]) == 2


def test_org_list_filter_by_kind_returns_only_that_kind(client_for, platform_admin, tree):
    response = send(client_for(platform_admin), "get", f"{ORGS}?kind=school")
    assert {i["id"] for i in response.data["items"]} == {tree.school_a.pk, tree.school_b.pk}


def test_org_list_limit_over_maximum_is_422_naming_limit(client_for, platform_admin):
    response = send(client_for(platform_admin), "get", f"{ORGS}?limit=201")
    assert response.status_code == 422
    assert response.data["code"] == "INVALID_INPUT"
    assert response.data["errors"][0]["field"] == "limit"
    assert response.data["errors"][0]["code"] == "OUT_OF_RANGE"


def test_org_list_invisible_parent_is_404_naming_parent(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "get", f"{ORGS}?parent={tree.school_b.pk}")
    assert response.status_code == 404
    assert response.data["errors"][0]["field"] == "parent"


def test_org_list_query_count_does_not_grow_with_rows(
    client_for, platform_admin, tree, assert_max_queries
):
    client = client_for(platform_admin)
    send(client, "get", ORGS)  # warm the session
    with assert_max_queries(12) as few:
        send(client, "get", ORGS)
    with change_context(actor=system_actor(), source="system"):
        for n in range(30):
            Org(
                kind="grade",
                name=f"G{n}",
                parent=tree.school_a,
                path=f"{tree.school_a.path}x{n}/",
                depth=tree.school_a.depth + 1,
            ).save()
    with assert_max_queries(12) as many:
        response = send(client, "get", f"{ORGS}?limit=200")
    assert response.data["count"] == 40
    assert len(many.captured_queries) == len(few.captured_queries)


def test_org_get_visible_org_returns_its_fields(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "get", f"{ORGS}/{tree.school_a.pk}")
    assert response.status_code == 200
    assert response.data["school_code"] == "S4101020001"
    assert response.data["parent_id"] == tree.county_a.pk
    assert response.data["kind"] == "school"


def test_org_get_other_school_is_404(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "get", f"{ORGS}/{tree.school_b.pk}")
    assert response.status_code == 404
    assert response.data["code"] == "ORG_NOT_FOUND"


def test_org_get_non_numeric_id_is_422_naming_id(client_for, school_admin_a):
    response = send(client_for(school_admin_a), "get", f"{ORGS}/abc")
    assert response.status_code == 422
    assert response.data["errors"][0]["field"] == "id"


def test_org_create_school_returns_201_with_school_code(client_for, region_admin, tree):
    body = {
        "kind": "school",
        "name": "School C",
        "parent_id": tree.county_a.pk,
        "credit_code": make_credit_code("410102", 9),
    }
    response = send(client_for(region_admin), "post", ORGS, body)
    assert response.status_code == 201
    assert response.data["school_code"].startswith("S410102")
    org = Org.objects.get(pk=response.data["id"])
    assert org.parent_id == tree.county_a.pk


def test_org_create_records_source_api_in_change_log(client_for, region_admin, tree):
    body = {"kind": "grade", "name": "Grade 8", "parent_id": tree.school_a.pk}
    response = send(client_for(region_admin), "post", ORGS, body)
    record = ChangeRecord.objects.get(target_type="core.org", target_id=str(response.data["id"]))
    assert record.source == "api"
    assert record.actor_id == region_admin.pk


def test_org_create_bad_division_code_is_422_naming_division_code(client_for, region_admin, tree):
    body = {"kind": "county", "name": "X", "parent_id": tree.city.pk, "division_code": "999999"}
    response = send(client_for(region_admin), "post", ORGS, body)
    assert response.status_code == 422
    assert response.data["errors"][0]["field"] == "division_code"


def test_org_create_kind_under_wrong_parent_names_parent_id(client_for, region_admin, tree):
    body = {"kind": "class", "name": "X", "parent_id": tree.school_a.pk}
    response = send(client_for(region_admin), "post", ORGS, body)
    assert response.status_code == 422
    assert response.data["errors"][0] == {
        "field": "parent_id",
        "code": "ORG_PARENT_KIND",
        "message": response.data["errors"][0]["message"],
    }


def test_org_create_duplicate_credit_code_is_409(client_for, region_admin, tree):
    body = {
        "kind": "school",
        "name": "Copy",
        "parent_id": tree.county_a.pk,
        "credit_code": tree.school_a.credit_code,
    }
    response = send(client_for(region_admin), "post", ORGS, body)
    assert response.status_code == 409
    assert response.data["code"] == "DUPLICATE_CREDIT_CODE"


def test_org_create_invisible_parent_is_404_naming_parent_id(client_for, school_admin_a, tree):
    body = {"kind": "grade", "name": "G", "parent_id": tree.school_b.pk}
    response = send(client_for(school_admin_a), "post", ORGS, body)
    assert response.status_code == 404
    assert response.data["errors"][0]["field"] == "parent_id"
    assert not Org.objects.filter(name="G").exists()


def test_org_create_huge_name_is_422_naming_name(client_for, region_admin, tree):
    body = {"kind": "grade", "name": "x" * 1_000_000, "parent_id": tree.school_a.pk}
    response = send(client_for(region_admin), "post", ORGS, body)
    assert response.status_code == 422
    assert response.data["errors"][0]["field"] == "name"
    assert response.data["errors"][0]["code"] == "TOO_LONG"


def test_org_create_unknown_field_is_422(client_for, region_admin, tree):
    body = {"kind": "grade", "name": "G", "parent_id": tree.school_a.pk, "colour": "red"}
    response = send(client_for(region_admin), "post", ORGS, body)
    assert response.status_code == 422
    assert response.data["errors"][0] == {
        "field": "colour",
        "code": "UNKNOWN_FIELD",
        "message": response.data["errors"][0]["message"],
    }


def test_org_create_missing_kind_is_422_required(client_for, region_admin, tree):
    response = send(client_for(region_admin), "post", ORGS, {"name": "G"})
    assert response.status_code == 422
    fields = {(e["field"], e["code"]) for e in response.data["errors"]}
    assert ("kind", "REQUIRED") in fields


def test_org_patch_renames_org(client_for, school_admin_a, tree):
    response = send(
        client_for(school_admin_a),
        "patch",
        f"{ORGS}/{tree.class_a.pk}",
        {"name": "Class 7-1 (renamed)"},
    )
    assert response.status_code == 200
    tree.class_a.refresh_from_db()
    assert tree.class_a.name == "Class 7-1 (renamed)"


def test_org_patch_other_school_is_404_and_changes_nothing(client_for, school_admin_a, tree):
    before = ChangeRecord.objects.count()
    response = send(
        client_for(school_admin_a), "patch", f"{ORGS}/{tree.school_b.pk}", {"name": "Hijacked"}
    )
    assert response.status_code == 404
    tree.school_b.refresh_from_db()
    assert tree.school_b.name == "School B"
    assert ChangeRecord.objects.count() == before


def test_org_patch_visible_org_without_change_right_is_403(client_for, teacher_a, tree):
    response = send(client_for(teacher_a), "patch", f"{ORGS}/{tree.class_a.pk}", {"name": "X"})
    assert response.status_code == 403
    assert response.data["code"] == "PERMISSION_DENIED"


def test_org_patch_omitted_fields_stay_unchanged(client_for, school_admin_a, tree):
    send(client_for(school_admin_a), "patch", f"{ORGS}/{tree.school_a.pk}", {"is_active": False})
    tree.school_a.refresh_from_db()
    assert (tree.school_a.is_active, tree.school_a.name) == (False, "School A")


def test_org_move_reparents_org(client_for, region_admin, tree):
    response = send(
        client_for(region_admin),
        "post",
        f"{ORGS}/{tree.school_a.pk}/move",
        {"parent_id": tree.county_b.pk},
    )
    assert response.status_code == 200
    assert response.data["parent_id"] == tree.county_b.pk


def test_org_move_under_own_descendant_is_422_org_cycle(client_for, region_admin, tree):
    response = send(
        client_for(region_admin),
        "post",
        f"{ORGS}/{tree.city.pk}/move",
        {"parent_id": tree.county_a.pk},
    )
    assert response.status_code == 422
    assert response.data["code"] == "ORG_CYCLE"
    assert response.data["errors"][0]["field"] == "parent_id"


def test_org_history_lists_rename(client_for, school_admin_a, tree):
    client = client_for(school_admin_a)
    send(client, "patch", f"{ORGS}/{tree.class_a.pk}", {"name": "Renamed"})
    response = send(client, "get", f"{ORGS}/{tree.class_a.pk}/history")
    assert response.status_code == 200
    assert response.data["items"][0]["changes"]["name"] == ["Class 7-1", "Renamed"]


# --- change log --------------------------------------------------------------------------------


def test_changelog_list_without_permission_is_403(client_for, teacher_a):
    response = send(client_for(teacher_a), "get", CHANGELOG)
    assert response.status_code == 403
    assert response.data["code"] == "PERMISSION_DENIED"


def test_changelog_list_school_admin_sees_only_own_subtree(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "get", f"{CHANGELOG}?limit=200")
    assert response.status_code == 200
    orgs = {i["target_id"] for i in response.data["items"] if i["target_type"] == "core.org"}
    assert orgs == {str(tree.school_a.pk), str(tree.grade_a.pk), str(tree.class_a.pk)}


def test_changelog_list_query_count_does_not_grow_with_rows(
    client_for, platform_admin, tree, assert_max_queries
):
    client = client_for(platform_admin)
    send(client, "get", CHANGELOG)
    with assert_max_queries(12) as few:
        send(client, "get", CHANGELOG)
    with change_context(actor=system_actor(), source="system"):
        for n in range(30):
            tree.class_b.name = f"Class {n}"
            tree.class_b.save(update_fields=["name"])
    with assert_max_queries(12) as many:
        response = send(client, "get", f"{CHANGELOG}?limit=200")
    assert response.data["count"] >= 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_changelog_verify_school_admin_is_403(client_for, school_admin_a):
    response = send(client_for(school_admin_a), "get", f"{CHANGELOG}/verify")
    assert response.status_code == 403
    assert response.data["code"] == "PERMISSION_DENIED"


def test_changelog_verify_platform_admin_gets_intact_chain(client_for, platform_admin, tree):
    response = send(client_for(platform_admin), "get", f"{CHANGELOG}/verify")
    assert response.status_code == 200
    assert response.data["ok"] is True
    assert response.data["checked"] == ChangeRecord.objects.count()
    assert response.data["first_bad_seq"] is None


# --- audit log ---------------------------------------------------------------------------------


def _audit_events(tree, count: int) -> None:
    for n in range(count):
        record_audit(
            "core.test.happened",
            actor=system_actor(),
            subject=tree.school_a,
            org_path=tree.school_a.path,
            extra={"n": n},
        )


def test_audit_event_list_without_permission_is_403(client_for, school_admin_a):
    response = send(client_for(school_admin_a), "get", AUDIT)
    assert response.status_code == 403


def test_audit_event_list_region_admin_sees_events_in_region(client_for, region_admin, tree):
    _audit_events(tree, 2)
    response = send(client_for(region_admin), "get", f"{AUDIT}?code=core.test")
    assert response.status_code == 200
    assert response.data["count"] == 2
    assert response.data["items"][0]["subject_id"] == str(tree.school_a.pk)


def test_audit_event_list_query_count_does_not_grow_with_rows(
    client_for, region_admin, tree, assert_max_queries
):
    client = client_for(region_admin)
    _audit_events(tree, 3)
    send(client, "get", AUDIT)
    with assert_max_queries(12) as few:
        send(client, "get", AUDIT)
    _audit_events(tree, 30)
    with assert_max_queries(12) as many:
        response = send(client, "get", f"{AUDIT}?limit=200")
    assert response.data["count"] >= 33
    assert len(many.captured_queries) == len(few.captured_queries)
