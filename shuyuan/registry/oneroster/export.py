"""A OneRoster 1.2 CSV bundle (bulk) of everything under one org's subtree.

What goes in (active records only; merged people never):

* classes at schools in the subtree; courses owned in the subtree or used by those classes;
  academic sessions owned in the subtree, the terms of those classes and the school years of
  those courses; org records of orgs in the subtree and of the included courses' orgs;
* people whose primary org or some role's org is in the subtree, or who are enrolled at a
  school in it, plus the guardians of those people; their roles at orgs in the subtree;
  enrolments at schools in the subtree; demographics of the included people who have any.

A reference to a record that is not in the bundle (an org's parent above the subtree, a
primary org elsewhere) is left blank, so the bundle is semantically complete. ``status`` and
``dateLastModified`` are blank (bulk rule of the CSV binding). A file with no rows is left out
and marked ``absent`` in the manifest.

PII: mobile and ID numbers are never exported in plain, whoever exports: the masked copies go
into ``metadata.cn.mobileMasked`` / ``metadata.cn.idNumberMasked`` and ``sms`` stays blank (a
masked value in ``sms`` would not be a phone number). ``username`` (required in CSV) falls back
to the sourcedId.

Cells: CR/LF inside a value become spaces (the binding forbids them), and a value beginning
with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading apostrophe (OWASP CSV injection),
numbers included, so a spreadsheet never evaluates it.

Memory: rows are read in keyset chunks of ``CHUNK`` (values only) and written through a
streaming ``zipfile`` member, so the bundle size does not bound memory; only the id → sourcedId
maps of orgs and sessions (thousands of rows) are held.
"""

from __future__ import annotations

import csv
import io
import operator
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from functools import reduce
from typing import IO, Any

from django.db.models import Q, QuerySet

from shuyuan.core.models import Org

from ..choices import RecordStatus
from ..importing.readers import MANIFEST_FILE_ORDER, standard_header
from ..importing.types import FILE_ORDER
from ..models import (
    AcademicSession,
    ClassTerm,
    Course,
    Enrollment,
    Guardianship,
    OrgRecord,
    Person,
    PersonRole,
    RosterClass,
)

CHUNK = 2000
SYSTEM_NAME = "Shuyuan"
_METADATA_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "metadata.cn.fullName",
        "metadata.cn.studentNumber",
        "metadata.cn.idNumberMasked",
        "metadata.cn.mobileMasked",
    ),
    "demographics": ("metadata.cn.ethnicity",),
}
HEADERS: dict[str, tuple[str, ...]] = {
    table: standard_header(table) + _METADATA_COLUMNS.get(table, ()) for table in FILE_ORDER
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One CSV cell: text, no CR/LF inside, formula-looking values neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = ",".join(str(v) for v in value)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def _chunks(qs: QuerySet[Any], fields: Sequence[str]) -> Iterator[list[tuple[Any, ...]]]:
    """``qs`` as lists of value tuples (``pk`` first), by keyset pagination on ``pk``."""
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:CHUNK])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _under(field: str, path: str) -> Q:
    return Q(**{f"{field}__startswith": path})


class _Scope:
    """The querysets of one export (see the module docstring)."""

    def __init__(self, org: Org) -> None:
        p = org.path
        active = Q(status=RecordStatus.ACTIVE)
        self.path = p
        self.classes = RosterClass.objects.filter(active & _under("school__path", p))
        self.courses = Course.objects.filter(
            active & (_under("org__path", p) | Q(pk__in=self.classes.values("course_id")))
        )
        self.sessions = AcademicSession.objects.filter(
            active
            & reduce(
                operator.or_,
                [
                    _under("org__path", p),
                    Q(
                        pk__in=ClassTerm.objects.filter(roster_class__in=self.classes).values(
                            "term_id"
                        )
                    ),
                    Q(pk__in=self.courses.values("school_year_id")),
                ],
            )
        )
        self.orgs = OrgRecord.objects.filter(
            active & (_under("org__path", p) | Q(org_id__in=self.courses.values("org_id")))
        )
        members = (
            _under("primary_org__path", p)
            | Q(pk__in=PersonRole.objects.filter(_under("org__path", p)).values("person_id"))
            | Q(pk__in=Enrollment.objects.filter(_under("school__path", p)).values("person_id"))
        )
        live = active & Q(merged_into__isnull=True)
        base_people = Person.objects.filter(live & members)
        guardians = Guardianship.objects.filter(student__in=base_people).values("guardian_id")
        self.people = Person.objects.filter(live & (members | Q(pk__in=guardians)))
        live_person = Q(person__status=RecordStatus.ACTIVE, person__merged_into__isnull=True)
        self.roles = PersonRole.objects.filter(active & live_person & _under("org__path", p))
        self.enrollments = Enrollment.objects.filter(
            active & live_person & _under("school__path", p)
        )
        self.demographics = self.people.exclude(birth_date__isnull=True, sex="", ethnicity="")


def _org_map(scope: _Scope) -> tuple[dict[int, str], set[str]]:
    """``core.Org`` id → sourcedId of its (lowest) record, and the exported org sourcedIds."""
    by_org: dict[int, str] = {}
    sids: set[str] = set()
    for org_id, sid in scope.orgs.order_by("org_id", "sourced_id").values_list(
        "org_id", "sourced_id"
    ):
        by_org.setdefault(org_id, sid)
        sids.add(sid)
    return by_org, sids


def _rows(scope: _Scope) -> dict[str, Iterable[list[Any]]]:
    """Each file's rows as lazy generators (in file order)."""
    org_ids, org_sids = _org_map(scope)
    session_sids = dict(scope.sessions.values_list("pk", "sourced_id"))

    def orgs() -> Iterator[list[Any]]:
        fields: tuple[str, ...] = ("sourced_id", "name", "type", "identifier", "parent__sourced_id")
        for chunk in _chunks(scope.orgs, fields):
            for _pk, sid, name, typ, ident, parent in chunk:
                yield [sid, "", "", name, typ, ident, parent if parent in org_sids else ""]

    def sessions() -> Iterator[list[Any]]:
        fields: tuple[str, ...] = (
            "sourced_id",
            "title",
            "type",
            "start_date",
            "end_date",
            "parent_id",
        )
        fields = (*fields, "school_year")
        for chunk in _chunks(scope.sessions, fields):
            for _pk, sid, title, typ, start, end, parent, year in chunk:
                parent_sid = session_sids.get(parent, "") if parent else ""
                yield [sid, "", "", title, typ, start, end, parent_sid, year]

    def courses() -> Iterator[list[Any]]:
        fields: tuple[str, ...] = (
            "sourced_id",
            "school_year_id",
            "title",
            "course_code",
            "grades",
            "org_id",
        )
        fields = (*fields, "subjects", "subject_codes")
        for chunk in _chunks(scope.courses, fields):
            for _pk, sid, year, title, code, grades, org, subjects, codes in chunk:
                yield [
                    sid, "", "", session_sids.get(year, "") if year else "", title, code,
                    grades, org_ids.get(org, ""), subjects, codes,
                ]  # fmt: skip

    def classes() -> Iterator[list[Any]]:
        fields: tuple[str, ...] = (
            "sourced_id",
            "title",
            "grades",
            "course__sourced_id",
            "class_code",
        )
        fields = (*fields, "class_type", "location", "school_id", "subjects")
        fields = (*fields, "subject_codes", "periods")
        for chunk in _chunks(scope.classes, fields):
            terms: dict[int, list[str]] = {}
            pairs = (
                ClassTerm.objects.filter(roster_class_id__in=[r[0] for r in chunk])
                .order_by("term__sourced_id")
                .values_list("roster_class_id", "term__sourced_id")
            )
            for class_id, term_sid in pairs:
                terms.setdefault(class_id, []).append(term_sid)
            for pk, sid, title, grades, course, code, typ, loc, school, subj, codes, per in chunk:
                yield [
                    sid, "", "", title, grades, course, code, typ, loc, org_ids.get(school, ""),
                    terms.get(pk, []), subj, codes, per,
                ]  # fmt: skip

    def users() -> Iterator[list[Any]]:
        fields: tuple[str, ...] = ("sourced_id", "enabled", "username", "given_name", "family_name")
        fields = (*fields, "identifier", "email", "grades", "primary_org_id", "name")
        fields = (*fields, "student_number", "id_number_masked", "mobile_masked")
        for chunk in _chunks(scope.people, fields):
            pks = [r[0] for r in chunk]
            agents: dict[int, list[str]] = {}
            for student_id, guardian_sid in (
                Guardianship.objects.filter(student_id__in=pks, guardian__merged_into__isnull=True)
                .order_by("guardian__sourced_id")
                .values_list("student_id", "guardian__sourced_id")
            ):
                agents.setdefault(student_id, []).append(guardian_sid)
            for guardian_id, student_sid in (
                Guardianship.objects.filter(guardian_id__in=pks)
                .filter(student__in=scope.people)
                .order_by("student__sourced_id")
                .values_list("guardian_id", "student__sourced_id")
            ):
                agents.setdefault(guardian_id, []).append(student_sid)
            for row in chunk:
                pk, sid, enabled, username, given, family, ident, email, grades = row[:9]
                primary, name, xjh, id_masked, mobile_masked = row[9:]
                yield [
                    sid, "", "", enabled, username or sid, "", given or name, family, "",
                    ident, email, "", "", agents.get(pk, []), grades, "", "", "", "", "",
                    org_ids.get(primary, "") if primary else "", "", name, xjh, id_masked,
                    mobile_masked,
                ]  # fmt: skip

    def roles() -> Iterator[list[Any]]:
        fields: tuple[str, ...] = (
            "sourced_id",
            "person__sourced_id",
            "role_type",
            "role",
            "begin_date",
        )
        fields = (*fields, "end_date", "org_id")
        for chunk in _chunks(scope.roles, fields):
            for _pk, sid, user, rtype, role, begin, end, org in chunk:
                yield [sid, "", "", user, rtype, role, begin, end, org_ids.get(org, ""), ""]

    def enrollments() -> Iterator[list[Any]]:
        fields: tuple[str, ...] = (
            "sourced_id",
            "roster_class__sourced_id",
            "school_id",
            "person__sourced_id",
        )
        fields = (*fields, "role", "primary", "begin_date", "end_date")
        for chunk in _chunks(scope.enrollments, fields):
            for _pk, sid, klass, school, user, role, primary, begin, end in chunk:
                yield [
                    sid, "", "", klass, org_ids.get(school, ""), user, role, primary, begin, end,
                ]  # fmt: skip

    def demographics() -> Iterator[list[Any]]:
        for chunk in _chunks(scope.demographics, ("sourced_id", "birth_date", "sex", "ethnicity")):
            for _pk, sid, birth, sex, ethnicity in chunk:
                yield [sid, "", "", birth, sex, *[""] * 11, ethnicity]

    return {
        "orgs": orgs(),
        "academicSessions": sessions(),
        "courses": courses(),
        "classes": classes(),
        "users": users(),
        "roles": roles(),
        "enrollments": enrollments(),
        "demographics": demographics(),
    }


def exportable_orgs(user: Any) -> QuerySet[Org]:
    """Orgs whose bundle ``user`` may download: those with an org record the user may view
    (the registry's ``view`` rule on records; platform admins: all)."""
    visible: QuerySet[Any] = OrgRecord.objects.visible_to(user, "view").values("org_id")
    return Org.objects.filter(pk__in=visible).order_by("path")


def access_exportable_org(user: Any, pk: int) -> Org | None:
    """The org ``pk`` if ``user`` may export it, else ``None`` (the view answers 404)."""
    return exportable_orgs(user).filter(pk=pk).first()


def write_bundle(org: Org, out_file: IO[bytes], *, user: Any = None) -> dict[str, int]:
    """Write the bundle of ``org``'s subtree (a zip, ZIP_DEFLATED) to ``out_file``; return the
    row count of each data file. ``user`` is accepted for the caller's audit trail; the export
    is the same for everyone (masked PII only, see the module docstring)."""
    scope = _Scope(org)
    present = {
        "orgs": scope.orgs,
        "academicSessions": scope.sessions,
        "courses": scope.courses,
        "classes": scope.classes,
        "users": scope.people,
        "roles": scope.roles,
        "enrollments": scope.enrollments,
        "demographics": scope.demographics,
    }
    counts: dict[str, int] = {}
    with zipfile.ZipFile(out_file, "w", zipfile.ZIP_DEFLATED) as zf:
        rows = _rows(scope)
        for name, qs in present.items():
            if not qs.exists():
                counts[name] = 0
                continue
            n = 0
            with (
                zf.open(f"{name}.csv", "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
            ):
                writer = csv.writer(text, lineterminator="\r\n")
                writer.writerow(HEADERS[name])
                for row in rows[name]:
                    writer.writerow([cell(v) for v in row])
                    n += 1
            counts[name] = n
        manifest = io.StringIO()
        writer = csv.writer(manifest, lineterminator="\r\n")
        writer.writerow(["propertyName", "value"])
        writer.writerow(["manifest.version", "1.0"])
        writer.writerow(["oneroster.version", "1.2"])
        for name in MANIFEST_FILE_ORDER:
            writer.writerow([f"file.{name}", "bulk" if counts.get(name) else "absent"])
        writer.writerow(["source.systemName", SYSTEM_NAME])
        zf.writestr("manifest.csv", manifest.getvalue().encode("utf-8"))
    return counts
