"""A small world for the exam and diagnosis tests: the learning-space world (``sw``) plus two
prerequisite knowledge points, one item of every kind, a paper of them, and an assessment of
that paper open now for School A's class.

Rows are created directly as the system actor, so tests of one area do not depend on the
actions of another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from shuyuan.core.context import change_context, system_actor
from shuyuan.learning.models import (
    Assessment,
    Difficulty,
    Item,
    ItemKind,
    ItemTag,
    ItemVersion,
    Paper,
    PaperItem,
)
from shuyuan.resources.choices import EdgeKind, Stage
from shuyuan.resources.models import KnowledgeEdge, KnowledgePoint

from .spaces_world import SpaceWorld, sw  # noqa: F401  # fixture

#: The content of one item of each kind (shapes: ``learning.exams.content``).
CONTENTS: dict[str, tuple[str, dict[str, Any]]] = {
    ItemKind.SINGLE: (
        "In a right triangle with legs 3 and 4, the hypotenuse is:",
        {
            "options": [
                {"id": "A", "text": "5"},
                {"id": "B", "text": "6"},
                {"id": "C", "text": "7"},
                {"id": "D", "text": "12"},
            ],
            "correct": "A",
        },
    ),
    ItemKind.MULTIPLE: (
        "Which are Pythagorean triples?",
        {
            "options": [
                {"id": "A", "text": "3, 4, 5"},
                {"id": "B", "text": "5, 12, 13"},
                {"id": "C", "text": "2, 3, 4"},
            ],
            "correct": ["A", "B"],
        },
    ),
    ItemKind.TRUE_FALSE: ("The square root of 16 is 4.", {"correct": True}),
    ItemKind.FILL_BLANK: (
        "The square root of 81 is ___ and of 4 is ___.",
        {
            "blanks": [
                {"accepted": ["9", "nine"], "case_sensitive": False},
                {"accepted": ["2"], "case_sensitive": False},
            ]
        },
    ),
    ItemKind.NUMERIC: (
        "The hypotenuse of legs 1 and 1, to two decimals:",
        {"value": 1.41, "tolerance": 0.01, "unit": ""},
    ),
    ItemKind.MATCHING: (
        "Match the legs to the hypotenuse.",
        {
            "left": [{"id": "l1", "text": "3, 4"}, {"id": "l2", "text": "6, 8"}],
            "right": [{"id": "r1", "text": "5"}, {"id": "r2", "text": "10"}],
            "pairs": {"l1": "r1", "l2": "r2"},
        },
    ),
    ItemKind.ORDERING: (
        "Order from smallest to largest.",
        {
            "options": [
                {"id": "a", "text": "sqrt 2"},
                {"id": "b", "text": "1"},
                {"id": "c", "text": "2"},
            ],
            "order": ["b", "a", "c"],
        },
    ),
    ItemKind.SHORT_ANSWER: (
        "Explain why a triangle with sides 5, 12 and 13 is right-angled.",
        {
            "rubric": [
                {"criterion": "States the converse of the theorem", "points": 2},
                {"criterion": "Computes 25 + 144 = 169", "points": 2},
            ],
            "model_answer": "25 + 144 = 169 = 13 squared, so by the converse it is right-angled.",
        },
    ),
}


@dataclass
class ExamWorld:
    sw: SpaceWorld
    kp: KnowledgePoint  # Pythagorean theorem (the resources world's point)
    kp_sqrt: KnowledgePoint  # prerequisite of kp
    kp_tri: KnowledgePoint  # prerequisite of kp
    items: dict[str, Item] = field(default_factory=dict)
    paper: Paper | None = None
    assessment: Assessment | None = None

    @property
    def w(self) -> Any:
        return self.sw.w

    @property
    def teacher(self) -> Any:
        return self.sw.w.teacher_a

    @property
    def student(self) -> Any:
        return self.sw.student_a


def make_point(w: Any, code: str, name: str) -> KnowledgePoint:
    with change_context(actor=system_actor(), source="system"):
        point = KnowledgePoint(code=code, name=name, subject=w.math, stage=Stage.JUNIOR, grade="08")
        point.save(force_insert=True)
    return point


def prerequisite(source: KnowledgePoint, target: KnowledgePoint) -> None:
    with change_context(actor=system_actor(), source="system"):
        KnowledgeEdge(source=source, target=target, kind=EdgeKind.PREREQUISITE).save(
            force_insert=True
        )


def make_item(
    w: Any,
    kind: str,
    *,
    points: list[KnowledgePoint] | tuple[KnowledgePoint, ...] = (),
    difficulty: int = Difficulty.MEDIUM,
    org: Any = None,
    author: Any = None,
    stem: str | None = None,
    content: dict[str, Any] | None = None,
) -> Item:
    """An active item with version 1, created directly as the system actor."""
    default_stem, default_content = CONTENTS[kind]
    author = author or w.teacher_a
    with change_context(actor=system_actor(), source="system"):
        item = Item(
            org=org or w.tree.school_a,
            subject=w.math,
            kind=kind,
            difficulty=difficulty,
            created_by=author,
        )
        item.save(force_insert=True)
        version = ItemVersion(
            item=item,
            number=1,
            stem=stem or default_stem,
            content=content if content is not None else default_content,
            created_by=author,
        )
        version.save(force_insert=True)
        item.current_version = version
        item.save(update_fields=["current_version"])
        for point in points:
            ItemTag(item=item, knowledge_point=point).save(force_insert=True)
    return item


def make_paper(w: Any, items: list[Item], *, title: str = "Unit test", author: Any = None) -> Paper:
    author = author or w.teacher_a
    with change_context(actor=system_actor(), source="system"):
        paper = Paper(org=w.tree.school_a, subject=w.math, title=title, created_by=author)
        paper.save(force_insert=True)
        for position, item in enumerate(items):
            points = Decimal(4) if item.kind == ItemKind.SHORT_ANSWER else Decimal(2)
            PaperItem(
                paper=paper,
                item_version=item.current_version,
                position=position,
                points=points,
            ).save(force_insert=True)
    return paper


def make_assessment(
    w: Any,
    paper: Paper,
    *,
    class_org: Any = None,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    duration_minutes: int | None = 60,
    max_attempts: int = 1,
    shuffle: bool = False,
    publisher: Any = None,
) -> Assessment:
    now = timezone.now()
    with change_context(actor=system_actor(), source="system"):
        assessment = Assessment(
            paper=paper,
            class_org=class_org or w.tree.class_a,
            title=paper.title,
            opens_at=opens_at or now - dt.timedelta(hours=1),
            closes_at=closes_at or now + dt.timedelta(hours=1),
            duration_minutes=duration_minutes,
            max_attempts=max_attempts,
            shuffle_items=shuffle,
            shuffle_options=shuffle,
            published_by=publisher or w.teacher_a,
        )
        assessment.save(force_insert=True)
    return assessment


@pytest.fixture
def ew(sw: SpaceWorld) -> ExamWorld:  # noqa: F811  # the imported fixture
    w = sw.w
    kp_sqrt = make_point(w, "math-square-roots", "Square roots")
    kp_tri = make_point(w, "math-right-triangles", "Right triangles")
    prerequisite(kp_sqrt, w.kp)
    prerequisite(kp_tri, w.kp)
    world = ExamWorld(sw, w.kp, kp_sqrt, kp_tri)
    tags = {
        ItemKind.SINGLE: (w.kp,),
        ItemKind.MULTIPLE: (w.kp,),
        ItemKind.TRUE_FALSE: (kp_sqrt,),
        ItemKind.FILL_BLANK: (kp_sqrt,),
        ItemKind.NUMERIC: (w.kp, kp_sqrt),
        ItemKind.MATCHING: (w.kp,),
        ItemKind.ORDERING: (kp_sqrt,),
        ItemKind.SHORT_ANSWER: (w.kp, kp_tri),
    }
    for kind in ItemKind.values:
        world.items[kind] = make_item(w, kind, points=tags[kind])
    world.paper = make_paper(w, list(world.items.values()))
    world.assessment = make_assessment(w, world.paper)
    return world
