"""Marking pages and queue: anonymised queue, marking with a rubric, 422, query budget."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from shuyuan.identity.models import Role
from shuyuan.learning.models import Attempt, AttemptStatus, ItemKind, PaperItem, Response
from shuyuan.learning.queries import marking as queries

from . import exam_world
from .exam_world import ExamWorld, make_assessment

pytestmark = pytest.mark.django_db

# Fixtures of the exam world (assigned, not imported, so arguments may shadow them).
ew = exam_world.ew
sw = exam_world.sw

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue"}


def _sat(ew: ExamWorld, student: Any, *, assessment: Any = None, minutes_ago: int = 10) -> Attempt:
    """A submitted attempt: objective questions auto-marked, the short answer waiting."""
    assessment = assessment or ew.assessment
    now = timezone.now()
    attempt = Attempt.objects.create(
        assessment=assessment,
        student=student,
        deadline=now + dt.timedelta(hours=1),
        status=AttemptStatus.SUBMITTED,
        started_at=now - dt.timedelta(minutes=minutes_ago + 30),
        submitted_at=now - dt.timedelta(minutes=minutes_ago),
    )
    for pi in PaperItem.objects.filter(paper=assessment.paper).select_related("item_version__item"):
        if pi.item_version.item.kind == ItemKind.SHORT_ANSWER:
            Response.objects.create(
                attempt=attempt, paper_item=pi, answer=f"Answer of {student.username}"
            )
        else:
            Response.objects.create(
                attempt=attempt,
                paper_item=pi,
                answer=None,
                score=Decimal(2),
                auto_marked=True,
                marked_at=now,
            )
    return attempt


def _short(attempt: Attempt) -> Response:
    return Response.objects.get(
        attempt=attempt, paper_item__item_version__item__kind=ItemKind.SHORT_ANSWER
    )


def test_marking_queue_anonymised_oldest_first(ew: ExamWorld, client_for) -> None:
    late = _sat(ew, ew.sw.student_a2, minutes_ago=1)
    early = _sat(ew, ew.student, minutes_ago=20)
    entries = queries.marking_queue(ew.teacher)
    assert [e.response.attempt_id for e in entries] == [early.pk, late.pk]
    assert [e.label for e in entries] == ["Student 1", "Student 2"]
    assert entries[0].answer == "Answer of student_a"
    assert entries[0].student_name == ""
    response = client_for(ew.teacher).get("/learning/exams/marking/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Student 1" in text and "Answer of student_a" in text
    assert ew.student.real_name not in text
    named = client_for(ew.teacher).get("/learning/exams/marking/", {"names": "1"})
    assert ew.student.real_name in named.content.decode()


def test_marking_queue_scoped(ew: ExamWorld, client_for, make_user) -> None:
    _sat(ew, ew.student)
    assert queries.marking_queue(ew.w.teacher_b) == []
    assert queries.marking_queue(ew.student) == []
    colleague = make_user(Role.TEACHER, ew.w.tree.school_a, username="colleague_a")
    assert len(queries.marking_queue(colleague)) == 1
    response = client_for(ew.w.teacher_b).get("/learning/exams/marking/")
    assert response.status_code == 200
    assert "Nothing to mark" in response.content.decode()


def test_marking_queue_query_budget(
    ew: ExamWorld, client_for, assert_max_queries, make_user
) -> None:
    second = make_assessment(ew.w, ew.paper)
    for n in range(6):
        student = make_user(Role.STUDENT, ew.w.tree.class_a, username=f"queue_student_{n}")
        _sat(ew, student, assessment=second if n % 2 else ew.assessment, minutes_ago=n)
    client = client_for(ew.teacher)
    client.get("/learning/exams/marking/")
    with assert_max_queries(20) as ctx:
        response = client.get("/learning/exams/marking/", **HTMX)
    assert response.status_code == 200
    assert response.content.decode().count("/learning/exams/marking/") >= 6
    few = len(ctx.captured_queries)
    for n in range(6, 12):
        student = make_user(Role.STUDENT, ew.w.tree.class_a, username=f"queue_student_{n}")
        _sat(ew, student, minutes_ago=n)
    with assert_max_queries(few) as ctx:
        client.get("/learning/exams/marking/", **HTMX)


def test_mark_view_happy_path_save_and_next(ew: ExamWorld, client_for) -> None:
    first = _sat(ew, ew.student, minutes_ago=20)
    second = _sat(ew, ew.sw.student_a2, minutes_ago=5)
    client = client_for(ew.teacher)
    url = f"/learning/exams/marking/{_short(first).pk}/"
    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "States the converse of the theorem" in text
    assert "25 + 144 = 169 = 13 squared" in text  # the model answer
    assert "Student 1" in text
    response = client.post(
        url, {"score_0": "2", "score_1": "2", "feedback": "Complete.", "next": "1"}
    )
    assert response.status_code == 303
    assert response["Location"] == f"/learning/exams/marking/{_short(second).pk}/"
    first.refresh_from_db()
    assert first.status == AttemptStatus.MARKED
    assert first.score == Decimal("18.00")
    assert first.max_score == Decimal("18.00")
    marked = _short(first)
    assert marked.feedback == "Complete." and marked.marked_by == ew.teacher
    # The last one: back to the (now empty) queue.
    response = client.post(
        f"/learning/exams/marking/{_short(second).pk}/",
        {"score_0": "1", "score_1": "0", "next": "1"},
    )
    assert response.status_code == 303
    assert response["Location"] == "/learning/exams/marking/"


def test_mark_view_score_over_max_422(ew: ExamWorld, client_for) -> None:
    attempt = _sat(ew, ew.student)
    response = client_for(ew.teacher).post(
        f"/learning/exams/marking/{_short(attempt).pk}/",
        {"score_0": "5", "score_1": "0"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="mark-form",
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "<html" not in text
    assert "Give between 0 and 2 points for this criterion." in text
    assert _short(attempt).marked_at is None


def test_mark_view_students_and_parents_404(ew: ExamWorld, client_for) -> None:
    attempt = _sat(ew, ew.student)
    url = f"/learning/exams/marking/{_short(attempt).pk}/"
    for user in (ew.student, ew.sw.parent_a):
        assert client_for(user).get(url).status_code == 404
