"""Registry rows as OneRoster 1.2 JSON objects (REST binding §7 of the reference).

* ``dateLastModified`` is ISO 8601 in UTC with milliseconds and ``Z``; dates are ``YYYY-MM-DD``;
  booleans are the strings ``"true"``/``"false"``.
* References are ``{"href", "sourcedId", "type"}`` with an absolute ``href`` to the single read.
  Schools and other orgs are ``core.Org`` rows in the registry; a reference to one names the
  org's ``OrgRecord`` (the lowest sourcedId if several sources map the same org). An org with no
  record is named ``shuyuan-org-<id>`` (such a reference does not resolve).
* Optional fields are left out when empty. PII: ``sms`` carries the *masked* mobile number;
  ID numbers never appear, only their masked copy in ``metadata["cn.idNumberMasked"]``.
  Chinese fields sit under ``metadata`` with ``cn.`` keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..models import AcademicSession, Course, Enrollment, OrgRecord, Person, RosterClass

Json = dict[str, Any]

#: The object fields each kind may have (what ``fields=`` accepts).
COMMON_FIELDS = ("sourcedId", "status", "dateLastModified", "metadata")
OBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "org": (*COMMON_FIELDS, "name", "type", "identifier", "parent", "children"),
    "academicSession": (
        *COMMON_FIELDS,
        "title",
        "startDate",
        "endDate",
        "type",
        "parent",
        "children",
        "schoolYear",
    ),
    "course": (
        *COMMON_FIELDS,
        "title",
        "schoolYear",
        "courseCode",
        "grades",
        "subjects",
        "org",
        "subjectCodes",
        "resources",
    ),
    "class": (
        *COMMON_FIELDS,
        "title",
        "classCode",
        "classType",
        "location",
        "grades",
        "subjects",
        "course",
        "school",
        "terms",
        "subjectCodes",
        "periods",
        "resources",
    ),
    "user": (
        *COMMON_FIELDS,
        "userMasterIdentifier",
        "username",
        "userIds",
        "enabledUser",
        "givenName",
        "familyName",
        "middleName",
        "preferredFirstName",
        "preferredMiddleName",
        "preferredLastName",
        "pronouns",
        "roles",
        "userProfiles",
        "identifier",
        "email",
        "sms",
        "phone",
        "agents",
        "grades",
        "password",
        "resources",
        "primaryOrg",
    ),
    "enrollment": (
        *COMMON_FIELDS,
        "class",
        "user",
        "school",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ),
    "demographics": (
        *COMMON_FIELDS,
        "birthDate",
        "sex",
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
        "countryOfBirthCode",
        "stateOfBirthAbbreviation",
        "cityOfBirth",
        "publicSchoolResidenceStatus",
    ),
}

_REF_PATH = {
    "org": "orgs",
    "academicSession": "academicSessions",
    "course": "courses",
    "class": "classes",
    "user": "users",
}


def iso_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _prune(obj: Json) -> Json:
    """Drop optional keys without a value (``None``, ``""``; empty ``metadata``)."""
    return {k: v for k, v in obj.items() if v is not None and v != "" and v != {}}


class Context:
    """What serialising a page needs: the API base URL and the org id → sourcedId map."""

    def __init__(self, base_url: str, org_sourced_ids: dict[int, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.org_sourced_ids = org_sourced_ids or {}

    def ref(self, kind: str, sourced_id: str) -> Json:
        return {
            "href": f"{self.base_url}/{_REF_PATH[kind]}/{sourced_id}",
            "sourcedId": sourced_id,
            "type": kind,
        }

    def org_ref(self, org_id: int | None) -> Json | None:
        if org_id is None:
            return None
        return self.ref("org", self.org_sourced_ids.get(org_id) or f"shuyuan-org-{org_id}")


def _common(row: Any) -> Json:
    return {
        "sourcedId": row.sourced_id,
        "status": row.status,
        "dateLastModified": iso_datetime(row.date_last_modified),
    }


def org(row: OrgRecord, ctx: Context) -> Json:
    obj = {
        **_common(row),
        "name": row.name,
        "type": row.type,
        "identifier": row.identifier,
        "parent": ctx.ref("org", row.parent.sourced_id) if row.parent else None,
        "children": [ctx.ref("org", c.sourced_id) for c in row.children.all()] or None,
    }
    obj = _prune(obj)
    obj.setdefault("identifier", "")
    return obj


def academic_session(row: AcademicSession, ctx: Context) -> Json:
    return _prune(
        {
            **_common(row),
            "title": row.title,
            "startDate": _date(row.start_date),
            "endDate": _date(row.end_date),
            "type": row.type,
            "parent": ctx.ref("academicSession", row.parent.sourced_id) if row.parent else None,
            "children": [ctx.ref("academicSession", c.sourced_id) for c in row.children.all()]
            or None,
            "schoolYear": str(row.school_year),
        }
    )


def course(row: Course, ctx: Context) -> Json:
    obj = _prune(
        {
            **_common(row),
            "title": row.title,
            "schoolYear": (
                ctx.ref("academicSession", row.school_year.sourced_id) if row.school_year else None
            ),
            "courseCode": row.course_code,
            "grades": list(row.grades or []) or None,
            "subjects": list(row.subjects or []) or None,
            "org": ctx.org_ref(row.org_id),
            "subjectCodes": list(row.subject_codes or []) or None,
        }
    )
    obj.setdefault("courseCode", "")
    return obj


def roster_class(row: RosterClass, ctx: Context) -> Json:
    return _prune(
        {
            **_common(row),
            "title": row.title,
            "classCode": row.class_code,
            "classType": row.class_type,
            "location": row.location,
            "grades": list(row.grades or []) or None,
            "subjects": list(row.subjects or []) or None,
            "course": ctx.ref("course", row.course.sourced_id),
            "school": ctx.org_ref(row.school_id),
            "terms": [ctx.ref("academicSession", t.sourced_id) for t in row.terms.all()],
            "subjectCodes": list(row.subject_codes or []) or None,
            "periods": list(row.periods or []) or None,
        }
    )


def _names(row: Person) -> tuple[str, str]:
    """(givenName, familyName): what the source sent; else the whole name as the given name."""
    return (row.given_name or row.name, row.family_name)


def user(row: Person, ctx: Context) -> Json:
    given, family = _names(row)
    roles = [
        _prune(
            {
                "roleType": r.role_type,
                "role": r.role,
                "org": ctx.org_ref(r.org_id),
                "beginDate": _date(r.begin_date),
                "endDate": _date(r.end_date),
            }
        )
        for r in row.roles.all()
    ]
    agents = [ctx.ref("user", g.guardian.sourced_id) for g in row.guardians.all()]
    agents += [ctx.ref("user", w.student.sourced_id) for w in row.wards.all()]
    metadata = _prune(
        {
            "cn.fullName": row.name,
            "cn.studentNumber": row.student_number,
            "cn.idNumberMasked": row.id_number_masked,
        }
    )
    obj = _prune(
        {
            **_common(row),
            "metadata": metadata,
            "username": row.username,
            "enabledUser": _bool(row.enabled),
            "givenName": given,
            "familyName": family,
            "roles": roles,
            "identifier": row.identifier,
            "email": row.email,
            "sms": row.mobile_masked,
            "agents": agents or None,
            "grades": list(row.grades or []) or None,
            "primaryOrg": ctx.org_ref(row.primary_org_id),
        }
    )
    obj["userIds"] = []
    obj.setdefault("givenName", "")
    obj.setdefault("familyName", "")
    return obj


def enrollment(row: Enrollment, ctx: Context) -> Json:
    return _prune(
        {
            **_common(row),
            "user": ctx.ref("user", row.person.sourced_id),
            "class": ctx.ref("class", row.roster_class.sourced_id),
            "school": ctx.org_ref(row.school_id),
            "role": row.role,
            "primary": _bool(row.primary),
            "beginDate": _date(row.begin_date),
            "endDate": _date(row.end_date),
        }
    )


def demographics(row: Person, ctx: Context) -> Json:
    return _prune(
        {
            **_common(row),
            "metadata": _prune({"cn.ethnicity": row.ethnicity}),
            "birthDate": _date(row.birth_date),
            "sex": row.sex,
        }
    )


def select(obj: Json, fields: Iterable[str] | None) -> Json:
    """``obj`` with only ``fields`` (all of it when ``fields`` is ``None``)."""
    if fields is None:
        return obj
    return {f: obj[f] for f in fields if f in obj}
