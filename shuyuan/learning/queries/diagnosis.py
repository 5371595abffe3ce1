"""Reads of intelligent diagnosis: a student's mastery report with the weak prerequisites found
through the knowledge graph, a class's heat map, item statistics, diagnosis runs, and their
CSV / XLSX exports.

Who sees what (``learning.permissions``): a student report is for the student, the teachers of
the student's classes, the student's parents and the administrators of the student's school
(``Mastery`` rules); a class report is for the teachers of the class (``taught_class_ids``) and
the administrators of its subtree; anyone else gets ``NotFound``.

Levels: ``mastered`` from ``MASTERED`` (0.8), ``developing`` from ``DEVELOPING`` (0.5), else
``weak``. A weak point's weak prerequisites are the points up to ``PREREQUISITE_DEPTH`` steps
before it in the graph that the student has not mastered or never answered, lowest first.

Exports are safe to open in a spreadsheet: CSV is UTF-8 with a BOM (Excel detects the
encoding) and every text cell that could start a formula (``= + - @``, tab, carriage return)
gets a leading apostrophe, in CSV and XLSX alike (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org, OrgKind
from shuyuan.identity.models import Role, RoleAssignment, User
from shuyuan.identity.queries import role_paths
from shuyuan.resources.models import KnowledgePoint
from shuyuan.resources.queries import graph

from .. import permissions
from ..models import (
    Assessment,
    DiagnosisRun,
    DiagnosisRunStatus,
    ItemStatistic,
    Mastery,
    PaperItem,
)

MASTERED = 0.8
DEVELOPING = 0.5
PREREQUISITE_DEPTH = 3
#: Discrimination below this flags an item for review.
LOW_DISCRIMINATION = 0.2
LEVEL_MASTERED = "mastered"
LEVEL_DEVELOPING = "developing"
LEVEL_WEAK = "weak"
LEVEL_UNKNOWN = "unknown"
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def level_of(probability: float | None) -> str:
    """``mastered``, ``developing``, ``weak``, or ``unknown`` (never assessed)."""
    if probability is None:
        return LEVEL_UNKNOWN
    if probability >= MASTERED:
        return LEVEL_MASTERED
    if probability >= DEVELOPING:
        return LEVEL_DEVELOPING
    return LEVEL_WEAK


def level_label(level: str) -> str:
    return {
        LEVEL_MASTERED: _("Mastered"),
        LEVEL_DEVELOPING: _("Developing"),
        LEVEL_WEAK: _("Weak"),
        LEVEL_UNKNOWN: _("Not assessed"),
    }[level]


# --- access -------------------------------------------------------------------------------------


def _student_not_found() -> NotFound:
    return NotFound(_("Student not found."), code="STUDENT_NOT_FOUND")


def may_view_student(user: Any, student_id: int) -> bool:
    """True if ``user`` may read ``student_id``'s diagnosis (the ``Mastery`` rules): oneself,
    one's students, one's children, the students of an administered subtree."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if student_id == user.pk or getattr(user, "is_platform_admin", False):
        return True
    if student_id in permissions.child_ids(user):
        return True
    if student_id in permissions.taught_student_ids(user):
        return True
    admin_paths = role_paths(user, permissions.ADMIN_ROLES)
    if not admin_paths:
        return False
    inside = Q()
    for path in admin_paths:
        inside |= Q(org__path__startswith=path)
    return bool(
        RoleAssignment.objects.filter(inside, role=Role.STUDENT, user_id=student_id).exists()
    )


def access_student(user: Any, pk: int) -> User:
    """Account ``pk`` if ``user`` may read its diagnosis, else ``NotFound``."""
    student: User | None = (
        User.objects.filter(pk=pk, is_active=True).only("pk", "username", "real_name").first()
    )
    if student is None or not may_view_student(user, student.pk):
        raise _student_not_found()
    return student


def viewer_role(user: Any, student: User) -> str:
    """How ``user`` reads ``student``'s report: ``self``, ``parent`` or ``staff``."""
    if user.pk == student.pk:
        return "self"
    if student.pk in permissions.child_ids(user) and not permissions.is_teacher(user):
        return "parent"
    return "staff"


def access_report_class(user: Any, pk: int) -> Org:
    """Class ``pk`` if ``user`` teaches it (``taught_class_ids``) or administers its subtree;
    else ``NotFound``."""
    org: Org | None = Org.objects.select_related("parent", "parent__parent").filter(pk=pk).first()
    if org is None or org.kind != OrgKind.CLASS or not may_report_class(user, org):
        raise NotFound(_("Class not found."), code="CLASS_NOT_FOUND")
    return org


def may_report_class(user: Any, org: Org) -> bool:
    if getattr(user, "is_platform_admin", False):
        return True
    if any(org.path.startswith(p) for p in role_paths(user, permissions.ADMIN_ROLES)):
        return True
    return org.pk in permissions.taught_class_ids(user)


def report_classes(user: Any) -> QuerySet[Org]:
    """The classes whose heat map ``user`` may open as a teacher, in tree order."""
    return Org.objects.filter(pk__in=permissions.taught_class_ids(user)).order_by("path")


# --- the student report -------------------------------------------------------------------------


@dataclass
class PointRow:
    """A student's mastery of one knowledge point (``probability`` None: never assessed)."""

    point: KnowledgePoint
    probability: float | None
    n_answers: int = 0
    n_correct: int = 0
    last_answered_at: dt.datetime | None = None
    distance: int = 0

    @property
    def level(self) -> str:
        return level_of(self.probability)

    @property
    def level_label(self) -> str:
        return level_label(self.level)

    @property
    def percent(self) -> int:
        return round((self.probability or 0.0) * 100)


@dataclass
class WeakPoint:
    row: PointRow
    prerequisites: list[PointRow] = field(default_factory=list)


@dataclass
class StudentReport:
    student: User
    rows: list[PointRow] = field(default_factory=list)
    weak: list[WeakPoint] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = {LEVEL_MASTERED: 0, LEVEL_DEVELOPING: 0, LEVEL_WEAK: 0}
        for row in self.rows:
            found[row.level] += 1
        return found


def student_mastery(user: Any, student: User) -> QuerySet[Mastery]:
    """``student``'s mastery rows ``user`` may read, points joined, lowest first."""
    return (
        Mastery.objects.visible_to(user)
        .filter(student=student.pk)
        .select_related("knowledge_point", "knowledge_point__subject")
        .order_by("probability", "knowledge_point__code")
    )


def student_report(user: Any, student: User) -> StudentReport:
    """``student``'s mastery per knowledge point (lowest first) and, for each weak point, its
    weakest prerequisites (see the module docstring). ``NotFound`` unless ``user`` may read
    the student. Four queries."""
    if not may_view_student(user, student.pk):
        raise _student_not_found()
    report = StudentReport(student=student)
    report.rows = [
        PointRow(m.knowledge_point, m.probability, m.n_answers, m.n_correct, m.last_answered_at)
        for m in student_mastery(user, student)
    ]
    weak_rows = [row for row in report.rows if row.level == LEVEL_WEAK]
    if not weak_rows:
        return report
    by_point = {row.point.pk: row for row in report.rows}
    maps = graph.edge_maps()
    found: dict[int, dict[int, int]] = {}
    for row in weak_rows:
        ancestors = graph.prerequisites_of([row.point.pk], PREREQUISITE_DEPTH, maps=maps)
        ancestors.pop(row.point.pk, None)
        found[row.point.pk] = {
            pk: distance
            for pk, distance in ancestors.items()
            if pk not in by_point or (by_point[pk].probability or 0.0) < MASTERED
        }
    unknown = {pk for ids in found.values() for pk in ids if pk not in by_point}
    points: dict[int, KnowledgePoint] = (
        KnowledgePoint.objects.visible_to(user).in_bulk(unknown) if unknown else {}
    )
    for row in weak_rows:
        prerequisites: list[PointRow] = []
        for pk, distance in found[row.point.pk].items():
            known = by_point.get(pk)
            if known is not None:
                prerequisites.append(
                    PointRow(
                        known.point,
                        known.probability,
                        known.n_answers,
                        known.n_correct,
                        known.last_answered_at,
                        distance,
                    )
                )
            elif pk in points:
                prerequisites.append(PointRow(points[pk], None, distance=distance))
        prerequisites.sort(
            key=lambda p: (
                p.probability is None,
                p.probability or 0.0,
                p.distance,
                p.point.code,
            )
        )
        report.weak.append(WeakPoint(row, prerequisites))
    return report


# --- the class report ---------------------------------------------------------------------------


@dataclass
class Cell:
    probability: float | None

    @property
    def level(self) -> str:
        return level_of(self.probability)

    @property
    def percent(self) -> int | None:
        return None if self.probability is None else round(self.probability * 100)


@dataclass
class PointColumn:
    point: KnowledgePoint
    mean: float
    n_students: int
    weak_student_ids: list[int] = field(default_factory=list)

    @property
    def level(self) -> str:
        return level_of(self.mean)

    @property
    def percent(self) -> int:
        return round(self.mean * 100)


@dataclass
class StudentLine:
    student: User
    cells: list[Cell] = field(default_factory=list)


@dataclass
class ClassReport:
    """A class's heat map: ``lines`` (students) x ``columns`` (points assessed in the class,
    weakest class mean first)."""

    class_org: Org
    columns: list[PointColumn] = field(default_factory=list)
    lines: list[StudentLine] = field(default_factory=list)

    def column_for(self, point_id: int) -> PointColumn | None:
        return next((c for c in self.columns if c.point.pk == point_id), None)


def class_students(user: Any, class_org: Org) -> list[User]:
    """Active accounts holding a student role at ``class_org``, by account name."""
    ids = RoleAssignment.objects.filter(role=Role.STUDENT, org=class_org).values("user_id")
    return list(
        User.objects.filter(pk__in=ids, is_active=True)
        .only("pk", "username", "real_name")
        .order_by("username")
    )


def class_report(user: Any, class_org: Org) -> ClassReport:
    """The heat map of ``class_org`` (teachers of the class and admins; ``NotFound`` for anyone
    else). Three queries whatever the class size."""
    if not may_report_class(user, class_org):
        raise NotFound(_("Class not found."), code="CLASS_NOT_FOUND")
    report = ClassReport(class_org=class_org)
    students = class_students(user, class_org)
    if not students:
        return report
    values: dict[tuple[int, int], float] = {}
    points: dict[int, KnowledgePoint] = {}
    rows: QuerySet[Mastery] = (
        Mastery.objects.visible_to(user)
        .filter(student__in=[s.pk for s in students])
        .select_related("knowledge_point")
        .only("student_id", "probability", "knowledge_point")
    )
    for m in rows:
        values[(m.student_id, m.knowledge_point_id)] = m.probability
        points[m.knowledge_point_id] = m.knowledge_point
    for pk, point in points.items():
        found = [values[(s.pk, pk)] for s in students if (s.pk, pk) in values]
        weak = [s.pk for s in students if level_of(values.get((s.pk, pk))) == LEVEL_WEAK]
        report.columns.append(PointColumn(point, sum(found) / len(found), len(found), weak))
    report.columns.sort(key=lambda c: (c.mean, c.point.code))
    report.lines = [
        StudentLine(s, [Cell(values.get((s.pk, c.point.pk))) for c in report.columns])
        for s in students
    ]
    return report


# --- item statistics and runs -------------------------------------------------------------------


@dataclass
class ItemRow:
    statistic: ItemStatistic

    @property
    def flagged(self) -> bool:
        d = self.statistic.discrimination
        return d is not None and d < LOW_DISCRIMINATION


def item_statistics(user: Any, assessment: Assessment | None = None) -> list[ItemRow]:
    """Statistics of the items ``user`` may see (of ``assessment``'s paper when given), least
    discriminating first (items without a discrimination last)."""
    qs: QuerySet[ItemStatistic] = (
        ItemStatistic.objects.visible_to(user)
        .select_related("item", "item__current_version", "item__subject")
        .order_by(F("discrimination").asc(nulls_last=True), "facility", "item_id")
    )
    if assessment is not None:
        items = PaperItem.objects.filter(paper_id=assessment.paper_id).values(
            "item_version__item_id"
        )
        qs = qs.filter(item_id__in=items)
    return [ItemRow(s) for s in qs[:1000]]


def access_assessment(user: Any, pk: int) -> Assessment:
    """Assessment ``pk`` if ``user`` may see it, else ``NotFound``."""
    found: Assessment | None = (
        Assessment.objects.visible_to(user).select_related("paper").filter(pk=pk).first()
    )
    if found is None:
        raise NotFound(_("Assessment not found."), code="ASSESSMENT_NOT_FOUND")
    return found


def list_runs(user: Any) -> QuerySet[DiagnosisRun]:
    """Diagnosis runs, newest first (teachers and administrators)."""
    return DiagnosisRun.objects.visible_to(user).select_related("requested_by")


def can_run(user: Any) -> bool:
    """True if ``user`` may start a diagnosis run (teachers and administrators)."""
    return bool(
        getattr(user, "is_platform_admin", False)
        or permissions.is_teacher(user)
        or role_paths(user, permissions.ADMIN_ROLES)
    )


def latest_run(user: Any) -> DiagnosisRun | None:
    """The latest finished run ``user`` may see."""
    run: DiagnosisRun | None = (
        list_runs(user).filter(status=DiagnosisRunStatus.DONE).order_by("-finished_at").first()
    )
    return run


def run_for_task(run_id: int) -> DiagnosisRun | None:
    """Run ``run_id`` for the background task (system read, no user)."""
    run: DiagnosisRun | None = DiagnosisRun.objects.filter(pk=run_id).first()
    return run


# --- exports ------------------------------------------------------------------------------------


def neutralise(value: Any) -> str:
    """The text of one cell, with a leading apostrophe if it could start a formula."""
    text = "" if value is None else str(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs installed
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]  # no stubs installed

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)

    def cells(values: list[Any]) -> list[Any]:
        out = []
        for value in values:
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.append(WriteOnlyCell(sheet, value=value))
                continue
            cell = WriteOnlyCell(sheet)
            # Set the value, then force the type: openpyxl would read a leading "=" as a formula.
            cell._value = neutralise(value)  # openpyxl has no public text setter
            cell.data_type = "s"
            out.append(cell)
        return out

    sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rounded(value: float | None) -> float | str:
    return "" if value is None else round(value, 3)


def _student_rows(report: StudentReport) -> tuple[list[str], list[list[Any]]]:
    header = [
        _("Code"),
        _("Knowledge point"),
        _("Mastery"),
        _("Level"),
        _("Answers"),
        _("Correct"),
        _("Last answered at"),
    ]
    rows = [
        [
            row.point.code,
            row.point.name,
            _rounded(row.probability),
            row.level_label,
            row.n_answers,
            row.n_correct,
            row.last_answered_at.isoformat() if row.last_answered_at else "",
        ]
        for row in report.rows
    ]
    return header, rows


def student_report_csv(report: StudentReport) -> bytes:
    """The student report as CSV (UTF-8 with BOM, formula-safe)."""
    return _csv(*_student_rows(report))


def _class_rows(report: ClassReport) -> tuple[list[str], list[list[Any]]]:
    header = [
        _("Account"),
        _("Name"),
        *(f"{c.point.code} {c.point.name}" for c in report.columns),
    ]
    rows: list[list[Any]] = [
        [
            line.student.username,
            line.student.real_name,
            *(_rounded(c.probability) for c in line.cells),
        ]
        for line in report.lines
    ]
    rows.append(["", _("Class mean"), *(_rounded(c.mean) for c in report.columns)])
    return header, rows


def class_report_csv(report: ClassReport) -> bytes:
    """The class heat map as CSV: one line per student, one column per point, the class
    mean last (UTF-8 with BOM, formula-safe)."""
    return _csv(*_class_rows(report))


def class_report_xlsx(report: ClassReport) -> bytes:
    """The class heat map as an XLSX workbook (numbers as numbers, text formula-safe)."""
    return _xlsx("mastery", *_class_rows(report))
