"""CSV and CASE import/export: all or nothing, every bad row named, encodings, round trips."""

from __future__ import annotations

import json

import pytest

from shuyuan.core.context import system_actor
from shuyuan.core.errors import InvalidInput
from shuyuan.core.models import AuditEvent
from shuyuan.resources.actions import graph as actions
from shuyuan.resources.graph import case, csvio
from shuyuan.resources.models import KnowledgeEdge, KnowledgePoint
from shuyuan.resources.queries import graph as queries

POINTS = """code,name,aliases,subject,stage,grade,description,chapters
math-real,实数,无理数,math,junior,07,,
math-radical,二次根式,根式|最简二次根式,math,junior,08,形如√a的式子,pep-math-8b-17
math-pythagoras,勾股定理,毕达哥拉斯定理,math,junior,08,a²+b²=c²,pep-math-8b-17
phys-force,力,,physics,junior,08,,
"""
EDGES = """source,target,kind
math-real,math-radical,prerequisite
math-radical,math-pythagoras,prerequisite
math-pythagoras,phys-force,related
"""


def run(points: str | bytes | None = None, edges: str | bytes | None = None, actor=None):
    def enc(v: str | bytes) -> bytes:
        return v.encode("utf-8") if isinstance(v, str) else v

    plan = csvio.read_bundle(
        points=enc(points) if points is not None else None,
        edges=enc(edges) if edges is not None else None,
    )
    return actions.apply_import(actor=actor or system_actor(), plan=plan)


def test_csv_import_creates_updates_and_is_idempotent(res_world):
    summary = run(POINTS, EDGES, actor=res_world.reviewer)
    assert summary.points_created == 3  # math-pythagoras exists (res_world)
    assert summary.points_updated == 1
    assert summary.edges_created == 3
    kp = KnowledgePoint.objects.get(code="math-pythagoras")
    assert kp.pk == res_world.kp.pk and kp.name == "勾股定理"
    assert kp.aliases == ["毕达哥拉斯定理"]
    assert AuditEvent.objects.filter(code="resources.graph.imported").count() == 1
    again = run(POINTS, EDGES)
    assert (again.points_created, again.points_updated, again.edges_created) == (0, 0, 0)
    assert again.points_unchanged == 4 and again.edges_existing == 3


def test_csv_import_is_all_or_nothing_and_lists_every_bad_row(res_world):
    bad = POINTS + (
        "math-bad,坏的行,,math,junior,11,,\n"  # grade 11 is not junior
        "math-real,重复,,math,junior,07,,\n"  # duplicate code
        ",无代码,,chemistry-x,middle,07,,nope\n"  # no code, unknown subject/stage/chapter
    )
    edges = (
        EDGES
        + "math-real,math-nowhere,prerequisite\n"
        + "math-real,math-real,related\n"
        + "math-real,math-radical,sideways\n"
    )
    before = (KnowledgePoint.objects.count(), KnowledgeEdge.objects.count())
    with pytest.raises(InvalidInput) as info:
        run(bad, edges)
    fields = {e.field for e in info.value.errors}
    assert {
        "points[6].grade",
        "points[7].code",
        "points[8].code",
        "points[8].subject",
        "points[8].stage",
        "edges[5].target",
        "edges[6].target",
        "edges[7].kind",
    } <= fields, fields
    grade_error = next(e for e in info.value.errors if e.field == "points[6].grade")
    assert "row 6" in grade_error.message and "grade" in grade_error.message
    assert (KnowledgePoint.objects.count(), KnowledgeEdge.objects.count()) == before
    assert KnowledgePoint.objects.get(pk=res_world.kp.pk).name == "Pythagorean theorem"


def rotation(names: list[str], i: int) -> str:
    turned = names[i:] + names[:i]
    return " → ".join([*turned, turned[0]])


def test_csv_import_names_every_cycle(res_world):
    run(POINTS, EDGES)
    cyclic = EDGES + "math-pythagoras,math-real,prerequisite\nphys-force,phys-x,prerequisite\n"
    points = POINTS + "phys-x,X,,physics,junior,08,,\n"
    cyclic += "phys-x,phys-force,prerequisite\n"
    with pytest.raises(InvalidInput) as info:
        run(points, cyclic)
    messages = [e.message for e in info.value.errors if e.code == "PREREQUISITE_CYCLE"]
    assert len(messages) == 2
    joined = " ".join(messages)
    assert any(rotation(["实数", "二次根式", "勾股定理"], i) in joined for i in range(3))
    assert any(rotation(["力", "X"], i) in joined for i in range(2))
    assert not KnowledgePoint.objects.filter(code="phys-x").exists()


def test_gb18030_and_bom(res_world):
    summary = run(POINTS.encode("gb18030"), EDGES.encode("gb18030"))
    assert summary.points_created == 3
    assert KnowledgePoint.objects.get(code="math-radical").aliases == ["根式", "最简二次根式"]
    again = run(b"\xef\xbb\xbf" + POINTS.encode("utf-8"))
    assert again.points_unchanged == 4


def test_missing_columns_and_bad_encoding(res_world):
    with pytest.raises(InvalidInput) as info:
        run("code,name\nx,y\n")
    assert info.value.errors[0].code == "COLUMN_MISSING"
    with pytest.raises(InvalidInput) as info:
        run(b"code,name,subject,stage\n\xff\xfe\xfa,x,math,junior\n")
    assert info.value.code == "ENCODING_INVALID"


def test_export_zip_round_trips(res_world):
    run(POINTS, EDGES)
    from shuyuan.resources.views.graph import export_csv_bytes

    data = export_csv_bytes(res_world.student_a, res_world.math)
    points, edges = csvio.unzip(data)
    assert edges is not None and b"prerequisite" in edges
    assert points is not None and "勾股定理" in points.decode("utf-8-sig")
    summary = actions.apply_import(actor=system_actor(), plan=csvio.read_bundle(bundle=data))
    assert summary.points_created == 0 and summary.points_updated == 0
    assert summary.edges_created == 0


def test_case_export_import_round_trip(res_world):
    run(POINTS, EDGES)
    math = res_world.math
    points = list(queries.list_points(res_world.student_a, subject=math))
    ids = {p.pk for p in points}
    edges = [
        e
        for e in queries.list_edges(res_world.student_a, subject=math)
        if e.source_id in ids and e.target_id in ids
    ]
    package = case.export_package(math, points, edges)
    assert {i["CFItemType"] for i in package["CFItems"]} == {"Knowledge Point"}
    by_code = {i["humanCodingScheme"]: i for i in package["CFItems"]}
    assert by_code["math-pythagoras"]["fullStatement"] == "勾股定理"
    assert by_code["math-real"]["educationLevel"] == ["07"]
    assert "precedes" in {a["associationType"] for a in package["CFAssociations"]}
    identifiers = {p.code: p.identifier for p in points}
    edge_pairs = {(e.source.code, e.target.code, e.kind) for e in edges}
    raw = case.dumps(package)
    # Delete everything, then import the package: identifiers and edges come back.
    for edge in KnowledgeEdge.objects.all():
        actions.remove_edge(actor=system_actor(), edge=edge)
    for kp in KnowledgePoint.objects.filter(subject=math):
        actions.delete_point(actor=system_actor(), point=kp)
    summary = actions.apply_import(actor=res_world.reviewer, plan=case.read_package(raw))
    assert summary.points_created == 3
    assert summary.edges_created == 2
    restored = {p.code: p.identifier for p in KnowledgePoint.objects.filter(subject=math)}
    assert restored == identifiers
    pairs = {
        (e.source.code, e.target.code, e.kind)
        for e in KnowledgeEdge.objects.select_related("source", "target")
    }
    assert pairs == edge_pairs
    # Renamed in the package: the same point (by identifier) is updated.
    package = json.loads(raw)
    for item in package["CFItems"]:
        if item["humanCodingScheme"] == "math-real":
            item["fullStatement"] = "实数（含无理数）"
    summary = actions.apply_import(
        actor=system_actor(), plan=case.read_package(json.dumps(package).encode())
    )
    assert summary.points_updated == 1 and summary.points_created == 0
    assert (
        KnowledgePoint.objects.get(identifier=identifiers["math-real"]).name == "实数（含无理数）"
    )


def test_case_import_reports_bad_items(res_world):
    package = {
        "CFDocument": {"identifier": "x", "subject": ["nothing"]},
        "CFItems": [{"identifier": "not-a-uuid", "fullStatement": "", "educationLevel": ["13"]}],
        "CFAssociations": [
            {"associationType": "precedes", "originNodeURI": {}, "destinationNodeURI": {}}
        ],
    }
    with pytest.raises(InvalidInput) as info:
        actions.apply_import(
            actor=system_actor(), plan=case.read_package(json.dumps(package).encode())
        )
    fields = {e.field for e in info.value.errors}
    assert {
        "CFDocument.subject",
        "CFItems[0].identifier",
        "CFItems[0].educationLevel",
        "CFAssociations[0].originNodeURI",
    } <= fields
