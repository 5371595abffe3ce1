"""Knowledge-graph pages: read-only for students, edit forms for editors, import, export."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from shuyuan.resources.actions.graph import tag_resource
from shuyuan.resources.models import KnowledgeEdge, KnowledgePoint

from .test_graph_helpers import make_resource, point, prereq


@pytest.fixture
def graph(res_world):
    w = res_world
    real = point(w.math, "m-real", "实数", grade="07")
    radical = point(w.math, "m-radical", "二次根式")
    converse = point(w.math, "m-converse", "勾股定理的逆定理")
    force = point(w.physics, "p-force", "力")
    prereq(real, radical)
    prereq(radical, w.kp)
    prereq(w.kp, converse)
    prereq(w.kp, force, kind="related")
    listed = make_resource(w.teacher_a, w.math, title="勾股定理微课", listed=True)
    draft = make_resource(w.teacher_a, w.math, title="未上架的草稿")
    for resource in (listed, draft):
        tag_resource(actor=w.teacher_a, resource=resource, knowledge_point=w.kp)
    return {"real": real, "radical": radical, "converse": converse, "force": force}


def test_student_reads_without_edit_controls(graph, res_world, client_for):
    w = res_world
    client = client_for(w.student_a)
    index = client.get(reverse("resources:graph_index"))
    assert index.status_code == 200
    assert "Mathematics" in index.content.decode()
    assert reverse("resources:graph_import") not in index.content.decode()
    subject = client.get(reverse("resources:graph_subject", args=["math"]))
    body = subject.content.decode()
    assert subject.status_code == 200 and "二次根式" in body and "Add a knowledge point" not in body
    filtered = client.get(reverse("resources:graph_subject", args=["math"]), {"q": "实"})
    assert "实数" in filtered.content.decode() and "二次根式" not in filtered.content.decode()
    page = client.get(reverse("resources:graph_point", args=[w.kp.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "kp-centre" in body
    for name in ("二次根式", "实数", "勾股定理的逆定理", "力", "Chapter 17", "勾股定理微课"):
        assert name in body, name
    assert "未上架的草稿" not in body
    assert "Add the link" not in body and "Delete this knowledge point" not in body
    assert "Edit" not in body


def test_student_cannot_edit(graph, res_world, client_for):
    w = res_world
    client = client_for(w.student_a)
    assert client.get(reverse("resources:graph_point_create", args=["math"])).status_code == 403
    assert client.get(reverse("resources:graph_point_edit", args=[w.kp.pk])).status_code == 403
    response = client.post(
        reverse("resources:graph_edge_add", args=[w.kp.pk]),
        {"other": "m-real", "direction": "related"},
    )
    assert response.status_code == 403
    assert (
        client.post(reverse("resources:graph_point_delete", args=[graph["force"].pk])).status_code
        == 403
    )
    edge = KnowledgeEdge.objects.first()
    assert client.post(reverse("resources:graph_edge_remove", args=[edge.pk])).status_code == 403
    assert client.get(reverse("resources:graph_import")).status_code == 403
    assert client.get(reverse("resources:graph_point", args=[999999])).status_code == 404
    assert client.get(reverse("resources:graph_subject", args=["nope"])).status_code == 404


def test_editor_adds_points_and_edges_and_sees_cycles(graph, res_world, client_for):
    w = res_world
    client = client_for(w.reviewer)
    page = client.get(reverse("resources:graph_point", args=[w.kp.pk]))
    assert "Add the link" in page.content.decode()
    response = client.post(
        reverse("resources:graph_point_create", args=["math"]),
        {
            "code": "m-quad",
            "name": "一元二次方程",
            "stage": "junior",
            "grade": "09",
            "aliases": "二次方程|一元二次",
        },
    )
    assert response.status_code == 303
    quad = KnowledgePoint.objects.get(code="m-quad")
    assert quad.aliases == ["二次方程", "一元二次"]
    response = client.post(
        reverse("resources:graph_point_create", args=["math"]),
        {"code": "m-quad", "name": "X", "stage": "junior", "grade": "03"},
    )
    assert response.status_code == 422
    # The cycle error names the cycle on the page.
    response = client.post(
        reverse("resources:graph_edge_add", args=[graph["real"].pk]),
        {"other": "m-converse", "direction": "before"},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "would close a cycle" in body
    assert "勾股定理的逆定理 → 实数 → 二次根式 → Pythagorean theorem → 勾股定理的逆定理" in body
    response = client.post(
        reverse("resources:graph_edge_add", args=[quad.pk]),
        {"other": "二次根式", "direction": "before"},
    )
    assert response.status_code == 303
    assert KnowledgeEdge.objects.filter(source=graph["radical"], target=quad).exists()
    response = client.post(
        reverse("resources:graph_point_edit", args=[quad.pk]),
        {
            "code": "m-quad",
            "name": "一元二次方程",
            "stage": "junior",
            "grade": "09",
            "description": "ax²+bx+c=0",
        },
    )
    assert response.status_code == 303
    assert KnowledgePoint.objects.get(pk=quad.pk).description == "ax²+bx+c=0"
    edge = KnowledgeEdge.objects.get(source=graph["radical"], target=quad)
    response = client.post(
        reverse("resources:graph_edge_remove", args=[edge.pk]), {"next_point": quad.pk}
    )
    assert response.status_code == 303 and not KnowledgeEdge.objects.filter(pk=edge.pk).exists()
    response = client.post(reverse("resources:graph_point_delete", args=[quad.pk]))
    assert response.status_code == 303 and not KnowledgePoint.objects.filter(pk=quad.pk).exists()


def test_import_page_lists_all_row_errors(graph, res_world, client_for):
    client = client_for(res_world.reviewer)
    assert client.get(reverse("resources:graph_import")).status_code == 200
    bad = "code,name,subject,stage,grade\nm-a,甲,math,junior,11\nm-b,乙,nope,junior,08\n".encode(
        "gb18030"
    )
    response = client.post(
        reverse("resources:graph_import"),
        {"points": SimpleUploadedFile("points.csv", bad, content_type="text/csv")},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "points[2].grade" in body and "points[3].subject" in body
    assert not KnowledgePoint.objects.filter(code__in=["m-a", "m-b"]).exists()
    good = "code,name,subject,stage,grade\nm-a,甲,math,junior,08\n".encode()
    edges = b"source,target,kind\nm-a,m-real,related\n"
    response = client.post(
        reverse("resources:graph_import"),
        {
            "points": SimpleUploadedFile("points.csv", good),
            "edges": SimpleUploadedFile("edges.csv", edges),
        },
    )
    assert response.status_code == 303
    assert KnowledgeEdge.objects.filter(kind="related", target__code="m-a").exists()


def test_exports_download(graph, res_world, client_for):
    client = client_for(res_world.student_a)
    response = client.get(reverse("resources:graph_export_csv", args=["math"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    response = client.get(reverse("resources:graph_export_case", args=["math"]))
    package = json.loads(response.content)
    assert {i["humanCodingScheme"] for i in package["CFItems"]} >= {"m-real", "math-pythagoras"}
    # Re-importing the package on the import page changes nothing.
    editor = client_for(res_world.reviewer)
    response = editor.post(
        reverse("resources:graph_import"),
        {"package": SimpleUploadedFile("math.json", response.content)},
    )
    assert response.status_code == 303
