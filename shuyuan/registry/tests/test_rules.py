"""Row rules: normalisation, each issue code with its column, severity and dimension."""

from __future__ import annotations

import datetime as dt

import pytest

from shuyuan.core.validators import id_number_check_char, is_known_division_code
from shuyuan.registry.importing.readers import SHAPE_KEY
from shuyuan.registry.importing.rules import ISSUE_CODES, clean_row, cleaner_for
from shuyuan.registry.importing.types import CleanRow, RawRow

TODAY = dt.date(2026, 11, 21)
VALID_ID = "360426199101010071"
ABOLISHED_REGION_ID = "110103199003071236"  # 110103 (崇文区) was abolished in 2010

USER = {
    "sourcedId": "u1",
    "enabledUser": "true",
    "username": "zhangsan",
    "givenName": "三",
    "familyName": "张",
}
ORG = {"sourcedId": "s1", "name": "第一中学", "type": "school"}
SESSION = {
    "sourcedId": "t1",
    "title": "2025-2026",
    "type": "schoolYear",
    "startDate": "2025-09-01",
    "endDate": "2026-09-01",
    "schoolYear": "2026",
}
COURSE = {"sourcedId": "c1", "title": "语文", "orgSourcedId": "s1"}
CLASS = {
    "sourcedId": "k1",
    "title": "七年级（1）班",
    "courseSourcedId": "c1",
    "classType": "homeroom",
    "schoolSourcedId": "s1",
    "termSourcedIds": "t1,t2",
}
ROLE = {
    "sourcedId": "r1",
    "userSourcedId": "u1",
    "roleType": "primary",
    "role": "student",
    "orgSourcedId": "s1",
}
ENROLLMENT = {
    "sourcedId": "e1",
    "classSourcedId": "k1",
    "schoolSourcedId": "s1",
    "userSourcedId": "u1",
    "role": "student",
}
DEMOGRAPHICS = {"sourcedId": "u1", "birthDate": "2012-05-01", "sex": "female"}
FILES = {
    "orgs": ORG,
    "academicSessions": SESSION,
    "courses": COURSE,
    "classes": CLASS,
    "users": USER,
    "demographics": DEMOGRAPHICS,
    "roles": ROLE,
    "enrollments": ENROLLMENT,
}
STAMP = "2026-11-20T08:00:00.000Z"


def _clean(table: str, mode: str = "bulk", **cells: str) -> CleanRow:
    raw = RawRow(file=f"{table}.csv", row=7, cells={**FILES[table], **cells})
    return clean_row(table, raw, mode, today=TODAY)


def _only(row: CleanRow, code: str) -> tuple[str, str, str]:
    """(column, severity, dimension) of the row's single issue, which must have ``code``."""
    assert [i.code for i in row.issues] == [code], row.issues
    issue = row.issues[0]
    assert (row.file, row.row) != ("", 0)
    assert issue.message
    assert ISSUE_CODES[code][0] == issue.dimension
    assert issue.severity in ISSUE_CODES[code][1]
    return issue.column, issue.severity, issue.dimension


@pytest.mark.parametrize("table", list(FILES))
def test_a_valid_row_of_every_table_has_no_issues(table):
    row = _clean(table)
    assert (row.issues, row.file, row.row, row.sourced_id) == (
        [],
        f"{table}.csv",
        7,
        "s1" if table == "orgs" else row.sourced_id,
    )
    assert not row.rejected


def test_orgs_output():
    row = _clean(
        "orgs",
        parentSourcedId="d1",
        identifier="3201020001",
        **{"metadata.cn.creditCode": "91350100M000100Y43", "metadata.cn.divisionCode": "320102"},
    )
    assert row.entity == "org"
    assert row.values == {
        "name": "第一中学",
        "type": "school",
        "identifier": "3201020001",
        "credit_code": "91350100M000100Y43",
        "division_code": "320102",
    }
    assert row.refs == {"parent": "d1"}


def test_sessions_courses_classes_output():
    session = _clean("academicSessions")
    assert session.entity == "academicSession"
    assert session.values == {
        "title": "2025-2026",
        "type": "schoolYear",
        "start_date": dt.date(2025, 9, 1),
        "end_date": dt.date(2026, 9, 1),
        "school_year": 2026,
    }
    course = _clean("courses", grades="07,08", schoolYearSourcedId="t1", subjects="语文")
    assert (course.values["grades"], course.values["subjects"]) == (["07", "08"], ["语文"])
    assert course.refs == {"school_year": "t1", "org": "s1"}
    klass = _clean("classes", periods="1,2")
    assert klass.refs == {"course": "c1", "school": "s1", "terms": ["t1", "t2"]}
    assert (klass.values["class_type"], klass.values["periods"]) == ("homeroom", ["1", "2"])


def test_users_output_full_width_id_number_normalised_without_issue():
    row = _clean(
        "users",
        sms="１３８ ００１３ ８０００",
        agentSourcedIds="g1,g2",
        primaryOrgSourcedId="s1",
        grades="07",
        **{
            "metadata.cn.idNumber": "３６０４２６１９９１０１０１００７１",
            "metadata.cn.studentNumber": "g360426199101010071",
        },
    )
    assert row.issues == []
    values = row.values
    assert (values["name"], values["name_key"], values["enabled"]) == ("张三", "张三", True)
    assert values["id_number"] == VALID_ID
    assert (values["id_birth_date"], values["id_sex"]) == (dt.date(1991, 1, 1), "male")
    assert values["mobile"] == "13800138000"
    assert values["student_number"] == "G360426199101010071"
    assert row.refs == {"primary_org": "s1", "agents": ["g1", "g2"]}
    assert "password" not in values


def test_users_name_prefers_the_full_name_and_joins_latin_names_with_a_space():
    full = _clean("users", givenName="", familyName="", **{"metadata.cn.fullName": "欧阳 娜娜"})
    assert (full.issues, full.values["name"], full.values["name_key"]) == (
        [],
        "欧阳 娜娜",
        "欧阳娜娜",
    )
    latin = _clean("users", givenName="Ada", familyName="Lovelace")
    assert latin.values["name"] == "Ada Lovelace"


def test_cells_are_nfkc_and_whitespace_normalised():
    row = _clean("orgs", name="  第一\u3000\u3000中学 ", identifier="ＡＢ１２")
    assert (row.values["name"], row.values["identifier"], row.issues) == ("第一 中学", "AB12", [])


def test_an_id_number_with_an_abolished_region_code_is_valid():
    assert is_known_division_code("110103") and not is_known_division_code(
        "110103", historical=False
    )
    assert id_number_check_char(ABOLISHED_REGION_ID[:17]) == ABOLISHED_REGION_ID[17]
    row = _clean("users", **{"metadata.cn.idNumber": ABOLISHED_REGION_ID})
    assert (row.issues, row.values["id_number"]) == ([], ABOLISHED_REGION_ID)


def test_demographics_output_maps_codes_and_ethnicity_names():
    row = _clean("demographics", sex="2", **{"metadata.cn.ethnicity": "回"})
    assert row.entity == "user"
    assert row.values == {"birth_date": dt.date(2012, 5, 1), "sex": "female", "ethnicity": "03"}
    assert _clean("demographics", **{"metadata.cn.ethnicity": "蒙古族"}).values["ethnicity"] == "02"
    assert _clean("demographics", **{"metadata.cn.ethnicity": "1"}).values["ethnicity"] == "01"


def test_roles_and_enrollments_output():
    role = _clean("roles", beginDate="2025-09-01", endDate="2026-07-01")
    assert role.values == {
        "role": "student",
        "role_type": "primary",
        "begin_date": dt.date(2025, 9, 1),
        "end_date": dt.date(2026, 7, 1),
    }
    assert role.refs == {"user": "u1", "org": "s1"}
    enrollment = _clean("enrollments", primary="TRUE", role="teacher")
    assert (enrollment.values["primary"], enrollment.values["role"]) == (True, "teacher")
    assert enrollment.refs == {"class": "k1", "school": "s1", "user": "u1"}


# --- every issue code -------------------------------------------------------------------------


def test_row_shape():
    raw = RawRow("users.csv", 3, {**USER, SHAPE_KEY: "6/5"})
    assert _only(cleaner_for("users", today=TODAY)(raw, "bulk"), "ROW_SHAPE")[1] == "error"


def test_required_missing():
    assert _only(_clean("orgs", name=""), "REQUIRED_MISSING") == ("name", "error", "completeness")
    del_raw = RawRow("users.csv", 2, {k: v for k, v in USER.items() if k != "username"})
    assert _only(clean_row("users", del_raw, "bulk", today=TODAY), "REQUIRED_MISSING")[0] == (
        "username"
    )


def test_full_name_column_present_but_blank_is_required_missing():
    row = _clean("users", givenName="", familyName="", **{"metadata.cn.fullName": ""})
    assert _only(row, "REQUIRED_MISSING")[0] == "metadata.cn.fullName"


@pytest.mark.parametrize(
    ("table", "column", "limit"),
    [
        ("users", "username", 150),
        ("orgs", "name", 120),
        ("orgs", "sourcedId", 255),
    ],
)
def test_field_too_long(table, column, limit):
    row = _clean(table, **{column: "a" * (limit + 1)})
    assert _only(row, "FIELD_TOO_LONG")[:2] == (column, "error")
    assert row.issues[0].value == "a" * 64 + "..."
    assert row.rejected
    assert _clean(table, **{column: "a" * limit}).issues == []


@pytest.mark.parametrize("value", ["a b", "x#1", "学校"])
def test_sourced_id_invalid(value):
    assert _only(_clean("orgs", sourcedId=value), "SOURCED_ID_INVALID")[:2] == (
        "sourcedId",
        "error",
    )


def test_sourced_id_accepts_its_whole_alphabet():
    assert _clean("orgs", sourcedId="aZ0.-_/@").issues == []


def test_optional_reference_invalid_is_a_warning_and_dropped():
    row = _clean("orgs", parentSourcedId="bad id")
    assert _only(row, "SOURCED_ID_INVALID")[:2] == ("parentSourcedId", "warning")
    assert row.refs["parent"] is None


@pytest.mark.parametrize(
    ("table", "column", "value", "severity"),
    [
        ("orgs", "type", "School", "error"),
        ("academicSessions", "type", "year", "error"),
        ("classes", "classType", "teaching", "error"),
        ("roles", "role", "headteacher", "error"),
        ("roles", "roleType", "main", "error"),
        ("enrollments", "role", "guardian", "error"),
        ("users", "grades", "07,13x", "warning"),
        ("demographics", "sex", "M", "warning"),
    ],
)
def test_enum_invalid(table, column, value, severity):
    assert _only(_clean(table, **{column: value}), "ENUM_INVALID")[:2] == (column, severity)


def test_ethnicity_invalid():
    row = _clean("demographics", **{"metadata.cn.ethnicity": "99x"})
    assert _only(row, "ETHNICITY_INVALID")[:2] == ("metadata.cn.ethnicity", "warning")
    assert "ethnicity" not in row.values


def test_boolean_invalid():
    assert _only(_clean("users", enabledUser="yes"), "BOOLEAN_INVALID")[:2] == (
        "enabledUser",
        "error",
    )
    row = _clean("enrollments", primary="maybe")
    assert _only(row, "BOOLEAN_INVALID")[:2] == ("primary", "warning")
    assert "primary" not in row.values


def test_date_invalid():
    assert _only(_clean("academicSessions", startDate="2025-02-30"), "DATE_INVALID")[:2] == (
        "startDate",
        "error",
    )
    row = _clean("roles", beginDate="2025/09/01")
    assert _only(row, "DATE_INVALID")[:2] == ("beginDate", "warning")
    assert "begin_date" not in row.values


def test_date_range():
    assert _only(_clean("academicSessions", endDate="2025-09-01"), "DATE_RANGE")[:2] == (
        "endDate",
        "error",
    )
    assert _only(_clean("academicSessions", schoolYear="26"), "DATE_RANGE")[:2] == (
        "schoolYear",
        "error",
    )
    row = _clean("enrollments", beginDate="2025-09-01", endDate="2025-08-01")
    assert _only(row, "DATE_RANGE")[:2] == ("endDate", "warning")
    assert "end_date" not in row.values


@pytest.mark.parametrize("value", ["2026-12-01", "1920-01-01"])
def test_birth_date_range(value):
    row = _clean("demographics", birthDate=value)
    assert _only(row, "BIRTH_DATE_RANGE")[:2] == ("birthDate", "warning")
    assert "birth_date" not in row.values


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("36042619910101007", "ID_NUMBER_FORMAT"),
        ("360426199101010072", "ID_NUMBER_CHECKSUM"),
        (
            "360426199102300071"[:17] + id_number_check_char("36042619910230007"),
            "ID_NUMBER_BIRTH_DATE",
        ),
        ("990426199101010071"[:17] + id_number_check_char("99042619910101007"), "ID_NUMBER_REGION"),
    ],
)
def test_id_number_issues_are_warnings_and_drop_the_number(value, code):
    row = _clean("users", **{"metadata.cn.idNumber": value})
    assert _only(row, code)[:2] == ("metadata.cn.idNumber", "warning")
    assert "id_number" not in row.values
    assert not row.rejected


def test_id_number_stored_as_a_spreadsheet_number_gets_a_hint():
    row = _clean("users", **{"metadata.cn.idNumber": "3.60426199101010E+17"})
    _only(row, "ID_NUMBER_FORMAT")
    assert "text" in row.issues[0].message


@pytest.mark.parametrize("value", ["91350100M000100Y4X", "91350100M000100Y", "9135010OM000100Y43"])
def test_credit_code_invalid(value):
    row = _clean("orgs", **{"metadata.cn.creditCode": value})
    assert _only(row, "CREDIT_CODE_INVALID")[:2] == ("metadata.cn.creditCode", "warning")
    assert "credit_code" not in row.values


def test_division_code_invalid_and_historical_codes_accepted():
    row = _clean("orgs", **{"metadata.cn.divisionCode": "999999"})
    assert _only(row, "DIVISION_CODE_INVALID")[:2] == ("metadata.cn.divisionCode", "warning")
    assert _clean("orgs", **{"metadata.cn.divisionCode": "110103"}).values["division_code"] == (
        "110103"
    )


def test_mobile_and_email_invalid():
    row = _clean("users", sms="12345", email="not-an-email")
    assert sorted((i.code, i.column, i.severity) for i in row.issues) == [
        ("EMAIL_INVALID", "email", "warning"),
        ("MOBILE_INVALID", "sms", "warning"),
    ]
    assert "mobile" not in row.values and "email" not in row.values
    assert _clean("users", phone="+86 139-0000-0000").values["mobile"] == "13900000000"


def test_student_number_invalid():
    row = _clean("users", **{"metadata.cn.studentNumber": "X360426199101010071"})
    assert _only(row, "STUDENT_NUMBER_INVALID")[:2] == ("metadata.cn.studentNumber", "warning")


def test_status_in_bulk_is_a_warning_and_ignored():
    row = _clean("orgs", status="active")
    assert _only(row, "STATUS_IN_BULK")[:2] == ("status", "warning")
    assert row.status is None


def test_delta_fields_missing():
    assert _only(_clean("orgs", "delta", status="active"), "DELTA_FIELDS_MISSING") == (
        "dateLastModified",
        "error",
        "validity",
    )


def test_status_invalid():
    row = _clean("orgs", "delta", status="deleted", dateLastModified=STAMP)
    assert _only(row, "STATUS_INVALID")[:2] == ("status", "error")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (STAMP, dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)),
        ("2026-11-20T08:00:00Z", dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)),
        ("2026-11-20T16:00:00+08:00", dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)),
    ],
)
def test_delta_rows_carry_status_and_timestamp(value, expected):
    row = _clean("orgs", "delta", status="active", dateLastModified=value)
    assert (row.issues, row.status, row.date_last_modified) == ([], "active", expected)


def test_delta_timestamp_without_offset_is_date_invalid():
    row = _clean("orgs", "delta", status="active", dateLastModified="2026-11-20T08:00:00")
    assert _only(row, "DATE_INVALID")[:2] == ("dateLastModified", "error")


def test_tobedeleted_delta_row_needs_only_its_sourced_id():
    raw = RawRow(
        "users.csv", 2, {"sourcedId": "u1", "status": "tobedeleted", "dateLastModified": STAMP}
    )
    row = clean_row("users", raw, "delta", today=TODAY)
    assert (row.issues, row.status, row.values) == ([], "tobedeleted", {})


def test_formula_like_cells_are_data():
    row = _clean("orgs", name="=HYPERLINK(1)", identifier="+1", parentSourcedId="@x")
    assert row.issues == []
    assert (row.values["name"], row.values["identifier"], row.refs["parent"]) == (
        "=HYPERLINK(1)",
        "+1",
        "@x",
    )


def test_issue_codes_table_lists_every_code_used():
    assert set(ISSUE_CODES) >= {
        "ROW_SHAPE",
        "REQUIRED_MISSING",
        "ID_NUMBER_REGION",
        "STATUS_INVALID",
    }


def test_a_composed_name_above_64_characters_is_field_too_long():
    row = _clean("users", familyName="张" * 60, givenName="三" * 5)
    assert _only(row, "FIELD_TOO_LONG")[:2] == ("givenName", "error")
