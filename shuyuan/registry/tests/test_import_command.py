"""``import_roster``: import from the command line, report, refuse a bad file, resume."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from shuyuan.registry.choices import BatchStatus
from shuyuan.registry.importing import engine
from shuyuan.registry.models import ImportBatch, Person
from shuyuan.registry.testing import build_bundle

from .import_data import roster


@pytest.fixture
def bundle_file(tree: Any, tmp_path: Any) -> str:
    path = tmp_path / "roster.zip"
    path.write_bytes(build_bundle(roster(tree.school_a.credit_code)))
    return str(path)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_roster", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_imports_and_reports(tree, make_source, bundle_file):
    make_source(tree.county_a, "mis")
    output = run(bundle_file, "--source", "mis", "--org", tree.county_a.division_code)
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.actor is None  # the system actor
    assert f"Batch {batch.pk}: succeeded" in output
    assert "users" in output
    assert Person.objects.count() == 4


def test_command_refuses_a_bad_file_with_its_code(tree, make_source, tmp_path):
    make_source(tree.county_a, "mis")
    path = tmp_path / "bad.zip"
    path.write_bytes(b"plain text")
    with pytest.raises(CommandError, match="FORMAT_UNKNOWN"):
        run(str(path), "--source", "mis", "--org", str(tree.county_a.pk))
    assert ImportBatch.objects.get().status == BatchStatus.FAILED


def test_command_resumes_an_interrupted_batch(tree, make_source, bundle_file, monkeypatch):
    make_source(tree.county_a, "mis")
    original = engine.Importer.process

    def broken(self: Any, table: str, file: str, rows: Any) -> Any:
        if table == "roles":
            raise RuntimeError("disk full")
        return original(self, table, file, rows)

    monkeypatch.setattr(engine.Importer, "process", broken)
    with pytest.raises(CommandError, match="--resume"):
        run(bundle_file, "--source", "mis", "--org", str(tree.county_a.pk))
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.INTERRUPTED
    monkeypatch.setattr(engine.Importer, "process", original)
    output = run("--resume", str(batch.pk))
    assert "succeeded" in output
    batch.refresh_from_db()
    assert batch.counts["roles"]["created"] == 4
