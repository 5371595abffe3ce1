"""Helpers shared by the quality, merge, record and export tests (no tests of its own).

Rows are written directly with the ORM as the system actor, as the importer would leave them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone

from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.models import Org
from shuyuan.core.synthetic import make_id_number
from shuyuan.identity.actions.accounts import id_number_index, mobile_index
from shuyuan.identity.models import Role
from shuyuan.identity.pii import pii_cipher
from shuyuan.registry.choices import (
    ClassType,
    EnrollmentRole,
    MatchReason,
    RoleType,
    RosterRole,
    SourceKind,
)
from shuyuan.registry.models import (
    Course,
    Enrollment,
    Finding,
    ImportBatch,
    MatchCandidate,
    Person,
    PersonRole,
    RosterClass,
    SourceSystem,
)

_serial = itertools.count(1)


def system() -> Any:
    """The change context the tests write fixtures in."""
    return change_context(actor=system_actor(), source="system")


def person(
    source: SourceSystem,
    org: Org | None,
    name: str = "Zhang San",
    *,
    id_number: str | None = None,
    mobile: str | None = None,
    **fields: Any,
) -> Person:
    n = next(_serial)
    row = Person(
        sourced_id=fields.pop("sourced_id", f"{source.id_prefix}p{n}"),
        source=source,
        name=name,
        name_key=fields.pop("name_key", name.lower().replace(" ", "")),
        primary_org=org,
        **fields,
    )
    cipher = pii_cipher()
    if id_number:
        row.id_number_cipher = cipher.encrypt(id_number)
        row.id_number_index = id_number_index(id_number)
        row.id_number_masked = id_number[:4] + "*" * 10 + id_number[-4:]
    if mobile:
        row.mobile_cipher = cipher.encrypt(mobile)
        row.mobile_index = mobile_index(mobile)
        row.mobile_masked = mobile[:3] + "****" + mobile[-4:]
    with system():
        row.save(force_insert=True)
    return row


def roster_class(source: SourceSystem, school: Org, title: str = "Class 1") -> RosterClass:
    n = next(_serial)
    with system(), bulk_writes():
        course = Course.objects.create(
            sourced_id=f"{source.id_prefix}c{n}", source=source, title="Maths", org=school
        )
        return RosterClass.objects.create(
            sourced_id=f"{source.id_prefix}k{n}",
            source=source,
            title=title,
            class_type=ClassType.HOMEROOM,
            course=course,
            school=school,
        )


def enroll(who: Person, klass: RosterClass, role: str = EnrollmentRole.STUDENT) -> Enrollment:
    n = next(_serial)
    with system(), bulk_writes():
        return Enrollment.objects.create(
            sourced_id=f"e{n}",
            source=who.source,
            person=who,
            roster_class=klass,
            school=klass.school,
            role=role,
        )


def give_role(who: Person, org: Org, role: str = RosterRole.STUDENT) -> PersonRole:
    n = next(_serial)
    with system(), bulk_writes():
        return PersonRole.objects.create(
            sourced_id=f"r{n}",
            source=who.source,
            person=who,
            role=role,
            role_type=RoleType.PRIMARY,
            org=org,
        )


def batch(source: SourceSystem, org: Org, counts: dict[str, Any] | None = None) -> ImportBatch:
    return ImportBatch.objects.create(
        source=source,
        org=org,
        format="oneroster_csv",
        file="registry/imports/x.zip",
        file_name="bundle.zip",
        digest="0" * 64,
        counts=counts or {},
        status="succeeded",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )


def finding(org: Org, **fields: Any) -> Finding:
    values: dict[str, Any] = {
        "code": "INVALID_ID_NUMBER",
        "dimension": "validity",
        "severity": "error",
        "file": "users.csv",
        "row": 2,
        "column": "identifier",
        "message": "The ID number is not valid.",
    }
    values.update(fields)
    return Finding.objects.create(org=org, **values)


def candidate(left: Person, right: Person, org: Org, **fields: Any) -> MatchCandidate:
    with system():
        row = MatchCandidate(
            left=left,
            right=right,
            org=org,
            reason=fields.pop("reason", MatchReason.SAME_ID_NUMBER),
            score=fields.pop("score", 1.0),
            **fields,
        )
        row.save(force_insert=True)
    return row


ID_1 = make_id_number("410102", dt.date(2011, 3, 7), 11, "M")
ID_2 = make_id_number("410102", dt.date(2012, 4, 8), 21, "F")


def mfa() -> dict[str, Any]:
    """Roles that require MFA need an enrolled factor, or the session guard redirects."""
    return {"totp_confirmed_at": timezone.now()}


@pytest.fixture
def sources(tree: Any) -> tuple[SourceSystem, SourceSystem]:
    """The school MIS (no prefix) and the public-security feed (``gat/``)."""
    with system():
        mis = SourceSystem(
            code="mis", name="MIS", kind=SourceKind.SCHOOL_MIS, id_prefix="", org=tree.region
        )
        mis.save()
        gat = SourceSystem(
            code="gat",
            name="GAT",
            kind=SourceKind.PUBLIC_SECURITY,
            id_prefix="gat/",
            org=tree.region,
        )
        gat.save()
    return mis, gat


@pytest.fixture
def region_admin(make_user: Any, tree: Any) -> Any:
    return make_user(Role.REGION_ADMIN, tree.region, username="ra", **mfa())


@pytest.fixture
def school_admin_a(make_user: Any, tree: Any) -> Any:
    return make_user(Role.SCHOOL_ADMIN, tree.school_a, username="sa.a")


@pytest.fixture
def school_admin_b(make_user: Any, tree: Any) -> Any:
    return make_user(Role.SCHOOL_ADMIN, tree.school_b, username="sa.b")


@pytest.fixture
def teacher_a(make_user: Any, tree: Any) -> Any:
    return make_user(Role.TEACHER, tree.school_a, username="t.a")


@pytest.fixture
def auditor(make_user: Any, tree: Any) -> Any:
    return make_user(Role.AUDITOR, tree.region, username="aud", **mfa())
