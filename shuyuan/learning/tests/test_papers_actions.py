"""Papers and assessments: building, blueprints, freezing, publishing, releasing scores."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.learning.actions import papers as actions
from shuyuan.learning.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Difficulty,
    ItemKind,
    ItemStatus,
    Paper,
    PaperItem,
    Response,
)

from . import exam_world
from .exam_world import ExamWorld, make_item

pytestmark = pytest.mark.django_db

# Fixtures of the exam world (assigned, not imported, so arguments may shadow them).
ew = exam_world.ew
sw = exam_world.sw


def _paper(ew: ExamWorld, title: str = "Blueprint test") -> Paper:
    return actions.create_paper(
        actor=ew.teacher, org=ew.w.tree.school_a, subject=ew.w.math, title=title
    )


def _hard_items(ew: ExamWorld, n: int) -> list:
    return [
        make_item(ew.w, ItemKind.SINGLE, points=[ew.kp], difficulty=Difficulty.HARD)
        for _ in range(n)
    ]


def _window() -> dict:
    now = timezone.now()
    return {
        "opens_at": now - dt.timedelta(minutes=5),
        "closes_at": now + dt.timedelta(hours=2),
        "duration_minutes": 45,
        "max_attempts": 1,
        "shuffle_items": True,
        "shuffle_options": False,
    }


# --- building papers ---------------------------------------------------------------------------


def test_create_paper_in_other_school_denied(ew: ExamWorld) -> None:
    with pytest.raises(PermissionDenied):
        actions.create_paper(actor=ew.teacher, org=ew.w.tree.school_b, subject=None, title="X")


def test_create_paper_requires_school_and_title(ew: ExamWorld) -> None:
    with pytest.raises(InvalidInput) as exc:
        actions.create_paper(actor=ew.teacher, org=ew.w.tree.class_a, subject=None, title="X")
    assert exc.value.errors[0].code == "NOT_A_SCHOOL"
    with pytest.raises(InvalidInput) as exc:
        actions.create_paper(actor=ew.teacher, org=ew.w.tree.school_a, subject=None, title=" ")
    assert exc.value.field == "title"


def test_add_move_points_remove(ew: ExamWorld) -> None:
    paper = _paper(ew)
    first = actions.add_paper_item(
        actor=ew.teacher, paper=paper, item=ew.items[ItemKind.SINGLE], points="3"
    )
    second = actions.add_paper_item(
        actor=ew.teacher, paper=paper, item=ew.items[ItemKind.SHORT_ANSWER], points=Decimal(5)
    )
    assert first.item_version_id == ew.items[ItemKind.SINGLE].current_version_id
    assert (first.position, second.position) == (0, 1)
    actions.move_paper_item(actor=ew.teacher, paper=paper, paper_item=second, direction="up")
    order = list(PaperItem.objects.filter(paper=paper).order_by("position"))
    assert [row.pk for row in order] == [second.pk, first.pk]
    actions.set_points(actor=ew.teacher, paper=paper, paper_item=first, points="1.5")
    first.refresh_from_db()
    assert first.points == Decimal("1.50")
    actions.remove_paper_item(actor=ew.teacher, paper=paper, paper_item=second)
    first.refresh_from_db()
    assert first.position == 0
    assert PaperItem.objects.filter(paper=paper).count() == 1


def test_add_duplicate_item_conflict(ew: ExamWorld) -> None:
    paper = _paper(ew)
    item = ew.items[ItemKind.SINGLE]
    actions.add_paper_item(actor=ew.teacher, paper=paper, item=item, points=2)
    with pytest.raises(Conflict) as exc:
        actions.add_paper_item(actor=ew.teacher, paper=paper, item=item, points=2)
    assert exc.value.code == "DUPLICATE"


def test_add_retired_item_conflict(ew: ExamWorld) -> None:
    from shuyuan.core.context import change_context, system_actor

    item = ew.items[ItemKind.NUMERIC]
    with change_context(actor=system_actor(), source="system"):
        item.status = ItemStatus.RETIRED
        item.save(update_fields=["status"])
    with pytest.raises(Conflict) as exc:
        actions.add_paper_item(actor=ew.teacher, paper=_paper(ew), item=item, points=2)
    assert exc.value.code == "ITEM_RETIRED"


def test_add_item_of_other_school_not_found(ew: ExamWorld) -> None:
    foreign = make_item(ew.w, ItemKind.SINGLE, org=ew.w.tree.school_b, author=ew.w.teacher_b)
    with pytest.raises(NotFound):
        actions.add_paper_item(actor=ew.teacher, paper=_paper(ew), item=foreign, points=2)


def test_bad_points_invalid(ew: ExamWorld) -> None:
    for bad in ("0", "-1", "abc", "1.234", "5000"):
        with pytest.raises(InvalidInput) as exc:
            actions.add_paper_item(
                actor=ew.teacher, paper=_paper(ew), item=ew.items[ItemKind.SINGLE], points=bad
            )
        assert exc.value.field == "points"


def test_colleague_cannot_change_paper(ew: ExamWorld, make_user) -> None:
    from shuyuan.identity.models import Role

    colleague = make_user(Role.TEACHER, ew.w.tree.school_a, username="colleague_a")
    with pytest.raises(NotFound):
        actions.add_paper_item(
            actor=colleague, paper=ew.paper, item=ew.items[ItemKind.SINGLE], points=2
        )
    copy = actions.copy_paper(actor=colleague, paper=ew.paper)
    assert copy.created_by == colleague
    assert copy.org == ew.w.tree.school_a
    assert list(
        PaperItem.objects.filter(paper=copy).values_list("item_version_id", "points")
    ) == list(PaperItem.objects.filter(paper=ew.paper).values_list("item_version_id", "points"))


# --- blueprints ---------------------------------------------------------------------------------


def test_blueprint_happy_path_deterministic(ew: ExamWorld) -> None:
    hard = _hard_items(ew, 5)
    rows = [
        actions.BlueprintRow(ew.kp, Difficulty.HARD, 3, Decimal(4)),
        actions.BlueprintRow(ew.kp_sqrt, Difficulty.MEDIUM, 2, Decimal(2)),
    ]
    first = _paper(ew, "One")
    added = actions.assemble_from_blueprint(actor=ew.teacher, paper=first, rows=rows, seed=7)
    second = _paper(ew, "Two")
    again = actions.assemble_from_blueprint(actor=ew.teacher, paper=second, rows=rows, seed=7)
    assert len(added) == 5
    picked = [row.item_version.item_id for row in added]
    assert picked == [row.item_version.item_id for row in again]
    assert set(picked[:3]) <= {item.pk for item in hard}
    assert len(set(picked)) == 5
    sqrt_medium = {
        ew.items[k].pk
        for k in (ItemKind.TRUE_FALSE, ItemKind.FILL_BLANK, ItemKind.NUMERIC, ItemKind.ORDERING)
    }
    assert set(picked[3:]) <= sqrt_medium
    assert [row.points for row in added] == [Decimal(4)] * 3 + [Decimal(2)] * 2
    assert [row.position for row in added] == [0, 1, 2, 3, 4]
    first.refresh_from_db()
    assert first.blueprint == [
        {
            "knowledge_point": ew.kp.code,
            "knowledge_point_name": ew.kp.name,
            "difficulty": 3,
            "count": 3,
            "points": "4.00",
        },
        {
            "knowledge_point": ew.kp_sqrt.code,
            "knowledge_point_name": ew.kp_sqrt.name,
            "difficulty": 2,
            "count": 2,
            "points": "2.00",
        },
    ]


def test_blueprint_skips_items_on_paper_and_earlier_rows(ew: ExamWorld) -> None:
    hard = _hard_items(ew, 2)
    paper = _paper(ew)
    actions.add_paper_item(actor=ew.teacher, paper=paper, item=hard[0], points=2)
    rows = [actions.BlueprintRow(ew.kp, Difficulty.HARD, 1, Decimal(1))]
    added = actions.assemble_from_blueprint(actor=ew.teacher, paper=paper, rows=rows, seed=1)
    assert added[0].item_version.item_id == hard[1].pk
    with pytest.raises(InvalidInput) as exc:
        actions.assemble_from_blueprint(actor=ew.teacher, paper=paper, rows=rows, seed=1)
    assert exc.value.errors[0].code == "NOT_ENOUGH_ITEMS"


def test_blueprint_not_enough_items_names_row_adds_nothing(ew: ExamWorld) -> None:
    _hard_items(ew, 1)
    paper = _paper(ew)
    rows = [
        actions.BlueprintRow(ew.kp_sqrt, Difficulty.MEDIUM, 1, Decimal(2)),
        actions.BlueprintRow(ew.kp, Difficulty.HARD, 3, Decimal(2)),
    ]
    with pytest.raises(InvalidInput) as exc:
        actions.assemble_from_blueprint(actor=ew.teacher, paper=paper, rows=rows, seed=3)
    error = exc.value.errors[0]
    assert (error.field, error.code) == ("rows[1]", "NOT_ENOUGH_ITEMS")
    assert error.message == "Row 2 (Pythagorean theorem, hard): the bank has 1 item, 3 asked."
    assert not PaperItem.objects.filter(paper=paper).exists()
    paper.refresh_from_db()
    assert paper.blueprint == []


def test_blueprint_bad_rows(ew: ExamWorld) -> None:
    paper = _paper(ew)
    with pytest.raises(InvalidInput) as exc:
        actions.assemble_from_blueprint(actor=ew.teacher, paper=paper, rows=[])
    assert exc.value.field == "rows"
    with pytest.raises(InvalidInput) as exc:
        actions.assemble_from_blueprint(
            actor=ew.teacher,
            paper=paper,
            rows=[actions.BlueprintRow(ew.kp, Difficulty.EASY, 0, Decimal(1))],
        )
    assert exc.value.field == "rows[0].count"


# --- frozen papers and publishing --------------------------------------------------------------


def test_published_paper_is_frozen(ew: ExamWorld) -> None:
    paper = _paper(ew)
    row = actions.add_paper_item(
        actor=ew.teacher, paper=paper, item=ew.items[ItemKind.SINGLE], points=2
    )
    actions.publish_assessment(
        actor=ew.teacher, paper=paper, class_org=ew.w.tree.class_a, title="Quiz", **_window()
    )
    attempts = [
        lambda: actions.add_paper_item(
            actor=ew.teacher, paper=paper, item=ew.items[ItemKind.MULTIPLE], points=2
        ),
        lambda: actions.remove_paper_item(actor=ew.teacher, paper=paper, paper_item=row),
        lambda: actions.set_points(actor=ew.teacher, paper=paper, paper_item=row, points=3),
        lambda: actions.move_paper_item(
            actor=ew.teacher, paper=paper, paper_item=row, direction="down"
        ),
        lambda: actions.assemble_from_blueprint(
            actor=ew.teacher,
            paper=paper,
            rows=[actions.BlueprintRow(ew.kp, Difficulty.MEDIUM, 1, Decimal(1))],
        ),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as exc:
            attempt()
        assert exc.value.code == "PAPER_PUBLISHED"
    # Title edits stay possible, and a copy is editable.
    actions.update_paper(actor=ew.teacher, paper=paper, title="Renamed")
    copy = actions.copy_paper(actor=ew.teacher, paper=paper)
    actions.add_paper_item(actor=ew.teacher, paper=copy, item=ew.items[ItemKind.MULTIPLE], points=2)


def test_publish_happy_path(ew: ExamWorld) -> None:
    assessment = actions.publish_assessment(
        actor=ew.teacher, paper=ew.paper, class_org=ew.w.tree.class_a, title="Unit 1", **_window()
    )
    assert assessment.published_by == ew.teacher
    assert assessment.duration_minutes == 45
    assert assessment.shuffle_items is True


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"closes_at": "opens"}, "closes_at", "BEFORE_OPENING"),
        ({"closes_at": "past"}, "closes_at", "IN_THE_PAST"),
        ({"max_attempts": 0}, "max_attempts", "OUT_OF_RANGE"),
        ({"max_attempts": 11}, "max_attempts", "OUT_OF_RANGE"),
        ({"duration_minutes": 0}, "duration_minutes", "OUT_OF_RANGE"),
        ({"duration_minutes": 601}, "duration_minutes", "OUT_OF_RANGE"),
        ({"title": "   "}, "title", "REQUIRED"),
    ],
)
def test_publish_validation(ew: ExamWorld, change: dict, field: str, code: str) -> None:
    values = {**_window(), "title": "Quiz"}
    now = timezone.now()
    if change.get("closes_at") == "opens":
        change = {"closes_at": values["opens_at"]}
    elif change.get("closes_at") == "past":
        change = {"opens_at": now - dt.timedelta(hours=3), "closes_at": now - dt.timedelta(hours=1)}
    values.update(change)
    with pytest.raises(InvalidInput) as exc:
        actions.publish_assessment(
            actor=ew.teacher, paper=ew.paper, class_org=ew.w.tree.class_a, **values
        )
    assert (exc.value.field, exc.value.errors[0].code) == (field, code)


def test_publish_empty_paper_invalid(ew: ExamWorld) -> None:
    with pytest.raises(InvalidInput) as exc:
        actions.publish_assessment(
            actor=ew.teacher, paper=_paper(ew), class_org=ew.w.tree.class_a, title="Q", **_window()
        )
    assert exc.value.errors[0].code == "EMPTY_PAPER"


def test_publish_to_other_school_class_denied(ew: ExamWorld) -> None:
    with pytest.raises(PermissionDenied):
        actions.publish_assessment(
            actor=ew.teacher, paper=ew.paper, class_org=ew.w.tree.class_b, title="Q", **_window()
        )
    with pytest.raises(InvalidInput) as exc:
        actions.publish_assessment(
            actor=ew.teacher, paper=ew.paper, class_org=ew.w.tree.school_a, title="Q", **_window()
        )
    assert exc.value.errors[0].code == "NOT_A_CLASS"


def test_teacher_b_cannot_publish_school_a_paper(ew: ExamWorld) -> None:
    with pytest.raises(NotFound):
        actions.publish_assessment(
            actor=ew.w.teacher_b,
            paper=ew.paper,
            class_org=ew.w.tree.class_b,
            title="Q",
            **_window(),
        )


# --- cancelling and releasing --------------------------------------------------------------------


def _submitted(ew: ExamWorld, student, *, marked: bool) -> Attempt:
    attempt = Attempt.objects.create(
        assessment=ew.assessment,
        student=student,
        deadline=timezone.now() + dt.timedelta(hours=1),
        status=AttemptStatus.MARKED if marked else AttemptStatus.SUBMITTED,
        submitted_at=timezone.now(),
    )
    short = PaperItem.objects.get(paper=ew.paper, item_version__item__kind=ItemKind.SHORT_ANSWER)
    Response.objects.create(
        attempt=attempt,
        paper_item=short,
        answer="Because.",
        score=Decimal(1) if marked else None,
        marked_at=timezone.now() if marked else None,
    )
    return attempt


def test_release_refused_while_unmarked_then_released(ew: ExamWorld) -> None:
    _submitted(ew, ew.sw.student_a2, marked=True)
    attempt = _submitted(ew, ew.student, marked=False)
    with pytest.raises(Conflict) as exc:
        actions.release_scores(actor=ew.teacher, assessment=ew.assessment)
    assert exc.value.code == "MARKING_INCOMPLETE"
    Response.objects.filter(attempt=attempt).update(score=2, marked_at=timezone.now())
    Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.MARKED)
    released = actions.release_scores(actor=ew.teacher, assessment=ew.assessment)
    assert released.scores_released_at is not None
    withheld = actions.withhold_scores(actor=ew.teacher, assessment=ew.assessment)
    assert withheld.scores_released_at is None


def test_release_ignores_in_progress(ew: ExamWorld) -> None:
    Attempt.objects.create(
        assessment=ew.assessment,
        student=ew.student,
        deadline=timezone.now() + dt.timedelta(hours=1),
    )
    assert actions.release_scores(actor=ew.teacher, assessment=ew.assessment).scores_released_at


def test_cancel_and_colleague_denied(ew: ExamWorld, make_user) -> None:
    from shuyuan.identity.models import Role

    colleague = make_user(Role.TEACHER, ew.w.tree.school_a, username="colleague_a")
    with pytest.raises(PermissionDenied):
        actions.cancel_assessment(actor=colleague, assessment=ew.assessment)
    with pytest.raises(NotFound):
        actions.cancel_assessment(actor=ew.w.teacher_b, assessment=ew.assessment)
    cancelled = actions.cancel_assessment(actor=ew.teacher, assessment=ew.assessment)
    assert cancelled.status == "cancelled"
    assert Assessment.objects.get(pk=ew.assessment.pk).status == "cancelled"
