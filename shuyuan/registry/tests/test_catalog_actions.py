"""Catalog actions and queries: datasets, clients, the request workflow, what a client reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.core.models import AuditEvent, ChangeRecord
from shuyuan.identity.models import Role
from shuyuan.registry.actions import catalog as actions
from shuyuan.registry.choices import AccessRequestStatus, SharingLevel
from shuyuan.registry.models import AccessRequest, ClientToken
from shuyuan.registry.queries import catalog as queries

CORE = actions.SCOPES[0]
TODAY = timezone.localdate()


def _mfa() -> dict:
    return {"totp_confirmed_at": timezone.now()}


@pytest.fixture
def region_admin(make_user, tree):
    return make_user(Role.REGION_ADMIN, tree.region, username="ra", **_mfa())


@pytest.fixture
def admin_a(make_user, tree):
    return make_user(Role.SCHOOL_ADMIN, tree.school_a, username="sa.a")


@pytest.fixture
def admin_b(make_user, tree):
    return make_user(Role.SCHOOL_ADMIN, tree.school_b, username="sa.b")


@pytest.fixture
def auditor(make_user, tree):
    return make_user(Role.AUDITOR, tree.region, username="aud", **_mfa())


@pytest.fixture
def teacher(make_user, tree):
    return make_user(Role.TEACHER, tree.school_a, username="t.a")


def make_dataset(actor, org, code="ds", level=SharingLevel.CONDITIONAL, types=("users",)):
    return actions.create_dataset(
        actor=actor, code=code, title=code.title(), org=org, entity_types=types, sharing_level=level
    )


@pytest.fixture
def dataset_a(admin_a, tree):
    return make_dataset(admin_a, tree.school_a, "students-a")


@pytest.fixture
def client_b(admin_b, tree):
    client, _secret = actions.register_client(
        actor=admin_b, name="Timetable B", org=tree.school_b, scopes=[CORE]
    )
    return client


def _request(actor, dataset, client, **kw):
    return actions.request_access(
        actor=actor, dataset=dataset, client=client, purpose="Timetabling for term 1", **kw
    )


# --- datasets ----------------------------------------------------------------------------------


def test_create_dataset_orders_collections_and_defaults_steward(admin_a, tree):
    ds = make_dataset(admin_a, tree.school_a, types=["users", "orgs", "demographics"])
    assert ds.entity_types == ["orgs", "users", "demographics"]
    assert ds.includes_demographics is True
    assert ds.owner == admin_a
    assert ChangeRecord.objects.filter(target_type="registry.dataset", target_id=str(ds.pk))


@pytest.mark.parametrize("types", [["pupils"], [], [3]])
def test_create_dataset_unknown_collection_names_the_field(admin_a, tree, types):
    with pytest.raises(InvalidInput) as exc:
        make_dataset(admin_a, tree.school_a, types=types)
    assert exc.value.field == "entity_types"


def test_create_dataset_outside_own_subtree_denied(admin_a, tree):
    with pytest.raises(PermissionDenied):
        make_dataset(admin_a, tree.school_b)


def test_create_dataset_duplicate_code_conflict(admin_a, tree, dataset_a):
    with pytest.raises(Conflict) as exc:
        make_dataset(admin_a, tree.school_a, code="students-a")
    assert exc.value.code == "DATASET_CODE_EXISTS"


def test_create_dataset_steward_must_administer_org(admin_a, teacher, tree):
    with pytest.raises(InvalidInput) as exc:
        actions.create_dataset(
            actor=admin_a,
            code="x1",
            title="X",
            org=tree.school_a,
            entity_types=["users"],
            steward=teacher,
        )
    assert exc.value.code == "STEWARD_NOT_ADMIN"


def test_update_dataset_to_not_shared_closes_open_requests(
    admin_a, admin_b, dataset_a, client_b, tree
):
    approved = _request(admin_b, dataset_a, client_b)
    actions.approve_access_request(actor=admin_a, request=approved)
    _client2, _ = actions.register_client(
        actor=admin_b, name="Second", org=tree.school_b, scopes=[CORE]
    )
    pending = _request(admin_b, dataset_a, _client2)
    actions.update_dataset(
        actor=admin_a,
        dataset=dataset_a,
        code=dataset_a.code,
        title=dataset_a.title,
        org=tree.school_a,
        entity_types=["users"],
        sharing_level=SharingLevel.NOT_SHARED,
    )
    approved.refresh_from_db()
    pending.refresh_from_db()
    assert approved.status == AccessRequestStatus.REVOKED
    assert approved.revoked_by == admin_a
    assert pending.status == AccessRequestStatus.REJECTED
    event = AuditEvent.objects.get(code="registry.dataset.sharing_changed")
    assert set(event.extra["closed_requests"]) == {approved.pk, pending.pk}
    assert not AccessRequest.objects.filter(
        dataset=dataset_a, status=AccessRequestStatus.APPROVED
    ).exists()


def test_update_dataset_by_other_school_denied(admin_b, dataset_a, tree):
    with pytest.raises(PermissionDenied):
        actions.update_dataset(
            actor=admin_b,
            dataset=dataset_a,
            code="x",
            title="x",
            org=tree.school_b,
            entity_types=["users"],
            sharing_level=SharingLevel.CONDITIONAL,
        )


# --- clients -----------------------------------------------------------------------------------


def test_register_client_stores_only_a_hash_of_the_secret(admin_a, tree):
    client, secret = actions.register_client(
        actor=admin_a, name="App", org=tree.school_a, scopes=[CORE]
    )
    client.refresh_from_db()
    assert client.client_id.startswith("sy-")
    assert len(client.client_id) == 19
    assert secret not in client.secret_hash
    assert check_password(secret, client.secret_hash)
    assert AuditEvent.objects.filter(code="registry.client.created", subject_id=str(client.pk))
    record = ChangeRecord.objects.get(target_type="registry.apiclient", target_id=str(client.pk))
    assert secret not in str(record.__dict__)


def test_register_client_unknown_scope_refused(admin_a, tree):
    with pytest.raises(InvalidInput) as exc:
        actions.register_client(actor=admin_a, name="App", org=tree.school_a, scopes=["admin"])
    assert exc.value.field == "scopes"


def test_register_client_for_other_school_denied(admin_a, tree):
    with pytest.raises(PermissionDenied):
        actions.register_client(actor=admin_a, name="App", org=tree.school_b, scopes=[CORE])


def _token(client, n):
    return ClientToken.objects.create(
        client=client,
        token_hash=f"h{n}",
        scopes=[CORE],
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )


def test_rotate_secret_revokes_tokens_and_old_secret(admin_b, client_b):
    old_hash = client_b.secret_hash
    live = _token(client_b, 1)
    _client, secret = actions.rotate_client_secret(actor=admin_b, client=client_b)
    client_b.refresh_from_db()
    live.refresh_from_db()
    assert live.revoked_at is not None
    assert client_b.secret_hash != old_hash
    assert check_password(secret, client_b.secret_hash)
    event = AuditEvent.objects.get(code="registry.client.secret_rotated")
    assert event.extra["revoked_tokens"] == 1


def test_rotate_secret_by_other_school_denied(admin_a, client_b):
    with pytest.raises(PermissionDenied):
        actions.rotate_client_secret(actor=admin_a, client=client_b)


def test_deactivate_client_revokes_tokens_and_reads(admin_a, admin_b, client_b, dataset_a, tree):
    req = _request(admin_b, dataset_a, client_b)
    actions.approve_access_request(actor=admin_a, request=req)
    token = _token(client_b, 2)
    actions.deactivate_client(actor=admin_b, client=client_b)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert queries.client_datasets(client_b, "users") == []
    assert AuditEvent.objects.filter(code="registry.client.deactivated").count() == 1
    with pytest.raises(Conflict):
        actions.rotate_client_secret(actor=admin_b, client=client_b)


# --- the request workflow ----------------------------------------------------------------------


def test_request_approve_revoke_workflow(admin_a, admin_b, dataset_a, client_b):
    req = _request(admin_b, dataset_a, client_b, valid_until=TODAY + dt.timedelta(days=30))
    assert req.status == AccessRequestStatus.PENDING
    assert queries.client_datasets(client_b, "users") == []
    actions.approve_access_request(
        actor=admin_a, request=req, valid_until=TODAY + dt.timedelta(days=10)
    )
    assert req.status == AccessRequestStatus.APPROVED
    assert req.valid_until == TODAY + dt.timedelta(days=10)
    assert queries.client_datasets(client_b, "users") == [dataset_a]
    actions.revoke_access_request(actor=admin_a, request=req, note="Term over")
    assert queries.client_datasets(client_b, "users") == []
    codes = list(
        AuditEvent.objects.filter(
            subject_id=str(req.pk), code__startswith="registry.access_request"
        )
        .order_by("pk")
        .values_list("code", flat=True)
    )
    assert codes == [
        "registry.access_request.requested",
        "registry.access_request.approved",
        "registry.access_request.revoked",
    ]
    assert (
        ChangeRecord.objects.filter(
            target_type="registry.accessrequest", target_id=str(req.pk)
        ).count()
        == 3
    )


def test_approve_cannot_extend_requested_period(admin_a, admin_b, dataset_a, client_b):
    req = _request(admin_b, dataset_a, client_b, valid_until=TODAY + dt.timedelta(days=5))
    with pytest.raises(InvalidInput) as exc:
        actions.approve_access_request(
            actor=admin_a, request=req, valid_until=TODAY + dt.timedelta(days=6)
        )
    assert exc.value.code == "BEYOND_REQUESTED"


def test_reject_needs_a_note(admin_a, admin_b, dataset_a, client_b):
    req = _request(admin_b, dataset_a, client_b)
    with pytest.raises(InvalidInput):
        actions.reject_access_request(actor=admin_a, request=req, note=" ")
    actions.reject_access_request(actor=admin_a, request=req, note="No legal basis")
    assert req.status == AccessRequestStatus.REJECTED


@pytest.mark.parametrize(
    ("setup", "verb"),
    [
        ("rejected", "approve"),
        ("rejected", "revoke"),
        ("pending", "revoke"),
        ("approved", "approve"),
        ("approved", "reject"),
        ("revoked", "approve"),
        ("revoked", "revoke"),
    ],
)
def test_invalid_transitions_conflict(admin_a, admin_b, dataset_a, client_b, setup, verb):
    req = _request(admin_b, dataset_a, client_b)
    if setup == "rejected":
        actions.reject_access_request(actor=admin_a, request=req, note="no")
    if setup in {"approved", "revoked"}:
        actions.approve_access_request(actor=admin_a, request=req)
    if setup == "revoked":
        actions.revoke_access_request(actor=admin_a, request=req)
    call = {
        "approve": lambda: actions.approve_access_request(actor=admin_a, request=req),
        "reject": lambda: actions.reject_access_request(actor=admin_a, request=req, note="n"),
        "revoke": lambda: actions.revoke_access_request(actor=admin_a, request=req),
    }[verb]
    with pytest.raises(Conflict) as exc:
        call()
    assert exc.value.code == "REQUEST_STATE"


def test_requester_cannot_decide_own_request(admin_b, dataset_a, client_b):
    req = _request(admin_b, dataset_a, client_b)
    with pytest.raises(PermissionDenied):
        actions.approve_access_request(actor=admin_b, request=req)


def test_region_admin_decides_for_school_dataset(region_admin, admin_b, dataset_a, client_b):
    req = _request(admin_b, dataset_a, client_b)
    actions.approve_access_request(actor=region_admin, request=req)
    assert req.decided_by == region_admin


@pytest.mark.parametrize(
    ("level", "code"),
    [
        (SharingLevel.UNCONDITIONAL, "REQUEST_NOT_NEEDED"),
        (SharingLevel.NOT_SHARED, "DATASET_NOT_SHARED"),
    ],
)
def test_request_refused_unless_conditional(admin_a, admin_b, client_b, tree, level, code):
    ds = make_dataset(admin_a, tree.school_a, code="other", level=level)
    with pytest.raises(InvalidInput) as exc:
        _request(admin_b, ds, client_b)
    assert exc.value.code == code


def test_request_duplicate_conflict(admin_a, admin_b, dataset_a, client_b):
    req = _request(admin_b, dataset_a, client_b)
    with pytest.raises(Conflict) as exc:
        _request(admin_b, dataset_a, client_b)
    assert exc.value.code == "REQUEST_EXISTS"
    actions.approve_access_request(actor=admin_a, request=req)
    with pytest.raises(Conflict):
        _request(admin_b, dataset_a, client_b)
    actions.revoke_access_request(actor=admin_a, request=req)
    assert _request(admin_b, dataset_a, client_b).status == AccessRequestStatus.PENDING


def test_request_purpose_too_short(admin_b, dataset_a, client_b):
    with pytest.raises(InvalidInput) as exc:
        actions.request_access(actor=admin_b, dataset=dataset_a, client=client_b, purpose="short")
    assert exc.value.field == "purpose"


def test_request_for_someone_elses_client_denied(admin_a, dataset_a, client_b):
    with pytest.raises(PermissionDenied):
        _request(admin_a, dataset_a, client_b)


def test_request_in_the_past_refused(admin_b, dataset_a, client_b):
    with pytest.raises(InvalidInput) as exc:
        _request(admin_b, dataset_a, client_b, valid_until=TODAY - dt.timedelta(days=1))
    assert exc.value.field == "valid_until"


# --- what a client reads -----------------------------------------------------------------------


def test_client_datasets_levels_expiry_and_revocation(admin_a, admin_b, client_b, tree):
    open_ds = make_dataset(
        admin_a, tree.school_a, code="open", level=SharingLevel.UNCONDITIONAL, types=["users"]
    )
    cond = make_dataset(admin_a, tree.school_a, code="cond", types=["users", "classes"])
    make_dataset(admin_a, tree.school_a, code="closed", level=SharingLevel.NOT_SHARED)
    assert queries.client_datasets(client_b, "users") == [open_ds]
    assert queries.client_datasets(client_b, "classes") == []
    req = _request(admin_b, cond, client_b, valid_until=TODAY + dt.timedelta(days=3))
    actions.approve_access_request(actor=admin_a, request=req)
    assert {d.code for d in queries.client_datasets(client_b, "users")} == {"open", "cond"}
    assert queries.client_org_paths(client_b, "classes") == [tree.school_a.path]
    later = TODAY + dt.timedelta(days=4)
    assert queries.client_datasets(client_b, "users", today=later) == [open_ds]
    assert queries.client_org_paths(client_b, "classes", today=later) == []
    actions.revoke_access_request(actor=admin_a, request=req)
    assert queries.client_datasets(client_b, "users") == [open_ds]


def test_client_org_paths_collapses_nested(region_admin, admin_a, client_b, tree):
    make_dataset(region_admin, tree.county_a, code="cty", level=SharingLevel.UNCONDITIONAL)
    make_dataset(admin_a, tree.school_a, code="sch", level=SharingLevel.UNCONDITIONAL)
    assert queries.client_org_paths(client_b, "users") == [tree.county_a.path]


def test_list_datasets_counts_live_consumers(admin_a, admin_b, dataset_a, client_b, tree):
    req = _request(admin_b, dataset_a, client_b)
    assert queries.list_datasets(admin_a).get(pk=dataset_a.pk).consumer_count == 0
    actions.approve_access_request(actor=admin_a, request=req)
    assert queries.list_datasets(admin_a).get(pk=dataset_a.pk).consumer_count == 1
    assert queries.count_consumers(dataset_a) == 1
    later = TODAY + dt.timedelta(days=1)
    actions.revoke_access_request(actor=admin_a, request=req)
    assert queries.list_datasets(admin_a, today=later).get(pk=dataset_a.pk).consumer_count == 0


def test_list_access_requests_boxes(admin_a, admin_b, region_admin, dataset_a, client_b):
    req = _request(admin_b, dataset_a, client_b)
    assert list(queries.list_access_requests(admin_a, box="incoming")) == [req]
    assert list(queries.list_access_requests(admin_a, box="outgoing")) == []
    assert list(queries.list_access_requests(admin_b, box="incoming")) == []
    assert list(queries.list_access_requests(admin_b, box="outgoing")) == [req]
    assert list(queries.list_access_requests(region_admin, box="incoming")) == [req]


def test_access_client_outside_scope_not_found(admin_a, auditor, client_b):
    for user in (admin_a, auditor):
        with pytest.raises(NotFound):
            queries.access_client(user, client_b.pk)
