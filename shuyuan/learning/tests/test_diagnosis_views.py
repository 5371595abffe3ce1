"""Diagnosis reports: the student report with weak prerequisites through the graph, the class
heat map, who may read them (404 across schools and classes), CSV/XLSX exports with the
formula guard, item statistics and runs pages."""

from __future__ import annotations

import io
from typing import Any

import pytest

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import NotFound
from shuyuan.learning.models import DiagnosisRun, DiagnosisRunStatus, ItemStatistic, LessonPlan
from shuyuan.learning.queries import diagnosis as queries

from .exam_world import ew, sw  # noqa: F401  # fixtures
from .test_diagnosis_run import set_mastery, sit

pytestmark = pytest.mark.django_db


def teaches(teacher: Any, class_org: Any) -> None:
    """``teacher`` prepares a lesson for ``class_org``: the class is then one they teach."""
    with change_context(actor=system_actor(), source="system"):
        LessonPlan(teacher=teacher, class_org=class_org, title="Lesson").save(force_insert=True)


def rename(user: Any, name: str) -> None:
    with change_context(actor=system_actor(), source="system"):
        user.real_name = name
        user.save(update_fields=["real_name"])


@pytest.fixture
def marked(ew):  # noqa: F811  # pytest fixture argument
    """student_a weak on Pythagoras and square roots, good at right triangles; student_a2
    mastered Pythagoras; teacher_a teaches class A."""
    set_mastery(ew.sw.student_a, ew.kp, 0.2)
    set_mastery(ew.sw.student_a, ew.kp_sqrt, 0.3)
    set_mastery(ew.sw.student_a, ew.kp_tri, 0.9)
    set_mastery(ew.sw.student_a2, ew.kp, 0.85)
    set_mastery(ew.sw.student_b, ew.kp, 0.6)
    teaches(ew.teacher, ew.w.tree.class_a)
    return ew


# --- queries ------------------------------------------------------------------------------------


def test_student_report_finds_the_weak_prerequisite_through_the_graph(marked):
    report = queries.student_report(marked.sw.student_a, marked.sw.student_a)
    assert [r.point for r in report.rows] == [marked.kp, marked.kp_sqrt, marked.kp_tri]
    assert [r.level for r in report.rows] == ["weak", "weak", "mastered"]
    weak = {w.row.point.pk: w for w in report.weak}
    assert set(weak) == {marked.kp.pk, marked.kp_sqrt.pk}
    assert [p.point for p in weak[marked.kp.pk].prerequisites] == [marked.kp_sqrt]
    assert weak[marked.kp.pk].prerequisites[0].distance == 1
    assert weak[marked.kp_sqrt.pk].prerequisites == []


def test_never_assessed_prerequisites_come_after_weak_ones(marked):
    from shuyuan.learning.models import Mastery

    Mastery.objects.filter(student=marked.sw.student_a, knowledge_point=marked.kp_tri).delete()
    report = queries.student_report(marked.sw.student_a, marked.sw.student_a)
    prerequisites = next(w for w in report.weak if w.row.point == marked.kp).prerequisites
    assert [(p.point, p.level) for p in prerequisites] == [
        (marked.kp_sqrt, "weak"),
        (marked.kp_tri, "unknown"),
    ]


def test_who_may_read_a_student_report(marked):
    student = marked.sw.student_a
    for user in (student, marked.teacher, marked.sw.parent_a, marked.w.school_admin_a):
        assert queries.student_report(user, student).rows
    for user in (marked.sw.student_a2, marked.w.teacher_b, marked.sw.parent_b, marked.sw.student_b):
        with pytest.raises(NotFound):
            queries.access_student(user, student.pk)
        with pytest.raises(NotFound):
            queries.student_report(user, student)


def test_class_report_heat_map_weakest_points_first(marked):
    org = marked.w.tree.class_a
    report = queries.class_report(marked.teacher, org)
    assert [c.point for c in report.columns] == [marked.kp_sqrt, marked.kp, marked.kp_tri]
    kp_column = report.column_for(marked.kp.pk)
    assert kp_column is not None
    assert kp_column.mean == pytest.approx((0.2 + 0.85) / 2)
    assert kp_column.weak_student_ids == [marked.sw.student_a.pk]
    lines = {line.student.pk: line for line in report.lines}
    assert [c.percent for c in lines[marked.sw.student_a.pk].cells] == [30, 20, 90]
    assert [c.percent for c in lines[marked.sw.student_a2.pk].cells] == [None, 85, None]
    # School B's student never appears in class A's map.
    assert marked.sw.student_b.pk not in lines


def test_class_report_is_for_teachers_of_the_class_and_admins(marked):
    org = marked.w.tree.class_a
    assert queries.class_report(marked.w.school_admin_a, org).lines
    assert queries.class_report(marked.sw.head_a, org).lines
    for user in (marked.w.teacher_b, marked.sw.student_a, marked.sw.student_b, marked.sw.parent_a):
        with pytest.raises(NotFound):
            queries.access_report_class(user, org.pk)


def test_csv_export_has_bom_and_guards_formulas(marked):
    rename(marked.sw.student_a, '=HYPERLINK("http://evil")')
    report = queries.class_report(marked.teacher, marked.w.tree.class_a)
    data = queries.class_report_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("Account,Name,math-square-roots Square roots")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert 'student_a,"\'=HYPERLINK(""http://evil"")",0.3,0.2,0.9' in text
    assert lines[-1].startswith(",Class mean,0.3,0.525,0.9")


def test_xlsx_export_keeps_numbers_and_guards_text(marked):
    from openpyxl import load_workbook

    rename(marked.sw.student_a, "@SUM(A1)")
    report = queries.class_report(marked.teacher, marked.w.tree.class_a)
    sheet = load_workbook(io.BytesIO(queries.class_report_xlsx(report))).active
    rows = list(sheet.iter_rows(values_only=True))
    student_row = next(r for r in rows if r[0] == "student_a")
    assert student_row[1] == "'@SUM(A1)"
    assert student_row[2:] == (0.3, 0.2, 0.9)


def test_student_csv_export(marked):
    report = queries.student_report(marked.teacher, marked.sw.student_a)
    text = queries.student_report_csv(report).decode("utf-8-sig")
    assert (
        text.splitlines()[0]
        == "Code,Knowledge point,Mastery,Level,Answers,Correct,Last answered at"
    )
    assert "math-pythagoras,Pythagorean theorem,0.2,Weak,4,1," in text


# --- pages --------------------------------------------------------------------------------------


def test_my_report_page(marked, client_for):
    response = client_for(marked.sw.student_a).get("/learning/diagnosis/me/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "My mastery of knowledge points" in body
    assert "Pythagorean theorem" in body and "Square roots" in body
    assert "Weakest prerequisites" in body and "level-weak" in body


def test_student_page_for_teacher_parent_and_strangers(marked, client_for):
    url = f"/learning/diagnosis/students/{marked.sw.student_a.pk}/"
    teacher = client_for(marked.teacher).get(url)
    assert teacher.status_code == 200 and "Answers" in teacher.content.decode()
    parent = client_for(marked.sw.parent_a).get(url)
    body = parent.content.decode()
    assert parent.status_code == 200 and "Pythagorean theorem" in body
    assert '<th scope="col">Answers</th>' not in body and "Suggested resources" not in body
    for user in (marked.w.teacher_b, marked.sw.student_b, marked.sw.parent_b):
        assert client_for(user).get(url).status_code == 404
    assert client_for(marked.sw.student_b).get(url + "export.csv").status_code == 404


def test_class_heat_map_page(marked, client_for, assert_max_queries):
    url = f"/learning/diagnosis/classes/{marked.w.tree.class_a.pk}/"
    client = client_for(marked.teacher)
    client.get(url)
    with assert_max_queries(30):
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Heat map" in body and "level-weak" in body and "Class mean" in body
    assert f"/learning/diagnosis/students/{marked.sw.student_a.pk}/" in body
    assert client_for(marked.w.teacher_b).get(url).status_code == 404
    assert client_for(marked.sw.student_b).get(url).status_code == 404
    assert client_for(marked.sw.student_a).get(url).status_code == 404


def test_class_exports_through_views(marked, client_for):
    base = f"/learning/diagnosis/classes/{marked.w.tree.class_a.pk}/export"
    client = client_for(marked.teacher)
    csv_response = client.get(base + ".csv")
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    xlsx = client.get(base + ".xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(base + ".pdf").status_code == 404
    assert client_for(marked.w.teacher_b).get(base + ".csv").status_code == 404


def test_item_statistics_page_flags_low_discrimination(marked, client_for):
    run = DiagnosisRun.objects.get()
    ItemStatistic.objects.create(
        item=marked.items["single"], run=run, n_responses=30, facility=0.7, discrimination=0.1
    )
    ItemStatistic.objects.create(
        item=marked.items["multiple"], run=run, n_responses=3, facility=0.5, discrimination=None
    )
    response = client_for(marked.teacher).get("/learning/diagnosis/items/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "flagged" in body and "too few answers" in body
    by_assessment = client_for(marked.teacher).get(
        "/learning/diagnosis/items/", {"assessment": marked.assessment.pk}
    )
    assert by_assessment.status_code == 200
    assert client_for(marked.sw.student_a).get("/learning/diagnosis/items/").status_code == 403
    other = client_for(marked.w.teacher_b).get(
        "/learning/diagnosis/items/", {"assessment": marked.assessment.pk}
    )
    assert other.status_code == 404


def test_runs_page_and_run_now(ew, client_for, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    sit(ew.assessment, ew.sw.student_a, [2.0] + [None] * 7)
    client = client_for(ew.teacher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/learning/diagnosis/runs/")
    assert response.status_code == 303
    run = DiagnosisRun.objects.get()
    assert run.status == DiagnosisRunStatus.DONE
    page = client.get("/learning/diagnosis/runs/")
    assert page.status_code == 200 and "Run diagnosis now" in page.content.decode()
    assert client_for(ew.sw.student_a).post("/learning/diagnosis/runs/").status_code == 403
    assert client_for(ew.sw.student_a).get("/learning/diagnosis/runs/").status_code == 403
    home = client.get("/learning/diagnosis/")
    assert home.status_code == 200
