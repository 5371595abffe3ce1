"""``/api/v1/resources/graph/...`` and resource tags: a round trip through every operation."""

from __future__ import annotations

import io
import json
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shuyuan.identity.actions import create_api_token
from shuyuan.resources.models import KnowledgePoint

from .test_graph_helpers import make_resource

API = "/api/v1/resources"


def token_client(user):
    _token, raw = create_api_token(actor=user, name="script")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, auth, url, body):
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def test_graph_api_round_trip(res_world):
    w = res_world
    client, auth = token_client(w.reviewer)
    subjects = client.get(f"{API}/graph/subjects", **auth).json()
    assert {s["code"]: s["point_count"] for s in subjects} == {"math": 1, "physics": 0}
    assert client.get(f"{API}/graph/editions", **auth).json()[0]["code"] == "pep"
    chapters = client.get(f"{API}/graph/chapters", {"subject": "math"}, **auth).json()
    assert [c["code"] for c in chapters] == ["pep-math-8b-17"]
    assert client.get(f"{API}/graph/chapters", {"subject": "nope"}, **auth).status_code == 404

    created = post(
        client,
        auth,
        f"{API}/graph/points",
        {
            "code": "m-real",
            "name": "实数",
            "subject": "math",
            "stage": "junior",
            "grade": "07",
            "aliases": ["无理数"],
        },
    )
    assert created.status_code == 201, created.content
    real = created.json()
    radical = post(
        client,
        auth,
        f"{API}/graph/points",
        {
            "code": "m-radical",
            "name": "二次根式",
            "subject": "math",
            "stage": "junior",
            "grade": "08",
            "chapters": ["pep-math-8b-17"],
        },
    ).json()
    assert radical["chapters"] == ["pep-math-8b-17"]
    dup = post(
        client,
        auth,
        f"{API}/graph/points",
        {"code": "m-real", "name": "X", "subject": "math", "stage": "junior"},
    )
    assert dup.status_code == 409 and dup.json()["code"] == "POINT_CODE_EXISTS"

    e1 = post(
        client,
        auth,
        f"{API}/graph/edges",
        {"source_id": real["id"], "target_id": radical["id"], "kind": "prerequisite"},
    )
    assert e1.status_code == 201
    e2 = post(
        client,
        auth,
        f"{API}/graph/edges",
        {"source_id": radical["id"], "target_id": w.kp.pk, "kind": "prerequisite"},
    )
    assert e2.status_code == 201
    cycle = post(
        client,
        auth,
        f"{API}/graph/edges",
        {"source_id": w.kp.pk, "target_id": real["id"], "kind": "prerequisite"},
    )
    assert cycle.status_code == 422
    body = cycle.json()
    assert body["code"] == "PREREQUISITE_CYCLE"
    assert "Pythagorean theorem → 实数 → 二次根式 → Pythagorean theorem" in body["message"]
    assert body["errors"][0]["field"] == "target_id"
    again = post(
        client,
        auth,
        f"{API}/graph/edges",
        {"source_id": real["id"], "target_id": radical["id"], "kind": "prerequisite"},
    )
    assert again.status_code == 409 and again.json()["code"] == "EDGE_EXISTS"

    hood = client.get(f"{API}/graph/points/{w.kp.pk}/neighbours", {"depth": 5}, **auth).json()
    assert [(p["code"], p["distance"]) for p in hood["prerequisites"]] == [
        ("m-radical", 1),
        ("m-real", 2),
    ]
    listed = client.get(f"{API}/graph/points", {"subject": "math", "q": "无理"}, **auth).json()
    assert listed["count"] == 1 and listed["items"][0]["code"] == "m-real"

    patched = client.patch(
        f"{API}/graph/points/{real['id']}",
        json.dumps({"description": "有理数和无理数"}),
        content_type="application/json",
        **auth,
    )
    assert patched.status_code == 200 and patched.json()["description"] == "有理数和无理数"
    assert patched.json()["name"] == "实数"

    export = client.get(f"{API}/graph/subjects/math/export.zip", **auth)
    assert export.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert sorted(names) == ["edges.csv", "points.csv"]
    case = client.get(f"{API}/graph/subjects/math/case.json", **auth)
    assert case.status_code == 200
    assert len(json.loads(case.content)["CFItems"]) == 3

    imported = client.post(
        f"{API}/graph/import", {"file": SimpleUploadedFile("math.zip", export.content)}, **auth
    )
    assert imported.status_code == 200, imported.content
    assert imported.json()["points_unchanged"] == 3
    bad = client.post(
        f"{API}/graph/import",
        {"points": SimpleUploadedFile("p.csv", b"code,name,subject,stage\nx y,,math,old\n")},
        **auth,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "points[2].code",
        "points[2].name",
        "points[2].stage",
    }

    edge_id = e1.json()["id"]
    assert client.delete(f"{API}/graph/edges/{edge_id}", **auth).status_code == 204
    assert client.delete(f"{API}/graph/points/{real['id']}", **auth).status_code == 204
    assert not KnowledgePoint.objects.filter(code="m-real").exists()


def test_students_read_but_cannot_write(res_world):
    w = res_world
    client, auth = token_client(w.student_a)
    assert client.get(f"{API}/graph/points/{w.kp.pk}", **auth).status_code == 200
    response = post(
        client,
        auth,
        f"{API}/graph/points",
        {"code": "x", "name": "X", "subject": "math", "stage": "junior"},
    )
    assert response.status_code == 403
    assert client.delete(f"{API}/graph/points/{w.kp.pk}", **auth).status_code == 403
    response = client.post(
        f"{API}/graph/import", {"points": SimpleUploadedFile("p.csv", b"code\n")}, **auth
    )
    assert response.status_code == 403


def test_tag_api(res_world):
    w = res_world
    resource = make_resource(w.teacher_a, w.math, title="Pythagorean theorem in pictures")
    client, auth = token_client(w.teacher_a)
    suggestions = client.get(f"{API}/{resource.pk}/tag-suggestions", **auth).json()
    assert suggestions[0]["knowledge_point"]["id"] == w.kp.pk
    assert 0 < suggestions[0]["score"] <= 1
    response = post(
        client,
        auth,
        f"{API}/{resource.pk}/tags",
        {"knowledge_point_id": w.kp.pk, "source": "suggested", "score": suggestions[0]["score"]},
    )
    assert response.status_code == 201, response.content
    again = post(client, auth, f"{API}/{resource.pk}/tags", {"knowledge_point_id": w.kp.pk})
    assert again.status_code == 409 and again.json()["code"] == "TAG_EXISTS"
    tags = client.get(f"{API}/{resource.pk}/tags", **auth).json()
    assert [t["knowledge_point"]["code"] for t in tags] == ["math-pythagoras"]
    assert client.get(f"{API}/{resource.pk}/tag-suggestions", **auth).json() == []
    other, other_auth = token_client(w.teacher_b)
    assert other.get(f"{API}/{resource.pk}/tags", **other_auth).status_code == 404
    assert client.delete(f"{API}/{resource.pk}/tags/{w.kp.pk}", **auth).status_code == 204
    assert client.delete(f"{API}/{resource.pk}/tags/{w.kp.pk}", **auth).status_code == 404
