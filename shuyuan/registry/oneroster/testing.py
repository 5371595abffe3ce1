"""Test helpers of the OneRoster API: a small roster over the ``tree`` fixture, clients, tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.models import Org

from ..choices import (
    AccessRequestStatus,
    ClassType,
    EnrollmentRole,
    OrgType,
    RoleType,
    RosterRole,
    SessionType,
    SharingLevel,
)
from ..models import (
    AcademicSession,
    AccessRequest,
    ApiClient,
    ClassTerm,
    Course,
    Dataset,
    Enrollment,
    Guardianship,
    OrgRecord,
    Person,
    PersonRole,
    RosterClass,
    SourceSystem,
)
from .auth import ALL_SCOPES, issue_token

BASE = "/ims/oneroster/rostering/v1p2"
ALL_TYPES = [
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "enrollments",
]


@dataclass
class Roster:
    """The fixture's rows: school A (in county A) and school B (in county B)."""

    source: SourceSystem
    tree: Any


def _ctx() -> Any:
    return change_context(actor=system_actor(), source="system")


def person(
    source: SourceSystem, sid: str, org: Org, role: str = RosterRole.STUDENT, **kw: Any
) -> Person:
    """A person with a primary role at ``org``."""
    with _ctx(), bulk_writes():
        p = Person.objects.create(sourced_id=sid, source=source, primary_org=org, **kw)
        PersonRole.objects.create(
            sourced_id=f"role-{sid}",
            source=source,
            person=p,
            role=role,
            role_type=RoleType.PRIMARY,
            org=org,
        )
    return p


def build_roster(tree: Any, source: SourceSystem) -> Roster:
    """Org records, sessions, courses, classes, people and enrolments in both schools."""
    with _ctx(), bulk_writes():
        ca = OrgRecord.objects.create(
            sourced_id="org-ca",
            source=source,
            org=tree.county_a,
            name="County A",
            type=OrgType.DISTRICT,
            identifier="410102",
        )
        OrgRecord.objects.create(
            sourced_id="org-sa",
            source=source,
            org=tree.school_a,
            name="School A",
            type=OrgType.SCHOOL,
            identifier="S4101020001",
            parent=ca,
        )
        OrgRecord.objects.create(
            sourced_id="org-sb",
            source=source,
            org=tree.school_b,
            name="School B",
            type=OrgType.SCHOOL,
            identifier="S4101030001",
        )
        sessions: dict[str, AcademicSession] = {}
        for sid, org, typ, parent in (
            ("y-a", tree.school_a, SessionType.SCHOOL_YEAR, None),
            ("t-a", tree.school_a, SessionType.TERM, "y-a"),
            ("gp-a", tree.school_a, SessionType.GRADING_PERIOD, "t-a"),
            ("t-b", tree.school_b, SessionType.TERM, None),
        ):
            sessions[sid] = AcademicSession.objects.create(
                sourced_id=sid,
                source=source,
                title=sid.upper(),
                type=typ,
                org=org,
                start_date=dt.date(2025, 9, 1),
                end_date=dt.date(2026, 7, 1),
                school_year=2026,
                parent=sessions.get(parent or ""),
            )
        classes = {}
        for suffix, school in (("a", tree.school_a), ("b", tree.school_b)):
            course = Course.objects.create(
                sourced_id=f"c-{suffix}",
                source=source,
                title=f"Maths {suffix}",
                org=school,
                course_code=f"MA-{suffix}" if suffix == "a" else "",
            )
            classes[suffix] = RosterClass.objects.create(
                sourced_id=f"k-{suffix}",
                source=source,
                title=f"Class 7-1 {suffix}",
                class_type=ClassType.HOMEROOM,
                course=course,
                school=school,
                grades=["07"],
            )
            ClassTerm.objects.create(roster_class=classes[suffix], term=sessions[f"t-{suffix}"])
    s_a = person(
        source,
        "s-a",
        tree.school_a,
        name="Zhang San",
        family_name="Zhang",
        given_name="San",
        student_number="G410102200001011234",
        mobile_masked="138****0000",
        id_number_masked="4101**********1234",
        birth_date=dt.date(2012, 5, 1),
        sex="male",
        ethnicity="01",
        username="zhangsan",
        email="s-a@example.cn",
    )
    t_a = person(source, "t-a", tree.school_a, RosterRole.TEACHER, name="Li Si")
    s_b = person(source, "s-b", tree.school_b, name="Wang Wu", birth_date=dt.date(2012, 1, 1))
    g_a = person(source, "g-a", tree.school_a, RosterRole.GUARDIAN, name="Zhang Da")
    with _ctx(), bulk_writes():
        Person.objects.create(
            sourced_id="s-merged",
            source=source,
            name="Zhang San 2",
            primary_org=tree.school_a,
            merged_into=s_a,
        )
        Guardianship.objects.create(sourced_id="gd-a", source=source, guardian=g_a, student=s_a)
        for sid, who, klass, school, role in (
            ("e-s-a", s_a, classes["a"], tree.school_a, EnrollmentRole.STUDENT),
            ("e-t-a", t_a, classes["a"], tree.school_a, EnrollmentRole.TEACHER),
            ("e-s-b", s_b, classes["b"], tree.school_b, EnrollmentRole.STUDENT),
        ):
            Enrollment.objects.create(
                sourced_id=sid,
                source=source,
                person=who,
                roster_class=klass,
                school=school,
                role=role,
                primary=role == EnrollmentRole.TEACHER,
            )
    return Roster(source, tree)


def make_dataset(
    org: Org,
    code: str,
    *,
    sharing: str = SharingLevel.UNCONDITIONAL,
    types: list[str] | None = None,
    demographics: bool = False,
) -> Dataset:
    with _ctx():
        ds = Dataset(
            code=code,
            title=code,
            org=org,
            entity_types=types or ALL_TYPES,
            includes_demographics=demographics,
            sharing_level=sharing,
        )
        ds.save()
    return ds


def make_client(
    org: Org,
    client_id: str = "app",
    secret: str = "s3cret-value",  # noqa: S107  # test secret
    scopes: Any = ALL_SCOPES,
) -> ApiClient:
    with _ctx():
        client = ApiClient(
            client_id=client_id,
            secret_hash=make_password(secret),
            name=client_id,
            org=org,
            scopes=list(scopes),
        )
        client.save()
    return client


def approve(client: ApiClient, dataset: Dataset, valid_until: dt.date | None = None) -> None:
    with _ctx():
        AccessRequest(
            dataset=dataset,
            client=client,
            purpose="test",
            status=AccessRequestStatus.APPROVED,
            valid_until=valid_until,
        ).save()


def auth_header(client: ApiClient, scopes: Any = ALL_SCOPES) -> dict[str, str]:
    token, _row = issue_token(client, list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def roster(tree: Any, make_source: Any) -> Roster:
    return build_roster(tree, make_source(tree.region))
