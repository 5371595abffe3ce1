"""Graph edits: permissions, the DAG rule with the cycle named, related edges, deletion."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from shuyuan.core.context import system_actor
from shuyuan.core.errors import Conflict, InvalidInput, PermissionDenied
from shuyuan.core.models import ChangeRecord
from shuyuan.resources.actions import graph as actions
from shuyuan.resources.choices import EdgeKind, Stage
from shuyuan.resources.models import KnowledgeEdge, KnowledgePoint
from shuyuan.resources.queries import graph as queries

from .test_graph_helpers import make_resource, point, prereq


@pytest.fixture
def chain(res_world):
    """a → b → c (prerequisites) in maths."""
    w = res_world
    a = point(w.math, "kp-a", "实数")
    b = point(w.math, "kp-b", "二次根式")
    c = point(w.math, "kp-c", "勾股定理的应用")
    prereq(a, b)
    prereq(b, c)
    return a, b, c


def test_direct_cycle_is_refused_naming_the_path(chain, res_world):
    a, b, _c = chain
    with pytest.raises(InvalidInput) as info:
        actions.add_edge(
            actor=res_world.reviewer, source_point=b, target_point=a, kind="prerequisite"
        )
    assert info.value.code == "PREREQUISITE_CYCLE"
    assert "二次根式 → 实数 → 二次根式" in info.value.message
    assert info.value.errors[0].field == "target"


def test_transitive_cycle_is_refused_naming_the_path(chain, res_world):
    a, _b, c = chain
    before = KnowledgeEdge.objects.count()
    with pytest.raises(InvalidInput) as info:
        actions.add_edge(
            actor=res_world.region_admin, source_point=c, target_point=a, kind="prerequisite"
        )
    assert info.value.code == "PREREQUISITE_CYCLE"
    assert "勾股定理的应用 → 实数 → 二次根式 → 勾股定理的应用" in info.value.message
    assert KnowledgeEdge.objects.count() == before


def test_self_and_duplicate_edges_are_refused(chain, res_world):
    a, b, _c = chain
    with pytest.raises(InvalidInput) as info:
        actions.add_edge(actor=res_world.reviewer, source_point=a, target_point=a, kind="related")
    assert info.value.code == "SELF_EDGE"
    with pytest.raises(Conflict) as dup:
        prereq(a, b)
    assert dup.value.code == "EDGE_EXISTS"


def test_related_edges_are_stored_once_in_pk_order(chain):
    a, _b, c = chain
    edge = prereq(c, a, kind=EdgeKind.RELATED)  # related is no cycle
    assert (edge.source_id, edge.target_id) == (a.pk, c.pk)
    with pytest.raises(Conflict) as info:
        prereq(a, c, kind=EdgeKind.RELATED)
    assert info.value.code == "EDGE_EXISTS"
    assert queries.related_points([c.pk]) == {a.pk}


def test_student_and_teacher_cannot_edit(res_world):
    w = res_world
    for user in (w.student_a, w.teacher_a):
        with pytest.raises(PermissionDenied):
            actions.create_point(actor=user, code="x", name="X", subject=w.math, stage=Stage.JUNIOR)
        with pytest.raises(PermissionDenied):
            actions.update_point(actor=user, point=w.kp, name="Y")
    w.kp.refresh_from_db()
    assert w.kp.name == "Pythagorean theorem"


def test_create_update_validate_and_log(res_world):
    w = res_world
    with pytest.raises(InvalidInput) as info:
        actions.create_point(
            actor=w.reviewer, code="bad code", name="", subject=w.math, stage="junior", grade="11"
        )
    fields = {e.field for e in info.value.errors}
    assert {"code", "name", "grade"} <= fields
    with pytest.raises(Conflict):
        actions.create_point(
            actor=w.reviewer, code="math-pythagoras", name="X", subject=w.math, stage="junior"
        )
    kp = actions.create_point(
        actor=w.reviewer,
        code="math-real",
        name="实数",
        subject=w.math,
        stage="junior",
        grade="7",
        aliases=["无理数", "无理数", "实数"],
        chapters=[w.chapter],
    )
    assert kp.grade == "07"
    assert kp.aliases == ["无理数"]
    actions.update_point(actor=w.reviewer, point=kp, description="有理数和无理数")
    records = ChangeRecord.objects.filter(
        target_type="resources.knowledgepoint", target_id=str(kp.pk)
    )
    assert records.count() == 2


def test_delete_point_removes_edges_but_not_a_tagged_one(chain, res_world):
    a, b, c = chain
    actions.delete_point(actor=res_world.reviewer, point=b)
    assert not KnowledgeEdge.objects.filter(source=a).exists()
    assert (
        ChangeRecord.objects.filter(target_type="resources.knowledgeedge", action="delete").count()
        == 2
    )
    resource = make_resource(res_world.teacher_a, res_world.math)
    actions.tag_resource(actor=res_world.teacher_a, resource=resource, knowledge_point=c)
    with pytest.raises(Conflict) as info:
        actions.delete_point(actor=res_world.reviewer, point=c)
    assert info.value.code == "POINT_IN_USE"


def test_queries_walk_with_depth(chain):
    a, b, c = chain
    d = point(c.subject, "kp-d", "D")
    prereq(c, d)
    assert queries.prerequisites_of([d.pk]) == {c.pk: 1, b.pk: 2, a.pk: 3}
    assert queries.prerequisites_of([d.pk], depth=1) == {c.pk: 1}
    hood = queries.neighbours(b.pk, depth=2)
    assert hood.prerequisites == {a.pk: 1}
    assert hood.dependents == {c.pk: 1, d.pk: 2}


def test_second_insert_sees_the_first(res_world):
    """Two inserts that together close a cycle: whichever commits second is refused."""
    x = point(res_world.math, "kp-x", "X")
    y = point(res_world.math, "kp-y", "Y")
    prereq(x, y)
    with pytest.raises(InvalidInput):
        prereq(y, x)
    assert KnowledgeEdge.objects.filter(kind="prerequisite").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_cannot_both_close_a_cycle(res_world):
    """Two threads add x → y and y → x at the same moment: exactly one succeeds."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time (IMMEDIATE transactions)")
    x = point(res_world.math, "kp-x", "X")
    y = point(res_world.math, "kp-y", "Y")
    z = point(res_world.math, "kp-z", "Z")
    prereq(y, z)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(source: KnowledgePoint, target: KnowledgePoint) -> None:
        from django.db import connections

        try:
            barrier.wait()
            actions.add_edge(
                actor=system_actor(), source_point=source, target_point=target, kind="prerequisite"
            )
            outcomes.append("ok")
        except InvalidInput as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=add, args=(x, y)),
        threading.Thread(target=add, args=(z, x)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["PREREQUISITE_CYCLE", "ok"]
    assert KnowledgeEdge.objects.filter(kind="prerequisite").count() == 2
    assert KnowledgePoint.objects.count() == 4
