"""Test helpers of the resources app: a small world of people and a subject (``res_world``).

Everything is created directly as the system actor; the tests of the actions cover the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.testing.fixtures import Tree, build_tree
from shuyuan.identity.models import Role

from .choices import ReviewStage, Stage
from .models import Chapter, KnowledgePoint, ReviewerAssignment, Subject, TextbookEdition


@dataclass
class ResWorld:
    """``tree`` plus the people of a resource service, and one subject with a chapter.

    - ``teacher_a`` (School A) and ``teacher_b`` (School B) provide resources;
    - ``reviewer`` reviews every stage of every subject in the whole region; ``reviewer_b``
      reviews only County B, maths, submission stage;
    - ``school_admin_a``, ``region_admin``; ``student_a`` (class A); ``parent_a``.
    """

    tree: Tree
    teacher_a: Any
    teacher_b: Any
    reviewer: Any
    reviewer_b: Any
    school_admin_a: Any
    region_admin: Any
    student_a: Any
    math: Subject
    physics: Subject
    edition: TextbookEdition
    chapter: Chapter
    kp: KnowledgePoint


@pytest.fixture
def res_world(db: Any, make_user: Any) -> ResWorld:
    tree = build_tree()
    teacher_a = make_user(Role.TEACHER, tree.school_a, username="teacher_a")
    teacher_b = make_user(Role.TEACHER, tree.school_b, username="teacher_b")
    reviewer = make_user(Role.RESOURCE_REVIEWER, tree.region, username="reviewer")
    reviewer_b = make_user(Role.RESOURCE_REVIEWER, tree.county_b, username="reviewer_b")
    school_admin_a = make_user(Role.SCHOOL_ADMIN, tree.school_a, username="school_admin_a")
    region_admin = make_user(Role.REGION_ADMIN, tree.region, username="region_admin")
    student_a = make_user(Role.STUDENT, tree.class_a, username="student_a")
    with change_context(actor=system_actor(), source="system"):
        math = Subject(code="math", name="Mathematics", order=2)
        math.save(force_insert=True)
        physics = Subject(code="physics", name="Physics", order=4)
        physics.save(force_insert=True)
        edition = TextbookEdition(code="pep", name="PEP", publisher="People's Education Press")
        edition.save(force_insert=True)
        chapter = Chapter(
            edition=edition, subject=math, grade="08", code="pep-math-8b-17", title="Chapter 17"
        )
        chapter.save(force_insert=True)
        kp = KnowledgePoint(
            code="math-pythagoras",
            name="Pythagorean theorem",
            subject=math,
            stage=Stage.JUNIOR,
            grade="08",
        )
        kp.save(force_insert=True)
        kp.chapters.add(chapter)
        ReviewerAssignment(
            reviewer=reviewer, org=tree.region, subject=None, stages=list(ReviewStage.values)
        ).save(force_insert=True)
        ReviewerAssignment(
            reviewer=reviewer_b, org=tree.county_b, subject=math, stages=[ReviewStage.SUBMISSION]
        ).save(force_insert=True)
    return ResWorld(
        tree,
        teacher_a,
        teacher_b,
        reviewer,
        reviewer_b,
        school_admin_a,
        region_admin,
        student_a,
        math,
        physics,
        edition,
        chapter,
        kp,
    )
