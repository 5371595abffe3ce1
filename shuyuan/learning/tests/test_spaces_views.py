"""Learning spaces: pages (full and htmx partials), 422/303, 404s across schools."""

from __future__ import annotations

import pytest

from shuyuan.learning.actions import spaces as actions
from shuyuan.learning.models import Assignment, AssignmentSubmission, Favourite, LessonPlan, Note

from .spaces_world import statement, sw  # noqa: F401  # fixture

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _htmx(target):
    return {**HTMX, "HTTP_HX_TARGET": target}


def test_space_home_full_page_and_timeline(sw, client_for, assert_max_queries):  # noqa: F811  # pytest fixture argument
    statement(sw.student_a, sw.r1)
    actions.add_favourite(actor=sw.student_a, resource=sw.r2)
    actions.create_note(actor=sw.student_a, title="Note one")
    client = client_for(sw.student_a)
    client.get("/learning/")  # warm the session
    with assert_max_queries(25):
        response = client.get("/learning/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "My space" in text and "Pythagoras lesson" in text and "Similar triangles" in text
    assert "Note one" in text


def test_space_home_search_partial(sw, client_for):  # noqa: F811  # pytest fixture argument
    response = client_for(sw.student_a).get(
        "/learning/", {"q": "Pythagoras"}, **_htmx("find-results")
    )
    assert response.status_code == 200
    assert "<html" not in response.content.decode()


def test_timeline_partial(sw, client_for):  # noqa: F811  # pytest fixture argument
    statement(sw.student_a, sw.r1)
    response = client_for(sw.student_a).get(
        "/learning/", {"before": "2999-01-01T00:00:00+00:00"}, **_htmx("timeline")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "Pythagoras lesson" in body


def test_favourite_add_and_remove(sw, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(sw.student_a)
    response = client.post("/learning/favourites/", {"resource": sw.r1.pk})
    assert response.status_code == 303
    favourite = Favourite.objects.get()
    other = client_for(sw.student_a2).post(f"/learning/favourites/{favourite.pk}/remove/")
    assert other.status_code == 404
    assert client.post(f"/learning/favourites/{favourite.pk}/remove/").status_code == 303
    assert not Favourite.objects.exists()


def test_note_invalid_is_422_partial_then_valid_303(sw, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(sw.student_a)
    bad = client.post("/learning/notes/", {"title": "", "body": "x"}, **_htmx("note-form"))
    assert bad.status_code == 422
    assert "<html" not in bad.content.decode()
    good = client.post("/learning/notes/", {"title": "Pythagoras", "body": "a²+b²=c²"})
    assert good.status_code == 303
    note = Note.objects.get()
    assert client_for(sw.student_a2).get(f"/learning/notes/{note.pk}/").status_code == 404
    assert client.get(f"/learning/notes/{note.pk}/").status_code == 200
    edited = client.post(f"/learning/notes/{note.pk}/", {"title": "Edited", "body": ""})
    assert edited.status_code == 303


def test_teacher_prepares_lesson_and_sets_assignment(sw, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(sw.w.teacher_a)
    assert client.get("/learning/teach/").status_code == 200
    assert client.get("/learning/teach/lessons/new/").status_code == 200
    bad = client.post("/learning/teach/lessons/new/", {"class_org": sw.w.tree.class_b.pk})
    assert bad.status_code == 422
    response = client.post(
        "/learning/teach/lessons/new/", {"class_org": sw.w.tree.class_a.pk, "title": "Lesson"}
    )
    assert response.status_code == 303
    plan = LessonPlan.objects.get()
    assert (
        client.post(
            f"/learning/teach/lessons/{plan.pk}/resources/", {"resource": sw.r1.pk}
        ).status_code
        == 303
    )
    page = client.get(f"/learning/teach/lessons/{plan.pk}/", {"q": "Similar"})
    assert page.status_code == 200 and "Pythagoras lesson" in page.content.decode()
    partial = client.get(
        f"/learning/teach/lessons/{plan.pk}/", {"q": "Similar"}, **_htmx("find-results")
    )
    assert "<html" not in partial.content.decode()
    response = client.post(
        "/learning/teach/assignments/new/",
        {"class_org": sw.w.tree.class_a.pk, "title": "Homework", "lesson_plan": plan.pk},
    )
    assert response.status_code == 303
    assignment = Assignment.objects.get()
    assert assignment.items.count() == 1
    bad = client.post(
        "/learning/teach/assignments/new/", {"class_org": sw.w.tree.class_a.pk, "title": ""}
    )
    assert bad.status_code == 422


def test_teacher_of_another_school_gets_404(sw, client_for):  # noqa: F811  # pytest fixture argument
    plan = actions.create_lesson_plan(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="P")
    a = actions.set_assignment(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="A")
    client = client_for(sw.w.teacher_b)
    assert client.get(f"/learning/teach/lessons/{plan.pk}/").status_code == 404
    assert client.get(f"/learning/assignments/{a.pk}/").status_code == 404
    assert client.get(f"/learning/classes/{sw.w.tree.class_a.pk}/").status_code == 404
    assert (
        client.post(f"/learning/assignments/{a.pk}/status/", {"status": "closed"}).status_code
        == 404
    )


def test_student_completes_and_teacher_sees_roster(sw, client_for, assert_max_queries):  # noqa: F811  # pytest fixture argument
    a = actions.set_assignment(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="A")
    student = client_for(sw.student_a)
    assert student.get(f"/learning/assignments/{a.pk}/").status_code == 200
    assert student.post(f"/learning/assignments/{a.pk}/complete/").status_code == 303
    assert AssignmentSubmission.objects.filter(student=sw.student_a).exists()
    teacher = client_for(sw.w.teacher_a)
    teacher.get(f"/learning/assignments/{a.pk}/")
    with assert_max_queries(25):
        page = teacher.get(f"/learning/assignments/{a.pk}/")
    text = page.content.decode()
    assert "1 of 2 students completed" in text
    partial = teacher.get(f"/learning/assignments/{a.pk}/", **_htmx("roster"))
    assert "<html" not in partial.content.decode()
    closing = student.post(f"/learning/assignments/{a.pk}/status/", {"status": "closed"})
    assert closing.status_code == 403
    a.refresh_from_db()
    assert a.status == "open"


def test_class_space_teacher_sees_roster_student_does_not(sw, client_for):  # noqa: F811  # pytest fixture argument
    actions.set_assignment(actor=sw.head_a, class_org=sw.w.tree.class_a, title="A")
    url = f"/learning/classes/{sw.w.tree.class_a.pk}/"
    teacher_page = client_for(sw.head_a).get(url).content.decode()
    assert "Class list" in teacher_page and "student_a2" in teacher_page
    student_page = client_for(sw.student_a).get(url).content.decode()
    assert "Class list" not in student_page and "student_a2" not in student_page
    partial = client_for(sw.head_a).get(url, **_htmx("roster"))
    assert "<html" not in partial.content.decode()


def test_parent_sees_only_own_child_minimised(sw, client_for):  # noqa: F811  # pytest fixture argument
    statement(sw.student_a, sw.r1)
    actions.create_note(actor=sw.student_a, title="Secret diary")
    client = client_for(sw.parent_a)
    assert client.get("/learning/children/").status_code == 200
    page = client.get(f"/learning/children/{sw.student_a.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Secret diary" not in text and "student_a2" not in text
    assert "does not show" in text
    assert client.get(f"/learning/children/{sw.student_b.pk}/").status_code == 404
    assert client_for(sw.parent_b).get(f"/learning/children/{sw.student_a.pk}/").status_code == 404
    assert client_for(sw.student_a).get("/learning/children/").status_code == 403


def test_pages_need_sign_in(sw, client):  # noqa: F811  # pytest fixture argument
    assert client.get("/learning/").status_code == 302
    assert client.get("/learning/teach/").status_code == 302
