"""Push: suggestions for weak points and their prerequisites, pushing to students of a class,
completing pushes, and practice answers (marking, completing the push, the xAPI statement)."""

from __future__ import annotations

import pytest

from shuyuan.core.errors import InvalidInput, NotFound, PermissionDenied
from shuyuan.core.models import ChangeRecord
from shuyuan.learning.actions import push as actions
from shuyuan.learning.models import ItemKind, PracticeAnswer, Push, PushStatus, Statement
from shuyuan.learning.queries import push as queries
from shuyuan.resources.tests.test_evaluation import make_resource

from .exam_world import ew, make_item, sw  # noqa: F401  # fixtures
from .test_diagnosis_run import set_mastery
from .test_diagnosis_views import teaches

pytestmark = pytest.mark.django_db


@pytest.fixture
def weak(ew):  # noqa: F811  # pytest fixture argument
    """student_a weak on Pythagoras (kp) and its prerequisite square roots; a resource tagged
    to square roots; teacher_a teaches class A."""
    set_mastery(ew.sw.student_a, ew.kp, 0.2)
    set_mastery(ew.sw.student_a, ew.kp_sqrt, 0.4)
    set_mastery(ew.sw.student_a, ew.kp_tri, 0.95)
    set_mastery(ew.sw.student_a2, ew.kp, 0.9)
    teaches(ew.teacher, ew.w.tree.class_a)
    ew.video = make_resource(ew.w, title="Square roots video", points=(ew.kp_sqrt,))
    return ew


def _push(world, item=None, resource=None, students=None):
    return actions.push_to_students(
        actor=world.teacher,
        class_org=world.w.tree.class_a,
        students=students or [world.sw.student_a],
        knowledge_point=world.kp,
        item=item,
        resource=resource,
    )


# --- suggestions --------------------------------------------------------------------------------


def test_suggestions_cover_weak_points_and_weak_prerequisites(weak):
    found = actions.suggestions(weak.sw.student_a, weak.sw.student_a)
    resources = [s for s in found if s.resource is not None]
    items = [s for s in found if s.item is not None]
    assert [(s.resource, s.point, s.for_point) for s in resources] == [
        (weak.video, weak.kp_sqrt, weak.kp)
    ]
    assert resources[0].is_prerequisite
    kinds = {s.item.kind for s in items}
    assert ItemKind.SHORT_ANSWER not in kinds and kinds <= ItemKind.objective()
    assert {s.point for s in items} == {weak.kp, weak.kp_sqrt}
    assert all(s.item.current_version is not None for s in items)


def test_suggestions_leave_out_pushed_items_and_resources(weak):
    first = actions.suggestions(weak.sw.student_a, weak.sw.student_a)
    item = next(s.item for s in first if s.item is not None)
    _push(weak, item=item)
    _push(weak, resource=weak.video)
    again = actions.suggestions(weak.sw.student_a, weak.sw.student_a)
    assert item not in [s.item for s in again]
    assert weak.video not in [s.resource for s in again]


def test_suggestions_for_a_student_without_weak_points_are_empty(weak):
    assert actions.suggestions(weak.sw.student_a2, weak.sw.student_a2) == []
    with pytest.raises(NotFound):
        actions.suggestions(weak.w.teacher_b, weak.sw.student_a)


def test_practice_bank_is_the_school_and_above(weak):
    region_item = make_item(weak.w, ItemKind.SINGLE, points=(weak.kp,), org=weak.w.tree.region)
    school_b_item = make_item(weak.w, ItemKind.SINGLE, points=(weak.kp,), org=weak.w.tree.school_b)
    bank = set(queries.practice_bank(weak.sw.student_a))
    assert region_item in bank and school_b_item not in bank
    assert weak.items[ItemKind.SINGLE] in bank
    assert weak.items[ItemKind.SHORT_ANSWER] not in bank
    assert school_b_item in set(queries.practice_bank(weak.sw.student_b))


# --- pushing ------------------------------------------------------------------------------------


def test_push_creates_change_logged_rows_and_skips_duplicates(weak):
    created = _push(weak, resource=weak.video, students=[weak.sw.student_a, weak.sw.student_a2])
    assert len(created) == 2
    assert ChangeRecord.objects.filter(target_type="learning.push").count() == 2
    again = _push(weak, resource=weak.video, students=[weak.sw.student_a, weak.sw.student_a2])
    assert again == []
    assert Push.objects.count() == 2


def test_push_checks_class_students_and_target(weak):
    with pytest.raises(PermissionDenied):
        actions.push_to_students(
            actor=weak.w.teacher_b,
            class_org=weak.w.tree.class_a,
            students=[weak.sw.student_a],
            knowledge_point=weak.kp,
            resource=weak.video,
        )
    with pytest.raises(InvalidInput) as info:
        _push(weak, resource=weak.video, students=[weak.sw.student_b])
    assert info.value.code == "NOT_IN_CLASS"
    with pytest.raises(InvalidInput) as info:
        _push(weak)
    assert info.value.code == "ONE_TARGET"
    with pytest.raises(InvalidInput) as info:
        _push(weak, item=weak.items[ItemKind.SHORT_ANSWER])
    assert info.value.code == "NOT_OBJECTIVE"
    assert not Push.objects.exists()


def test_only_the_student_completes_a_push(weak):
    (push,) = _push(weak, resource=weak.video)
    for user in (weak.sw.student_b, weak.sw.student_a2, weak.teacher):
        with pytest.raises(NotFound):
            actions.complete_push(actor=user, push=push)
    done = actions.complete_push(actor=weak.sw.student_a, push=push)
    assert done.status == PushStatus.DONE and done.done_at is not None
    # Done pushes no longer block pushing the same resource again.
    assert len(_push(weak, resource=weak.video)) == 1


# --- practice -----------------------------------------------------------------------------------


def test_right_practice_completes_the_push_and_records_a_statement(
    weak, django_capture_on_commit_callbacks
):
    item = weak.items[ItemKind.SINGLE]
    (push,) = _push(weak, item=item)
    with django_capture_on_commit_callbacks(execute=True):
        wrong = actions.answer_practice(actor=weak.sw.student_a, item=item, answer="B")
    assert wrong.fraction == 0.0 and wrong.push_id == push.pk
    push.refresh_from_db()
    assert push.status == PushStatus.NEW
    with django_capture_on_commit_callbacks(execute=True):
        right = actions.answer_practice(actor=weak.sw.student_a, item=item, answer="A", push=push)
    assert right.fraction == 1.0
    push.refresh_from_db()
    assert push.status == PushStatus.DONE
    assert Statement.objects.filter(verb_key__isnull=False).count() >= 2


def test_tampered_or_empty_answers_are_invalid(weak):
    item = weak.items[ItemKind.SINGLE]
    with pytest.raises(InvalidInput) as info:
        actions.answer_practice(actor=weak.sw.student_a, item=item, answer="Z")
    assert info.value.code == "UNKNOWN_OPTION"
    with pytest.raises(InvalidInput) as info:
        actions.answer_practice(actor=weak.sw.student_a, item=item, answer=None)
    assert info.value.code == "REQUIRED"
    with pytest.raises(InvalidInput) as info:
        actions.answer_practice(
            actor=weak.sw.student_a, item=weak.items[ItemKind.SHORT_ANSWER], answer="text"
        )
    assert info.value.code == "NOT_OBJECTIVE"
    assert not PracticeAnswer.objects.exists()


def test_practice_outside_ones_bank_or_pushes_is_not_found(weak):
    item = weak.items[ItemKind.SINGLE]
    with pytest.raises(NotFound):
        actions.answer_practice(actor=weak.sw.student_b, item=item, answer="A")
    (push,) = _push(weak, item=item)
    with pytest.raises(NotFound):
        actions.answer_practice(actor=weak.sw.student_b, item=item, answer="A", push=push)
    other = weak.items[ItemKind.TRUE_FALSE]
    with pytest.raises(InvalidInput) as info:
        actions.answer_practice(actor=weak.sw.student_a, item=other, answer=True, push=push)
    assert info.value.code == "WRONG_ITEM"
    # A suggested item of the student's own school bank needs no push.
    practice = actions.answer_practice(actor=weak.sw.student_a, item=other, answer=True)
    assert practice.fraction == 1.0 and practice.push_id is None
