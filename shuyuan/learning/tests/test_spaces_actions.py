"""Learning spaces: actions (favourites, notes, lesson plans, assignments, completion)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.core.models import ChangeRecord
from shuyuan.learning.actions import spaces as actions
from shuyuan.learning.models import AssignmentStatus, Favourite, Statement
from shuyuan.learning.queries import spaces as queries
from shuyuan.resources.tests.test_evaluation import make_resource

from .spaces_world import sw  # noqa: F401  # fixture

pytestmark = pytest.mark.django_db


def test_add_favourite_twice_keeps_one(sw):  # noqa: F811  # pytest fixture argument
    first = actions.add_favourite(actor=sw.student_a, resource=sw.r1)
    again = actions.add_favourite(actor=sw.student_a, resource=sw.r1)
    assert first.pk == again.pk
    assert Favourite.objects.count() == 1


def test_add_favourite_of_unlisted_resource_is_not_found(sw):  # noqa: F811  # pytest fixture argument
    draft = make_resource(sw.w, title="Draft", listed=False)
    with pytest.raises(NotFound):
        actions.add_favourite(actor=sw.student_a, resource=draft)


def test_remove_favourite_of_someone_else_is_not_found(sw):  # noqa: F811  # pytest fixture argument
    favourite = actions.add_favourite(actor=sw.student_a, resource=sw.r1)
    with pytest.raises(NotFound):
        actions.remove_favourite(actor=sw.student_a2, favourite=favourite)
    actions.remove_favourite(actor=sw.student_a, favourite=favourite)
    assert not Favourite.objects.exists()


def test_create_note_cleans_and_limits_text(sw):  # noqa: F811  # pytest fixture argument
    note = actions.create_note(
        actor=sw.student_a, title="  勾股定理 \x07", body="a\r\nb", resource=sw.r1
    )
    assert (note.title, note.body, note.resource_id) == ("勾股定理", "a\nb", sw.r1.pk)
    with pytest.raises(InvalidInput) as info:
        actions.create_note(actor=sw.student_a, title="")
    assert info.value.errors[0].field == "title"
    with pytest.raises(InvalidInput):
        actions.create_note(actor=sw.student_a, title="x", body="y" * 4001)


def test_update_note_of_someone_else_is_not_found(sw):  # noqa: F811  # pytest fixture argument
    note = actions.create_note(actor=sw.student_a, title="Mine")
    with pytest.raises(NotFound):
        actions.update_note(actor=sw.parent_a, note=note, title="Hijacked")
    with pytest.raises(NotFound):
        actions.delete_note(actor=sw.w.region_admin, note=note)
    actions.update_note(actor=sw.student_a, note=note, title="Still mine", body="ok")
    note.refresh_from_db()
    assert note.title == "Still mine"


def test_create_lesson_plan_records_change_and_orders_resources(sw):  # noqa: F811  # pytest fixture argument
    plan = actions.create_lesson_plan(
        actor=sw.w.teacher_a,
        class_org=sw.w.tree.class_a,
        title="Right triangles",
        resources=[sw.r2, sw.r1, sw.r2],
    )
    items = queries.plan_items(sw.w.teacher_a, plan)
    assert [i.resource_id for i in items] == [sw.r2.pk, sw.r1.pk]
    assert ChangeRecord.objects.filter(target_type="learning.lessonplan").exists()


def test_lesson_plan_for_another_school_is_refused(sw):  # noqa: F811  # pytest fixture argument
    with pytest.raises(PermissionDenied):
        actions.create_lesson_plan(
            actor=sw.w.teacher_b, class_org=sw.w.tree.class_a, title="Not mine"
        )
    with pytest.raises(PermissionDenied):
        actions.create_lesson_plan(
            actor=sw.student_a, class_org=sw.w.tree.class_a, title="Students do not plan"
        )


def test_add_move_remove_plan_resource(sw):  # noqa: F811  # pytest fixture argument
    teacher = sw.w.teacher_a
    plan = actions.create_lesson_plan(actor=teacher, class_org=sw.w.tree.class_a, title="P")
    first = actions.add_plan_resource(actor=teacher, plan=plan, resource=sw.r1)
    second = actions.add_plan_resource(actor=teacher, plan=plan, resource=sw.r2)
    with pytest.raises(Conflict):
        actions.add_plan_resource(actor=teacher, plan=plan, resource=sw.r1)
    actions.move_plan_resource(actor=teacher, plan=plan, item=second, up=True)
    assert [i.pk for i in queries.plan_items(teacher, plan)] == [second.pk, first.pk]
    actions.remove_plan_resource(actor=teacher, plan=plan, item=first)
    assert [i.pk for i in queries.plan_items(teacher, plan)] == [second.pk]
    with pytest.raises(NotFound):
        actions.add_plan_resource(actor=sw.head_a, plan=plan, resource=sw.r1)


def test_set_assignment_copies_plan_resources(sw):  # noqa: F811  # pytest fixture argument
    teacher = sw.w.teacher_a
    plan = actions.create_lesson_plan(
        actor=teacher, class_org=sw.w.tree.class_a, title="P", resources=[sw.r1]
    )
    assignment = actions.set_assignment(
        actor=teacher,
        class_org=sw.w.tree.class_a,
        title="Homework 1",
        due_at=timezone.now() + dt.timedelta(days=2),
        lesson_plan=plan,
        resources=[sw.r2],
    )
    items = queries.assignment_items(teacher, assignment)
    assert [i.resource_id for i in items] == [sw.r1.pk, sw.r2.pk]


def test_set_assignment_due_in_the_past_is_invalid(sw):  # noqa: F811  # pytest fixture argument
    with pytest.raises(InvalidInput) as info:
        actions.set_assignment(
            actor=sw.w.teacher_a,
            class_org=sw.w.tree.class_a,
            title="Late",
            due_at=timezone.now() - dt.timedelta(hours=1),
        )
    assert info.value.errors[0].field == "due_at"


def test_complete_assignment_once_and_stores_statement(sw, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    assignment = actions.set_assignment(
        actor=sw.head_a, class_org=sw.w.tree.class_a, title="Read chapter 17"
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.complete_assignment(actor=sw.student_a, assignment=assignment)
    assert Statement.objects.filter(actor_key=queries.agent_of("student_a")).count() == 1
    entry = queries.list_timeline(sw.student_a)[0]
    assert entry.object_name == "Read chapter 17"
    assert entry.object_id == queries.assignment_iri(assignment)
    with pytest.raises(Conflict):
        actions.complete_assignment(actor=sw.student_a, assignment=assignment)


def test_complete_assignment_rules(sw):  # noqa: F811  # pytest fixture argument
    assignment = actions.set_assignment(
        actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="Work"
    )
    with pytest.raises(NotFound):
        actions.complete_assignment(actor=sw.student_b, assignment=assignment)
    with pytest.raises(PermissionDenied):
        actions.complete_assignment(actor=sw.parent_a, assignment=assignment)
    actions.set_assignment_status(
        actor=sw.w.teacher_a, assignment=assignment, status=AssignmentStatus.CLOSED
    )
    with pytest.raises(Conflict):
        actions.complete_assignment(actor=sw.student_a, assignment=assignment)


def test_only_the_setter_closes_an_assignment(sw):  # noqa: F811  # pytest fixture argument
    assignment = actions.set_assignment(
        actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="Work"
    )
    with pytest.raises(PermissionDenied):
        actions.set_assignment_status(
            actor=sw.head_a, assignment=assignment, status=AssignmentStatus.CLOSED
        )
    with pytest.raises(NotFound):
        actions.set_assignment_status(
            actor=sw.w.teacher_b, assignment=assignment, status=AssignmentStatus.CLOSED
        )
