"""Learning spaces: who sees what (role x org matrix), including cross-school and other
children, and the statement rule for teachers and parents."""

from __future__ import annotations

import pytest

from shuyuan.core.errors import NotFound
from shuyuan.learning.actions import spaces as actions
from shuyuan.learning.models import (
    Assignment,
    AssignmentSubmission,
    Favourite,
    LessonPlan,
    Note,
    Statement,
)
from shuyuan.learning.queries import spaces as queries

from .spaces_world import statement, sw  # noqa: F401  # fixture

pytestmark = pytest.mark.django_db


def _ids(model, user, action="view"):
    return set(model.objects.visible_to(user, action).values_list("pk", flat=True))


def test_favourites_and_notes_are_private_to_their_owner(sw):  # noqa: F811  # pytest fixture argument
    fav = actions.add_favourite(actor=sw.student_a, resource=sw.r1)
    note = actions.create_note(actor=sw.student_a, title="Mine")
    for other in (sw.student_a2, sw.parent_a, sw.head_a, sw.w.teacher_a, sw.w.region_admin):
        assert _ids(Favourite, other) == set()
        assert _ids(Note, other) == set()
    assert _ids(Favourite, sw.student_a) == {fav.pk}
    assert _ids(Note, sw.student_a, "change") == {note.pk}


def test_lesson_plans_teacher_and_admins_only(sw):  # noqa: F811  # pytest fixture argument
    plan = actions.create_lesson_plan(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="P")
    assert plan.pk in _ids(LessonPlan, sw.w.teacher_a, "change")
    assert plan.pk in _ids(LessonPlan, sw.w.school_admin_a)
    for other in (sw.w.teacher_b, sw.student_a, sw.parent_a, sw.head_a):
        assert plan.pk not in _ids(LessonPlan, other)
    with pytest.raises(NotFound):
        queries.access_lesson_plan(sw.w.teacher_b, plan.pk)


def test_assignment_visibility_matrix(sw):  # noqa: F811  # pytest fixture argument
    a = actions.set_assignment(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="A")
    visible = {
        sw.w.teacher_a: True,
        sw.head_a: True,
        sw.student_a: True,
        sw.student_a2: True,
        sw.parent_a: True,
        sw.w.school_admin_a: True,
        sw.w.region_admin: True,
        sw.w.teacher_b: False,
        sw.student_b: False,
        sw.parent_b: False,
        sw.w.reviewer: False,
    }
    for user, expected in visible.items():
        assert (a.pk in _ids(Assignment, user)) is expected, user.username
    assert _ids(Assignment, sw.student_a, "complete") == {a.pk}
    assert _ids(Assignment, sw.parent_a, "complete") == set()
    assert _ids(Assignment, sw.w.teacher_a, "change") == {a.pk}
    assert _ids(Assignment, sw.head_a, "change") == set()


def test_submissions_seen_by_student_teachers_and_own_parent(sw):  # noqa: F811  # pytest fixture argument
    a = actions.set_assignment(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="A")
    sub = actions.complete_assignment(actor=sw.student_a, assignment=a)
    for user in (sw.student_a, sw.w.teacher_a, sw.head_a, sw.parent_a, sw.w.school_admin_a):
        assert sub.pk in _ids(AssignmentSubmission, user), user.username
    for user in (sw.student_a2, sw.w.teacher_b, sw.parent_b, sw.student_b):
        assert sub.pk not in _ids(AssignmentSubmission, user), user.username


def test_statements_teacher_sees_taught_students_only(sw):  # noqa: F811  # pytest fixture argument
    statement(sw.student_a, sw.r1)
    statement(sw.student_b, sw.r1)
    mine = queries.agent_of("student_a")
    theirs = queries.agent_of("student_b")

    def keys(user):
        return set(Statement.objects.visible_to(user).values_list("actor_key", flat=True))

    assert keys(sw.head_a) == {mine}  # head teacher of class A
    assert keys(sw.w.teacher_a) == set()  # teaches nothing yet
    actions.set_assignment(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="A")
    assert keys(sw.w.teacher_a) == {mine}
    assert keys(sw.w.teacher_b) == set()  # School B's teacher never sees School A
    assert keys(sw.parent_a) == {mine}
    assert keys(sw.parent_b) == {theirs}
    assert keys(sw.student_a2) == set()


def test_parent_of_another_child_gets_not_found(sw):  # noqa: F811  # pytest fixture argument
    with pytest.raises(NotFound):
        queries.access_child(sw.parent_b, sw.student_a.pk)
    assert queries.access_child(sw.parent_a, sw.student_a.pk) == sw.student_a
    with pytest.raises(NotFound):
        queries.access_child(sw.w.teacher_a, sw.student_a.pk)


def test_class_space_roles(sw):  # noqa: F811  # pytest fixture argument
    class_a = sw.w.tree.class_a
    assert queries.class_role(sw.w.teacher_a, class_a) == "teacher"
    assert queries.class_role(sw.head_a, class_a) == "teacher"
    assert queries.class_role(sw.student_a, class_a) == "student"
    assert queries.class_role(sw.w.school_admin_a, class_a) == "admin"
    for outsider in (sw.w.teacher_b, sw.student_b, sw.parent_a):
        with pytest.raises(NotFound):
            queries.access_class(outsider, class_a.pk)
    with pytest.raises(NotFound):
        queries.access_class(sw.w.teacher_a, sw.w.tree.school_a.pk)
