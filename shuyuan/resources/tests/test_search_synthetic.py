"""Synthetic resources (make_resources) and the index commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from shuyuan.core.models import ChangeAction, ChangeRecord
from shuyuan.resources.choices import ResourceStatus
from shuyuan.resources.models import Resource, ResourceTag, ResourceVersion
from shuyuan.resources.models.search import SearchDocument
from shuyuan.resources.queries.search import search_resources
from shuyuan.resources.synthetic import generate, load_vocab, make_resources


def test_generator_is_deterministic_and_uses_the_vocabulary():
    first = list(generate(50, seed=7))
    assert first == list(generate(50, seed=7))
    assert first != list(generate(50, seed=8))
    vocab = load_vocab()
    names = {kp for s in vocab.subjects for kp in s.kps}
    assert "勾股定理" in names
    for item in first:
        assert item.kp in item.title
        assert not item.kp2 or item.kp2 in item.description
        assert 0 <= item.quality <= 100


def test_make_resources_creates_listed_indexed_and_logged(res_world):
    w = res_world
    before = ChangeRecord.objects.count()
    seen = []
    report = make_resources(
        120,
        org=w.tree.school_a,
        created_by=w.teacher_a,
        seed=3,
        chunk=50,
        create_knowledge_points=True,
        on_chunk=lambda ids, items: seen.extend(zip(ids, items, strict=True)),
    )
    assert report.created == 120 and report.indexed == 120 and report.tagged == 120
    assert Resource.objects.listed().count() == 120
    assert ResourceVersion.objects.count() == 120
    assert ResourceTag.objects.count() == 120
    assert SearchDocument.objects.count() == 120
    bulk = ChangeRecord.objects.filter(action=ChangeAction.BULK, target_type="resources.resource")
    assert bulk.count() == 3  # one summary record per chunk
    assert ChangeRecord.objects.count() - before >= 3
    assert {r.changes["created"] for r in bulk} == {50, 20}
    rid, item = seen[0]
    resource = Resource.objects.get(pk=rid)
    assert resource.status == ResourceStatus.LISTED
    assert resource.listed_version.title == item.title
    assert resource.tags.get().knowledge_point.name == item.kp
    page = search_resources(w.student_a, item.kp, per_page=100)
    assert rid in [h.resource.pk for h in page.hits]


def test_make_resources_command(res_world):
    out = StringIO()
    call_command(
        "make_resources", "30", "--user", "teacher_a", "--seed", "2", stdout=out, verbosity=0
    )
    assert "Created 30 synthetic resources" in out.getvalue()
    assert SearchDocument.objects.count() == 30
    with pytest.raises(CommandError):
        call_command("make_resources", "0", verbosity=0)
    with pytest.raises(CommandError):
        call_command("make_resources", "5", "--user", "nobody", verbosity=0)


def test_reindex_command_rebuilds(res_world):
    make_resources(20, org=res_world.tree.school_a, created_by=res_world.teacher_a, seed=5)
    SearchDocument.objects.all().delete()
    out = StringIO()
    call_command("reindex_resources", stdout=out, verbosity=0)
    assert "Indexed 20 listed resources" in out.getvalue()
    assert SearchDocument.objects.count() == 20
