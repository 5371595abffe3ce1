"""Reads of the OneRoster API: each collection's rows, limited to what a client may read.

A client reads collection C in the org subtrees of the datasets that grant it C
(``queries.catalog.client_datasets``): unconditional datasets and conditional ones with an
approved, unexpired request. The dataset ``entity_types`` keys that grant each collection:

================  =============================================================
collection        dataset keys
================  =============================================================
orgs              ``orgs``
schools           ``orgs``, ``schools``
academicSessions  ``academicSessions``; terms/gradingPeriods also ``terms`` /
                  ``gradingPeriods``
courses           ``courses``
classes           ``classes``
enrollments       ``enrollments``
users             ``users``
students          ``users``, ``students``
teachers          ``users``, ``teachers``
demographics      ``users`` or ``demographics``, only in datasets with
                  ``includes_demographics``
================  =============================================================

Where a row is: orgs and sessions and courses by their ``org``, classes and enrolments by their
school, a person by their primary org or any role's org (as the portal's rule). People merged
into another record are never served. The client's filter is AND-ed with this restriction, so
an ``OR`` cannot widen it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.db.models import Model, Prefetch, Q, QuerySet

from ..choices import EnrollmentRole, RosterRole, SessionType
from ..models import (
    AcademicSession,
    ClassTerm,
    Course,
    Dataset,
    Enrollment,
    Guardianship,
    OrgRecord,
    Person,
    PersonRole,
    RosterClass,
)
from ..queries.catalog import client_datasets
from . import serializers as ser
from .auth import SCOPE_CORE, SCOPE_DEMOGRAPHICS, SCOPE_ROSTER
from .filters import FieldSpec

NONE = Q(pk__in=[])


def _any(field_name: str, paths: list[str]) -> Q:
    if not paths:
        return NONE
    return reduce(operator.or_, (Q(**{f"{field_name}__startswith": p}) for p in paths))


def person_in(paths: list[str]) -> Q:
    """People whose primary org or some role's org is in one of ``paths``."""
    if not paths:
        return NONE
    roles = PersonRole.objects.filter(_any("org__path", paths)).values("person_id")
    return _any("primary_org__path", paths) | Q(pk__in=roles)


def _org_via(attr: str) -> Callable[[Q], Q]:
    """A ``via`` for a reference to a ``core.Org`` (named by its OrgRecord's sourcedId)."""
    return lambda q: Q(**{f"{attr}_id__in": OrgRecord.objects.filter(q).values("org_id")})


def _person_sub(model: type[Model], attr: str = "person_id") -> Callable[[Q], Q]:
    return lambda q: Q(pk__in=model._default_manager.filter(q).values(attr))


def _class_term_via(q: Q) -> Q:
    return Q(pk__in=ClassTerm.objects.filter(q).values("roster_class_id"))


COMMON: dict[str, FieldSpec] = {
    "sourcedId": FieldSpec("sourced_id"),
    "status": FieldSpec("status"),
    "dateLastModified": FieldSpec("date_last_modified", "datetime"),
}

ORG_FIELDS = {
    **COMMON,
    "name": FieldSpec("name"),
    "type": FieldSpec("type"),
    "identifier": FieldSpec("identifier"),
    "parent.sourcedId": FieldSpec("parent__sourced_id"),
}
SESSION_FIELDS = {
    **COMMON,
    "title": FieldSpec("title"),
    "type": FieldSpec("type"),
    "startDate": FieldSpec("start_date", "date"),
    "endDate": FieldSpec("end_date", "date"),
    "schoolYear": FieldSpec("school_year", "int"),
    "parent.sourcedId": FieldSpec("parent__sourced_id"),
}
COURSE_FIELDS = {
    **COMMON,
    "title": FieldSpec("title"),
    "courseCode": FieldSpec("course_code"),
    "schoolYear.sourcedId": FieldSpec("school_year__sourced_id"),
    "org.sourcedId": FieldSpec("sourced_id", via=_org_via("org")),
}
CLASS_FIELDS = {
    **COMMON,
    "title": FieldSpec("title"),
    "classCode": FieldSpec("class_code"),
    "classType": FieldSpec("class_type"),
    "location": FieldSpec("location"),
    "course.sourcedId": FieldSpec("course__sourced_id"),
    "school.sourcedId": FieldSpec("sourced_id", via=_org_via("school")),
    "terms.sourcedId": FieldSpec("term__sourced_id", via=_class_term_via),
}
USER_FIELDS = {
    **COMMON,
    "enabledUser": FieldSpec("enabled", "bool"),
    "givenName": FieldSpec("given_name"),
    "familyName": FieldSpec("family_name"),
    "username": FieldSpec("username"),
    "email": FieldSpec("email"),
    "identifier": FieldSpec("identifier"),
    "primaryOrg.sourcedId": FieldSpec("sourced_id", via=_org_via("primary_org")),
    "role": FieldSpec("role", via=_person_sub(PersonRole)),
    "roles.role": FieldSpec("role", via=_person_sub(PersonRole)),
    "roles.roleType": FieldSpec("role_type", via=_person_sub(PersonRole)),
    "roles.org.sourcedId": FieldSpec("sourced_id", via=lambda q: _role_org(q)),
    "metadata.cn.studentNumber": FieldSpec("student_number"),
    "metadata.cn.fullName": FieldSpec("name"),
}
ENROLLMENT_FIELDS = {
    **COMMON,
    "role": FieldSpec("role"),
    "primary": FieldSpec("primary", "bool"),
    "beginDate": FieldSpec("begin_date", "date"),
    "endDate": FieldSpec("end_date", "date"),
    "user.sourcedId": FieldSpec("person__sourced_id"),
    "class.sourcedId": FieldSpec("roster_class__sourced_id"),
    "school.sourcedId": FieldSpec("sourced_id", via=_org_via("school")),
}
DEMOGRAPHICS_FIELDS = {
    **COMMON,
    "birthDate": FieldSpec("birth_date", "date"),
    "sex": FieldSpec("sex"),
    "metadata.cn.ethnicity": FieldSpec("ethnicity"),
}


def _role_org(q: Q) -> Q:
    """``roles.org.sourcedId``: people with a role at an org whose record matches ``q``."""
    orgs = OrgRecord.objects.filter(q).values("org_id")
    return Q(pk__in=PersonRole.objects.filter(org_id__in=orgs).values("person_id"))


@dataclass(frozen=True)
class Collection:
    """One OneRoster collection: its rows, scope, filters and JSON shape."""

    name: str
    envelope: str
    singular: str
    kind: str
    model: type[Model]
    dataset_keys: tuple[str, ...]
    scope_attr: str  # the org path lookup; "person" for people
    fields: dict[str, FieldSpec]
    serialize: Callable[[Any, ser.Context], ser.Json]
    scope: str = SCOPE_CORE
    base: Q = field(default_factory=Q)
    demographics: bool = False

    def scopes_ok(self, granted: list[str], nested: bool = False) -> bool:
        """Whether a token's scopes allow this collection (roster-core and roster are
        alternatives; nested endpoints need roster.readonly)."""
        if self.demographics:
            return SCOPE_DEMOGRAPHICS in granted
        if nested:
            return SCOPE_ROSTER in granted
        return SCOPE_CORE in granted or SCOPE_ROSTER in granted


def _c(name: str, envelope: str, singular: str, kind: str, **kw: Any) -> Collection:
    return Collection(name=name, envelope=envelope, singular=singular, kind=kind, **kw)


_student = Q(pk__in=PersonRole.objects.filter(role=RosterRole.STUDENT).values("person_id"))
_teacher = Q(pk__in=PersonRole.objects.filter(role=RosterRole.TEACHER).values("person_id"))
_org_args: dict[str, Any] = {
    "model": OrgRecord,
    "scope_attr": "org__path",
    "fields": ORG_FIELDS,
    "serialize": ser.org,
}
_session_args: dict[str, Any] = {
    "model": AcademicSession,
    "scope_attr": "org__path",
    "fields": SESSION_FIELDS,
    "serialize": ser.academic_session,
}
_user_args: dict[str, Any] = {
    "model": Person,
    "scope_attr": "person",
    "fields": USER_FIELDS,
    "serialize": ser.user,
}

COLLECTIONS: dict[str, Collection] = {
    c.name: c
    for c in (
        _c("orgs", "orgs", "org", "org", dataset_keys=("orgs",), **_org_args),
        _c("schools", "orgs", "org", "org", dataset_keys=("orgs", "schools"), **_org_args,
           base=Q(type="school")),
        _c("academicSessions", "academicSessions", "academicSession", "academicSession",
           dataset_keys=("academicSessions",), **_session_args),
        _c("terms", "academicSessions", "academicSession", "academicSession",
           dataset_keys=("academicSessions", "terms"), base=Q(type=SessionType.TERM),
           **_session_args),
        _c("gradingPeriods", "academicSessions", "academicSession", "academicSession",
           dataset_keys=("academicSessions", "gradingPeriods"),
           base=Q(type=SessionType.GRADING_PERIOD), **_session_args),
        _c("courses", "courses", "course", "course", model=Course, dataset_keys=("courses",),
           scope_attr="org__path", fields=COURSE_FIELDS, serialize=ser.course),
        _c("classes", "classes", "class", "class", model=RosterClass, dataset_keys=("classes",),
           scope_attr="school__path", fields=CLASS_FIELDS, serialize=ser.roster_class),
        _c("enrollments", "enrollments", "enrollment", "enrollment", model=Enrollment,
           dataset_keys=("enrollments",), scope_attr="school__path", fields=ENROLLMENT_FIELDS,
           serialize=ser.enrollment),
        _c("users", "users", "user", "user", dataset_keys=("users",), **_user_args),
        _c("students", "users", "user", "user", dataset_keys=("users", "students"),
           base=_student, **_user_args),
        _c("teachers", "users", "user", "user", dataset_keys=("users", "teachers"),
           base=_teacher, **_user_args),
        _c("demographics", "demographics", "demographics", "demographics", model=Person,
           dataset_keys=("users", "demographics"), scope_attr="person",
           fields=DEMOGRAPHICS_FIELDS, serialize=ser.demographics, scope=SCOPE_DEMOGRAPHICS,
           demographics=True),
    )
}  # fmt: skip


@dataclass
class Grant:
    """What a client may read of one collection: subtree paths and the datasets granting them."""

    paths: list[str]
    datasets: list[Dataset]


def client_grant(client: Any, coll: Collection) -> Grant:
    """The org subtrees ``client`` may read ``coll`` in (nested paths collapsed)."""
    datasets: dict[int, Dataset] = {}
    for key in coll.dataset_keys:
        for d in client_datasets(client, key):
            if coll.demographics and not d.includes_demographics:
                continue
            datasets.setdefault(d.pk, d)
    ordered = sorted(datasets.values(), key=lambda d: (d.org.path, d.code))
    paths: list[str] = []
    for path in sorted({d.org.path for d in ordered}):
        if not paths or not path.startswith(paths[-1]):
            paths.append(path)
    return Grant(paths, ordered)


def scope_q(coll: Collection, paths: list[str]) -> Q:
    """Rows of ``coll`` inside ``paths`` (nothing when empty)."""
    if coll.scope_attr == "person":
        return person_in(paths) & Q(merged_into__isnull=True)
    return _any(coll.scope_attr, paths)


def base_queryset(coll: Collection, paths: list[str]) -> QuerySet[Any]:
    """Every row of ``coll`` the client may read, with what serialising needs loaded."""
    qs: QuerySet[Any] = coll.model._default_manager.filter(scope_q(coll, paths) & coll.base)
    if coll.kind == "org":
        children = OrgRecord.objects.filter(_any("org__path", paths)).order_by("sourced_id")
        qs = qs.select_related("parent").prefetch_related(Prefetch("children", queryset=children))
    elif coll.kind == "academicSession":
        children = AcademicSession.objects.filter(_any("org__path", paths)).order_by("sourced_id")
        qs = qs.select_related("parent").prefetch_related(Prefetch("children", queryset=children))
    elif coll.kind == "course":
        qs = qs.select_related("school_year")
    elif coll.kind == "class":
        qs = qs.select_related("course").prefetch_related(
            Prefetch("terms", queryset=AcademicSession.objects.order_by("sourced_id"))
        )
    elif coll.kind == "user":
        roles = PersonRole.objects.filter(_any("org__path", paths)).order_by("sourced_id")
        qs = qs.prefetch_related(
            Prefetch("roles", queryset=roles),
            Prefetch(
                "guardians",
                queryset=Guardianship.objects.select_related("guardian").order_by("sourced_id"),
            ),
            Prefetch(
                "wards",
                queryset=Guardianship.objects.select_related("student").order_by("sourced_id"),
            ),
        )
    elif coll.kind == "enrollment":
        qs = qs.select_related("person", "roster_class")
    return qs


def org_ids_of(coll: Collection, rows: list[Any]) -> set[int]:
    """The ``core.Org`` ids the serialised rows refer to (resolved in one query)."""
    ids: set[int] = set()
    for row in rows:
        if coll.kind == "course":
            ids.add(row.org_id)
        elif coll.kind in {"class", "enrollment"}:
            ids.add(row.school_id)
        elif coll.kind == "user":
            if row.primary_org_id:
                ids.add(row.primary_org_id)
            ids.update(r.org_id for r in row.roles.all())
    return ids


def org_sourced_ids(org_ids: set[int]) -> dict[int, str]:
    """``core.Org`` id → the sourcedId of its OrgRecord (the lowest if several)."""
    if not org_ids:
        return {}
    result: dict[int, str] = {}
    pairs = (
        OrgRecord.objects.filter(org_id__in=org_ids)
        .order_by("org_id", "sourced_id")
        .values_list("org_id", "sourced_id")
    )
    for org_id, sid in pairs:
        result.setdefault(org_id, sid)
    return result


# --- nested collections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Nested:
    """``/<parent>/{id}/<child>``: ``parents`` are the collections of the path's ids (outermost
    first); ``rows`` narrows the child's rows given the parent rows."""

    parents: tuple[str, ...]
    child: str
    rows: Callable[[list[Any]], Q]


def _enrolled(role: str) -> Callable[[list[Any]], Q]:
    def rows(parents: list[Any]) -> Q:
        klass = parents[-1]
        return Q(
            pk__in=Enrollment.objects.filter(roster_class=klass, role=role).values("person_id")
        )

    return rows


def _at_school(role: str, enrol_role: str) -> Callable[[list[Any]], Q]:
    """People with ``role`` at an org in the school's subtree, or enrolled there as
    ``enrol_role``."""

    def rows(parents: list[Any]) -> Q:
        school = parents[0].org
        with_role = PersonRole.objects.filter(role=role, org__path__startswith=school.path)
        enrolled = Enrollment.objects.filter(school=school, role=enrol_role)
        return Q(pk__in=with_role.values("person_id")) | Q(pk__in=enrolled.values("person_id"))

    return rows


def _school_courses(parents: list[Any]) -> Q:
    school = parents[0].org
    used = RosterClass.objects.filter(school=school).values("course_id")
    return Q(org__path__startswith=school.path) | Q(pk__in=used)


def _school_terms(parents: list[Any]) -> Q:
    school = parents[0].org
    used = ClassTerm.objects.filter(roster_class__school=school).values("term_id")
    return Q(org__path__startswith=school.path) | Q(pk__in=used)


def _person_classes(parents: list[Any]) -> Q:
    return Q(pk__in=Enrollment.objects.filter(person=parents[0]).values("roster_class_id"))


NESTED: dict[str, Nested] = {
    "class_students": Nested(("classes",), "students", _enrolled(EnrollmentRole.STUDENT)),
    "class_teachers": Nested(("classes",), "teachers", _enrolled(EnrollmentRole.TEACHER)),
    "course_classes": Nested(("courses",), "classes", lambda p: Q(course=p[0])),
    "school_classes": Nested(("schools",), "classes", lambda p: Q(school=p[0].org)),
    "school_class_enrollments": Nested(
        ("schools", "classes"), "enrollments", lambda p: Q(roster_class=p[1])
    ),
    "school_class_students": Nested(
        ("schools", "classes"), "students", _enrolled(EnrollmentRole.STUDENT)
    ),
    "school_class_teachers": Nested(
        ("schools", "classes"), "teachers", _enrolled(EnrollmentRole.TEACHER)
    ),
    "school_courses": Nested(("schools",), "courses", _school_courses),
    "school_enrollments": Nested(("schools",), "enrollments", lambda p: Q(school=p[0].org)),
    "school_students": Nested(
        ("schools",), "students", _at_school(RosterRole.STUDENT, EnrollmentRole.STUDENT)
    ),
    "school_teachers": Nested(
        ("schools",), "teachers", _at_school(RosterRole.TEACHER, EnrollmentRole.TEACHER)
    ),
    "school_terms": Nested(("schools",), "terms", _school_terms),
    "student_classes": Nested(("students",), "classes", _person_classes),
    "teacher_classes": Nested(("teachers",), "classes", _person_classes),
    "term_classes": Nested(
        ("terms",),
        "classes",
        lambda p: Q(pk__in=ClassTerm.objects.filter(term=p[0]).values("roster_class_id")),
    ),
    "term_grading_periods": Nested(("terms",), "gradingPeriods", lambda p: Q(parent=p[0])),
    "user_classes": Nested(("users",), "classes", _person_classes),
}


def find_parent(coll: Collection, paths: list[str], sourced_id: str) -> Any | None:
    """The row of ``coll`` named ``sourced_id`` if the client may read it (else ``None``)."""
    qs = coll.model._default_manager.filter(scope_q(coll, paths) & coll.base)
    if coll.kind == "org":
        qs = qs.select_related("org")
    return qs.filter(sourced_id=sourced_id).first()
