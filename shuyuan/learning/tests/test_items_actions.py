"""Item bank actions and queries: create every kind, revise into versions, retire/restore,
access across schools and banks, QTI import (all or nothing) and export."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Max

from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.learning.actions import items as actions
from shuyuan.learning.exams import qti
from shuyuan.learning.models import (
    Difficulty,
    Item,
    ItemKind,
    ItemStatus,
    ItemTag,
    ItemVersion,
    PaperItem,
)
from shuyuan.learning.queries import items as queries

from .exam_world import CONTENTS, ew, make_item, sw  # noqa: F401  # fixtures

pytestmark = pytest.mark.django_db


def _create(ew, kind=ItemKind.SINGLE, **overrides):  # noqa: F811  # pytest fixture name
    stem, content = CONTENTS[kind]
    fields = {
        "actor": ew.teacher,
        "org": ew.w.tree.school_a,
        "subject": ew.w.math,
        "kind": kind,
        "difficulty": Difficulty.MEDIUM,
        "stem": stem,
        "content": content,
        "explanation": "Because.",
        "knowledge_points": [ew.kp],
    }
    fields.update(overrides)
    return actions.create_item(**fields)


def _qti_item(identifier, kind=ItemKind.SINGLE, points=("math-pythagoras",)):
    stem, content = CONTENTS[kind]
    return qti.QtiItem(
        identifier=identifier,
        kind=kind,
        stem=stem,
        content=content,
        difficulty=Difficulty.HARD,
        knowledge_points=list(points),
        explanation="",
        title="Imported",
    )


# --- create ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ItemKind.values)
def test_create_every_kind(ew, kind):  # noqa: F811  # pytest fixture argument
    item = _create(ew, kind)
    item.refresh_from_db()
    assert item.kind == kind and item.status == ItemStatus.ACTIVE
    assert item.current_version.number == 1
    assert item.current_version.stem == CONTENTS[kind][0]
    assert item.current_version.explanation == "Because."
    assert list(item.tags.values_list("knowledge_point", flat=True)) == [ew.kp.pk]
    assert item.created_by == ew.teacher
    assert queries.access_item(ew.teacher, item.pk) == item


def test_create_validates_content_naming_the_field(ew):  # noqa: F811  # pytest fixture argument
    content = {"options": [{"id": "A", "text": "5"}, {"id": "B", "text": "6"}], "correct": "Z"}
    with pytest.raises(InvalidInput) as caught:
        _create(ew, content=content)
    assert caught.value.field == "content.correct"
    with pytest.raises(InvalidInput) as caught:
        _create(ew, difficulty=7)
    assert caught.value.field == "difficulty"
    with pytest.raises(InvalidInput) as caught:
        _create(ew, stem="  ")
    assert caught.value.field == "stem" and caught.value.code == "REQUIRED"
    with pytest.raises(InvalidInput) as caught:
        actions.create_item(
            actor=ew.teacher,
            org=ew.w.tree.school_a,
            subject=None,
            kind="essay",
            difficulty=1,
            stem="Write.",
            content={},
        )
    assert caught.value.field == "kind"
    assert not Item.objects.exclude(pk__in=[i.pk for i in ew.items.values()]).exists()


def test_create_outside_teaching_scope_is_refused(ew):  # noqa: F811  # pytest fixture argument
    with pytest.raises(PermissionDenied):
        _create(ew, org=ew.w.tree.school_b)
    with pytest.raises(PermissionDenied):
        _create(ew, actor=ew.sw.student_a)
    # the region's bank: its administrator may add to it, a teacher may not
    with pytest.raises(PermissionDenied):
        _create(ew, org=ew.w.tree.region)
    item = _create(ew, actor=ew.w.region_admin, org=ew.w.tree.region)
    assert item.org == ew.w.tree.region


def test_bank_orgs(ew):  # noqa: F811  # pytest fixture argument
    assert list(queries.bank_orgs_for(ew.teacher)) == [ew.w.tree.school_a]
    assert list(queries.bank_orgs_for(ew.sw.head_a)) == [ew.w.tree.class_a]
    assert list(queries.bank_orgs_for(ew.w.school_admin_a)) == [ew.w.tree.school_a]
    assert not queries.bank_orgs_for(ew.sw.student_a).exists()
    assert queries.can_use_bank(ew.teacher) and not queries.can_use_bank(ew.sw.parent_a)


# --- revise ---------------------------------------------------------------------------------------


def test_revise_adds_a_version_and_papers_keep_theirs(ew):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.SINGLE]
    v1 = item.current_version
    paper_item = PaperItem.objects.get(paper=ew.paper, item_version=v1)
    stem, content = CONTENTS[ItemKind.SINGLE]
    changed = {**content, "correct": "B"}
    revised = actions.revise_item(
        actor=ew.teacher,
        item=item,
        stem=stem + " (revised)",
        content=changed,
        explanation="",
        difficulty=Difficulty.HARD,
        knowledge_points=[ew.kp, ew.kp_tri],
    )
    revised.refresh_from_db()
    assert revised.current_version.number == 2
    assert revised.current_version.content["correct"] == "B"
    assert revised.difficulty == Difficulty.HARD
    assert set(revised.tags.values_list("knowledge_point", flat=True)) == {ew.kp.pk, ew.kp_tri.pk}
    v1.refresh_from_db()
    assert v1.number == 1 and v1.content["correct"] == "A" and v1.stem == stem
    paper_item.refresh_from_db()
    assert paper_item.item_version_id == v1.pk
    assert [v.number for v in queries.item_versions(ew.teacher, revised)] == [2, 1]


def test_revise_without_content_change_keeps_the_version(ew):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.NUMERIC]
    stem, content = CONTENTS[ItemKind.NUMERIC]
    actions.revise_item(
        actor=ew.teacher,
        item=item,
        stem=stem,
        content=content,
        explanation="",
        difficulty=Difficulty.EASY,
        knowledge_points=[ew.kp_tri],
    )
    item.refresh_from_db()
    assert item.current_version.number == 1 and item.difficulty == Difficulty.EASY
    assert list(ItemTag.objects.filter(item=item).values_list("knowledge_point", flat=True)) == [
        ew.kp_tri.pk
    ]
    before = item.updated_at
    actions.revise_item(
        actor=ew.teacher,
        item=item,
        stem=stem,
        content=content,
        explanation="",
        difficulty=Difficulty.EASY,
        knowledge_points=[ew.kp_tri],
    )
    item.refresh_from_db()
    assert item.updated_at == before
    assert ItemVersion.objects.filter(item=item).count() == 1


def test_revise_with_a_stale_object_adds_the_next_version(ew):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.TRUE_FALSE]
    stale = Item.objects.select_related("current_version").get(pk=item.pk)
    stem, _content = CONTENTS[ItemKind.TRUE_FALSE]
    for n, correct in enumerate([False, True], start=2):
        obj = item if n == 2 else stale  # the second call holds version 1 in memory
        actions.revise_item(
            actor=ew.teacher,
            item=obj,
            stem=stem + f" ({n})",
            content={"correct": correct},
            explanation="",
            difficulty=Difficulty.MEDIUM,
            knowledge_points=[],
        )
    item.refresh_from_db()
    assert item.current_version.number == 3
    assert sorted(ItemVersion.objects.filter(item=item).values_list("number", flat=True)) == [
        1,
        2,
        3,
    ]


def test_revise_from_an_outdated_version_is_a_conflict(ew):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.TRUE_FALSE]
    stem, _content = CONTENTS[ItemKind.TRUE_FALSE]
    kwargs = {"explanation": "", "difficulty": 2, "knowledge_points": [], "base_version": 1}
    actions.revise_item(
        actor=ew.teacher, item=item, stem=stem + "!", content={"correct": False}, **kwargs
    )
    with pytest.raises(Conflict) as caught:
        actions.revise_item(
            actor=ew.teacher, item=item, stem=stem + "?", content={"correct": True}, **kwargs
        )
    assert caught.value.code == "ITEM_CHANGED"
    assert ItemVersion.objects.filter(item=item).count() == 2


def test_a_version_number_race_is_a_conflict_not_an_error(ew, monkeypatch):  # noqa: F811  # pytest fixture argument
    # Simulate a concurrent writer that took number n + 1 after we read the last number.
    monkeypatch.setattr(actions, "Max", lambda name: Max(name) - 1)
    item = ew.items[ItemKind.TRUE_FALSE]
    stem, _content = CONTENTS[ItemKind.TRUE_FALSE]
    with pytest.raises(Conflict) as caught:
        actions.revise_item(
            actor=ew.teacher,
            item=item,
            stem=stem + "!",
            content={"correct": False},
            explanation="",
            difficulty=2,
            knowledge_points=[],
        )
    assert caught.value.code == "ITEM_CHANGED"
    item.refresh_from_db()
    assert item.current_version.number == 1


def test_other_school_cannot_see_or_change(ew):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.SINGLE]
    teacher_b = ew.w.teacher_b
    assert not queries.list_items(teacher_b).filter(pk=item.pk).exists()
    with pytest.raises(NotFound):
        queries.access_item(teacher_b, item.pk)
    stem, content = CONTENTS[ItemKind.SINGLE]
    with pytest.raises(NotFound):
        actions.revise_item(
            actor=teacher_b,
            item=item,
            stem=stem,
            content=content,
            explanation="",
            difficulty=1,
            knowledge_points=[],
        )
    with pytest.raises(NotFound):
        actions.retire_item(actor=teacher_b, item=item)
    with pytest.raises(NotFound):
        queries.access_item(ew.sw.student_a, item.pk)


def test_region_bank_is_visible_to_schools_but_not_changeable(ew):  # noqa: F811  # pytest fixture argument
    item = make_item(ew.w, ItemKind.SINGLE, org=ew.w.tree.region, author=ew.w.region_admin)
    assert queries.access_item(ew.teacher, item.pk) == item
    assert queries.list_items(ew.w.teacher_b).filter(pk=item.pk).exists()
    assert not queries.can_change_item(ew.teacher, item)
    with pytest.raises(PermissionDenied):
        actions.retire_item(actor=ew.teacher, item=item)
    assert queries.can_change_item(ew.w.region_admin, item)
    actions.retire_item(actor=ew.w.region_admin, item=item)


def test_retire_and_restore(ew):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.ORDERING]
    actions.retire_item(actor=ew.teacher, item=item)
    actions.retire_item(actor=ew.teacher, item=item)  # idempotent
    assert not queries.list_items(ew.teacher).filter(pk=item.pk).exists()
    assert queries.list_items(ew.teacher, status=ItemStatus.RETIRED).get() == item
    actions.restore_item(actor=ew.teacher, item=item)
    assert queries.list_items(ew.teacher).filter(pk=item.pk).exists()
    # a school admin of the item's school may retire it too
    actions.retire_item(actor=ew.w.school_admin_a, item=item)


def test_list_filters(ew):  # noqa: F811  # pytest fixture argument
    teacher = ew.teacher
    assert queries.list_items(teacher).count() == len(ItemKind.values)
    assert list(queries.list_items(teacher, kind=ItemKind.NUMERIC)) == [ew.items["numeric"]]
    assert list(queries.list_items(teacher, q="HYPOTENUSE OF LEGS")) == [ew.items["numeric"]]
    tagged = {i.kind for i in queries.list_items(teacher, knowledge_point=ew.kp_tri)}
    assert tagged == {ItemKind.SHORT_ANSWER}
    assert not queries.list_items(teacher, difficulty=Difficulty.HARD).exists()
    assert queries.list_items(teacher, subject=ew.w.math).count() == len(ItemKind.values)


# --- QTI ------------------------------------------------------------------------------------------


def test_import_creates_items(ew):  # noqa: F811  # pytest fixture argument
    ids = [str(uuid.uuid4()) for _ in range(3)]
    data = qti.export_package(
        [
            _qti_item(ids[0], ItemKind.SINGLE),
            _qti_item(ids[1], ItemKind.FILL_BLANK, ("math-square-roots",)),
            _qti_item(ids[2], ItemKind.SHORT_ANSWER, ()),
        ]
    )
    report = actions.import_qti(
        actor=ew.teacher, org=ew.w.tree.school_a, data=data, filename="x.zip"
    )
    assert len(report.created) == 3 and report.updated == []
    created = {str(i.identifier): i for i in report.created}
    assert set(created) == set(ids)
    blank = created[ids[1]]
    assert blank.kind == ItemKind.FILL_BLANK and blank.difficulty == Difficulty.HARD
    assert list(blank.tags.values_list("knowledge_point", flat=True)) == [ew.kp_sqrt.pk]
    assert blank.subject == ew.w.math
    assert created[ids[2]].subject is None


def test_import_malformed_stores_nothing(ew):  # noqa: F811  # pytest fixture argument
    before = Item.objects.count()
    with pytest.raises(InvalidInput) as caught:
        actions.import_qti(
            actor=ew.teacher, org=ew.w.tree.school_a, data=b"not a zip", filename="bad.zip"
        )
    assert caught.value.code == "MALFORMED_QTI"
    assert Item.objects.count() == before


def test_import_unknown_code_names_it_and_stores_nothing(ew):  # noqa: F811  # pytest fixture argument
    before = Item.objects.count()
    good = _qti_item(str(uuid.uuid4()))
    bad = _qti_item("item-17", points=("math-no-such-point",))
    data = qti.export_package([good, bad])
    with pytest.raises(InvalidInput) as caught:
        actions.import_qti(actor=ew.teacher, org=ew.w.tree.school_a, data=data, filename="x.zip")
    assert caught.value.code == "UNKNOWN_KNOWLEDGE_POINT"
    assert "item-17" in caught.value.message and "math-no-such-point" in caught.value.message
    assert Item.objects.count() == before


def test_import_bad_content_names_the_item(ew):  # noqa: F811  # pytest fixture argument
    broken = _qti_item("item-9")
    broken.content = {"options": [{"id": "A", "text": "only one"}], "correct": "A"}
    data = qti.export_package([_qti_item(str(uuid.uuid4())), broken])
    before = Item.objects.count()
    with pytest.raises(InvalidInput) as caught:
        actions.import_qti(actor=ew.teacher, org=ew.w.tree.school_a, data=data, filename="x.zip")
    assert caught.value.field == "file" and "item-9" in caught.value.message
    assert Item.objects.count() == before


def test_export_import_round_trip_revises_in_place(ew):  # noqa: F811  # pytest fixture argument
    items = list(ew.items.values())
    data = queries.export_qti(ew.teacher, items)
    parsed = qti.parse_package(data, filename="items.zip")
    assert {p.kind for p in parsed} == set(ItemKind.values)
    before = Item.objects.count()
    report = actions.import_qti(
        actor=ew.teacher, org=ew.w.tree.school_a, data=data, filename="i.zip"
    )
    assert report.created == [] and len(report.updated) == len(items)
    assert Item.objects.count() == before
    assert set(ItemVersion.objects.filter(item__in=items).values_list("number", flat=True)) == {1}
    # a changed stem in the package revises the item into version 2
    numeric = next(p for p in parsed if p.kind == ItemKind.NUMERIC)
    numeric.stem = "The hypotenuse of legs 1 and 1, to two decimals (revised):"
    report = actions.import_qti(
        actor=ew.teacher,
        org=ew.w.tree.school_a,
        data=qti.export_package([numeric]),
        filename="one.zip",
    )
    assert [i.current_version.number for i in report.updated] == [2]


def test_import_of_an_item_another_school_owns_is_refused(ew):  # noqa: F811  # pytest fixture argument
    data = queries.export_qti(ew.teacher, [ew.items[ItemKind.SINGLE]])
    with pytest.raises(InvalidInput) as caught:
        actions.import_qti(
            actor=ew.w.teacher_b, org=ew.w.tree.school_b, data=data, filename="a.zip"
        )
    assert caught.value.code == "ITEM_NOT_CHANGEABLE"
    assert ew.items[ItemKind.SINGLE].current_version.number == 1


def test_export_leaves_out_items_the_user_cannot_see(ew):  # noqa: F811  # pytest fixture argument
    assert queries.qti_items(ew.w.teacher_b, list(ew.items.values())) == []
    assert len(queries.qti_items(ew.teacher, list(ew.items.values()))) == len(ItemKind.values)
