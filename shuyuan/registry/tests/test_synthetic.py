"""The synthetic region generator: deterministic, well-formed, and its truth is the truth."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from shuyuan.core.validators import validate_id_number
from shuyuan.registry.importing.readers import open_file
from shuyuan.registry.importing.rules import cleaner_for
from shuyuan.registry.normalize import name_key
from shuyuan.registry.synthetic import (
    DEFECT_KINDS,
    FILES,
    HEADERS,
    NOISE_KINDS,
    SCHOOL_YEAR,
    TRUTH_HEADER,
    compare_with_truth,
    write_region,
)
from shuyuan.registry.testing import MANIFEST_FILES

#: Codes only the engine can raise (they need other rows or the registry), not the row rules.
ENGINE_CODES = frozenset(
    {"REF_UNKNOWN", "ID_NUMBER_DUPLICATE", "NAME_VARIANT_DUPLICATE", "DEMOGRAPHICS_MISMATCH"}
)


def _read(zip_path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(f"{name}.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _truth(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("region")
    write_region(out / "r.zip", students=300, seed=7, defect_rate=0.1, truth_path=out / "t.csv")
    return out / "r.zip", out / "t.csv"


def test_write_region_same_seed_gives_same_bytes(tmp_path: Path) -> None:
    write_region(tmp_path / "a.zip", students=200, seed=3, truth_path=tmp_path / "a.csv")
    write_region(tmp_path / "b.zip", students=200, seed=3, truth_path=tmp_path / "b.csv")
    write_region(tmp_path / "c.zip", students=200, seed=4)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.zip").read_bytes() != (tmp_path / "c.zip").read_bytes()


def test_write_region_bundle_has_manifest_files_and_headers(region: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(region[0]) as zf:
        names = sorted(zf.namelist())
        manifest = dict(csv.reader(io.StringIO(zf.read("manifest.csv").decode("utf-8"))))
    assert names == sorted(["manifest.csv", *(f"{name}.csv" for name in FILES)])
    assert manifest["manifest.version"] == "1.0"
    assert manifest["oneroster.version"] == "1.2"
    for name in MANIFEST_FILES:
        assert manifest[f"file.{name}"] == ("bulk" if name in FILES else "absent")
    for name in FILES:
        with zipfile.ZipFile(region[0]) as zf:
            header = zf.read(f"{name}.csv").decode("utf-8").splitlines()[0]
        assert tuple(header.split(",")) == HEADERS[name]


def test_write_region_counts_follow_the_student_count(tmp_path: Path) -> None:
    stats = write_region(tmp_path / "r.zip", students=2000, seed=1, defect_rate=0)
    users = _read(tmp_path / "r.zip", "users")
    students = [u for u in users if u["sourcedId"].startswith("stu-")]
    assert len(students) == 2000
    assert len([u for u in users if u["sourcedId"].startswith("grd-")]) == 2000
    assert stats.schools == 2
    assert stats.teachers == len([u for u in users if u["sourcedId"].startswith("tch-")])
    assert 2000 / 20 < stats.teachers < 2000 / 10
    classes = _read(tmp_path / "r.zip", "classes")
    assert {c["grades"] for c in classes} == {f"{g:02d}" for g in range(1, 13)}
    enrolments = _read(tmp_path / "r.zip", "enrollments")
    per_class: dict[str, int] = {}
    for e in enrolments:
        if e["role"] == "student":
            per_class[e["classSourcedId"]] = per_class.get(e["classSourcedId"], 0) + 1
    assert max(per_class.values()) <= 45
    primaries = [e["classSourcedId"] for e in enrolments if e["primary"] == "true"]
    assert sorted(primaries) == sorted(c["sourcedId"] for c in classes)
    for name in FILES:
        assert stats.counts[name] == len(_read(tmp_path / "r.zip", name))
    assert stats.defects == {}


def test_write_region_people_are_consistent(tmp_path: Path) -> None:
    write_region(tmp_path / "r.zip", students=600, seed=2, defect_rate=0)
    users = {u["sourcedId"]: u for u in _read(tmp_path / "r.zip", "users")}
    demographics = _read(tmp_path / "r.zip", "demographics")
    assert len(demographics) == 600
    for row in demographics:
        user = users[row["sourcedId"]]
        info = validate_id_number(user["metadata.cn.idNumber"], today=dt.date(SCHOOL_YEAR, 1, 1))
        assert row["birthDate"] == info.birth_date.isoformat()
        assert row["sex"] == ("male" if info.gender == "M" else "female")
        grade = int(user["grades"])
        first = dt.date(SCHOOL_YEAR - 7 - grade, 9, 1)
        assert first <= info.birth_date < first.replace(year=first.year + 1)
        assert user["metadata.cn.studentNumber"] == "G" + info.number
        assert user["metadata.cn.fullName"] == user["familyName"] + user["givenName"] or (
            "\u00b7" in user["metadata.cn.fullName"]
        )
        assert user["agentSourcedIds"] in users
        assert row["metadata.cn.ethnicity"] in {f"{n:02d}" for n in range(1, 57)}
    numbers = [u["metadata.cn.idNumber"] for u in users.values() if u["metadata.cn.idNumber"]]
    assert len(numbers) == len(set(numbers))
    mobiles = [u["sms"] for u in users.values() if u["sms"]]
    assert len(mobiles) == len(set(mobiles))


def test_write_region_truth_has_every_defect_and_noise_kind(region: tuple[Path, Path]) -> None:
    truth = _truth(region[1])
    assert tuple(truth[0].keys()) == TRUTH_HEADER
    kinds = {row["kind"] for row in truth}
    assert {kind.name for kind in DEFECT_KINDS} <= kinds
    assert {*NOISE_KINDS, "formula_location"} <= kinds
    for row in truth:
        if row["code"] and not row["kind"].endswith("/cascade"):
            spec = next(k for k in DEFECT_KINDS if k.name == row["kind"])
            assert (row["file"], row["column"], row["code"]) == (
                f"{spec.file}.csv",
                spec.column,
                spec.code,
            )
    located = [(row["file"], row["row"], row["column"]) for row in truth]
    assert len(located) == len(set(located))


def test_write_region_truth_rows_point_at_the_defect(region: tuple[Path, Path]) -> None:
    files = {name: _read(region[0], name) for name in FILES}
    users = {u["sourcedId"]: u for u in files["users"]}
    for row in _truth(region[1]):
        cells = files[row["file"][:-4]][int(row["row"]) - 2]  # header is line 1
        value = cells[row["column"]]
        match row["kind"]:
            case "ethnicity":
                assert value == "77"
            case "sex":
                assert value == "x"
            case "role":
                assert value == "pupil"
            case "grade":
                assert value == "13a"
            case "family_name_missing":
                assert value == "" and cells["metadata.cn.fullName"] == ""
            case "mobile":
                assert value == "1234"
            case "role_bad_date":
                assert value == "2024-02-30"
            case "id_duplicate":
                original = users[cells["sourcedId"][:-1]]
                assert value == original["metadata.cn.idNumber"]
            case "name_variant":
                original = users[cells["sourcedId"][:-1]]
                assert cells["metadata.cn.idNumber"] == ""
                assert value != original["metadata.cn.fullName"]
                assert name_key(value) == name_key(original["metadata.cn.fullName"])
            case "formula_location":
                assert value == "=1+1"
            case "twin":
                previous = files["users"][int(row["row"]) - 4]  # the guardian row between
                assert value == previous["metadata.cn.fullName"]
                assert cells["metadata.cn.idNumber"] != previous["metadata.cn.idNumber"]


def test_write_region_row_rules_raise_exactly_the_injected_issues(
    region: tuple[Path, Path],
) -> None:
    """Every defect the row rules can see is found where the truth says, and nothing else."""
    expected = {
        (row["file"], int(row["row"]), row["column"]): row["code"]
        for row in _truth(region[1])
        if row["code"] and row["code"] not in ENGINE_CODES
    }
    found: dict[tuple[str, int, str], str] = {}
    with open_file(region[0]) as bundle:
        assert bundle.warnings == []
        for table in bundle.tables():
            clean = cleaner_for(table.name, today=dt.date(SCHOOL_YEAR, 1, 1))
            for raw in table.rows():
                for issue in clean(raw, bundle.mode).issues:
                    found[(raw.file, raw.row, issue.column)] = issue.code
    assert found == expected


def test_make_roster_writes_the_bundle_and_truth(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "make_roster",
        str(tmp_path / "r.zip"),
        "--students=120",
        "--seed=9",
        "--defects=0.05",
        f"--truth={tmp_path / 't.csv'}",
        stdout=out,
    )
    assert "defects: " in out.getvalue()
    students = [u["sourcedId"] for u in _read(tmp_path / "r.zip", "users") if u["grades"]]
    assert len([s for s in students if s[-1].isdigit()]) == 120
    assert any(row["code"] for row in _truth(tmp_path / "t.csv"))


@pytest.mark.django_db
def test_import_of_synthetic_region_finds_exactly_the_truth(
    tree: Any, make_user: Any, make_source: Any, tmp_path: Path
) -> None:
    """End to end through the CLI's path: every expected finding, none on clean or noise rows."""
    from shuyuan.identity.models import Role
    from shuyuan.registry.actions.imports import start_import
    from shuyuan.registry.choices import BatchStatus
    from shuyuan.registry.importing.engine import run_batch
    from shuyuan.registry.models import Finding

    bundle, truth = tmp_path / "region.zip", tmp_path / "truth.csv"
    write_region(bundle, students=300, seed=11, defect_rate=0.1, truth_path=truth)
    admin = make_user(Role.PLATFORM_ADMIN)
    source = make_source(tree.city, "mis")
    with bundle.open("rb") as fh:
        batch = start_import(
            actor=admin,
            source=source,
            org=tree.city,
            uploaded_file=fh,
            file_name="r.zip",
            run=False,
        )
    batch = run_batch(batch, chunk_size=500)
    assert (batch.status, batch.error) == (BatchStatus.SUCCEEDED, "")
    findings = list(
        Finding.objects.filter(batch=batch).values_list(
            "file", "row", "column", "code", "sourced_id"
        )
    )
    report = compare_with_truth(findings, bundle, truth, prefix=source.id_prefix)
    assert report.missing == []
    assert report.unexpected == []
    assert report.bundle_level == {}
    assert report.kinds_missed == []
