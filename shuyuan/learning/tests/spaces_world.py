"""A small world for the learning-space tests: ``res_world`` plus a head teacher, classmates,
a student and parent in School B, two listed resources, and LRS statements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shuyuan.identity.models import Role
from shuyuan.learning.actions.events import record_platform_event
from shuyuan.learning.xapi.platform import VERB_COMPLETED, VERB_VIEWED, resource_activity_id
from shuyuan.resources.tests.test_evaluation import make_resource


@dataclass
class SpaceWorld:
    w: Any
    head_a: Any
    student_a: Any
    student_a2: Any
    student_b: Any
    parent_a: Any
    parent_b: Any
    r1: Any
    r2: Any


def statement(user: Any, resource: Any, verb: str = VERB_VIEWED, **kw: Any) -> str:
    return record_platform_event(
        user=user,
        verb_id=verb,
        verb_display="completed" if verb == VERB_COMPLETED else "viewed",
        object_id=resource_activity_id(resource.pk),
        object_name=resource.listed_version.title,
        **kw,
    )


@pytest.fixture
def sw(res_world: Any, make_user: Any) -> SpaceWorld:
    w = res_world
    head_a = make_user(Role.HEAD_TEACHER, w.tree.class_a, username="head_a")
    student_a2 = make_user(Role.STUDENT, w.tree.class_a, username="student_a2")
    student_b = make_user(Role.STUDENT, w.tree.class_b, username="student_b")
    parent_a = make_user(Role.PARENT, w.tree.class_a, child=w.student_a, username="parent_a")
    parent_b = make_user(Role.PARENT, w.tree.class_b, child=student_b, username="parent_b")
    r1 = make_resource(w, title="Pythagoras lesson")
    r2 = make_resource(w, title="Similar triangles")
    return SpaceWorld(w, head_a, w.student_a, student_a2, student_b, parent_a, parent_b, r1, r2)
