"""Recommendations: co-usage, knowledge-graph neighbours, cold start, never unlisted."""

from __future__ import annotations

import pytest

from shuyuan.core.context import change_context, system_actor
from shuyuan.identity.models import Role
from shuyuan.resources import recommend
from shuyuan.resources.actions import evaluation as actions
from shuyuan.resources.choices import EdgeKind, UsageKind
from shuyuan.resources.models import KnowledgeEdge

from .test_evaluation import make_point, make_resource


def _use(user, *resources):
    for resource in resources:
        actions.record_usage(actor=user, resource=resource, kind=UsageKind.DOWNLOAD)


def _edge(source, target, kind=EdgeKind.PREREQUISITE):
    with change_context(actor=system_actor(), source="system"):
        KnowledgeEdge(source=source, target=target, kind=kind).save(force_insert=True)


@pytest.fixture
def peers(res_world, make_user):
    return [make_user(Role.STUDENT, res_world.tree.class_a) for _ in range(3)]


def test_co_usage_suggests_what_others_used_together(res_world, peers):
    w = res_world
    a = make_resource(w, title="A", grade="05")
    b = make_resource(w, title="B", grade="05")
    c = make_resource(w, title="C", grade="05")
    lone = make_resource(w, title="Lone", grade="05")
    _use(peers[0], a, b, c)
    _use(peers[1], a, b)
    _use(peers[2], lone)
    _use(w.student_a, a)
    suggested = recommend.suggestions_for(w.student_a, limit=2)
    assert [r.listed_version.title for r in suggested] == [
        "B",
        "C",
    ]
    similar = recommend.more_like_this(w.student_a, a, limit=6)
    assert [r.listed_version.title for r in similar][:2] == ["B", "C"]
    assert a not in similar


def test_graph_neighbours_suggest_the_next_point(res_world):
    w = res_world
    roots = make_point(w, "math-roots", "Square roots")
    distance = make_point(w, "math-distance", "Distance formula")
    unrelated = make_point(w, "math-stats", "Statistics")
    _edge(w.kp, distance)  # Pythagoras is a prerequisite of the distance formula
    _edge(roots, w.kp, EdgeKind.RELATED)
    studied = make_resource(w, title="Pythagoras", points=[w.kp])
    nxt = make_resource(w, title="Distance", points=[distance])
    related = make_resource(w, title="Roots", points=[roots])
    other = make_resource(w, title="Stats", points=[unrelated])
    _use(w.student_a, studied)
    titles = [r.listed_version.title for r in recommend.suggestions_for(w.student_a, limit=3)]
    assert titles[:2] == ["Distance", "Roots"]
    assert "Pythagoras" not in titles
    assert nxt and related and other  # all listed; Stats only fills as cold start


def test_more_like_this_weights_shared_points_and_chapter(res_world):
    w = res_world
    second = make_point(w, "math-triangles", "Right triangles")
    base = make_resource(w, title="Base", points=[w.kp, second], chapter=w.chapter)
    both = make_resource(w, title="Both points", points=[w.kp, second])
    one = make_resource(w, title="One point", points=[w.kp])
    chapter = make_resource(w, title="Same chapter", chapter=w.chapter)
    titles = [r.listed_version.title for r in recommend.more_like_this(w.student_a, base)]
    assert titles[:3] == ["Both points", "Same chapter", "One point"]
    assert both and one and chapter


def test_cold_start_prefers_the_users_grade_then_quality(res_world):
    w = res_world  # student_a sits in "Grade 7" of School A
    assert recommend.user_grade(w.student_a) == "07"
    low7 = make_resource(w, title="Grade 7 low", grade="07")
    high7 = make_resource(w, title="Grade 7 high", grade="07")
    high8 = make_resource(w, title="Grade 8 best", grade="08")
    for resource, stars in ((low7, 2), (high7, 5), (high8, 5)):
        actions.rate(actor=w.teacher_b, resource=resource, stars=stars)
    actions.rate(actor=w.school_admin_a, resource=high8, stars=5)
    titles = [r.listed_version.title for r in recommend.suggestions_for(w.student_a, limit=3)]
    assert titles == ["Grade 7 high", "Grade 7 low", "Grade 8 best"]
    assert recommend.user_grade(w.teacher_a) == ""
    assert [r.listed_version.title for r in recommend.suggestions_for(w.teacher_a, 1)] == [
        "Grade 8 best"
    ]


def test_never_returns_unlisted_or_retired(res_world, peers):
    w = res_world
    a = make_resource(w, title="A", points=[w.kp])
    hidden = make_resource(w, title="Draft", points=[w.kp], listed=False)
    retired = make_resource(w, title="Retired", points=[w.kp])
    _use(peers[0], a, retired)
    actions.retire_resource(actor=w.reviewer, resource=retired, reason="Old")
    _use(w.student_a, a)
    everything = recommend.suggestions_for(w.student_a, limit=20) + recommend.more_like_this(
        w.student_a, a, limit=20
    )
    assert hidden not in everything and retired not in everything
    assert recommend.cold_start(w.teacher_b, 20) == [a]
