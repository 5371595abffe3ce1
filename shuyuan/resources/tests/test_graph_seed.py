"""The seed loads, twice without change, and is a DAG with the points the brief asks for."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from shuyuan.resources.choices import EdgeKind
from shuyuan.resources.graph import cycles
from shuyuan.resources.models import (
    Chapter,
    KnowledgeEdge,
    KnowledgePoint,
    Subject,
    TextbookEdition,
)


def counts():
    return (
        Subject.objects.count(),
        TextbookEdition.objects.count(),
        Chapter.objects.count(),
        KnowledgePoint.objects.count(),
        KnowledgeEdge.objects.count(),
    )


def test_seed_loads_idempotently(db):
    out = StringIO()
    call_command("load_graph", stdout=out)
    first = counts()
    assert first[0] == 10
    assert first[3] >= 40
    assert "created" in out.getvalue()
    out = StringIO()
    call_command("load_graph", stdout=out)
    assert counts() == first
    assert "0 created, 0 updated" in out.getvalue()
    names = set(KnowledgePoint.objects.values_list("name", flat=True))
    for name in [
        "勾股定理",
        "勾股定理的逆定理",
        "实数",
        "二次根式",
        "一元二次方程",
        "全等三角形",
        "平面直角坐标系",
    ]:
        assert name in names
    assert Subject.objects.get(code="math").name == "数学"
    assert TextbookEdition.objects.get(code="pep").name == "人教版"
    graph = cycles.adjacency(
        KnowledgeEdge.objects.filter(kind=EdgeKind.PREREQUISITE).values_list(
            "source_id", "target_id"
        )
    )
    assert cycles.find_cycles(graph) == []
    pythagoras = KnowledgePoint.objects.get(code="math-pythagoras")
    assert "毕达哥拉斯定理" in pythagoras.aliases
    assert set(pythagoras.chapters.values_list("code", flat=True)) >= {"pep-math-8b-17"}
    assert KnowledgePoint.objects.filter(subject__code="physics").count() >= 5


def test_seed_pages_and_case_file_through_the_command(res_world, client_for, tmp_path):
    call_command("load_graph", stdout=StringIO())
    pythagoras = KnowledgePoint.objects.get(code="math-pythagoras")
    page = client_for(res_world.student_a).get(
        reverse("resources:graph_point", args=[pythagoras.pk])
    )
    body = page.content.decode()
    assert page.status_code == 200
    for name in (
        "勾股定理的逆定理",
        "二次根式",
        "三角形的边与角",
        "平面直角坐标系",
        "锐角三角函数",
    ):
        assert name in body, name
    exported = client_for(res_world.student_a).get(
        reverse("resources:graph_export_case", args=["math"])
    )
    path = tmp_path / "math.json"
    path.write_bytes(exported.content)
    before = counts()
    out = StringIO()
    call_command("load_graph", str(path), "--actor", "reviewer", stdout=out)
    assert counts() == before
    assert "0 created" in out.getvalue()
