"""Test helpers of the registry: a source system fixture and an in-memory OneRoster bundle."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.models import Org

from .choices import SourceKind
from .importing.readers import MANIFEST_FILE_ORDER
from .models import SourceSystem

#: Every data file the manifest must mention (OneRoster 1.2 CSV binding §1.2).
MANIFEST_FILES = MANIFEST_FILE_ORDER


def build_bundle(
    tables: Mapping[str, Iterable[Mapping[str, Any]] | tuple[list[str], Iterable[Iterable[Any]]]],
    *,
    mode: str = "bulk",
    manifest: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    with_manifest: bool = True,
) -> bytes:
    """A OneRoster CSV bundle (zip bytes).

    ``tables`` maps a file name without ``.csv`` ("users") to either a list of dicts (header =
    the first dict's keys, in order) or ``(header, rows)``. The manifest lists each given file
    with ``mode`` and every other file as ``absent``; ``manifest`` overrides or adds rows.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in tables.items():
            if isinstance(content, tuple):
                header, rows = content
                data = [list(header), *[list(r) for r in rows]]
            else:
                dicts = list(content)
                header = list(dicts[0].keys()) if dicts else []
                data = [header, *[[d.get(h, "") for h in header] for d in dicts]]
            text = io.StringIO()
            csv.writer(text, lineterminator="\r\n").writerows(data)
            zf.writestr(f"{name}.csv", text.getvalue().encode(encoding))
        if with_manifest:
            rows_m = {"manifest.version": "1.0", "oneroster.version": "1.2"}
            for name in MANIFEST_FILES:
                rows_m[f"file.{name}"] = mode if name in tables else "absent"
            rows_m.update(manifest or {})
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(["propertyName", "value"])
            writer.writerows(rows_m.items())
            zf.writestr("manifest.csv", text.getvalue().encode(encoding))
    return out.getvalue()


MakeSource = Callable[..., SourceSystem]


@pytest.fixture
def make_source(db: Any) -> MakeSource:
    """``make_source(org, code="mis", prefix="", kind=...)`` → a saved source system."""

    def factory(
        org: Org, code: str = "mis", prefix: str = "", kind: str = SourceKind.SCHOOL_MIS
    ) -> SourceSystem:
        with change_context(actor=system_actor(), source="system"):
            source = SourceSystem(
                code=code, name=code.upper(), kind=kind, id_prefix=prefix, org=org
            )
            source.save()
        return source

    return factory
