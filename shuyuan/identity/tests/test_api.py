"""REST API of the identity app (/api/v1/identity/), and the API root's authentication and
request-body handling (tokens live in identity, so those tests are here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shuyuan.core.models import AuditEvent, ChangeRecord
from shuyuan.core.synthetic import make_id_number
from shuyuan.identity import actions
from shuyuan.identity.models import ApiToken, Role, RoleAssignment, User

ACCOUNTS = "/api/v1/identity/accounts"
ROLES = "/api/v1/identity/role-assignments"
ME = "/api/v1/identity/me"

ID = make_id_number("410102", dt.date(2011, 3, 7), 123, "M")
MOBILE = "13812345678"


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    """A JSON request; returns the response with ``.data`` set to the decoded body."""
    if body is None:
        response = getattr(client, method)(path, **extra)
    else:
        response = getattr(client, method)(path, body, content_type="application/json", **extra)
    response.data = response.json() if response.content else None
    return response


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def platform_admin(make_user):
    return make_user(Role.PLATFORM_ADMIN, None, totp_confirmed_at=timezone.now())


@pytest.fixture
def school_admin_a(make_user, tree):
    return make_user(Role.SCHOOL_ADMIN, tree.school_a, username="sa_a")


@pytest.fixture
def teacher_a(make_user, tree):
    return make_user(Role.TEACHER, tree.school_a, username="teacher_a")


@pytest.fixture
def student_a(make_user, tree):
    return make_user(Role.STUDENT, tree.class_a, id_number=ID, mobile=MOBILE)


@pytest.fixture
def student_b(make_user, tree):
    return make_user(Role.STUDENT, tree.class_b, username="student_b")


def _new_account(tree, **changes: Any) -> dict[str, Any]:
    body = {
        "username": "li.lei",
        "real_name": "Li Lei",
        "home_org_id": tree.class_a.pk,
        "id_number": ID,
    }
    body.update(changes)
    return body


# --- accounts ----------------------------------------------------------------------------------


def test_account_create_returns_201_with_masked_id_number(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "post", ACCOUNTS, _new_account(tree))
    assert response.status_code == 201
    assert response.data["id_number_masked"] == ID[:4] + "*" * 10 + ID[-4:]
    assert ID not in response.content.decode()


def test_account_create_records_source_api(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "post", ACCOUNTS, _new_account(tree))
    record = ChangeRecord.objects.get(target_type="identity.user", target_id=response.data["id"])
    assert record.source == "api"


def test_account_create_bad_id_checksum_is_422_naming_id_number(client_for, school_admin_a, tree):
    wrong = ID[:17] + ("0" if ID[17] != "0" else "1")
    response = send(
        client_for(school_admin_a), "post", ACCOUNTS, _new_account(tree, id_number=wrong)
    )
    assert response.status_code == 422
    assert response.data["errors"][0]["field"] == "id_number"
    assert response.data["errors"][0]["code"] == "ID_NUMBER_CHECKSUM"
    assert not User.objects.filter(username="li.lei").exists()


def test_account_create_duplicate_id_number_is_409(client_for, school_admin_a, student_a, tree):
    response = send(client_for(school_admin_a), "post", ACCOUNTS, _new_account(tree))
    assert response.status_code == 409
    assert response.data["code"] == "DUPLICATE_ID_NUMBER"
    assert response.data["errors"][0]["field"] == "id_number"


def test_account_create_invisible_home_org_is_404_naming_it(client_for, school_admin_a, tree):
    body = _new_account(tree, home_org_id=tree.class_b.pk)
    response = send(client_for(school_admin_a), "post", ACCOUNTS, body)
    assert response.status_code == 404
    assert response.data["errors"][0]["field"] == "home_org_id"


def test_account_create_huge_username_is_422_naming_username(client_for, school_admin_a, tree):
    body = _new_account(tree, username="u" * 1_000_000)
    response = send(client_for(school_admin_a), "post", ACCOUNTS, body)
    assert response.status_code == 422
    assert response.data["errors"][0]["field"] == "username"


def test_account_list_never_contains_plaintext_pii(client_for, school_admin_a, student_a):
    response = send(client_for(school_admin_a), "get", ACCOUNTS)
    assert response.status_code == 200
    text = response.content.decode()
    assert ID not in text
    assert MOBILE not in text
    assert "cipher" not in text
    assert "index" not in text
    item = next(i for i in response.data["items"] if i["id"] == student_a.pk)
    assert item["mobile_masked"] == "138****5678"


def test_account_list_school_admin_sees_only_own_school(
    client_for, school_admin_a, student_a, student_b
):
    response = send(client_for(school_admin_a), "get", ACCOUNTS)
    ids = {item["id"] for item in response.data["items"]}
    assert student_a.pk in ids
    assert student_b.pk not in ids


def test_account_list_search_by_exact_id_number_finds_account(
    client_for, school_admin_a, student_a
):
    response = send(client_for(school_admin_a), "get", f"{ACCOUNTS}?q={ID}")
    assert [item["id"] for item in response.data["items"]] == [student_a.pk]


def test_account_list_filter_by_role_returns_holders(client_for, school_admin_a, student_a):
    response = send(client_for(school_admin_a), "get", f"{ACCOUNTS}?role=student")
    assert [item["id"] for item in response.data["items"]] == [student_a.pk]


def test_account_list_query_count_does_not_grow_with_rows(
    client_for, make_user, platform_admin, tree, assert_max_queries
):
    client = client_for(platform_admin)
    for _n in range(3):
        make_user(Role.STUDENT, tree.class_a)
    send(client, "get", ACCOUNTS)
    with assert_max_queries(12) as few:
        send(client, "get", ACCOUNTS)
    for _n in range(30):
        make_user(Role.STUDENT, tree.class_a)
    with assert_max_queries(12) as many:
        response = send(client, "get", f"{ACCOUNTS}?limit=200")
    assert response.data["count"] == 34
    assert len(many.captured_queries) == len(few.captured_queries)


def test_account_get_other_school_is_404(client_for, school_admin_a, student_b):
    response = send(client_for(school_admin_a), "get", f"{ACCOUNTS}/{student_b.pk}")
    assert response.status_code == 404
    assert response.data["code"] == "ACCOUNT_NOT_FOUND"


def test_account_patch_changes_real_name(client_for, school_admin_a, student_a):
    response = send(
        client_for(school_admin_a),
        "patch",
        f"{ACCOUNTS}/{student_a.pk}",
        {"real_name": "Han Meimei"},
    )
    assert response.status_code == 200
    student_a.refresh_from_db()
    assert student_a.real_name == "Han Meimei"


def test_account_patch_other_school_is_404_and_changes_nothing(
    client_for, school_admin_a, student_b
):
    before = ChangeRecord.objects.count()
    response = send(
        client_for(school_admin_a), "patch", f"{ACCOUNTS}/{student_b.pk}", {"real_name": "X"}
    )
    assert response.status_code == 404
    student_b.refresh_from_db()
    assert student_b.real_name != "X"
    assert ChangeRecord.objects.count() == before


def test_account_patch_visible_account_without_change_right_is_403(
    client_for, teacher_a, student_a
):
    response = send(
        client_for(teacher_a), "patch", f"{ACCOUNTS}/{student_a.pk}", {"real_name": "X"}
    )
    assert response.status_code == 403


def test_account_patch_null_mobile_clears_it(client_for, school_admin_a, student_a):
    send(client_for(school_admin_a), "patch", f"{ACCOUNTS}/{student_a.pk}", {"mobile": None})
    student_a.refresh_from_db()
    assert (student_a.mobile_masked, student_a.mobile_index) == ("", None)


def test_account_patch_duplicate_id_number_is_409(client_for, school_admin_a, student_a, tree):
    other = send(
        client_for(school_admin_a),
        "post",
        ACCOUNTS,
        _new_account(tree, id_number=make_id_number("410102", dt.date(2012, 1, 1), 5, "F")),
    )
    response = send(
        client_for(school_admin_a), "patch", f"{ACCOUNTS}/{other.data['id']}", {"id_number": ID}
    )
    assert response.status_code == 409
    assert response.data["code"] == "DUPLICATE_ID_NUMBER"


def test_account_reset_password_returns_temporary_password_uncached(
    client_for, school_admin_a, student_a
):
    response = send(client_for(school_admin_a), "post", f"{ACCOUNTS}/{student_a.pk}/reset-password")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    student_a.refresh_from_db()
    assert student_a.check_password(response.data["password"])
    assert student_a.must_change_password


def test_account_reveal_by_school_admin_returns_plaintext_and_audits(
    client_for, school_admin_a, student_a
):
    response = send(
        client_for(school_admin_a),
        "post",
        f"{ACCOUNTS}/{student_a.pk}/reveal",
        {"field": "id_number"},
    )
    assert response.status_code == 200
    assert response.data == {"field": "id_number", "value": ID}
    assert AuditEvent.objects.filter(
        code="identity.pii.revealed", subject_id=str(student_a.pk)
    ).exists()


def test_account_reveal_by_teacher_is_403(client_for, teacher_a, student_a):
    response = send(
        client_for(teacher_a), "post", f"{ACCOUNTS}/{student_a.pk}/reveal", {"field": "mobile"}
    )
    assert response.status_code == 403
    assert MOBILE not in response.content.decode()


def test_account_reveal_unknown_field_is_422_naming_field(client_for, school_admin_a, student_a):
    response = send(
        client_for(school_admin_a),
        "post",
        f"{ACCOUNTS}/{student_a.pk}/reveal",
        {"field": "password"},
    )
    assert response.status_code == 422
    assert response.data["errors"][0] == {
        "field": "field",
        "code": "INVALID_CHOICE",
        "message": response.data["errors"][0]["message"],
    }


def test_me_returns_own_account_and_roles(client_for, school_admin_a, tree):
    response = send(client_for(school_admin_a), "get", ME)
    assert response.status_code == 200
    assert response.data["username"] == "sa_a"
    assert [(r["role"], r["org"]["id"]) for r in response.data["roles"]] == [
        ("school_admin", tree.school_a.pk)
    ]


# --- role assignments --------------------------------------------------------------------------


def test_role_assignment_create_grants_role(client_for, school_admin_a, student_a, tree):
    body = {"user_id": student_a.pk, "role": "student", "org_id": tree.school_a.pk}
    response = send(client_for(school_admin_a), "post", ROLES, body)
    assert response.status_code == 201
    assert response.data["username"] == student_a.username
    assert RoleAssignment.objects.filter(user=student_a, org=tree.school_a).exists()


def test_role_assignment_create_wrong_org_kind_is_422_naming_org_id(
    client_for, school_admin_a, student_a, tree
):
    body = {"user_id": student_a.pk, "role": "head_teacher", "org_id": tree.school_a.pk}
    response = send(client_for(school_admin_a), "post", ROLES, body)
    assert response.status_code == 422
    assert response.data["errors"][0]["field"] == "org_id"
    assert response.data["errors"][0]["code"] == "ROLE_ORG_KIND"


def test_role_assignment_create_duplicate_is_409(client_for, school_admin_a, student_a, tree):
    body = {"user_id": student_a.pk, "role": "student", "org_id": tree.class_a.pk}
    response = send(client_for(school_admin_a), "post", ROLES, body)
    assert response.status_code == 409
    assert response.data["code"] == "DUPLICATE_ROLE"


def test_role_assignment_create_invisible_user_is_404_naming_user_id(
    client_for, school_admin_a, student_b, tree
):
    body = {"user_id": student_b.pk, "role": "teacher", "org_id": tree.school_a.pk}
    response = send(client_for(school_admin_a), "post", ROLES, body)
    assert response.status_code == 404
    assert response.data["errors"][0]["field"] == "user_id"


def test_role_assignment_delete_revokes_role(client_for, school_admin_a, student_a):
    assignment = RoleAssignment.objects.get(user=student_a)
    response = send(client_for(school_admin_a), "delete", f"{ROLES}/{assignment.pk}")
    assert response.status_code == 204
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_role_assignment_delete_other_school_is_404(client_for, school_admin_a, student_b):
    assignment = RoleAssignment.objects.get(user=student_b)
    response = send(client_for(school_admin_a), "delete", f"{ROLES}/{assignment.pk}")
    assert response.status_code == 404
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_role_assignment_list_filters_by_user(client_for, school_admin_a, student_a, teacher_a):
    response = send(client_for(school_admin_a), "get", f"{ROLES}?user_id={student_a.pk}")
    assert [(i["user_id"], i["role"]) for i in response.data["items"]] == [
        (student_a.pk, "student")
    ]


def test_role_assignment_list_query_count_does_not_grow_with_rows(
    client_for, make_user, platform_admin, tree, assert_max_queries
):
    client = client_for(platform_admin)
    for _n in range(3):
        make_user(Role.TEACHER, tree.school_a)
    send(client, "get", ROLES)
    with assert_max_queries(12) as few:
        send(client, "get", ROLES)
    for _n in range(30):
        make_user(Role.TEACHER, tree.school_a)
    with assert_max_queries(12) as many:
        response = send(client, "get", f"{ROLES}?limit=200")
    assert response.data["count"] == 34
    assert len(many.captured_queries) == len(few.captured_queries)


# --- authentication ----------------------------------------------------------------------------


def test_api_anonymous_request_is_401_not_authenticated(db):
    response = send(Client(), "get", ME)
    assert response.status_code == 401
    assert response.data["code"] == "NOT_AUTHENTICATED"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_api_token_authenticates_request(school_admin_a):
    _token, raw = actions.create_api_token(actor=school_admin_a, name="script")
    response = send(Client(), "get", ME, **bearer(raw))
    assert response.status_code == 200
    assert response.data["id"] == school_admin_a.pk


def test_api_token_post_needs_no_csrf_token(school_admin_a, tree):
    _token, raw = actions.create_api_token(actor=school_admin_a, name="script")
    client = Client(enforce_csrf_checks=True)
    response = send(client, "post", ACCOUNTS, _new_account(tree), **bearer(raw))
    assert response.status_code == 201


def test_api_revoked_token_is_401(school_admin_a):
    token, raw = actions.create_api_token(actor=school_admin_a, name="script")
    actions.revoke_api_token(actor=school_admin_a, token=token)
    response = send(Client(), "get", ME, **bearer(raw))
    assert response.status_code == 401
    assert response.data["code"] == "INVALID_TOKEN"


def test_api_expired_token_is_401(school_admin_a):
    token, raw = actions.create_api_token(actor=school_admin_a, name="script")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    response = send(Client(), "get", ME, **bearer(raw))
    assert response.status_code == 401


def test_api_invalid_token_is_401_even_with_session(client_for, school_admin_a):
    response = send(client_for(school_admin_a), "get", ME, **bearer("sy_not-a-real-token"))
    assert response.status_code == 401
    assert response.data["code"] == "INVALID_TOKEN"


def test_api_token_of_user_who_must_change_password_is_accepted(make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a, must_change_password=True)
    _token, raw = actions.create_api_token(actor=user, name="script")
    response = send(Client(), "get", ME, **bearer(raw))
    assert response.status_code == 200


def test_api_session_of_user_who_must_change_password_is_403(client_for, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a, must_change_password=True)
    response = send(client_for(user), "get", ME)
    assert response.status_code == 403
    assert response.data["code"] == "PASSWORD_CHANGE_REQUIRED"


@pytest.fixture
def csrf_client(school_admin_a) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(school_admin_a, backend="shuyuan.identity.backends.IdentifierBackend")
    return client


def test_api_session_post_without_csrf_token_is_403(csrf_client, tree):
    response = send(csrf_client, "post", ACCOUNTS, _new_account(tree))
    assert response.status_code == 403
    assert response.data["code"] == "CSRF_FAILED"
    assert not User.objects.filter(username="li.lei").exists()


def test_api_session_post_with_csrf_token_succeeds(csrf_client, tree):
    secret = "a" * 32
    csrf_client.cookies["csrftoken"] = secret
    response = send(csrf_client, "post", ACCOUNTS, _new_account(tree), HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 201


def test_api_session_get_needs_no_csrf_token(csrf_client):
    assert send(csrf_client, "get", ME).status_code == 200


# --- request bodies ----------------------------------------------------------------------------


def test_api_malformed_json_is_400(client_for, school_admin_a):
    response = client_for(school_admin_a).post(
        ACCOUNTS, b'{"username": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_JSON"


def test_api_non_utf8_body_is_400_invalid_encoding(client_for, school_admin_a):
    body = '{"username": "李雷"}'.encode("gb18030")
    response = client_for(school_admin_a).post(ACCOUNTS, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ENCODING"


def test_api_body_over_upload_limit_is_413(client_for, school_admin_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"username": "' + b"x" * 2048 + b'"}'
    response = client_for(school_admin_a).post(ACCOUNTS, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_api_unknown_path_is_json_404(client_for, school_admin_a):
    response = send(client_for(school_admin_a), "get", "/api/v1/identity/nothing-here")
    assert response.status_code == 404
    assert response.data["code"] == "NOT_FOUND"


def test_api_error_messages_are_translated_to_the_request_language(client_for, school_admin_a):
    response = send(
        client_for(school_admin_a), "get", f"{ACCOUNTS}?limit=0", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.data["errors"][0]["message"] == "Ensure this value is at least 1."
