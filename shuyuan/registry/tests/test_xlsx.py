"""The Excel template: building it, reading a filled one, and its errors."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from shuyuan.registry.importing.readers import open_file
from shuyuan.registry.importing.rules import cleaner_for
from shuyuan.registry.importing.types import BundleError, CleanRow
from shuyuan.registry.importing.xlsx import build_template, open_workbook

TODAY = dt.date(2026, 11, 21)
SCHOOL = ["3201020001", "南京市第一中学", "91350100M000100Y43", "320102", ""]
CLASS = ["k0701", "七年级（1）班", "七年级", "3201020001", "2025-2026"]
STUDENT = [
    "st1",
    "张𠀀",
    "女",
    dt.datetime.combine(dt.date(2012, 5, 1), dt.time()),  # Excel date cells are naive
    "汉族",
    "360426199101010071",
    "G360426199101010071",
    "3201020001",
    "k0701",
    "七年级",
    "13800138000",
]
TEACHER = [
    "t1",
    "李老师",
    "1",
    "1985/3/12",
    "02",
    "",
    "13900000000",
    "li@example.cn",
    "3201020001",
    "k0701,k0702",
]
GUARDIAN = ["g1", "张父", "", "13700000000", "st1", "父亲", "3201020001"]


def _filled(tmp_path: Path, rows: dict[str, list[list[object]]], edit=None) -> Path:
    wb = openpyxl.load_workbook(io.BytesIO(build_template()))
    for title, data in rows.items():
        for row in data:
            wb[title].append(row)
    if edit is not None:
        edit(wb)
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    return path


def _clean_all(path: Path) -> dict[str, list[CleanRow]]:
    out: dict[str, list[CleanRow]] = {}
    with open_workbook(path) as bundle:
        for table in bundle.tables():
            clean = cleaner_for(table.name, today=TODAY)
            out.setdefault(table.name, []).extend(clean(r, table.mode) for r in table.rows())
    return out


def test_build_template_has_the_sheets_text_columns_frozen_headers_and_dropdowns():
    wb = openpyxl.load_workbook(io.BytesIO(build_template()))
    assert wb.sheetnames == ["说明", "学校", "班级", "学生", "教师", "监护人", "代码表"]
    assert wb["代码表"].sheet_state == "hidden"
    students = wb["学生"]
    assert students.freeze_panes == "A2"
    assert students["A1"].value == "学号*" and students["A1"].font.b
    assert students["F1"].value == "身份证件号"
    assert students.column_dimensions["F"].number_format == "@"
    formulas = {dv.formula1 for dv in students.data_validations.dataValidation}
    assert '"男,女"' in formulas
    assert any("代码表" in f for f in formulas)
    assert "汉族" in [c.value for c in wb["代码表"]["A"]]


def test_template_round_trip_yields_clean_rows_of_every_table(tmp_path):
    path = _filled(
        tmp_path,
        {
            "学校": [SCHOOL],
            "班级": [CLASS, ["k0702", "七年级（2）班", "七年级", "3201020001", 2026]],
            "学生": [STUDENT],
            "教师": [TEACHER],
            "监护人": [GUARDIAN],
        },
    )
    with open_workbook(path) as bundle:
        assert (bundle.format, bundle.mode, bundle.warnings) == ("xlsx", "delta", [])
        assert [(t.name, t.file) for t in bundle.tables()] == [
            ("orgs", "学校"),
            ("academicSessions", "班级"),
            ("courses", "班级"),
            ("classes", "班级"),
            ("users", "学生, 教师, 监护人"),
            ("demographics", "学生, 教师"),
            ("roles", "学生, 教师, 监护人"),
            ("enrollments", "学生, 教师"),
        ]
        users = next(t for t in bundle.tables() if t.name == "users")
        assert users.column_labels["metadata.cn.idNumber"] == "身份证件号"
        assert users.count_rows() == 3
    rows = _clean_all(path)
    issues = [(r.file, r.row, i.code, i.column) for t in rows.values() for r in t for i in r.issues]
    assert issues == []
    assert all(r.status == "active" and r.date_last_modified for t in rows.values() for r in t)
    (org,) = rows["orgs"]
    assert (org.sourced_id, org.values["type"], org.values["credit_code"]) == (
        "3201020001",
        "school",
        "91350100M000100Y43",
    )
    (session,) = rows["academicSessions"]
    assert (session.sourced_id, session.values["school_year"], session.values["end_date"]) == (
        "sy-2026",
        2026,
        dt.date(2026, 9, 1),
    )
    klass = rows["classes"][0]
    assert (klass.values["grades"], klass.refs) == (
        ["07"],
        {"course": "k0701-course", "school": "3201020001", "terms": ["sy-2026"]},
    )
    student, teacher, guardian = rows["users"]
    assert (student.file, student.row, student.values["name"]) == ("学生", 2, "张𠀀")
    assert student.values["id_number"] == "360426199101010071"
    assert (teacher.values["email"], teacher.values["mobile"]) == ("li@example.cn", "13900000000")
    assert student.values["student_number"] == "G360426199101010071"
    assert guardian.refs["agents"] == ["st1"]
    demo_student, demo_teacher = rows["demographics"]
    assert demo_student.values == {
        "birth_date": dt.date(2012, 5, 1),
        "sex": "female",
        "ethnicity": "01",
    }
    assert demo_teacher.values == {
        "birth_date": dt.date(1985, 3, 12),
        "sex": "male",
        "ethnicity": "02",
    }
    assert [r.sourced_id for r in rows["roles"]] == [
        "st1-r-3201020001",
        "t1-r-3201020001",
        "g1-r-3201020001",
    ]
    assert [r.values["role"] for r in rows["roles"]] == ["student", "teacher", "guardian"]
    assert [(r.sourced_id, r.values["role"]) for r in rows["enrollments"]] == [
        ("st1-e-k0701", "student"),
        ("t1-e-k0701", "teacher"),
        ("t1-e-k0702", "teacher"),
    ]


def test_an_id_number_typed_as_a_number_is_reported_with_a_hint(tmp_path):
    student = list(STUDENT)
    student[5] = 360426199101010071.0
    rows = _clean_all(_filled(tmp_path, {"学生": [student]}))
    (user,) = rows["users"]
    (issue,) = user.issues
    assert (issue.code, issue.column, user.file, user.row) == (
        "ID_NUMBER_FORMAT",
        "metadata.cn.idNumber",
        "学生",
        2,
    )
    assert "text" in issue.message


def test_a_phone_number_typed_as_a_number_keeps_its_digits(tmp_path):
    student = list(STUDENT)
    student[10] = 13800138000
    rows = _clean_all(_filled(tmp_path, {"学生": [student]}))
    assert rows["users"][0].values["mobile"] == "13800138000"


def test_required_cells_left_blank_are_reported_on_the_sheet_row(tmp_path):
    student = list(STUDENT)
    student[1] = None
    rows = _clean_all(_filled(tmp_path, {"学生": [["blank"] + [None] * 10, student]}))
    user = rows["users"][1]
    assert [(i.code, i.column) for i in user.issues] == [
        ("REQUIRED_MISSING", "metadata.cn.fullName")
    ]
    assert (user.file, user.row) == ("学生", 3)


def test_merged_header_cells_are_header_merged(tmp_path):
    path = _filled(tmp_path, {"学生": [STUDENT]}, edit=lambda wb: wb["学生"].merge_cells("B1:C1"))
    with pytest.raises(BundleError) as info:
        open_workbook(path)
    assert (info.value.code, info.value.file, info.value.column) == (
        "HEADER_MERGED",
        "学生",
        "B1:C1",
    )


def test_merged_cells_below_the_header_are_not_a_header_error(tmp_path):
    path = _filled(tmp_path, {"学生": [STUDENT]}, edit=lambda wb: wb["学生"].merge_cells("L2:M3"))
    with open_workbook(path) as bundle:
        assert bundle.tables()


def _set_header(column: str, value: object):
    def edit(wb):
        wb["学生"][f"{column}1"] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "code", "column"),
    [
        (_set_header("B", "名字"), "HEADER_UNKNOWN", "名字"),
        (_set_header("L", "备注"), "HEADER_UNKNOWN", "备注"),
        (_set_header("C", "姓名"), "HEADER_DUPLICATE", "姓名"),
        (_set_header("C", None), "HEADER_BLANK", "C"),
    ],
)
def test_header_errors(tmp_path, edit, code, column):
    path = _filled(tmp_path, {"学生": [STUDENT]}, edit=edit)
    with pytest.raises(BundleError) as info:
        open_workbook(path)
    assert (info.value.code, info.value.file, info.value.column) == (code, "学生", column)


def test_a_missing_required_column_is_header_missing(tmp_path):
    path = _filled(tmp_path, {}, edit=lambda wb: wb["学生"].delete_cols(8))
    with pytest.raises(BundleError) as info:
        open_workbook(path)
    assert (info.value.code, info.value.file, info.value.column) == (
        "HEADER_MISSING",
        "学生",
        "学校标识码",
    )


def test_headers_without_the_required_marker_and_optional_columns_left_out_are_accepted(
    tmp_path,
):
    def edit(wb):
        ws = wb["学生"]
        ws["A1"] = " 学号 "
        ws.delete_cols(11)

    path = _filled(tmp_path, {"学生": [STUDENT[:10]]}, edit=edit)
    assert len(_clean_all(path)["users"]) == 1


def test_unknown_sheets_are_ignored_with_a_warning(tmp_path):
    path = _filled(tmp_path, {"学生": [STUDENT]}, edit=lambda wb: wb.create_sheet("草稿"))
    with open_workbook(path) as bundle:
        (issue,) = bundle.warnings
    assert (issue.code, issue.value, issue.severity) == ("SHEET_UNKNOWN", "草稿", "warning")


def test_a_workbook_without_template_sheets_is_xlsx_invalid(tmp_path):
    path = tmp_path / "other.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(BundleError) as info:
        open_workbook(path)
    assert info.value.code == "XLSX_INVALID"


def test_a_damaged_workbook_is_xlsx_invalid(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(build_template()[:3000])
    with pytest.raises(BundleError) as info:
        open_workbook(path)
    assert info.value.code == "XLSX_INVALID"


def test_open_file_dispatches_a_workbook(tmp_path):
    path = _filled(tmp_path, {"学生": [STUDENT]})
    with open_file(path, "学生.xlsx") as bundle:
        assert bundle.format == "xlsx"


def test_rows_resume_in_the_first_sheet_and_reread_later_sheets(tmp_path):
    second = ["st2", *STUDENT[1:]]
    path = _filled(tmp_path, {"学生": [STUDENT, second], "教师": [TEACHER]})
    with open_workbook(path) as bundle:
        users = next(t for t in bundle.tables() if t.name == "users")
        assert [(r.file, r.row, r.cells["sourcedId"]) for r in users.rows(start_row=3)] == [
            ("学生", 3, "st2"),
            ("教师", 2, "t1"),
        ]
