"""The OneRoster CSV bundle export: contents, round trip, neutralised cells, the portal page."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.models import AuditEvent
from shuyuan.identity.models import Role
from shuyuan.registry.importing.readers import MANIFEST_FILES
from shuyuan.registry.models import Person
from shuyuan.registry.oneroster.export import HEADERS, cell, write_bundle
from shuyuan.registry.oneroster.testing import roster

__all__ = ["roster"]

pytestmark = pytest.mark.django_db


def _export(org):
    out = io.BytesIO()
    counts = write_bundle(org, out)
    out.seek(0)
    return counts, zipfile.ZipFile(out)


def _read(zf, name):
    with zf.open(name) as fh:
        return list(csv.reader(io.TextIOWrapper(fh, encoding="utf-8", newline="")))


def test_region_bundle_round_trips(roster):
    counts, zf = _export(roster.tree.region)
    assert counts == {
        "orgs": 3,
        "academicSessions": 4,
        "courses": 2,
        "classes": 2,
        "users": 4,
        "roles": 4,
        "enrollments": 3,
        "demographics": 2,
    }
    assert zf.testzip() is None
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    manifest = dict(_read(zf, "manifest.csv")[1:])
    assert manifest["manifest.version"] == "1.0"
    assert manifest["oneroster.version"] == "1.2"
    assert manifest["source.systemName"] == "Shuyuan"
    assert {k for k in manifest if k.startswith("file.")} == {f"file.{n}" for n in MANIFEST_FILES}
    for name, count in counts.items():
        rows = _read(zf, f"{name}.csv")
        assert tuple(rows[0]) == HEADERS[name]
        assert len(rows) - 1 == count
        assert manifest[f"file.{name}"] == "bulk"
        assert all(len(r) == len(rows[0]) for r in rows)
    assert manifest["file.results"] == "absent"


def test_user_rows_mask_pii_and_carry_chinese_metadata(roster):
    _counts, zf = _export(roster.tree.region)
    rows = _read(zf, "users.csv")
    users = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    s_a = users["s-a"]
    assert s_a["metadata.cn.fullName"] == "Zhang San"
    assert s_a["metadata.cn.studentNumber"] == "G410102200001011234"
    assert s_a["metadata.cn.idNumberMasked"] == "4101**********1234"
    assert s_a["metadata.cn.mobileMasked"] == "138****0000"
    assert s_a["sms"] == ""
    assert s_a["status"] == ""
    assert s_a["dateLastModified"] == ""
    assert s_a["agentSourcedIds"] == "g-a"
    assert s_a["primaryOrgSourcedId"] == "org-sa"
    assert users["t-a"]["username"] == "t-a"
    assert "s-merged" not in users
    classes = {r[0]: r for r in _read(zf, "classes.csv")[1:]}
    assert classes["k-a"][HEADERS["classes"].index("termSourcedIds")] == "t-a"


def test_school_bundle_holds_only_its_subtree(roster):
    counts, zf = _export(roster.tree.school_a)
    users = sorted(r[0] for r in _read(zf, "users.csv")[1:])
    assert users == ["g-a", "s-a", "t-a"]
    orgs = {r[0]: r for r in _read(zf, "orgs.csv")[1:]}
    assert set(orgs) == {"org-sa"}
    assert orgs["org-sa"][HEADERS["orgs"].index("parentSourcedId")] == ""
    assert counts["enrollments"] == 2


def test_empty_files_are_left_out_and_marked_absent(tree, make_source):
    counts, zf = _export(tree.school_b)
    assert set(zf.namelist()) == {"manifest.csv"}
    assert counts["users"] == 0
    assert dict(_read(zf, "manifest.csv")[1:])["file.users"] == "absent"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "' x"),
        ("a\r\nb\nc", "a b c"),
        ("Zhang", "Zhang"),
        (True, "true"),
        (["01", "02"], "01,02"),
        (None, ""),
    ],
)
def test_cell_neutralises_formulas(value, expected):
    assert cell(value) == expected


def test_formula_in_a_name_is_neutralised_in_the_bundle(roster):
    with change_context(actor=system_actor(), source="system"), bulk_writes():
        Person.objects.filter(sourced_id="s-a").update(given_name="=1+1", family_name="@x")
    _counts, zf = _export(roster.tree.region)
    rows = _read(zf, "users.csv")
    s_a = next(dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0] == "s-a")
    assert s_a["givenName"] == "'=1+1"
    assert s_a["familyName"] == "'@x"


def test_importer_reads_the_export(roster, tmp_path):
    readers = pytest.importorskip("shuyuan.registry.importing.readers")
    path = tmp_path / "bundle.zip"
    with path.open("wb") as fh:
        write_bundle(roster.tree.region, fh)
    with readers.open_file(path) as bundle:
        names = {t.name for t in bundle.tables()}
        assert {"orgs", "users", "roles", "enrollments", "classes"} <= names
        for table in bundle.tables():
            assert table.count_rows() > 0


# --- portal page -------------------------------------------------------------------------------


def test_export_page_lists_visible_orgs(roster, make_user, client_for):
    admin = make_user(Role.SCHOOL_ADMIN, roster.tree.school_a)
    page = client_for(admin).get("/registry/export/")
    assert page.status_code == 200
    assert "School A" in page.content.decode()
    assert "School B" not in page.content.decode()


def test_export_download_is_audited(roster, make_user, client_for):
    admin = make_user(Role.SCHOOL_ADMIN, roster.tree.school_a)
    response = client_for(admin).post("/registry/export/", {"org": roster.tree.school_a.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    assert "users.csv" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    event = AuditEvent.objects.get(code="registry.bundle.exported")
    assert event.subject_id == str(roster.tree.school_a.pk)
    assert event.extra["counts"]["users"] == 3


def test_export_of_another_schools_org_is_404(roster, make_user, client_for):
    admin = make_user(Role.SCHOOL_ADMIN, roster.tree.school_a)
    client = client_for(admin)
    assert client.post("/registry/export/", {"org": roster.tree.school_b.pk}).status_code == 404
    assert client.post("/registry/export/", {"org": "x"}).status_code == 404
    assert not AuditEvent.objects.filter(code="registry.bundle.exported").exists()


def test_export_requires_sign_in(roster, client):
    assert client.get("/registry/export/").status_code == 302
