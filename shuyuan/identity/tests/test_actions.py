"""Account and role actions: one account per person, PII encrypted and masked, scoped writes."""

from __future__ import annotations

import datetime as dt

import pytest

from shuyuan.core.changelog import verify_changelog
from shuyuan.core.errors import Conflict, InvalidInput, PermissionDenied
from shuyuan.core.models import AuditEvent, ChangeRecord
from shuyuan.core.synthetic import make_id_number
from shuyuan.identity import actions
from shuyuan.identity.models import Role, RoleAssignment, User
from shuyuan.identity.pii import pii_cipher
from shuyuan.identity.queries import list_users

ID = make_id_number("410102", dt.date(2011, 3, 7), 123, "M")


@pytest.fixture
def admin(make_user):
    return make_user("platform_admin", None, username="root")


@pytest.fixture
def school_admin_a(make_user, tree):
    return make_user("school_admin", tree.school_a, username="sa_a")


def _create(actor, org, **kw):
    defaults = {"username": "li.lei", "real_name": "Li Lei", "home_org": org, "id_number": ID}
    defaults.update(kw)
    return actions.create_user(actor=actor, **defaults)


def test_create_user_encrypts_and_masks_id_number(school_admin_a, tree):
    user = _create(school_admin_a, tree.school_a)
    user.refresh_from_db()
    assert ID.encode() not in bytes(user.id_number_cipher)
    assert pii_cipher().decrypt(bytes(user.id_number_cipher)) == ID
    assert user.id_number_masked == ID[:4] + "*" * 10 + ID[-4:]
    assert user.birth_date == dt.date(2011, 3, 7)


def test_create_user_change_record_holds_no_plaintext_pii(school_admin_a, tree):
    user = _create(school_admin_a, tree.school_a, mobile="13812345678")
    record = ChangeRecord.objects.get(target_type="identity.user", target_id=str(user.pk))
    text = str(record.changes)
    assert ID not in text
    assert "13812345678" not in text
    assert record.changes["id_number_cipher"] == [None, "[redacted]"]


def test_create_user_full_width_id_number_normalised(school_admin_a, tree):
    full_width = ID.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    user = _create(school_admin_a, tree.school_a, id_number=full_width)
    assert pii_cipher().decrypt(bytes(user.id_number_cipher)) == ID


def test_create_user_bad_checksum_names_field_and_stores_nothing(school_admin_a, tree):
    bad = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as exc:
        _create(school_admin_a, tree.school_a, id_number=bad)
    assert exc.value.field == "id_number"
    assert exc.value.code == "ID_NUMBER_CHECKSUM"
    assert not User.objects.filter(username="li.lei").exists()


def test_create_user_impossible_birth_date_rejected(school_admin_a, tree):
    from shuyuan.core import validators

    first17 = "41010220110230123"
    with pytest.raises(InvalidInput) as exc:
        _create(
            school_admin_a,
            tree.school_a,
            id_number=first17 + validators.id_number_check_char(first17),
        )
    assert exc.value.code == "ID_NUMBER_BIRTH_DATE"


def test_create_second_account_for_same_person_conflicts(school_admin_a, admin, tree):
    _create(school_admin_a, tree.school_a)
    with pytest.raises(Conflict) as exc:
        _create(admin, tree.school_b, username="lilei2", id_number=ID.lower())
    assert exc.value.code == "DUPLICATE_ID_NUMBER"
    assert User.objects.filter(real_name="Li Lei").count() == 1


def test_create_user_duplicate_username_conflicts(school_admin_a, tree):
    _create(school_admin_a, tree.school_a)
    with pytest.raises(Conflict) as exc:
        _create(school_admin_a, tree.school_a, id_number=None)
    assert exc.value.code == "DUPLICATE_USERNAME"


def test_create_user_digit_only_username_rejected(school_admin_a, tree):
    with pytest.raises(InvalidInput) as exc:
        _create(school_admin_a, tree.school_a, username="13812345678")
    assert exc.value.field == "username"


def test_create_user_weak_password_rejected(school_admin_a, tree):
    with pytest.raises(InvalidInput) as exc:
        _create(school_admin_a, tree.school_a, password="password")
    assert exc.value.code == "WEAK_PASSWORD"


def test_create_user_in_foreign_school_denied(school_admin_a, tree):
    with pytest.raises(PermissionDenied):
        _create(school_admin_a, tree.school_b)
    assert not User.objects.filter(username="li.lei").exists()


def test_teacher_who_is_parent_has_one_account_two_roles(admin, make_user, tree):
    child = make_user(Role.STUDENT, tree.class_b)
    teacher = make_user(Role.TEACHER, tree.school_a)
    actions.grant_role(actor=admin, user=teacher, role=Role.PARENT, child=child)
    roles = set(RoleAssignment.objects.filter(user=teacher).values_list("role", flat=True))
    assert roles == {Role.TEACHER, Role.PARENT}
    assert RoleAssignment.objects.get(user=teacher, role=Role.PARENT).org == tree.class_b


def test_grant_parent_role_without_child_rejected(admin, make_user, tree):
    user = make_user(None, tree.school_a)
    with pytest.raises(InvalidInput) as exc:
        actions.grant_role(actor=admin, user=user, role=Role.PARENT, org=tree.class_a)
    assert exc.value.field == "child"


def test_grant_role_on_wrong_org_kind_rejected(admin, make_user, tree):
    user = make_user(None, tree.school_a)
    with pytest.raises(InvalidInput) as exc:
        actions.grant_role(actor=admin, user=user, role=Role.HEAD_TEACHER, org=tree.school_a)
    assert exc.value.code == "ROLE_ORG_KIND"


def test_school_admin_cannot_grant_platform_admin(school_admin_a, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a)
    with pytest.raises(PermissionDenied):
        actions.grant_role(actor=school_admin_a, user=user, role=Role.PLATFORM_ADMIN)


def test_school_admin_cannot_grant_role_in_other_school(school_admin_a, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a)
    with pytest.raises(PermissionDenied):
        actions.grant_role(actor=school_admin_a, user=user, role=Role.TEACHER, org=tree.school_b)


def test_grant_same_role_twice_conflicts(admin, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a)
    with pytest.raises(Conflict):
        actions.grant_role(actor=admin, user=user, role=Role.TEACHER, org=tree.school_a)


def test_revoke_role_is_logged_and_audited(admin, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a)
    assignment = RoleAssignment.objects.get(user=user)
    pk = assignment.pk
    actions.revoke_role(actor=admin, assignment=assignment)
    assert not RoleAssignment.objects.filter(pk=pk).exists()
    assert ChangeRecord.objects.filter(
        target_type="identity.roleassignment", target_id=str(pk), action="delete"
    ).exists()
    assert AuditEvent.objects.filter(code="identity.role.revoked").exists()
    assert verify_changelog().ok


def test_school_admin_cannot_reset_password_of_user_with_role_elsewhere(
    school_admin_a, make_user, tree
):
    """A region admin who is also a parent at school A stays out of school A's admin's reach."""
    child = make_user(Role.STUDENT, tree.class_a)
    region_admin = make_user(Role.REGION_ADMIN, tree.region)
    actions.grant_role(
        actor=make_user(Role.PLATFORM_ADMIN, None), user=region_admin, role=Role.PARENT, child=child
    )
    with pytest.raises(PermissionDenied):
        actions.reset_password(actor=school_admin_a, user=region_admin)


def test_reset_password_gives_policy_compliant_temporary_password(school_admin_a, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a)
    temporary = actions.reset_password(actor=school_admin_a, user=user)
    user.refresh_from_db()
    assert user.check_password(temporary)
    assert user.must_change_password
    assert AuditEvent.objects.filter(
        code="identity.password.reset", subject_id=str(user.pk)
    ).exists()


def test_reveal_pii_by_school_admin_is_audited(school_admin_a, make_user, tree):
    user = make_user(Role.STUDENT, tree.class_a, id_number=ID)
    assert actions.reveal_pii(actor=school_admin_a, user=user, field="id_number") == ID
    event = AuditEvent.objects.get(code="identity.pii.revealed")
    assert event.actor_id == school_admin_a.pk
    assert event.subject_id == str(user.pk)


def test_reveal_pii_by_teacher_denied_and_audited(make_user, tree):
    teacher = make_user(Role.TEACHER, tree.school_a)
    student = make_user(Role.STUDENT, tree.class_a, id_number=ID)
    with pytest.raises(PermissionDenied):
        actions.reveal_pii(actor=teacher, user=student, field="id_number")
    assert AuditEvent.objects.filter(code="identity.pii.denied").exists()


def test_list_users_finds_by_id_number_through_blind_index(school_admin_a, make_user, tree):
    student = make_user(Role.STUDENT, tree.class_a, id_number=ID)
    assert list(list_users(school_admin_a, q=ID)) == [student]


def test_list_users_finds_by_mobile(school_admin_a, make_user, tree):
    student = make_user(Role.STUDENT, tree.class_a, mobile="13912345678")
    assert list(list_users(school_admin_a, q="+86 139 1234 5678")) == [student]


def test_deactivate_self_rejected(school_admin_a):
    with pytest.raises(InvalidInput):
        actions.update_user(actor=school_admin_a, user=school_admin_a, is_active=False)


def test_change_password_wrong_current_rejected(make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a, password="Old-Password-1")
    with pytest.raises(InvalidInput) as exc:
        actions.change_password(actor=user, current_password="nope", new_password="New-Pass-2024x")
    assert exc.value.field == "current_password"


def test_mfa_required_by_default_for_platform_admin(admin):
    assert actions.mfa_required_for(admin)


def test_mfa_policy_override_for_teacher(admin, make_user, tree):
    teacher = make_user(Role.TEACHER, tree.school_a)
    assert not actions.mfa_required_for(teacher)
    actions.set_role_policy(actor=admin, role=Role.TEACHER, mfa_required=True)
    assert actions.mfa_required_for(teacher)


def test_set_role_policy_by_non_platform_admin_denied(school_admin_a):
    with pytest.raises(PermissionDenied):
        actions.set_role_policy(actor=school_admin_a, role=Role.TEACHER, mfa_required=True)


def test_school_admin_cannot_detach_account_from_school(school_admin_a, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a)
    with pytest.raises(InvalidInput) as exc:
        actions.update_user(actor=school_admin_a, user=user, home_org=None)
    assert exc.value.field == "home_org"
    user.refresh_from_db()
    assert user.home_org == tree.school_a


def test_reset_password_revokes_api_tokens(school_admin_a, make_user, tree):
    user = make_user(Role.TEACHER, tree.school_a)
    _token, raw = actions.create_api_token(actor=user, name="laptop")
    assert actions.authenticate_token(raw) == user
    actions.reset_password(actor=school_admin_a, user=user)
    assert actions.authenticate_token(raw) is None


def test_change_password_wrong_current_counts_towards_lockout(make_user, tree, settings):
    settings.SHUYUAN_LOCKOUT_THRESHOLD = 2
    user = make_user(Role.TEACHER, tree.school_a, password="Old-Password-1")
    for _attempt in range(2):
        with pytest.raises((InvalidInput, PermissionDenied)):
            actions.change_password(
                actor=user, current_password="guess", new_password="New-Pass-2024x"
            )
    user.refresh_from_db()
    assert user.is_locked()
    with pytest.raises(PermissionDenied):
        actions.change_password(
            actor=user, current_password="Old-Password-1", new_password="New-Pass-2024x"
        )


def test_role_grant_appears_on_account_timeline_and_chain_verifies(tree, make_user):
    from django.db import connection

    from shuyuan.core.changelog import verify_changelog
    from shuyuan.core.models import ChangeRecord
    from shuyuan.core.queries import record_timeline

    admin = make_user("platform_admin", None)
    teacher = make_user("teacher", tree.school_a)
    assignment = actions.grant_role(
        actor=admin, user=teacher, role="head_teacher", org=tree.class_a
    )
    timeline = list(record_timeline(admin, "identity.user", str(teacher.pk)))
    assert any(
        r.target_type == "identity.roleassignment" and r.target_id == str(assignment.pk)
        for r in timeline
    )
    assert verify_changelog().ok
    record = ChangeRecord.objects.get(
        target_type="identity.roleassignment", target_id=str(assignment.pk)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_changerecord SET parent_id = %s WHERE id = %s", ["999", record.pk]
        )
    assert verify_changelog().first_bad_seq == record.seq
