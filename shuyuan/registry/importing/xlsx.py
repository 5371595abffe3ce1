"""The Excel import template: build it for download, and read a filled one as a ``Bundle``.

The template (``data/xlsx_template.json``) has one sheet per kind of record: schools, classes,
students, teachers and guardians, each with Chinese column headers. The reader maps each sheet
row onto ``RawRow``s of the OneRoster tables, so exactly the same rules apply as to a CSV
bundle (the mapping is in ``docs/apps/registry-import-format.md``):

* a school row → ``orgs`` (type school, identifier = its code);
* a class row → ``academicSessions`` (one schoolYear session ``sy-<year>`` per distinct year,
  1 September to 1 September), ``courses`` (``<class>-course``, one per class) and
  ``classes`` (homeroom, term = the school year);
* a student row → ``users``, ``demographics``, ``roles`` (``<user>-r-<school>``, student,
  primary) and, with a class, ``enrollments`` (``<user>-e-<class>``, student);
* a teacher row → the same with role teacher and one enrolment per listed class;
* a guardian row → ``users`` (``agentSourcedIds`` = the students) and ``roles`` (guardian).

The bundle has one table per OneRoster table fed by the filled sheets, in ``FILE_ORDER``; its
rows come sheet after sheet (students, teachers, guardians for ``users``), each ``RawRow`` with
its own sheet title as ``file`` and its Excel row as ``row`` (the header is row 1).
``Table.column_labels`` maps OneRoster column names back to the Chinese headers for messages.

An XLSX import never deletes: ``Bundle.mode`` is ``"delta"`` and every row carries status
``active`` with ``dateLastModified`` = the time the workbook was opened, so records absent from
the workbook are left alone.

Excel stores long digit strings as floating-point numbers: an ID number typed into a number
cell loses its last digits and arrives as ``1.10105199001011E+17``; the rules then report
``ID_NUMBER_FORMAT`` with a hint to format the column as text (the template already does).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Generator, Iterator
from functools import cache
from typing import Any, Final

import openpyxl  # type: ignore[import-untyped]  # openpyxl ships no type information
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.comments import Comment  # type: ignore[import-untyped]  # as above
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]  # as above
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]  # as above
from openpyxl.worksheet.datavalidation import (  # type: ignore[import-untyped]  # as above
    DataValidation,
)

from ..choices import DATA_DIR, ethnicities
from ..normalize import clean_text
from .readers import Bundle, Table, warning
from .types import FILE_ORDER, BundleError, Issue, RawRow

__all__ = ["XlsxBundle", "XlsxTable", "build_template", "open_workbook", "template"]

MAX_TEMPLATE_ROWS: Final = 100_000  # rows covered by the template's drop-downs and formats
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')
_DATE_TEXT = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_YEAR_RANGE = re.compile(r"([0-9]{4})\s*[-/~]\s*([0-9]{4})")


@cache
def template() -> dict[str, Any]:
    """The template definition (``data/xlsx_template.json``)."""
    data: dict[str, Any] = json.loads((DATA_DIR / "xlsx_template.json").read_text("utf-8"))
    return data


# --------------------------------------------------------------------------------------------
# Cell values
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text: numbers without a spurious ``.0``, long floats in E notation."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15G")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _date(value: Any) -> str:
    """A date cell or date text as ``YYYY-MM-DD`` (``2010/9/1``, ``2010.09.01``, ``20100901``)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    text = clean_text(_text(value))
    match = _DATE_TEXT.fullmatch(text)
    if match:
        return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}"
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _year(value: Any) -> str:
    """A school year as the year it ends: ``2026`` or ``2025-2026`` → ``2026``."""
    text = clean_text(_text(value))
    match = _YEAR_RANGE.fullmatch(text)
    return match[2] if match else text


def _derived(base: str, *parts: str) -> str:
    """A derived sourcedId (``<user>-r-<school>``), blank if any part is blank."""
    return "-".join((base, *parts)) if base and all(parts) else ""


# --------------------------------------------------------------------------------------------
# Sheet rows → OneRoster rows
# --------------------------------------------------------------------------------------------

Row = dict[str, str]
Mapper = Callable[[Row, Row], dict[str, list[Row]]]


def _person(r: Row, common: Row, **extra: str) -> Row:
    return {
        **common,
        "sourcedId": r["sourcedId"],
        "enabledUser": "true",
        "username": r["sourcedId"],
        "givenName": "",
        "familyName": "",
        "metadata.cn.fullName": r.get("fullName", ""),
        "metadata.cn.idNumber": r.get("idNumber", ""),
        "sms": r.get("phone", ""),
        "email": r.get("email", ""),
        "primaryOrgSourcedId": r.get("schoolSourcedId", ""),
        **extra,
    }


def _demographics(r: Row, common: Row) -> Row:
    return {
        **common,
        "sourcedId": r["sourcedId"],
        "birthDate": r.get("birthDate", ""),
        "sex": r.get("sex", ""),
        "metadata.cn.ethnicity": r.get("ethnicity", ""),
    }


def _role(r: Row, common: Row, role: str) -> Row:
    user, school = r["sourcedId"], r.get("schoolSourcedId", "")
    return {
        **common,
        "sourcedId": _derived(user, "r", school),
        "userSourcedId": user,
        "roleType": "primary",
        "role": role,
        "orgSourcedId": school,
    }


def _enrollment(r: Row, common: Row, class_id: str, role: str) -> Row:
    user = r["sourcedId"]
    return {
        **common,
        "sourcedId": _derived(user, "e", class_id),
        "classSourcedId": class_id,
        "schoolSourcedId": r.get("schoolSourcedId", ""),
        "userSourcedId": user,
        "role": role,
        "primary": "false",
    }


def _schools(r: Row, common: Row) -> dict[str, list[Row]]:
    return {
        "orgs": [
            {
                **common,
                "sourcedId": r["sourcedId"],
                "name": r.get("name", ""),
                "type": "school",
                "identifier": r["sourcedId"],
                "parentSourcedId": r.get("parentSourcedId", ""),
                "metadata.cn.creditCode": r.get("creditCode", ""),
                "metadata.cn.divisionCode": r.get("divisionCode", ""),
            }
        ]
    }


def _classes(r: Row, common: Row) -> dict[str, list[Row]]:
    class_id, year = r["sourcedId"], r.get("schoolYear", "")
    school = r.get("schoolSourcedId", "")
    term = f"sy-{year}" if len(year) == 4 and year.isdigit() else ""
    sessions = []
    if term:
        end = int(year)
        sessions.append(
            {
                **common,
                "sourcedId": term,
                "title": f"{end - 1}-{end}",
                "type": "schoolYear",
                "startDate": f"{end - 1}-09-01",
                "endDate": f"{end}-09-01",
                "schoolYear": year,
            }
        )
    course = _derived(class_id, "course")
    return {
        "academicSessions": sessions,
        "courses": [
            {
                **common,
                "sourcedId": course,
                "schoolYearSourcedId": term,
                "title": r.get("title", ""),
                "grades": r.get("grade", ""),
                "orgSourcedId": school,
            }
        ],
        "classes": [
            {
                **common,
                "sourcedId": class_id,
                "title": r.get("title", ""),
                "grades": r.get("grade", ""),
                "courseSourcedId": course,
                "classCode": class_id,
                "classType": "homeroom",
                "schoolSourcedId": school,
                "termSourcedIds": term,
            }
        ],
    }


def _students(r: Row, common: Row) -> dict[str, list[Row]]:
    class_id = r.get("classSourcedId", "")
    return {
        "users": [
            _person(
                r,
                common,
                grades=r.get("grade", ""),
                **{"metadata.cn.studentNumber": r.get("studentNumber", "")},
            )
        ],
        "demographics": [_demographics(r, common)],
        "roles": [_role(r, common, "student")],
        "enrollments": [_enrollment(r, common, class_id, "student")] if class_id else [],
    }


def _teachers(r: Row, common: Row) -> dict[str, list[Row]]:
    classes = [c.strip() for c in r.get("classSourcedIds", "").split(",") if c.strip()]
    return {
        "users": [_person(r, common)],
        "demographics": [_demographics(r, common)],
        "roles": [_role(r, common, "teacher")],
        "enrollments": [_enrollment(r, common, c, "teacher") for c in classes],
    }


def _guardians(r: Row, common: Row) -> dict[str, list[Row]]:
    return {
        "users": [
            _person(
                r,
                common,
                agentSourcedIds=r.get("studentSourcedIds", ""),
                **{"metadata.cn.relation": r.get("relation", "")},
            )
        ],
        "roles": [_role(r, common, "guardian")],
    }


_MAPPERS: Final[dict[str, tuple[Mapper, tuple[str, ...]]]] = {
    "schools": (_schools, ("orgs",)),
    "classes": (_classes, ("academicSessions", "courses", "classes")),
    "students": (_students, ("users", "demographics", "roles", "enrollments")),
    "teachers": (_teachers, ("users", "demographics", "roles", "enrollments")),
    "guardians": (_guardians, ("users", "roles")),
}

#: OneRoster column → template field, for ``Table.column_labels``.
_LABEL_FIELDS: Final[dict[str, str]] = {
    "sourcedId": "sourcedId",
    "name": "name",
    "title": "title",
    "grades": "grade",
    "schoolSourcedId": "schoolSourcedId",
    "orgSourcedId": "schoolSourcedId",
    "primaryOrgSourcedId": "schoolSourcedId",
    "parentSourcedId": "parentSourcedId",
    "schoolYear": "schoolYear",
    "termSourcedIds": "schoolYear",
    "schoolYearSourcedId": "schoolYear",
    "metadata.cn.creditCode": "creditCode",
    "metadata.cn.divisionCode": "divisionCode",
    "metadata.cn.fullName": "fullName",
    "metadata.cn.idNumber": "idNumber",
    "metadata.cn.studentNumber": "studentNumber",
    "metadata.cn.ethnicity": "ethnicity",
    "birthDate": "birthDate",
    "sex": "sex",
    "sms": "phone",
    "email": "email",
    "classSourcedId": "classSourcedId",
    "agentSourcedIds": "studentSourcedIds",
}


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _Sheet:
    """A template sheet found in the workbook: its columns by position and converters."""

    def __init__(self, ws: Any, spec: dict[str, Any]) -> None:
        self.ws = ws
        self.spec = spec
        self.title: str = spec["title"]
        self.key: str = spec["key"]
        by_header = {clean_text(c["header"]): c for c in spec["columns"]}
        header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
        names = [clean_text(_text(v)).rstrip("*").strip() for v in header]
        while names and not names[-1]:
            names.pop()
        maps = template()["values"]
        self.columns: list[tuple[int, str, Callable[[Any], str]]] = []
        seen: set[str] = set()
        for index, name in enumerate(names):
            if not name:
                raise BundleError(
                    "HEADER_BLANK",
                    _("The header row has a blank column name."),
                    file=self.title,
                    row=1,
                    column=get_column_letter(index + 1),
                )
            if name in seen:
                raise BundleError(
                    "HEADER_DUPLICATE",
                    _("The column %(column)s appears twice in the header.") % {"column": name},
                    file=self.title,
                    row=1,
                    column=name,
                )
            seen.add(name)
            column = by_header.get(name)
            if column is None:
                raise BundleError(
                    "HEADER_UNKNOWN",
                    _("%(column)s is not a column of this sheet of the template.")
                    % {"column": name},
                    file=self.title,
                    row=1,
                    column=name,
                )
            self.columns.append((index, column["field"], _converter(column, maps)))
        for name, column in by_header.items():
            if column["required"] and name not in seen:
                raise BundleError(
                    "HEADER_MISSING",
                    _("The required column %(column)s is missing.") % {"column": name},
                    file=self.title,
                    row=1,
                    column=name,
                )
        fields = {c["field"]: clean_text(c["header"]) for c in spec["columns"]}
        self.labels = {
            oneroster: fields[field]
            for oneroster, field in _LABEL_FIELDS.items()
            if field in fields
        }

    def has_rows(self) -> bool:
        records = self.records(2)
        try:
            return next(records, None) is not None
        finally:
            records.close()

    def records(self, start_row: int) -> Generator[tuple[int, Row], None, None]:
        """``(Excel row, {field: text})`` of the non-blank data rows from ``start_row``."""
        columns = self.columns
        row_number = max(start_row, 2) - 1
        try:
            for values in self.ws.iter_rows(min_row=max(start_row, 2), values_only=True):
                row_number += 1
                if not any(v is not None and v != "" for v in values):
                    continue
                width = len(values)
                yield (
                    row_number,
                    {
                        field: convert(values[index]) if index < width else ""
                        for index, field, convert in columns
                    },
                )
        except (BundleError, GeneratorExit):
            raise
        except Exception as exc:  # openpyxl raises many types for a damaged sheet
            raise BundleError(
                "XLSX_INVALID",
                _("The sheet cannot be read; the workbook is damaged."),
                file=self.title,
                row=row_number,
            ) from exc


def _converter(column: dict[str, Any], maps: dict[str, dict[str, str]]) -> Callable[[Any], str]:
    kind = column.get("kind")
    if kind == "date":
        return _date
    if kind == "year":
        return _year
    mapping = maps.get(column.get("map", ""))
    if mapping:

        def mapped(value: Any) -> str:
            text = clean_text(_text(value))
            return mapping.get(text, text)

        return mapped
    return _text


class XlsxTable(Table):
    """The rows the template's sheets contribute to one OneRoster table, sheet after sheet.

    ``file`` names the sheets (``"学生, 教师"``); each ``RawRow.file`` is its own sheet and
    ``RawRow.row`` its Excel row. Excel rows restart on every sheet, so ``rows(start_row)``
    skips rows only in the *first* sheet and re-reads the later ones in full: resuming may
    redo some rows (the merge is idempotent) but never skips one.
    """

    def __init__(self, sheets: list[_Sheet], name: str, common: Row) -> None:
        self.sheets = sheets
        self.name = name
        self.file = ", ".join(sheet.title for sheet in sheets)
        self.mode = "delta"
        self.column_labels: dict[str, str] = {}
        for sheet in reversed(sheets):
            self.column_labels.update(sheet.labels)
        self._common = common

    def count_rows(self) -> int:
        return sum(
            len(_MAPPERS[sheet.key][0](r, self._common).get(self.name, ()))
            for sheet in self.sheets
            for _n, r in sheet.records(2)
        )

    def rows(self, start_row: int = 2) -> Iterator[RawRow]:
        seen: set[str] = set()
        name, common = self.name, self._common
        for index, sheet in enumerate(self.sheets):
            mapper, file = _MAPPERS[sheet.key][0], sheet.title
            for number, record in sheet.records(start_row if index == 0 else 2):
                for cells in mapper(record, common).get(name, ()):
                    if name == "academicSessions":
                        if cells["sourcedId"] in seen:
                            continue
                        seen.add(cells["sourcedId"])
                    yield RawRow(file=file, row=number, cells=cells)


class XlsxBundle(Bundle):
    """A filled-in Excel template (see the module docstring)."""

    format = "xlsx"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.mode = "delta"
        self.source_system_code = ""
        self.warnings: list[Issue] = []
        self.label = os.fspath(path)
        try:
            self.workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a file that is not xlsx
            raise BundleError(
                "XLSX_INVALID",
                _("The file is not a readable Excel (xlsx) workbook."),
                file=self.label,
            ) from exc
        try:
            self._tables = self._open(path)
        except BaseException:
            self.workbook.close()
            raise

    def _open(self, path: str | os.PathLike[str]) -> list[Table]:
        spec = template()
        specs = {s["title"]: s for s in spec["sheets"]}
        ignored = {spec["instructions_sheet"], spec["codes_sheet"]}
        now = timezone.now().astimezone(dt.UTC).isoformat(timespec="milliseconds")
        common = {"status": "active", "dateLastModified": now.replace("+00:00", "Z")}
        sheets: list[_Sheet] = []
        for ws in self.workbook.worksheets:
            title = clean_text(ws.title)
            if title in ignored:
                continue
            if title not in specs:
                self.warnings.append(
                    warning(
                        "SHEET_UNKNOWN",
                        _("The sheet %(sheet)s is not part of the template; ignored.")
                        % {"sheet": ws.title},
                        ws.title,
                    )
                )
                continue
            path_in_zip = str(getattr(ws, "_worksheet_path", ""))
            _check_merged_header(path, path_in_zip, ws.title)
            sheets.append(_Sheet(ws, specs[title]))
        if not sheets:
            raise BundleError(
                "XLSX_INVALID",
                _("The workbook has none of the template's sheets."),
                file=self.label,
            )
        filled = [sheet for sheet in sheets if sheet.has_rows()]
        tables: list[Table] = []
        for name in FILE_ORDER:
            feeding = [sheet for sheet in filled if name in _MAPPERS[sheet.key][1]]
            if feeding:
                tables.append(XlsxTable(feeding, name, common))
        return tables

    def tables(self) -> list[Table]:
        return list(self._tables)

    def close(self) -> None:
        self.workbook.close()


def _check_merged_header(path: str | os.PathLike[str], member: str, title: str) -> None:
    """``HEADER_MERGED`` if a merged range touches row 1 (read-only sheets hide merges).

    The sheet XML is scanned as bytes in chunks; ``<mergeCells>`` follows the cell data.
    """
    if not member:
        return
    tail = b""
    try:
        with zipfile.ZipFile(path) as zf, zf.open(member.lstrip("/")) as fh:
            while chunk := fh.read(1024 * 1024):
                data = tail + chunk
                for match in _MERGE.finditer(data):
                    first = int(match[2])
                    last = int(match[4]) if match[4] else first
                    if first <= 1 <= last:
                        cells = match[0].split(b'"')[1].decode("ascii")
                        raise BundleError(
                            "HEADER_MERGED",
                            _(
                                "The header cells %(cells)s are merged; every column needs "
                                "its own header cell."
                            )
                            % {"cells": cells},
                            file=title,
                            row=1,
                            column=cells,
                        )
                tail = data[-256:]
    except (KeyError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise BundleError("XLSX_INVALID", _("The workbook is damaged."), file=title) from exc


def open_workbook(path: str | os.PathLike[str]) -> XlsxBundle:
    """Open a filled-in template (raises ``BundleError``)."""
    return XlsxBundle(path)


# --------------------------------------------------------------------------------------------
# The downloadable template
# --------------------------------------------------------------------------------------------


def build_template() -> bytes:
    """The empty template as xlsx bytes (no network, no external assets).

    An instructions sheet first; one sheet per record kind with bold headers (required ones
    marked ``*``, a hint in each header's comment), the header row frozen, every column
    formatted as text (``@``) so ID and phone numbers keep their digits, and drop-downs for
    sex, ethnicity and grade fed from a hidden code-list sheet.
    """
    spec = template()
    wb = openpyxl.Workbook()
    intro = wb.active
    intro.title = spec["instructions_sheet"]
    for n, line in enumerate(spec["instructions"], 1):
        intro.cell(row=n, column=1, value=line).font = Font(bold=n == 1)
    intro.column_dimensions["A"].width = 110

    codes = wb.create_sheet(spec["codes_sheet"])
    ethnicity_names = list(ethnicities().values())
    lists = {"ethnicity": ethnicity_names, "grade": spec["dropdowns"]["grade"]}
    for col, (header, values) in enumerate(
        zip(spec["codes_headers"], lists.values(), strict=True), 1
    ):
        codes.cell(row=1, column=col, value=header).font = Font(bold=True)
        for row, value in enumerate(values, 2):
            codes.cell(row=row, column=col, value=value)
    codes.sheet_state = "hidden"
    sources = {
        "sex": '"' + ",".join(spec["dropdowns"]["sex"]) + '"',
        "ethnicity": f"'{spec['codes_sheet']}'!$A$2:$A${len(ethnicity_names) + 1}",
        "grade": f"'{spec['codes_sheet']}'!$B$2:$B${len(lists['grade']) + 1}",
    }

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for sheet in spec["sheets"]:
        ws = wb.create_sheet(sheet["title"], index=len(wb.worksheets) - 1)
        for col, column in enumerate(sheet["columns"], 1):
            letter = get_column_letter(col)
            text = column["header"] + ("*" if column["required"] else "")
            cell = ws.cell(row=1, column=col, value=text)
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(horizontal="center")
            cell.comment = Comment(column["hint"], "Shuyuan")
            ws.column_dimensions[letter].width = max(12, 3 * len(column["header"]) + 4)
            ws.column_dimensions[letter].number_format = "@"
            dropdown = column.get("dropdown")
            if dropdown:
                validation = DataValidation(
                    type="list", formula1=sources[dropdown], allow_blank=True
                )
                validation.add(f"{letter}2:{letter}{MAX_TEMPLATE_ROWS}")
                ws.add_data_validation(validation)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
