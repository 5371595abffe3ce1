"""Portal pages of identity: home per role, account administration, roles, login policies."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.audit import record_audit
from shuyuan.core.models import AuditEvent
from shuyuan.core.synthetic import make_id_number
from shuyuan.identity.context_processors import build_navigation
from shuyuan.identity.models import Role, RoleAssignment, RolePolicy, User

ID = make_id_number("410102", dt.date(2011, 3, 7), 123, "M")
MOBILE = "13812345678"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


def _mfa() -> dict:
    """Roles that require MFA need an enrolled factor, or the session guard redirects."""
    return {"totp_confirmed_at": timezone.now()}


@pytest.fixture
def admin(make_user):
    return make_user(Role.PLATFORM_ADMIN, None, username="root", **_mfa())


@pytest.fixture
def school_admin_a(make_user, tree):
    return make_user(Role.SCHOOL_ADMIN, tree.school_a, username="sa.a")


@pytest.fixture
def school_admin_b(make_user, tree):
    return make_user(Role.SCHOOL_ADMIN, tree.school_b, username="sa.b")


@pytest.fixture
def teacher_a(make_user, tree):
    return make_user(Role.TEACHER, tree.school_a, username="teacher.a")


@pytest.fixture
def student_a(make_user, tree):
    return make_user(Role.STUDENT, tree.class_a, username="student.a", id_number=ID, mobile=MOBILE)


# --- home --------------------------------------------------------------------------------------


def test_home_anonymous_redirects_to_login(client, db):
    response = client.get(reverse("identity:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_home_school_admin_shows_counts_and_admin_links(client_for, school_admin_a, teacher_a):
    response = client_for(school_admin_a).get(reverse("identity:home"))
    assert response.status_code == 200
    panel = response.context["admin_panel"]
    assert panel["org_count"] == 3
    assert panel["account_count"] == 2
    assert reverse("identity:user_create") in response.content.decode()


def test_home_teacher_shows_school_and_visible_accounts(client_for, teacher_a, student_a):
    response = client_for(teacher_a).get(reverse("identity:home"))
    html = response.content.decode()
    assert "School A" in html
    assert student_a.real_name in html
    assert "admin_panel" not in response.context


def test_home_student_shows_masked_profile_only(client_for, student_a):
    html = client_for(student_a).get(reverse("identity:home")).content.decode()
    assert student_a.id_number_masked in html
    assert ID not in html
    assert MOBILE not in html


def test_home_parent_shows_child_with_masked_id(client_for, make_user, student_a, tree):
    parent = make_user(Role.PARENT, tree.class_a, child=student_a)
    html = client_for(parent).get(reverse("identity:home")).content.decode()
    assert student_a.real_name in html
    assert student_a.id_number_masked in html
    assert ID not in html


def test_home_auditor_shows_latest_events_and_records(client_for, make_user, tree):
    auditor = make_user(Role.AUDITOR, tree.county_a, **_mfa())
    record_audit("identity.login.failed", actor=None, org_path=tree.school_a.path)
    response = client_for(auditor).get(reverse("identity:home"))
    html = response.content.decode()
    assert "identity.login.failed" in html
    assert reverse("core:audit_events") in html
    assert reverse("core:changelog") in html


def test_home_resource_reviewer_shows_no_fake_queue(client_for, make_user, tree):
    reviewer = make_user(Role.RESOURCE_REVIEWER, tree.county_a)
    html = client_for(reviewer).get(reverse("identity:home")).content.decode()
    assert "Review queues arrive with the resources app" in html


def test_home_user_without_roles_says_so(client_for, make_user, db):
    html = client_for(make_user(None, None)).get(reverse("identity:home")).content.decode()
    assert "You hold no role yet." in html


# --- navigation --------------------------------------------------------------------------------


def _nav_keys(user) -> set[str]:
    request = RequestFactory().get("/")
    request.user = user
    return {item.key for item in build_navigation(request)}


def test_navigation_platform_admin_includes_policies_and_logs(admin):
    assert {"role_policy", "changelog", "audit_events", "accounts"} <= _nav_keys(admin)


def test_navigation_student_has_no_admin_entries(student_a):
    keys = _nav_keys(student_a)
    assert "home" in keys and "account" in keys
    assert not keys & {"accounts", "role_policy", "changelog", "audit_events"}


def test_navigation_security_officer_gets_audit_log_not_changelog(make_user, tree):
    officer = make_user(Role.SECURITY_OFFICER, tree.county_a)
    keys = _nav_keys(officer)
    assert "audit_events" in keys
    assert "changelog" not in keys


def test_navigation_my_account_group_links_account_pages(teacher_a):
    request = RequestFactory().get("/")
    request.user = teacher_a
    group = next(item for item in build_navigation(request) if item.key == "account")
    assert [child.key for child in group.children] == [
        "mfa_setup",
        "sessions",
        "tokens",
        "password_change",
    ]


# --- account list ------------------------------------------------------------------------------


def test_user_list_school_admin_sees_only_own_school(
    client_for, school_admin_a, student_a, school_admin_b
):
    response = client_for(school_admin_a).get(reverse("identity:user_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "student.a" in html
    assert "sa.b" not in html


def test_user_list_shows_masked_numbers_only(client_for, school_admin_a, student_a):
    html = client_for(school_admin_a).get(reverse("identity:user_list")).content.decode()
    assert student_a.mobile_masked in html
    assert MOBILE not in html and ID not in html


def test_user_list_htmx_request_returns_results_fragment_only(
    client_for, school_admin_a, student_a
):
    response = client_for(school_admin_a).get(
        reverse("identity:user_list"), {"q": "student"}, **HTMX
    )
    html = response.content.decode()
    assert "student.a" in html
    assert "<html" not in html and "<form" not in html


def test_user_list_search_by_exact_mobile_finds_account(client_for, school_admin_a, student_a):
    response = client_for(school_admin_a).get(reverse("identity:user_list"), {"q": MOBILE})
    assert list(response.context["page"].object_list) == [student_a]


def test_user_list_filter_by_role_keeps_holders_only(
    client_for, school_admin_a, student_a, teacher_a
):
    response = client_for(school_admin_a).get(reverse("identity:user_list"), {"role": "teacher"})
    assert list(response.context["page"].object_list) == [teacher_a]


def test_user_list_sort_descending_reverses_order(client_for, school_admin_a, student_a):
    response = client_for(school_admin_a).get(reverse("identity:user_list"), {"sort": "-username"})
    names = [u.username for u in response.context["page"].object_list]
    assert names == sorted(names, reverse=True)


def test_user_list_invalid_org_filter_is_ignored(client_for, school_admin_a, student_a, tree):
    response = client_for(school_admin_a).get(
        reverse("identity:user_list"), {"org": tree.school_b.pk}
    )
    assert response.status_code == 200
    assert student_a in response.context["page"].object_list


def test_user_list_pages_by_25(client_for, make_user, school_admin_a, tree):
    for _i in range(26):
        make_user(Role.STUDENT, tree.class_a)
    response = client_for(school_admin_a).get(reverse("identity:user_list"), {"page": 2})
    assert response.context["page"].number == 2
    assert len(response.context["page"].object_list) == 2


@pytest.mark.parametrize("count", [3, 30])
def test_user_list_query_count_does_not_grow_with_rows(
    client_for, make_user, school_admin_a, tree, assert_max_queries, count
):
    for _i in range(count):
        make_user(Role.STUDENT, tree.class_a)
    client = client_for(school_admin_a)
    with assert_max_queries(8):
        response = client.get(reverse("identity:user_list"))
    assert response.status_code == 200


def test_user_list_role_badges_hide_roles_outside_scope(
    client_for, make_user, school_admin_a, teacher_a, tree
):
    with_role_elsewhere = make_user(Role.TEACHER, tree.school_a, username="two.schools")
    from shuyuan.core.context import change_context, system_actor

    with change_context(actor=system_actor(), source="system"):
        RoleAssignment(user=with_role_elsewhere, role=Role.TEACHER, org=tree.school_b).save()
    response = client_for(school_admin_a).get(reverse("identity:user_list"), {"q": "two."})
    account = response.context["page"].object_list[0]
    assert [a.org_id for a in account.visible_roles] == [tree.school_a.pk]


# --- account detail ----------------------------------------------------------------------------


def test_user_detail_other_school_returns_404(client_for, school_admin_b, student_a):
    response = client_for(school_admin_b).get(reverse("identity:user_detail", args=[student_a.pk]))
    assert response.status_code == 404


def test_user_detail_shows_masked_id_and_reveal_button(client_for, school_admin_a, student_a):
    response = client_for(school_admin_a).get(reverse("identity:user_detail", args=[student_a.pk]))
    html = response.content.decode()
    assert student_a.id_number_masked in html
    assert ID not in html
    assert reverse("identity:user_reveal", args=[student_a.pk]) in html


def test_user_detail_teacher_sees_no_reveal_button(client_for, teacher_a, student_a):
    response = client_for(teacher_a).get(reverse("identity:user_detail", args=[student_a.pk]))
    assert response.status_code == 200
    assert reverse("identity:user_reveal", args=[student_a.pk]) not in response.content.decode()


def test_user_detail_history_lists_account_changes(client_for, school_admin_a, student_a):
    response = client_for(school_admin_a).get(reverse("identity:user_detail", args=[student_a.pk]))
    history = response.context["history"]
    assert [(r.target_type, r.action) for r in history] == [
        ("identity.roleassignment", "create"),
        ("identity.user", "create"),
    ]
    assert history[1].target_id == str(student_a.pk)
    assert history[0].parent_id == str(student_a.pk)


def test_user_reveal_school_admin_shows_plaintext_and_writes_audit_event(
    client_for, school_admin_a, student_a
):
    response = client_for(school_admin_a).post(
        reverse("identity:user_reveal", args=[student_a.pk]), {"field": "id_number"}
    )
    assert response.status_code == 200
    assert ID in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(code="identity.pii.revealed")
    assert event.subject_id == str(student_a.pk)
    assert event.actor_id == school_admin_a.pk


def test_user_reveal_htmx_returns_pii_fragment_only(client_for, school_admin_a, student_a):
    response = client_for(school_admin_a).post(
        reverse("identity:user_reveal", args=[student_a.pk]),
        {"field": "mobile"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="pii",
    )
    html = response.content.decode()
    assert MOBILE in html
    assert "<html" not in html


def test_user_reveal_teacher_forbidden_403_and_denial_audited(client_for, teacher_a, student_a):
    response = client_for(teacher_a).post(
        reverse("identity:user_reveal", args=[student_a.pk]), {"field": "id_number"}
    )
    assert response.status_code == 403
    assert ID not in response.content.decode()
    assert AuditEvent.objects.filter(code="identity.pii.denied").count() == 1


def test_user_reveal_other_school_admin_404_without_audit(client_for, school_admin_b, student_a):
    response = client_for(school_admin_b).post(
        reverse("identity:user_reveal", args=[student_a.pk]), {"field": "id_number"}
    )
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(code="identity.pii.revealed").exists()


def test_user_detail_after_reveal_is_masked_again(client_for, school_admin_a, student_a):
    client = client_for(school_admin_a)
    client.post(reverse("identity:user_reveal", args=[student_a.pk]), {"field": "id_number"})
    response = client.get(reverse("identity:user_detail", args=[student_a.pk]))
    assert ID not in response.content.decode()


def test_user_reset_password_shows_temporary_password_once(client_for, school_admin_a, student_a):
    client = client_for(school_admin_a)
    response = client.post(reverse("identity:user_reset_password", args=[student_a.pk]))
    temporary = response.context["temporary_password"]
    assert temporary and temporary in response.content.decode()
    student_a.refresh_from_db()
    assert student_a.check_password(temporary)
    again = client.get(reverse("identity:user_detail", args=[student_a.pk]))
    assert temporary not in again.content.decode()


def test_user_reset_password_teacher_forbidden_403(client_for, teacher_a, student_a):
    response = client_for(teacher_a).post(
        reverse("identity:user_reset_password", args=[student_a.pk])
    )
    assert response.status_code == 403


def test_user_set_active_deactivates_and_redirects(client_for, school_admin_a, student_a):
    response = client_for(school_admin_a).post(
        reverse("identity:user_set_active", args=[student_a.pk]), {"is_active": "0"}
    )
    assert response.status_code == 303
    student_a.refresh_from_db()
    assert not student_a.is_active


def test_user_set_active_self_deactivation_returns_422(client_for, school_admin_a):
    response = client_for(school_admin_a).post(
        reverse("identity:user_set_active", args=[school_admin_a.pk]), {"is_active": "0"}
    )
    assert response.status_code == 422
    assert "You cannot deactivate yourself." in response.content.decode()


# --- roles -------------------------------------------------------------------------------------


def test_role_grant_teacher_on_school_redirects_and_stores(
    client_for, school_admin_a, student_a, tree
):
    response = client_for(school_admin_a).post(
        reverse("identity:role_grant", args=[student_a.pk]),
        {"role": "teacher", "org": tree.school_a.pk},
    )
    assert response.status_code == 303
    assert RoleAssignment.objects.filter(user=student_a, role="teacher").exists()


def test_role_grant_wrong_org_kind_returns_422_with_field_error(
    client_for, school_admin_a, student_a, tree
):
    response = client_for(school_admin_a).post(
        reverse("identity:role_grant", args=[student_a.pk]),
        {"role": "teacher", "org": tree.class_a.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="grant-form",
    )
    assert response.status_code == 422
    assert response.context["grant_form"].errors["org"]
    assert "<html" not in response.content.decode()


def test_role_grant_org_outside_scope_refused(client_for, school_admin_a, student_a, tree):
    response = client_for(school_admin_a).post(
        reverse("identity:role_grant", args=[student_a.pk]),
        {"role": "teacher", "org": tree.school_b.pk},
    )
    assert response.status_code == 422
    assert not RoleAssignment.objects.filter(org=tree.school_b).exists()


def test_role_grant_parent_names_child_by_account_name(
    client_for, school_admin_a, make_user, student_a, tree
):
    guardian = make_user(None, tree.school_a)
    response = client_for(school_admin_a).post(
        reverse("identity:role_grant", args=[guardian.pk]),
        {"role": "parent", "child": "student.a"},
    )
    assert response.status_code == 303
    assert RoleAssignment.objects.get(user=guardian, role="parent").child == student_a


def test_role_revoke_removes_assignment(client_for, school_admin_a, teacher_a):
    assignment = teacher_a.role_assignments.get()
    response = client_for(school_admin_a).post(
        reverse("identity:role_revoke", args=[teacher_a.pk, assignment.pk])
    )
    assert response.status_code == 303
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_role_revoke_assignment_of_other_account_returns_404(
    client_for, school_admin_a, teacher_a, student_a
):
    assignment = teacher_a.role_assignments.get()
    response = client_for(school_admin_a).post(
        reverse("identity:role_revoke", args=[student_a.pk, assignment.pk])
    )
    assert response.status_code == 404
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()


# --- create and edit ---------------------------------------------------------------------------


def test_user_create_valid_redirects_303_and_stores_account(client_for, school_admin_a, tree):
    response = client_for(school_admin_a).post(
        reverse("identity:user_create"),
        {
            "username": "li.lei",
            "real_name": "Li Lei",
            "home_org": tree.school_a.pk,
            "id_number": ID,
        },
    )
    assert response.status_code == 303
    created = User.objects.get(username="li.lei")
    assert response["Location"] == reverse("identity:user_detail", args=[created.pk])
    assert created.id_number_masked == ID[:4] + "*" * 10 + ID[-4:]


def test_user_create_malformed_id_number_returns_422_and_stores_nothing(
    client_for, school_admin_a, tree
):
    bad = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    response = client_for(school_admin_a).post(
        reverse("identity:user_create"),
        {
            "username": "li.lei",
            "real_name": "Li Lei",
            "home_org": tree.school_a.pk,
            "id_number": bad,
        },
    )
    assert response.status_code == 422
    assert response.context["form"].errors["id_number"]
    assert not User.objects.filter(username="li.lei").exists()


def test_user_create_htmx_invalid_returns_form_partial(client_for, school_admin_a, tree):
    response = client_for(school_admin_a).post(
        reverse("identity:user_create"),
        {"username": "x", "real_name": "Li Lei", "home_org": tree.school_a.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="user-form",
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith("<form")
    assert "error-summary" in html


def test_user_create_htmx_valid_answers_hx_redirect(client_for, school_admin_a, tree):
    response = client_for(school_admin_a).post(
        reverse("identity:user_create"),
        {"username": "li.lei", "real_name": "Li Lei", "home_org": tree.school_a.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="user-form",
    )
    created = User.objects.get(username="li.lei")
    assert response["HX-Redirect"] == reverse("identity:user_detail", args=[created.pk])


def test_user_create_teacher_forbidden_403(client_for, teacher_a):
    response = client_for(teacher_a).get(reverse("identity:user_create"))
    assert response.status_code == 403


def test_user_edit_changes_real_name_and_keeps_id_number(
    client_for, school_admin_a, student_a, tree
):
    response = client_for(school_admin_a).post(
        reverse("identity:user_edit", args=[student_a.pk]),
        {"real_name": "New Name", "home_org": tree.class_a.pk, "email": ""},
    )
    assert response.status_code == 303
    student_a.refresh_from_db()
    assert student_a.real_name == "New Name"
    assert student_a.id_number_masked == ID[:4] + "*" * 10 + ID[-4:]


def test_user_edit_teacher_forbidden_403(client_for, teacher_a, student_a):
    response = client_for(teacher_a).get(reverse("identity:user_edit", args=[student_a.pk]))
    assert response.status_code == 403


# --- login policies ----------------------------------------------------------------------------


def test_role_policy_platform_admin_sees_defaults(client_for, admin):
    response = client_for(admin).get(reverse("identity:role_policy"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["platform_admin"].initial is True
    assert form["teacher"].initial is False


@pytest.mark.parametrize("who", ["school_admin_a", "teacher_a"])
def test_role_policy_other_roles_forbidden_403(client_for, request, who):
    user = request.getfixturevalue(who)
    assert client_for(user).get(reverse("identity:role_policy")).status_code == 403


def test_role_policy_post_stores_changed_roles_only(client_for, admin):
    data = {"platform_admin": "on", "region_admin": "on", "security_officer": "on", "teacher": "on"}
    response = client_for(admin).post(reverse("identity:role_policy"), data)
    assert response.status_code == 303
    stored = dict(RolePolicy.objects.values_list("role", "mfa_required"))
    assert stored == {"teacher": True, "auditor": False}


# --- less common paths -------------------------------------------------------------------------


def test_navigation_missing_url_name_is_left_out(teacher_a, monkeypatch):
    from django.urls import NoReverseMatch

    from shuyuan.identity import context_processors

    real_reverse = context_processors.reverse

    def reverse_without_tokens(name, *args, **kwargs):
        if name == "identity:tokens":
            raise NoReverseMatch(name)
        return real_reverse(name, *args, **kwargs)

    monkeypatch.setattr(context_processors, "reverse", reverse_without_tokens)
    request = RequestFactory().get("/")
    request.user = teacher_a
    group = next(item for item in build_navigation(request) if item.key == "account")
    assert "tokens" not in [child.key for child in group.children]


def test_user_reveal_unknown_field_returns_422(client_for, school_admin_a, student_a):
    response = client_for(school_admin_a).post(
        reverse("identity:user_reveal", args=[student_a.pk]), {"field": "password"}
    )
    assert response.status_code == 422
    assert not AuditEvent.objects.exists()


def test_user_set_active_activates_inactive_account(client_for, school_admin_a, make_user, tree):
    dormant = make_user(Role.STUDENT, tree.class_a, is_active=False)
    response = client_for(school_admin_a).post(
        reverse("identity:user_set_active", args=[dormant.pk]), {"is_active": "1"}
    )
    assert response.status_code == 303
    dormant.refresh_from_db()
    assert dormant.is_active


def test_role_grant_unknown_child_returns_422(client_for, school_admin_a, make_user, tree):
    guardian = make_user(None, tree.school_a)
    response = client_for(school_admin_a).post(
        reverse("identity:role_grant", args=[guardian.pk]), {"role": "parent", "child": "nobody"}
    )
    assert response.status_code == 422
    assert response.context["grant_form"].errors["child"]


def test_role_revoke_own_platform_role_returns_422(client_for, admin):
    assignment = admin.role_assignments.get()
    response = client_for(admin).post(
        reverse("identity:role_revoke", args=[admin.pk, assignment.pk])
    )
    assert response.status_code == 422
    assert "You cannot remove your own platform role." in response.content.decode()


def test_user_edit_bad_mobile_returns_422_and_keeps_stored_data(
    client_for, school_admin_a, student_a, tree
):
    response = client_for(school_admin_a).post(
        reverse("identity:user_edit", args=[student_a.pk]),
        {"real_name": "Changed", "home_org": tree.class_a.pk, "mobile": "12345"},
    )
    assert response.status_code == 422
    assert response.context["form"].errors["mobile"]
    student_a.refresh_from_db()
    assert student_a.real_name != "Changed"


def test_user_edit_clear_id_number_removes_it(client_for, school_admin_a, student_a, tree):
    client_for(school_admin_a).post(
        reverse("identity:user_edit", args=[student_a.pk]),
        {"real_name": student_a.real_name, "home_org": tree.class_a.pk, "clear_id_number": "on"},
    )
    student_a.refresh_from_db()
    assert student_a.id_number_masked == ""
    assert student_a.id_number_cipher is None


def test_user_edit_new_mobile_and_home_org_stored(client_for, school_admin_a, student_a, tree):
    client_for(school_admin_a).post(
        reverse("identity:user_edit", args=[student_a.pk]),
        {"real_name": student_a.real_name, "home_org": tree.school_a.pk, "mobile": "13900001111"},
    )
    student_a.refresh_from_db()
    assert student_a.mobile_masked == "139****1111"
    assert student_a.home_org == tree.school_a


def test_user_reset_mfa_by_school_admin_clears_second_factor(make_user, client_for, tree):
    from django.utils import timezone

    from shuyuan.core.models import AuditEvent
    from shuyuan.identity.pii import pii_cipher

    admin = make_user("school_admin", tree.school_a)
    teacher = make_user(
        "teacher",
        tree.school_a,
        totp_secret_cipher=pii_cipher().encrypt("JBSWY3DPEHPK3PXP"),
        totp_confirmed_at=timezone.now(),
    )
    response = client_for(admin).post(f"/accounts/{teacher.pk}/reset-mfa/")
    assert response.status_code == 303
    teacher.refresh_from_db()
    assert not teacher.has_mfa
    assert AuditEvent.objects.filter(
        code="identity.mfa.disabled", subject_id=str(teacher.pk)
    ).exists()


def test_user_reset_mfa_in_other_school_is_not_found(make_user, client_for, tree):
    admin = make_user("school_admin", tree.school_a)
    other = make_user("teacher", tree.school_b)
    response = client_for(admin).post(f"/accounts/{other.pk}/reset-mfa/")
    assert response.status_code == 404
