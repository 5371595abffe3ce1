"""Rules: one ``RawRow`` → one ``CleanRow`` with normalised values and ``Issue``s.

Every cell the table uses is normalised with ``normalize.clean_text`` (NFKC: full-width digits
and letters become half-width; stray whitespace trimmed and collapsed) without a finding. Then
the row is validated; each verdict is an ``Issue`` with a stable ``code``: severity ``error``
rejects the row, ``warning`` keeps it and drops the bad value (its key is left out of
``values``). A blank optional value is present as ``""``, ``None`` or ``[]`` (it clears the
field); a key is absent only when its value was dropped. The codes, with dimension and
severity, are in ``ISSUE_CODES`` and in ``docs/apps/registry-import-format.md``.

Use ``cleaner_for(table)`` once per table and call the returned function per row (the fast
path: column lists and code tables are bound once); ``clean_row`` is the convenience form.

Choices made here:

* Field limits follow the model columns: sourcedIds 255, person names 64, org names and session
  titles 120, identifiers and course/class codes 64, usernames 150, email 254, other text 255.
* ``users.name``: ``metadata.cn.fullName`` when given (then ``givenName``/``familyName`` may be
  blank); else ``familyName + givenName`` without a space when either contains a CJK character,
  else ``"givenName familyName"``.
* The mobile number comes from ``sms``, else ``phone``.
* Delta rows: a blank ``status`` or ``dateLastModified`` is ``DELTA_FIELDS_MISSING``; a status
  other than active/tobedeleted is ``STATUS_INVALID``; a malformed timestamp is
  ``DATE_INVALID`` (error). A ``tobedeleted`` row is only checked for its sourcedId.
* Credit codes: every fine validator code (format, checksum, embedded organisation-code
  checksum) is reported as ``CREDIT_CODE_INVALID``; the message names the reason.
* Sex accepts the OneRoster words and the GB/T 2261.1 codes ``1``/``2`` (``0``/``9`` =
  unspecified); booleans accept ``true``/``false`` in any case and ``1``/``0``.
* Control characters (NUL and the other C0 codes) are removed from cells without a finding.
* Cells starting with ``=``, ``+``, ``-`` or ``@`` are data and pass unchanged (exports
  neutralise them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from django.utils.translation import gettext as _

from shuyuan.core.validators import (
    CHINA_TZ,
    IdentifierError,
    validate_credit_code,
    validate_division_code,
    validate_id_number,
    validate_mobile,
)

from ..choices import (
    ClassType,
    Dimension,
    EnrollmentRole,
    EntityType,
    Grade,
    OrgType,
    RoleType,
    RosterRole,
    SessionType,
    Severity,
    Sex,
    ethnicities,
    ethnicity_by_name,
)
from ..normalize import clean_text, name_key
from .readers import SHAPE_KEY
from .types import CleanRow, Issue, RawRow

__all__ = ["ISSUE_CODES", "Cleaner", "clean_row", "cleaner_for"]

Cleaner = Callable[[RawRow, str], CleanRow]

ERROR: Final = Severity.ERROR.value
WARNING: Final = Severity.WARNING.value
VALIDITY: Final = Dimension.VALIDITY.value
COMPLETENESS: Final = Dimension.COMPLETENESS.value

#: code → (dimension, severity). "error|warning" where it depends on the column.
ISSUE_CODES: Final[dict[str, tuple[str, str]]] = {
    "ROW_SHAPE": (VALIDITY, ERROR),
    "REQUIRED_MISSING": (COMPLETENESS, ERROR),
    "FIELD_TOO_LONG": (VALIDITY, ERROR),
    "SOURCED_ID_INVALID": (VALIDITY, "error|warning"),
    "ENUM_INVALID": (VALIDITY, "error|warning"),
    "ETHNICITY_INVALID": (VALIDITY, WARNING),
    "BOOLEAN_INVALID": (VALIDITY, "error|warning"),
    "DATE_INVALID": (VALIDITY, "error|warning"),
    "DATE_RANGE": (VALIDITY, "error|warning"),
    "BIRTH_DATE_RANGE": (VALIDITY, WARNING),
    "ID_NUMBER_FORMAT": (VALIDITY, WARNING),
    "ID_NUMBER_CHECKSUM": (VALIDITY, WARNING),
    "ID_NUMBER_BIRTH_DATE": (VALIDITY, WARNING),
    "ID_NUMBER_REGION": (VALIDITY, WARNING),
    "CREDIT_CODE_INVALID": (VALIDITY, WARNING),
    "DIVISION_CODE_INVALID": (VALIDITY, WARNING),
    "MOBILE_INVALID": (VALIDITY, WARNING),
    "EMAIL_INVALID": (VALIDITY, WARNING),
    "STUDENT_NUMBER_INVALID": (VALIDITY, WARNING),
    "STATUS_IN_BULK": (VALIDITY, WARNING),
    "DELTA_FIELDS_MISSING": (VALIDITY, ERROR),
    "STATUS_INVALID": (VALIDITY, ERROR),
}

_SOURCED_ID = re.compile(r"[0-9A-Za-z.\-_/@]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_STUDENT_NUMBER = re.compile(r"[GJL][0-9]{17}[0-9X]")
_CJK_START = 0x2E80  # CJK radicals onwards: ideographs, kana, hangul, compatibility forms
_CONTROLS: Final = dict.fromkeys([*range(32), 127])
_FINDING_VALUE_MAX = 64
_PRECHECK = 4096  # cells longer than this are reported without being normalised

_LIMITS: Final[dict[str, int]] = {
    "givenName": 64,
    "familyName": 64,
    "middleName": 64,
    "metadata.cn.fullName": 64,
    "identifier": 64,
    "courseCode": 64,
    "classCode": 64,
    "username": 150,
    "email": 254,
    "metadata.cn.studentNumber": 32,
}
_TABLE_LIMITS: Final[dict[tuple[str, str], int]] = {
    ("orgs", "name"): 120,
    ("academicSessions", "title"): 120,
}
#: List columns: the whole cell may be long; each element is checked instead.
_LIST_LIMIT: Final = 8192
_LIST_COLUMNS: Final = frozenset(
    {"grades", "subjects", "subjectCodes", "periods", "termSourcedIds", "agentSourcedIds"}
)

_SEX: Final[dict[str, str]] = {
    **{s.value: s.value for s in Sex},
    "1": Sex.MALE.value,
    "2": Sex.FEMALE.value,
    "0": Sex.UNSPECIFIED.value,
    "9": Sex.UNSPECIFIED.value,
}
_BOOL: Final[dict[str, bool]] = {"true": True, "false": False, "1": True, "0": False}
_STATUSES: Final = frozenset({"active", "tobedeleted"})
_GRADES: Final = frozenset(g.value for g in Grade)


def _clean(value: str) -> str:
    """``clean_text`` with a fast path for plain ASCII (the usual cell)."""
    if (
        value.isascii()
        and value.isprintable()
        and value[:1] != " "
        and value[-1:] != " "
        and "  " not in value
    ):
        return value
    return clean_text(value)


def _limits(table: str) -> dict[str, int]:
    """Column → maximum length for one table (255 when not listed)."""
    limits = dict(_LIMITS)
    limits.update(dict.fromkeys(_LIST_COLUMNS, _LIST_LIMIT))
    limits.update({column: n for (t, column), n in _TABLE_LIMITS.items() if t == table})
    return limits


def _short(value: str) -> str:
    return value if len(value) <= _FINDING_VALUE_MAX else value[:_FINDING_VALUE_MAX] + "..."


@lru_cache(maxsize=65536)
def _name_key(name: str) -> str:
    """``normalize.name_key`` (OpenCC is the costly part), cached: names repeat a lot."""
    return name_key(name)


def _has_cjk(value: str) -> bool:
    return not value.isascii() and any(ord(ch) >= _CJK_START for ch in value)


def _split(value: str) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _parse_date(value: str) -> dt.date | None:
    """``YYYY-MM-DD`` with a year in 1900-2199, else ``None``."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return parsed if 1900 <= parsed.year < 2200 else None


def _parse_timestamp(value: str) -> dt.datetime | None:
    """OneRoster ``DateTime``: ``YYYY-MM-DDTHH:MM:SS[.sss](Z|±HH:MM)``; naive is rejected."""
    if len(value) < 20 or value[10] != "T":
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class _Row:
    """The working state of one row: normalised cells and the issues found so far."""

    __slots__ = ("cells", "issues", "limits", "raw", "too_long")

    def __init__(self, raw: dict[str, str], limits: dict[str, int]) -> None:
        self.raw = raw
        self.limits = limits
        self.cells: dict[str, str] = {}
        self.issues: list[Issue] = []
        self.too_long: set[str] | None = None

    def issue(self, code: str, column: str, message: str, severity: str, value: str = "") -> None:
        dimension = COMPLETENESS if code == "REQUIRED_MISSING" else VALIDITY
        self.issues.append(Issue(code, column, message, dimension, severity, _short(value)))

    def get(self, column: str) -> str:
        """The normalised cell (``""`` when absent or too long: reported once)."""
        cells = self.cells
        value = cells.get(column)
        if value is not None:
            return value
        raw = self.raw.get(column)
        if not raw:
            cells[column] = ""
            return ""
        limit = self.limits.get(column, 255)
        if (
            raw.isascii()
            and raw.isprintable()
            and raw[0] != " "
            and raw[-1] != " "
            and "  " not in raw
        ):
            value = raw  # _clean's fast path, inlined: this runs for every used cell
        elif len(raw) > _PRECHECK and len(raw) > limit:
            value = raw  # reported as it is: normalising megabytes only to reject them is waste
        else:
            value = clean_text(raw)
            if not value.isprintable():  # NUL and other C0 controls (PostgreSQL rejects NUL)
                value = value.translate(_CONTROLS).strip()
        if len(value) > limit:
            self.issue(
                "FIELD_TOO_LONG",
                column,
                _("The value has %(length)s characters; at most %(limit)s are allowed.")
                % {"length": len(value), "limit": limit},
                ERROR,
                value,
            )
            value = ""
            if self.too_long is None:
                self.too_long = set()
            self.too_long.add(column)
        self.cells[column] = value
        return value

    def required(self, column: str) -> str:
        value = self.get(column)
        if not value and (self.too_long is None or column not in self.too_long):
            self.issue("REQUIRED_MISSING", column, _("A value is required."), ERROR)
        return value

    def ref(self, column: str, *, required: bool) -> str | None:
        value = self.required(column) if required else self.get(column)
        if not value:
            return None
        if len(value) > 255 or not _SOURCED_ID.fullmatch(value):
            self._bad_id(column, value, required=required)
            return None
        return value

    def refs(self, column: str, *, required: bool) -> list[str]:
        value = self.required(column) if required else self.get(column)
        good = []
        for part in _split(value):
            if len(part) <= 255 and _SOURCED_ID.fullmatch(part):
                good.append(part)
            else:
                self._bad_id(column, part, required=required)
        return good

    def _bad_id(self, column: str, value: str, *, required: bool) -> None:
        self.issue(
            "SOURCED_ID_INVALID",
            column,
            _(
                "A sourcedId has fewer than 256 characters drawn from letters, digits "
                "and . - _ / @."
            ),
            ERROR if required else WARNING,
            value,
        )

    def enum(self, column: str, allowed: frozenset[str], *, required: bool) -> str | None:
        value = self.required(column) if required else self.get(column)
        if not value:
            return "" if not required else None
        if value not in allowed:
            self.issue(
                "ENUM_INVALID",
                column,
                _("The value is not one of: %(allowed)s.")
                % {"allowed": ", ".join(sorted(allowed))},
                ERROR if required else WARNING,
                value,
            )
            return None
        return value

    def enum_list(self, column: str, allowed: frozenset[str]) -> list[str]:
        good = []
        for part in _split(self.get(column)):
            if part in allowed:
                good.append(part)
            else:
                self.issue(
                    "ENUM_INVALID",
                    column,
                    _("The value is not one of: %(allowed)s.")
                    % {"allowed": ", ".join(sorted(allowed))},
                    WARNING,
                    part,
                )
        return good

    def boolean(self, column: str, *, required: bool) -> bool | None:
        value = self.required(column) if required else self.get(column)
        if not value:
            return None
        parsed = _BOOL.get(value.lower())
        if parsed is None:
            self.issue(
                "BOOLEAN_INVALID",
                column,
                _("The value must be true or false."),
                ERROR if required else WARNING,
                value,
            )
        return parsed

    def date(self, column: str, *, required: bool) -> dt.date | None:
        value = self.required(column) if required else self.get(column)
        if not value:
            return None
        parsed = _parse_date(value)
        if parsed is None:
            self.issue(
                "DATE_INVALID",
                column,
                _("The value is not a real date in the form YYYY-MM-DD."),
                ERROR if required else WARNING,
                value,
            )
        return parsed


# --------------------------------------------------------------------------------------------
# Messages of the identifier checks (the validators' own messages are not translated)
# --------------------------------------------------------------------------------------------


def _id_message(code: str, value: str) -> str:
    if code == "ID_NUMBER_FORMAT" and "E+" in value.upper():
        return _(
            "The ID number was stored as a number in the spreadsheet and lost its last "
            "digits; format the column as text and enter it again."
        )
    return {
        "ID_NUMBER_FORMAT": _("A resident ID number is 17 digits followed by a digit or X."),
        "ID_NUMBER_CHECKSUM": _("The check digit of the resident ID number is wrong."),
        "ID_NUMBER_BIRTH_DATE": _(
            "The birth date inside the resident ID number is not a real past date."
        ),
        "ID_NUMBER_REGION": _("The resident ID number does not start with a province code."),
    }.get(code, _("The resident ID number is not valid."))


def _credit_message(code: str) -> str:
    return {
        "CREDIT_CODE_CHECKSUM": _(
            "The check character of the unified social credit code is wrong."
        ),
        "CREDIT_CODE_ORG_CHECKSUM": _(
            "The organisation code inside the unified social credit code has a wrong check "
            "character."
        ),
    }.get(
        code,
        _(
            "A unified social credit code has 18 digits and capital letters (no I, O, S, V, Z) "
            "in the GB 32100 layout."
        ),
    )


# --------------------------------------------------------------------------------------------
# One cleaner per table
# --------------------------------------------------------------------------------------------


class _TableCleaner:
    """Binds the table's rules once; ``__call__`` cleans one row."""

    entity: str = ""

    def __init__(self, table: str, today: dt.date) -> None:
        self.table = table
        self.today = today
        self.limits = _limits(table)

    def __call__(self, raw: RawRow, mode: str) -> CleanRow:
        row = _Row(raw.cells, self.limits)
        if SHAPE_KEY in raw.cells:
            cells, columns = raw.cells[SHAPE_KEY].split("/")
            row.issue(
                "ROW_SHAPE",
                "",
                _("The row has %(cells)s cells but the header has %(columns)s columns.")
                % {"cells": cells, "columns": columns},
                ERROR,
            )
        out = CleanRow(
            entity=self.entity, file=raw.file, row=raw.row, sourced_id="", issues=row.issues
        )
        sourced_id = row.ref("sourcedId", required=True)
        out.sourced_id = sourced_id or row.get("sourcedId")
        if mode == "delta":
            status = row.get("status")
            modified = row.get("dateLastModified")
            if not status or not modified:
                row.issue(
                    "DELTA_FIELDS_MISSING",
                    "status" if not status else "dateLastModified",
                    _("A delta row needs both status and dateLastModified."),
                    ERROR,
                )
            if status:
                if status in _STATUSES:
                    out.status = status
                else:
                    row.issue(
                        "STATUS_INVALID",
                        "status",
                        _("status must be active or tobedeleted."),
                        ERROR,
                        status,
                    )
            if modified:
                out.date_last_modified = _parse_timestamp(modified)
                if out.date_last_modified is None:
                    row.issue(
                        "DATE_INVALID",
                        "dateLastModified",
                        _("dateLastModified must look like 2025-09-01T08:00:00.000Z."),
                        ERROR,
                        modified,
                    )
            if out.status == "tobedeleted":
                return out
        elif raw.cells.get("status") or raw.cells.get("dateLastModified"):
            for column in ("status", "dateLastModified"):
                if row.get(column):
                    row.issue(
                        "STATUS_IN_BULK",
                        column,
                        _("status and dateLastModified must be blank in a bulk file; ignored."),
                        WARNING,
                        row.get(column),
                    )
        self.fill(row, out)
        return out

    def fill(self, row: _Row, out: CleanRow) -> None:
        raise NotImplementedError


_ORG_TYPES: Final = frozenset(t.value for t in OrgType)
_SESSION_TYPES: Final = frozenset(t.value for t in SessionType)
_CLASS_TYPES: Final = frozenset(t.value for t in ClassType)
_ROLES: Final = frozenset(r.value for r in RosterRole)
_ROLE_TYPES: Final = frozenset(r.value for r in RoleType)
_ENROLLMENT_ROLES: Final = frozenset(r.value for r in EnrollmentRole)


class _Orgs(_TableCleaner):
    entity = EntityType.ORG.value

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        values["name"] = row.required("name")
        org_type = row.enum("type", _ORG_TYPES, required=True)
        if org_type is not None:
            values["type"] = org_type
        values["identifier"] = row.get("identifier")
        credit = row.get("metadata.cn.creditCode")
        if credit:
            try:
                values["credit_code"] = validate_credit_code(credit)
            except IdentifierError as exc:
                row.issue(
                    "CREDIT_CODE_INVALID",
                    "metadata.cn.creditCode",
                    _credit_message(exc.code),
                    WARNING,
                    credit,
                )
        else:
            values["credit_code"] = ""
        division = row.get("metadata.cn.divisionCode")
        if division:
            try:
                values["division_code"] = validate_division_code(division).code
            except IdentifierError:
                row.issue(
                    "DIVISION_CODE_INVALID",
                    "metadata.cn.divisionCode",
                    _("The value is not a GB/T 2260 administrative division code."),
                    WARNING,
                    division,
                )
        else:
            values["division_code"] = ""
        out.refs["parent"] = row.ref("parentSourcedId", required=False)


class _Sessions(_TableCleaner):
    entity = EntityType.ACADEMIC_SESSION.value

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        values["title"] = row.required("title")
        session_type = row.enum("type", _SESSION_TYPES, required=True)
        if session_type is not None:
            values["type"] = session_type
        start = row.date("startDate", required=True)
        end = row.date("endDate", required=True)
        if start is not None and end is not None and end <= start:
            row.issue(
                "DATE_RANGE",
                "endDate",
                _("endDate (exclusive) must be after startDate."),
                ERROR,
                row.get("endDate"),
            )
        values["start_date"] = start
        values["end_date"] = end
        year = row.required("schoolYear")
        if year:
            if len(year) == 4 and year.isdigit() and 1900 <= int(year) < 2200:
                values["school_year"] = int(year)
            else:
                row.issue(
                    "DATE_RANGE",
                    "schoolYear",
                    _("schoolYear must be a four-digit year (the year the school year ends)."),
                    ERROR,
                    year,
                )
        out.refs["parent"] = row.ref("parentSourcedId", required=False)


class _Courses(_TableCleaner):
    entity = EntityType.COURSE.value

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        values["title"] = row.required("title")
        values["course_code"] = row.get("courseCode")
        values["grades"] = row.enum_list("grades", _GRADES)
        values["subjects"] = _split(row.get("subjects"))
        values["subject_codes"] = _split(row.get("subjectCodes"))
        out.refs["school_year"] = row.ref("schoolYearSourcedId", required=False)
        out.refs["org"] = row.ref("orgSourcedId", required=True)


class _Classes(_TableCleaner):
    entity = EntityType.CLASS.value

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        values["title"] = row.required("title")
        values["class_code"] = row.get("classCode")
        class_type = row.enum("classType", _CLASS_TYPES, required=True)
        if class_type is not None:
            values["class_type"] = class_type
        values["location"] = row.get("location")
        values["grades"] = row.enum_list("grades", _GRADES)
        values["subjects"] = _split(row.get("subjects"))
        values["subject_codes"] = _split(row.get("subjectCodes"))
        values["periods"] = _split(row.get("periods"))
        out.refs["course"] = row.ref("courseSourcedId", required=True)
        out.refs["school"] = row.ref("schoolSourcedId", required=True)
        out.refs["terms"] = row.refs("termSourcedIds", required=True)


class _Users(_TableCleaner):
    entity = EntityType.USER.value

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        full = row.get("metadata.cn.fullName")
        if full:
            given = row.get("givenName")
            family = row.get("familyName")
            name = full
        elif (
            "metadata.cn.fullName" in row.raw
            and not row.get("givenName")
            and not row.get("familyName")
        ):
            # the Chinese profile: the full name is the one required name
            given = family = name = row.required("metadata.cn.fullName")
        else:
            given = row.required("givenName")
            family = row.required("familyName")
            if _has_cjk(given) or _has_cjk(family):
                name = family + given
            else:
                name = f"{given} {family}".strip()
            if len(name) > 64:
                row.issue(
                    "FIELD_TOO_LONG",
                    "givenName",
                    _("The full name has %(length)s characters; at most %(limit)s are allowed.")
                    % {"length": len(name), "limit": 64},
                    ERROR,
                    name,
                )
        values["name"] = name
        values["family_name"] = family
        values["given_name"] = given
        values["name_key"] = _name_key(name) if name else ""
        values["username"] = row.required("username")
        values["identifier"] = row.get("identifier")
        email = row.get("email")
        if email and not _EMAIL.fullmatch(email):
            row.issue(
                "EMAIL_INVALID", "email", _("The value is not an email address."), WARNING, email
            )
        else:
            values["email"] = email
        enabled = row.boolean("enabledUser", required=True)
        if enabled is not None:
            values["enabled"] = enabled
        values["grades"] = row.enum_list("grades", _GRADES)
        self._id_number(row, values)
        student_number = row.get("metadata.cn.studentNumber").replace(" ", "").upper()
        if student_number and not _STUDENT_NUMBER.fullmatch(student_number):
            row.issue(
                "STUDENT_NUMBER_INVALID",
                "metadata.cn.studentNumber",
                _("A student-status number is G, J or L followed by 17 digits and a digit or X."),
                WARNING,
                student_number,
            )
        else:
            values["student_number"] = student_number
        column = "sms" if row.get("sms") else "phone"
        mobile = row.get(column)
        if mobile:
            try:
                values["mobile"] = validate_mobile(mobile)
            except IdentifierError:
                row.issue(
                    "MOBILE_INVALID",
                    column,
                    _("A mainland China mobile number is 11 digits starting with 13-19."),
                    WARNING,
                    mobile,
                )
        else:
            values["mobile"] = ""
        out.refs["primary_org"] = row.ref("primaryOrgSourcedId", required=False)
        out.refs["agents"] = row.refs("agentSourcedIds", required=False)

    def _id_number(self, row: _Row, values: dict[str, Any]) -> None:
        number = row.get("metadata.cn.idNumber")
        if not number:
            values["id_number"] = ""
            return
        try:
            info = validate_id_number(number, today=self.today)
        except IdentifierError as exc:
            row.issue(
                exc.code, "metadata.cn.idNumber", _id_message(exc.code, number), WARNING, number
            )
            return
        values["id_number"] = info.number
        values["id_birth_date"] = info.birth_date
        values["id_sex"] = Sex.MALE.value if info.gender == "M" else Sex.FEMALE.value


class _Demographics(_TableCleaner):
    entity = EntityType.USER.value

    def __init__(self, table: str, today: dt.date) -> None:
        super().__init__(table, today)
        self.oldest = today.replace(year=today.year - 100, day=min(today.day, 28))
        self.codes = ethnicities()
        self.names = dict(ethnicity_by_name())
        suffix = self.codes["01"][-1]  # the character for "nationality" that ends every name
        for code, name in self.codes.items():  # two-character names: also without the suffix
            if name.endswith(suffix):
                self.names.setdefault(name[: -len(suffix)], code)

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        birth = row.date("birthDate", required=False)
        if birth is not None and not self.oldest <= birth <= self.today:
            row.issue(
                "BIRTH_DATE_RANGE",
                "birthDate",
                _("The birth date is in the future or more than 100 years ago."),
                WARNING,
                row.get("birthDate"),
            )
        elif birth is not None or not row.get("birthDate"):
            values["birth_date"] = birth
        sex = row.get("sex")
        if sex:
            mapped = _SEX.get(sex) or _SEX.get(sex.lower())
            if mapped is None:
                row.issue(
                    "ENUM_INVALID",
                    "sex",
                    _("The value is not one of: %(allowed)s.")
                    % {"allowed": "male, female, unspecified, other, 1, 2"},
                    WARNING,
                    sex,
                )
            else:
                values["sex"] = mapped
        else:
            values["sex"] = ""
        ethnicity = row.get("metadata.cn.ethnicity")
        if ethnicity:
            code = ethnicity.zfill(2) if ethnicity.isdigit() else self.names.get(ethnicity)
            if code is None or code not in self.codes:
                row.issue(
                    "ETHNICITY_INVALID",
                    "metadata.cn.ethnicity",
                    _("The value is not a GB/T 3304 ethnicity code or name."),
                    WARNING,
                    ethnicity,
                )
            else:
                values["ethnicity"] = code
        else:
            values["ethnicity"] = ""


def _date_pair(row: _Row, values: dict[str, Any]) -> None:
    begin = row.date("beginDate", required=False)
    end = row.date("endDate", required=False)
    if begin is not None or not row.get("beginDate"):
        values["begin_date"] = begin
    if begin is not None and end is not None and end < begin:
        row.issue(
            "DATE_RANGE",
            "endDate",
            _("endDate is before beginDate; endDate is ignored."),
            WARNING,
            row.get("endDate"),
        )
    elif end is not None or not row.get("endDate"):
        values["end_date"] = end


class _Roles(_TableCleaner):
    entity = EntityType.ROLE.value

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        role = row.enum("role", _ROLES, required=True)
        if role is not None:
            values["role"] = role
        role_type = row.enum("roleType", _ROLE_TYPES, required=True)
        if role_type is not None:
            values["role_type"] = role_type
        _date_pair(row, values)
        out.refs["user"] = row.ref("userSourcedId", required=True)
        out.refs["org"] = row.ref("orgSourcedId", required=True)


class _Enrollments(_TableCleaner):
    entity = EntityType.ENROLLMENT.value

    def fill(self, row: _Row, out: CleanRow) -> None:
        values = out.values
        role = row.enum("role", _ENROLLMENT_ROLES, required=True)
        if role is not None:
            values["role"] = role
        primary = row.boolean("primary", required=False)
        if primary is not None:
            values["primary"] = primary
        elif not row.get("primary"):
            values["primary"] = False
        _date_pair(row, values)
        out.refs["class"] = row.ref("classSourcedId", required=True)
        out.refs["school"] = row.ref("schoolSourcedId", required=True)
        out.refs["user"] = row.ref("userSourcedId", required=True)


_CLEANERS: Final[dict[str, type[_TableCleaner]]] = {
    "orgs": _Orgs,
    "academicSessions": _Sessions,
    "courses": _Courses,
    "classes": _Classes,
    "users": _Users,
    "demographics": _Demographics,
    "roles": _Roles,
    "enrollments": _Enrollments,
}


def _today() -> dt.date:
    return dt.datetime.now(CHINA_TZ).date()


def cleaner_for(
    table: str, header: list[str] | None = None, *, today: dt.date | None = None
) -> Cleaner:
    """The row cleaner of a OneRoster table (``"users"``): ``cleaner(raw, mode) -> CleanRow``.

    Create it once per table and call it per row. ``header`` is accepted for symmetry with the
    readers and not needed (row shape comes from the reader). ``today`` (default: today in
    China) bounds birth dates and ID-number birth dates.
    """
    try:
        cls = _CLEANERS[table]
    except KeyError:
        raise ValueError(f"No rules for table {table!r}.") from None
    return cls(table, today or _today())


_cache: dict[tuple[str, dt.date], Cleaner] = {}


def clean_row(table: str, raw: RawRow, mode: str, *, today: dt.date | None = None) -> CleanRow:
    """Clean one row (``cleaner_for(table)(raw, mode)`` with the cleaner cached)."""
    key = (table, today or _today())
    cleaner = _cache.get(key)
    if cleaner is None:
        cleaner = _cache[key] = cleaner_for(table, today=key[1])
    return cleaner(raw, mode)
