"""Org tree actions: codes validated, one school one code, cycles impossible, history kept."""

from __future__ import annotations

import pytest

from shuyuan.core.actions import create_org, move_org, update_org
from shuyuan.core.errors import Conflict, InvalidInput, PermissionDenied
from shuyuan.core.models import ChangeRecord, Org, OrgKind
from shuyuan.core.queries import org_history
from shuyuan.core.synthetic import make_credit_code


@pytest.fixture
def admin(make_user):
    return make_user("platform_admin", None, username="root")


@pytest.fixture
def school_admin_a(make_user, tree):
    return make_user("school_admin", tree.school_a)


def test_create_region_with_valid_division_code(admin, db):
    org = create_org(actor=admin, kind=OrgKind.REGION, name="Hubei", division_code="420000")
    assert org.depth == 0
    assert org.path.endswith("/")


def test_create_region_with_malformed_division_code_names_field(admin, db):
    with pytest.raises(InvalidInput) as exc:
        create_org(actor=admin, kind=OrgKind.REGION, name="X", division_code="42000")
    assert exc.value.field == "division_code"
    assert not Org.objects.exists()


def test_create_region_with_city_level_code_rejected(admin, db):
    with pytest.raises(InvalidInput) as exc:
        create_org(actor=admin, kind=OrgKind.REGION, name="X", division_code="420100")
    assert exc.value.field == "division_code"


def test_create_city_outside_parent_code_rejected(admin, tree):
    with pytest.raises(InvalidInput) as exc:
        create_org(
            actor=admin, kind=OrgKind.CITY, name="Wuhan", parent=tree.region, division_code="420100"
        )
    assert exc.value.code == "DIVISION_CODE_OUTSIDE_PARENT"


def test_create_duplicate_division_code_conflicts(admin, tree):
    with pytest.raises(Conflict) as exc:
        create_org(
            actor=admin,
            kind=OrgKind.COUNTY,
            name="Zhongyuan again",
            parent=tree.city,
            division_code="410102",
        )
    assert exc.value.code == "DUPLICATE_DIVISION_CODE"


def test_create_school_assigns_platform_school_code(admin, tree):
    school = create_org(
        actor=admin,
        kind=OrgKind.SCHOOL,
        name="School C",
        parent=tree.county_a,
        credit_code=make_credit_code("410102", 77),
    )
    assert school.school_code == "S4101020002"


def test_create_school_with_bad_credit_code_checksum_rejected(admin, tree):
    code = make_credit_code("410102", 78)
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as exc:
        create_org(
            actor=admin, kind=OrgKind.SCHOOL, name="School D", parent=tree.county_a, credit_code=bad
        )
    assert exc.value.field == "credit_code"
    assert exc.value.code == "CREDIT_CODE_CHECKSUM"


def test_create_school_with_duplicate_credit_code_conflicts(admin, tree):
    with pytest.raises(Conflict) as exc:
        create_org(
            actor=admin,
            kind=OrgKind.SCHOOL,
            name="Copy",
            parent=tree.county_a,
            credit_code=tree.school_a.credit_code,
        )
    assert exc.value.code == "DUPLICATE_CREDIT_CODE"


def test_create_class_directly_under_school_rejected(admin, tree):
    with pytest.raises(InvalidInput) as exc:
        create_org(actor=admin, kind=OrgKind.CLASS, name="Class", parent=tree.school_a)
    assert exc.value.code == "ORG_PARENT_KIND"


def test_create_blank_name_rejected(admin, tree):
    with pytest.raises(InvalidInput) as exc:
        create_org(actor=admin, kind=OrgKind.GRADE, name="   ", parent=tree.school_a)
    assert exc.value.field == "name"


def test_school_admin_cannot_create_under_other_school(school_admin_a, tree):
    with pytest.raises(PermissionDenied):
        create_org(actor=school_admin_a, kind=OrgKind.GRADE, name="G", parent=tree.school_b)
    assert not Org.objects.filter(name="G").exists()


def test_school_admin_can_create_grade_in_own_school(school_admin_a, tree):
    grade = create_org(
        actor=school_admin_a, kind=OrgKind.GRADE, name="Grade 8", parent=tree.school_a
    )
    assert grade.path.startswith(tree.school_a.path)


def test_move_org_under_own_descendant_is_a_cycle(admin, tree):
    with pytest.raises(InvalidInput) as exc:
        move_org(actor=admin, org=tree.city, new_parent=tree.county_a)
    assert exc.value.code == "ORG_CYCLE"
    tree.city.refresh_from_db()
    assert tree.city.parent_id == tree.region.pk


def test_move_org_under_itself_is_a_cycle(admin, tree):
    with pytest.raises(InvalidInput) as exc:
        move_org(actor=admin, org=tree.school_a, new_parent=tree.school_a)
    assert exc.value.code == "ORG_CYCLE"


def test_move_school_rewrites_subtree_paths(admin, tree):
    move_org(actor=admin, org=tree.school_a, new_parent=tree.county_b)
    for org in (tree.school_a, tree.grade_a, tree.class_a):
        org.refresh_from_db()
        assert org.path.startswith(tree.county_b.path)
    tree.class_a.refresh_from_db()
    assert tree.class_a.depth == 5


def test_move_keeps_history_of_old_parent(admin, tree):
    move_org(actor=admin, org=tree.school_a, new_parent=tree.county_b)
    history = list(org_history(admin, tree.school_a))
    moves = [r for r in history if "parent_id" in r.changes]
    assert moves[0].changes["parent_id"] == [tree.county_a.pk, tree.county_b.pk]
    assert ChangeRecord.objects.filter(action="bulk", target_id=str(tree.school_a.pk)).exists()


def test_rename_keeps_old_name_in_history(admin, tree):
    update_org(actor=admin, org=tree.school_a, name="New name")
    update_org(actor=admin, org=tree.school_a, name="Newer name")
    names = [r.changes["name"] for r in org_history(admin, tree.school_a) if "name" in r.changes]
    assert ["School A", "New name"] in names
    assert ["New name", "Newer name"] in names


def test_move_region_admin_cannot_move_into_foreign_subtree(make_user, tree, admin):
    other = create_org(actor=admin, kind=OrgKind.REGION, name="Hubei", division_code="420000")
    region_admin = make_user("region_admin", tree.city)
    with pytest.raises(PermissionDenied):
        move_org(actor=region_admin, org=tree.school_a, new_parent=other)
