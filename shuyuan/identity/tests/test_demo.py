"""The demo region: complete, idempotent, logged in the chain, one login per role."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shuyuan.core.changelog import verify_changelog
from shuyuan.core.models import Org, OrgKind
from shuyuan.identity.demo import demo_logins, load_demo
from shuyuan.identity.models import Role, RoleAssignment, User
from shuyuan.identity.pii import pii_cipher

SMALL = {"students_per_class": 2, "classes_per_grade": 1, "schools_per_county": 2}


@pytest.fixture
def demo(db):
    return load_demo(**SMALL)


def test_load_demo_builds_region_cities_counties_schools(demo):
    assert Org.objects.filter(kind=OrgKind.REGION).count() == 1
    assert Org.objects.filter(kind=OrgKind.CITY).count() == 2
    assert Org.objects.filter(kind=OrgKind.COUNTY).count() == 4
    assert Org.objects.filter(kind=OrgKind.SCHOOL).count() == 8


def test_load_demo_has_one_login_per_role(demo):
    assert {login.role for login in demo.logins} == set(Role.values)


def test_load_demo_parents_are_bound_to_children(demo):
    parent = RoleAssignment.objects.filter(role=Role.PARENT).exclude(child=None).first()
    assert parent.child.role_assignments.filter(role=Role.STUDENT).exists()


def test_load_demo_encrypts_id_numbers_and_chain_verifies(demo):
    student = User.objects.filter(role_assignments__role=Role.STUDENT).first()
    number = pii_cipher().decrypt(bytes(student.id_number_cipher))
    assert student.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    assert verify_changelog().ok


def test_load_demo_second_run_changes_nothing(demo):
    before = User.objects.count()
    again = load_demo(**SMALL)
    assert again.already_loaded
    assert User.objects.count() == before


def test_demo_logins_reads_totp_secrets_back(demo):
    secrets = {login.role: login.totp_secret for login in demo_logins()}
    assert secrets[Role.PLATFORM_ADMIN]
    assert secrets[Role.TEACHER] is None


def test_load_demo_command_prints_logins(db, settings):
    settings.DEVELOPMENT = True
    out = StringIO()
    call_command("load_demo", "--students-per-class", "1", "--classes-per-grade", "1", stdout=out)
    text = out.getvalue()
    assert "Loaded" in text
    assert "platform_admin" in text


def test_load_demo_command_refused_in_production(db, settings):
    settings.DEVELOPMENT = False
    with pytest.raises(CommandError):
        call_command("load_demo", stdout=StringIO())
