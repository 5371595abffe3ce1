"""The role × org × action matrix behind ``visible_to``: deny by default, zero cross-org leaks."""

from __future__ import annotations

import pytest

from shuyuan.core.models import AuditEvent, ChangeRecord, Org
from shuyuan.core.scoping import can
from shuyuan.identity.models import Role, RoleAssignment, RolePolicy, User
from shuyuan.identity.permissions import can_grant, can_verify_changelog


@pytest.fixture
def people(tree, make_user):
    """Everyone at school A, and a student with a parent at school B."""
    student_a = make_user(Role.STUDENT, tree.class_a)
    student_b = make_user(Role.STUDENT, tree.class_b)
    return {
        "platform_admin": make_user(Role.PLATFORM_ADMIN, None),
        "region_admin": make_user(Role.REGION_ADMIN, tree.region),
        "county_admin_a": make_user(Role.REGION_ADMIN, tree.county_a),
        "school_admin_a": make_user(Role.SCHOOL_ADMIN, tree.school_a),
        "teacher_a": make_user(Role.TEACHER, tree.school_a),
        "head_teacher_a": make_user(Role.HEAD_TEACHER, tree.class_a),
        "student_a": student_a,
        "parent_a": make_user(Role.PARENT, tree.class_a, child=student_a),
        "reviewer_a": make_user(Role.RESOURCE_REVIEWER, tree.county_a),
        "security_a": make_user(Role.SECURITY_OFFICER, tree.county_a),
        "auditor_a": make_user(Role.AUDITOR, tree.county_a),
        "student_b": student_b,
        "parent_b": make_user(Role.PARENT, tree.class_b, child=student_b),
        "nobody": make_user(None, None),
    }


def _visible(model, user, action="view"):
    return set(model.objects.visible_to(user, action).values_list("pk", flat=True))


A_SIDE = [
    "county_admin_a",
    "school_admin_a",
    "teacher_a",
    "head_teacher_a",
    "student_a",
    "parent_a",
    "reviewer_a",
    "security_a",
    "auditor_a",
]


@pytest.mark.parametrize("who", A_SIDE)
def test_school_a_side_never_sees_school_b_orgs(people, tree, who):
    assert not _visible(Org, people[who]) & {tree.school_b.pk, tree.class_b.pk, tree.grade_b.pk}


@pytest.mark.parametrize("who", A_SIDE)
def test_school_a_side_never_sees_school_b_accounts(people, who):
    seen = _visible(User, people[who])
    assert people["student_b"].pk not in seen
    assert people["parent_b"].pk not in seen


@pytest.mark.parametrize("who", A_SIDE)
def test_school_a_side_cannot_change_school_b_accounts(people, who):
    assert people["student_b"].pk not in _visible(User, people[who], "change")


@pytest.mark.parametrize("who", [*A_SIDE, "parent_b", "nobody"])
@pytest.mark.parametrize("action", ["view", "change", "reveal_pii", "delete", "anything"])
def test_no_role_sees_b_role_assignments_or_unknown_actions(people, who, action):
    rows = _visible(RoleAssignment, people[who], action)
    b_rows = set(
        RoleAssignment.objects.filter(user=people["student_b"]).values_list("pk", flat=True)
    )
    assert not rows & b_rows


def test_anonymous_sees_nothing(people, tree):
    from django.contrib.auth.models import AnonymousUser

    for model in (Org, User, RoleAssignment, ChangeRecord, AuditEvent, RolePolicy):
        assert not model.objects.visible_to(AnonymousUser()).exists()


def test_inactive_user_sees_nothing(people, tree):
    user = people["school_admin_a"]
    user.is_active = False
    assert not Org.objects.visible_to(user).exists()


def test_user_without_roles_sees_only_self(people):
    assert _visible(User, people["nobody"]) == {people["nobody"].pk}
    assert not _visible(Org, people["nobody"])


def test_platform_admin_sees_everything(people, tree):
    assert _visible(Org, people["platform_admin"]) == set(Org.objects.values_list("pk", flat=True))
    assert people["student_b"].pk in _visible(User, people["platform_admin"], "reveal_pii")


def test_region_admin_sees_both_schools(people, tree):
    seen = _visible(Org, people["region_admin"])
    assert {tree.school_a.pk, tree.school_b.pk} <= seen


def test_county_admin_changes_only_own_county(people, tree):
    changeable = _visible(Org, people["county_admin_a"], "change")
    assert tree.school_a.pk in changeable
    assert tree.school_b.pk not in changeable
    assert tree.city.pk not in changeable


def test_teacher_sees_school_accounts_but_changes_none(people):
    teacher = people["teacher_a"]
    assert people["student_a"].pk in _visible(User, teacher)
    assert not _visible(User, teacher, "change") - {teacher.pk}
    assert not _visible(Org, teacher, "change")


def test_student_sees_only_self(people):
    assert _visible(User, people["student_a"]) == {people["student_a"].pk}


def test_parent_sees_self_and_child_only(people):
    parent = people["parent_a"]
    assert _visible(User, parent) == {parent.pk, people["student_a"].pk}


def test_parent_cannot_reveal_child_pii(people):
    assert not can(people["parent_a"], "reveal_pii", people["student_a"])


def test_school_admin_reveals_pii_in_own_school_only(people):
    admin = people["school_admin_a"]
    assert can(admin, "reveal_pii", people["student_a"])
    assert not can(admin, "reveal_pii", people["student_b"])


def test_school_admin_cannot_change_region_admin(people):
    assert not can(people["school_admin_a"], "change", people["region_admin"])


def test_reviewer_sees_no_other_accounts(people):
    assert _visible(User, people["reviewer_a"]) == {people["reviewer_a"].pk}


def test_changelog_scoped_to_subtree(people, tree):
    auditor = people["auditor_a"]
    paths = set(ChangeRecord.objects.visible_to(auditor).values_list("org_path", flat=True))
    assert paths
    assert all(p.startswith(tree.county_a.path) for p in paths)


def test_teacher_cannot_read_changelog(people):
    assert not ChangeRecord.objects.visible_to(people["teacher_a"]).exists()


def test_audit_events_scoped_to_subtree(people, tree):
    AuditEvent.objects.create(code="identity.login.failed", org_path=tree.school_a.path)
    AuditEvent.objects.create(code="identity.login.failed", org_path=tree.school_b.path)
    seen = AuditEvent.objects.visible_to(people["security_a"])
    assert [e.org_path for e in seen] == [tree.school_a.path]
    assert not AuditEvent.objects.visible_to(people["teacher_a"]).exists()


def test_can_grant_platform_role_only_by_platform_admin(people, tree):
    assert can_grant(people["platform_admin"], Role.PLATFORM_ADMIN, None)
    assert not can_grant(people["region_admin"], Role.PLATFORM_ADMIN, None)
    assert can_grant(people["region_admin"], Role.SCHOOL_ADMIN, tree.school_b)
    assert not can_grant(people["county_admin_a"], Role.SCHOOL_ADMIN, tree.school_b)


def test_can_verify_changelog_only_platform_wide(people, tree, make_user):
    assert can_verify_changelog(people["platform_admin"])
    assert not can_verify_changelog(people["auditor_a"])
    assert can_verify_changelog(make_user(Role.AUDITOR, tree.region))
