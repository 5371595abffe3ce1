"""Catalog portal pages: the permission matrix, forms (422/303), the secret shown once, the log."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.models import AuditEvent
from shuyuan.identity.context_processors import build_navigation
from shuyuan.identity.models import Role
from shuyuan.registry.actions import catalog as actions
from shuyuan.registry.choices import AccessRequestStatus, SharingLevel
from shuyuan.registry.models import AccessLog, ApiClient, Dataset
from shuyuan.registry.views.catalog import neutralise

CORE = actions.SCOPES[0]
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


def _mfa() -> dict:
    return {"totp_confirmed_at": timezone.now()}


@pytest.fixture
def users(make_user, tree):
    return {
        "region": make_user(Role.REGION_ADMIN, tree.region, username="ra", **_mfa()),
        "admin_a": make_user(Role.SCHOOL_ADMIN, tree.school_a, username="sa.a"),
        "admin_b": make_user(Role.SCHOOL_ADMIN, tree.school_b, username="sa.b"),
        "auditor": make_user(Role.AUDITOR, tree.region, username="aud", **_mfa()),
        "teacher": make_user(Role.TEACHER, tree.school_a, username="t.a"),
    }


@pytest.fixture
def world(users, tree):
    """A conditional dataset of school A, a client of school B with a pending request, a log."""
    dataset = actions.create_dataset(
        actor=users["admin_a"],
        code="students-a",
        title="Students of A",
        org=tree.school_a,
        entity_types=["users", "enrollments"],
    )
    client, _secret = actions.register_client(
        actor=users["admin_b"], name="Timetable B", org=tree.school_b, scopes=[CORE]
    )
    request = actions.request_access(
        actor=users["admin_b"], dataset=dataset, client=client, purpose="Timetabling for term 1"
    )
    log = AccessLog.objects.create(
        client=client,
        dataset=dataset,
        org_path=tree.school_a.path,
        method="GET",
        path="/ims/oneroster/rostering/v1p2/users",
        query="filter=x",
        status_code=200,
        rows=12,
    )
    return {"dataset": dataset, "client": client, "request": request, "log": log}


# --- who may open what -------------------------------------------------------------------------


PAGES = {
    "catalog": lambda w: reverse("registry:dataset_list"),
    "dataset": lambda w: reverse("registry:dataset_detail", args=[w["dataset"].pk]),
    "dataset_edit": lambda w: reverse("registry:dataset_edit", args=[w["dataset"].pk]),
    "requests": lambda w: reverse("registry:access_request_list"),
    "clients": lambda w: reverse("registry:client_list"),
    "client": lambda w: reverse("registry:client_detail", args=[w["client"].pk]),
    "log": lambda w: reverse("registry:access_log"),
    "export": lambda w: reverse("registry:access_log_export"),
}

MATRIX = {
    #            catalog dataset edit requests clients client log export
    "region": (200, 200, 200, 200, 200, 200, 200, 200),
    "admin_a": (200, 200, 200, 200, 200, 404, 200, 200),
    "admin_b": (200, 200, 403, 200, 200, 200, 200, 200),
    "auditor": (200, 200, 403, 403, 403, 404, 200, 200),
    "teacher": (403, 404, 404, 403, 403, 404, 403, 403),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_page_matrix(client_for, users, world, who):
    web = client_for(users[who])
    got = tuple(web.get(url(world)).status_code for url in PAGES.values())
    assert dict(zip(PAGES, got, strict=True)) == dict(zip(PAGES, MATRIX[who], strict=True))


def test_log_rows_only_in_own_subtree(client_for, users, world):
    for who, shown in (("admin_a", True), ("admin_b", False), ("auditor", True)):
        page = client_for(users[who]).get(reverse("registry:access_log"))
        assert (world["log"].path in page.content.decode()) is shown, who


def test_menu_shows_catalog_to_admins_and_auditors_only(rf, users):
    for who, shown in (("admin_a", True), ("auditor", True), ("teacher", False)):
        request = rf.get("/")
        request.user = users[who]
        keys = {item.key for item in build_navigation(request)}
        assert ("catalog" in keys) is shown, who


# --- datasets ----------------------------------------------------------------------------------


def test_catalog_lists_scope_collections_level_and_consumers(client_for, users, world):
    actions.approve_access_request(actor=users["admin_a"], request=world["request"])
    response = client_for(users["auditor"]).get(reverse("registry:dataset_list"), **HTMX)
    html = response.content.decode()
    assert "<html" not in html
    assert "School A" in html
    assert "users, enrollments" in html
    assert response.context["page"].object_list[0].consumer_count == 1


def test_catalog_filters(client_for, users, world, tree):
    actions.create_dataset(
        actor=users["admin_b"],
        code="open-b",
        title="Open B",
        org=tree.school_b,
        entity_types=["orgs"],
        sharing_level=SharingLevel.UNCONDITIONAL,
    )
    web = client_for(users["region"])

    def codes(**params):
        page = web.get(reverse("registry:dataset_list"), params).context["page"]
        return [d.code for d in page.object_list]

    assert codes() == ["open-b", "students-a"]
    assert codes(sharing_level="unconditional") == ["open-b"]
    assert codes(org=tree.school_a.pk) == ["students-a"]
    assert codes(q="Open") == ["open-b"]


def test_catalog_query_count_is_fixed(client_for, users, world, tree, assert_max_queries):
    for n in range(5):
        actions.create_dataset(
            actor=users["admin_a"],
            code=f"more-{n}",
            title="More",
            org=tree.school_a,
            entity_types=["users"],
        )
    web = client_for(users["admin_a"])
    with assert_max_queries(12):
        assert web.get(reverse("registry:dataset_list")).status_code == 200


def test_dataset_create_invalid_collection_422(client_for, users, tree):
    web = client_for(users["admin_a"])
    response = web.post(
        reverse("registry:dataset_create"),
        {
            "code": "x-1",
            "title": "X",
            "org": tree.school_a.pk,
            "entity_types": ["pupils"],
            "sharing_level": "conditional",
        },
    )
    assert response.status_code == 422
    assert "entity_types" in response.context["form"].errors


def test_dataset_create_303(client_for, users, tree):
    response = client_for(users["admin_a"]).post(
        reverse("registry:dataset_create"),
        {
            "code": "x-1",
            "title": "X",
            "org": tree.school_a.pk,
            "entity_types": ["users", "classes"],
            "sharing_level": "conditional",
            "steward": "sa.a",
        },
    )
    assert response.status_code == 303
    assert Dataset.objects.get(code="x-1").entity_types == ["classes", "users"]


def test_dataset_create_for_other_school_422(client_for, users, tree):
    response = client_for(users["admin_a"]).post(
        reverse("registry:dataset_create"),
        {
            "code": "x-1",
            "title": "X",
            "org": tree.school_b.pk,
            "entity_types": ["users"],
            "sharing_level": "conditional",
        },
    )
    assert response.status_code == 422
    assert not Dataset.objects.filter(code="x-1").exists()


def test_dataset_edit_to_not_shared_revokes(client_for, users, world, tree):
    actions.approve_access_request(actor=users["admin_a"], request=world["request"])
    response = client_for(users["admin_a"]).post(
        reverse("registry:dataset_edit", args=[world["dataset"].pk]),
        {
            "code": "students-a",
            "title": "Students of A",
            "org": tree.school_a.pk,
            "entity_types": ["users"],
            "sharing_level": "not_shared",
        },
    )
    assert response.status_code == 303
    world["request"].refresh_from_db()
    assert world["request"].status == AccessRequestStatus.REVOKED


# --- requests ----------------------------------------------------------------------------------


def test_request_form_short_purpose_422(client_for, users, world, tree):
    client2, _ = actions.register_client(
        actor=users["admin_b"], name="Other", org=tree.school_b, scopes=[CORE]
    )
    response = client_for(users["admin_b"]).post(
        reverse("registry:access_request_create", args=[world["dataset"].pk]),
        {"client": client2.pk, "purpose": "too short"},
    )
    assert response.status_code == 422
    assert "purpose" in response.context["request_form"].errors


def test_request_form_other_schools_client_422(client_for, users, world):
    response = client_for(users["admin_a"]).post(
        reverse("registry:access_request_create", args=[world["dataset"].pk]),
        {"client": world["client"].pk, "purpose": "A long enough purpose"},
    )
    assert response.status_code == 422


def test_request_form_303(client_for, users, world, tree):
    client2, _ = actions.register_client(
        actor=users["admin_b"], name="Other", org=tree.school_b, scopes=[CORE]
    )
    response = client_for(users["admin_b"]).post(
        reverse("registry:access_request_create", args=[world["dataset"].pk]),
        {"client": client2.pk, "purpose": "Library accounts for pupils"},
    )
    assert response.status_code == 303
    assert client2.requests.get().status == AccessRequestStatus.PENDING


def test_incoming_box_has_decision_buttons(client_for, users, world):
    url = reverse("registry:access_request_approve", args=[world["request"].pk])
    steward = client_for(users["admin_a"]).get(reverse("registry:access_request_list"))
    assert url in steward.content.decode()
    requester = client_for(users["admin_b"]).get(
        reverse("registry:access_request_list"), {"box": "outgoing"}
    )
    html = requester.content.decode()
    assert "Timetabling for term 1" in html
    assert url not in html


@pytest.mark.parametrize(
    ("who", "status"), [("admin_a", 303), ("region", 303), ("admin_b", 403), ("auditor", 404)]
)
def test_approve_permissions(client_for, users, world, who, status):
    url = reverse("registry:access_request_approve", args=[world["request"].pk])
    assert client_for(users[who]).post(url, {}).status_code == status


def test_reject_without_note_422_then_303(client_for, users, world):
    web = client_for(users["admin_a"])
    url = reverse("registry:access_request_reject", args=[world["request"].pk])
    assert web.post(url, {"note": ""}).status_code == 422
    assert web.post(url, {"note": "Not needed"}).status_code == 303
    world["request"].refresh_from_db()
    assert world["request"].status == AccessRequestStatus.REJECTED


def test_revoke_pending_is_conflict(client_for, users, world):
    url = reverse("registry:access_request_revoke", args=[world["request"].pk])
    assert client_for(users["admin_a"]).post(url, {}).status_code == 409


def test_approve_then_revoke_via_pages(client_for, users, world):
    web = client_for(users["admin_a"])
    pk = world["request"].pk
    approve = web.post(
        reverse("registry:access_request_approve", args=[pk]),
        {"valid_until": (timezone.localdate() + dt.timedelta(days=7)).isoformat()},
    )
    assert approve.status_code == 303
    assert web.post(reverse("registry:access_request_revoke", args=[pk]), {}).status_code == 303
    world["request"].refresh_from_db()
    assert world["request"].status == AccessRequestStatus.REVOKED


# --- clients -----------------------------------------------------------------------------------


def test_client_create_shows_secret_once(client_for, users, tree):
    web = client_for(users["admin_a"])
    response = web.post(
        reverse("registry:client_create"),
        {"name": "Library", "org": tree.school_a.pk, "scopes": [CORE]},
    )
    assert response.status_code == 201
    secret = response.context["secret"]
    client = ApiClient.objects.get(name="Library")
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert secret not in client.secret_hash
    detail = web.get(reverse("registry:client_detail", args=[client.pk]))
    assert secret not in detail.content.decode()
    assert client.client_id in detail.content.decode()


def test_client_create_other_school_422(client_for, users, tree):
    response = client_for(users["admin_a"]).post(
        reverse("registry:client_create"),
        {"name": "Library", "org": tree.school_b.pk, "scopes": [CORE]},
    )
    assert response.status_code == 422
    assert not ApiClient.objects.filter(name="Library").exists()


def test_client_rotate_shows_new_secret(client_for, users, world):
    web = client_for(users["admin_b"])
    response = web.post(reverse("registry:client_rotate", args=[world["client"].pk]))
    assert response.status_code == 200
    assert response.context["secret"] in response.content.decode()
    assert AuditEvent.objects.filter(code="registry.client.secret_rotated").exists()


@pytest.mark.parametrize(("who", "status"), [("admin_a", 404), ("auditor", 404), ("region", 303)])
def test_client_deactivate_permissions(client_for, users, world, who, status):
    url = reverse("registry:client_deactivate", args=[world["client"].pk])
    assert client_for(users[who]).post(url).status_code == status


# --- access log --------------------------------------------------------------------------------


def _log(world, tree, **fields):
    values = {
        "client": world["client"],
        "dataset": world["dataset"],
        "org_path": tree.school_a.path,
        "method": "GET",
        "path": "/x",
        "status_code": 200,
    }
    values.update(fields)
    return AccessLog.objects.create(**values)


def test_access_log_filters(client_for, users, world, tree):
    old = _log(world, tree, status_code=401, created_at=timezone.now() - dt.timedelta(days=10))
    web = client_for(users["auditor"])

    def ids(**params):
        page = web.get(reverse("registry:access_log"), params).context["page"]
        return [e.pk for e in page.object_list]

    assert ids() == [world["log"].pk, old.pk]
    assert ids(status="failure") == [old.pk]
    assert ids(status="success") == [world["log"].pk]
    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert ids(date_from=since) == [world["log"].pk]
    assert ids(date_to=since) == [old.pk]
    assert ids(client_id="nobody") == []
    assert ids(client_id=world["client"].client_id, dataset=world["dataset"].pk) == [
        world["log"].pk,
        old.pk,
    ]


def test_access_log_pages(client_for, users, world, tree, assert_max_queries):
    for _n in range(60):
        _log(world, tree)
    web = client_for(users["auditor"])
    with assert_max_queries(12):
        page = web.get(reverse("registry:access_log"), {"page": 2}, **HTMX)
    assert len(page.context["page"].object_list) == 11


def test_csv_export_neutralises_formulas_and_is_audited(client_for, users, world, tree):
    _log(world, tree, path="=HYPERLINK(1)", query="@SUM(1)")
    response = client_for(users["auditor"]).get(reverse("registry:access_log_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    bad = rows[1]
    assert "'=HYPERLINK(1)" in bad
    assert "'@SUM(1)" in bad
    event = AuditEvent.objects.get(code="registry.access_log.exported")
    assert event.extra["rows"] == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (200, "200"),
        (None, ""),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_csv_export_respects_scope(client_for, users, world):
    response = client_for(users["admin_b"]).get(reverse("registry:access_log_export"))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1
