"""Learning spaces: queries (timeline, roster, the parent's minimised summary)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from shuyuan.learning.actions import spaces as actions
from shuyuan.learning.queries import spaces as queries
from shuyuan.learning.xapi.platform import VERB_COMPLETED

from .spaces_world import statement, sw  # noqa: F401  # fixture

pytestmark = pytest.mark.django_db


def test_timeline_newest_first_with_cursor(sw):  # noqa: F811  # pytest fixture argument
    now = timezone.now()
    for days in (3, 2, 1):
        statement(sw.student_a, sw.r1, timestamp=now - dt.timedelta(days=days))
    statement(sw.student_a2, sw.r2)
    entries = queries.list_timeline(sw.student_a, limit=2)
    assert len(entries) == 2
    assert entries[0].stored >= entries[1].stored
    assert entries[0].object_name == "Pythagoras lesson"
    assert entries[0].verb == "viewed"
    older = queries.list_timeline(sw.student_a, before=entries[-1].stored)
    assert len(older) == 1


def test_timeline_of_another_account_is_empty_without_rights(sw):  # noqa: F811  # pytest fixture argument
    statement(sw.student_a, sw.r1)
    assert queries.list_timeline(sw.student_a2, for_user=sw.student_a) == []
    assert len(queries.list_timeline(sw.head_a, for_user=sw.student_a)) == 1


def test_assignment_roster_counts_and_query_budget(sw, assert_max_queries):  # noqa: F811  # pytest fixture argument
    a = actions.set_assignment(actor=sw.w.teacher_a, class_org=sw.w.tree.class_a, title="A")
    actions.complete_assignment(actor=sw.student_a, assignment=a)
    statement(sw.student_a, sw.r1)
    teacher = sw.w.teacher_a
    teacher.clear_role_cache()
    with assert_max_queries(7):
        roster = queries.assignment_roster(teacher, a)
    by_name = {row.student.username: row for row in roster}
    assert set(by_name) == {"student_a", "student_a2"}
    assert by_name["student_a"].completed_at is not None
    assert by_name["student_a2"].completed_at is None
    assert by_name["student_a"].activity_count == 1


def test_child_summary_is_minimised(sw):  # noqa: F811  # pytest fixture argument
    a = actions.set_assignment(actor=sw.head_a, class_org=sw.w.tree.class_a, title="Chapter 17")
    actions.set_assignment(actor=sw.head_a, class_org=sw.w.tree.class_a, title="Chapter 18")
    actions.complete_assignment(actor=sw.student_a, assignment=a)
    statement(sw.student_a, sw.r1)
    statement(sw.student_a, sw.r2, verb=VERB_COMPLETED, result={"score": {"scaled": 0.4}})
    statement(sw.student_a2, sw.r2, verb=VERB_COMPLETED)
    actions.create_note(actor=sw.student_a, title="Private diary")
    summary = queries.child_summary(sw.parent_a, sw.student_a)
    assert summary.total == 2
    assert len(summary.weeks) == queries.WEEKS_SHOWN
    assert [c.name for c in summary.completions] == ["Similar triangles"]
    assert not hasattr(summary.completions[0], "score")
    assert {(row.title, row.done) for row in summary.assignments} == {
        ("Chapter 17", True),
        ("Chapter 18", False),
    }


def test_my_assignments_marks_done(sw):  # noqa: F811  # pytest fixture argument
    a = actions.set_assignment(actor=sw.head_a, class_org=sw.w.tree.class_a, title="A")
    b = actions.set_assignment(actor=sw.head_a, class_org=sw.w.tree.class_a, title="B")
    actions.complete_assignment(actor=sw.student_a, assignment=a)
    done = {x.pk: x.done for x in queries.my_assignments(sw.student_a)}
    assert done == {a.pk: True, b.pk: False}
    assert list(queries.my_assignments(sw.student_b)) == []


def test_favourites_hide_retired_resources(sw):  # noqa: F811  # pytest fixture argument
    actions.add_favourite(actor=sw.student_a, resource=sw.r1)
    actions.add_favourite(actor=sw.student_a, resource=sw.r2)
    assert queries.favourite_resource_ids(sw.student_a, [sw.r1.pk, 999]) == {sw.r1.pk}
    assert len(list(queries.list_favourites(sw.student_a))) == 2
