"""Registry import of a synthetic region: rows/s, peak memory, findings vs truth, COPY ratio.

Usage (SQLite by default; pass a PostgreSQL URL to compare; the database is dropped and
created afresh, and dropped again at the end unless --keep):

    .venv/bin/python bench/bench_registry.py --students 100000 \\
        [--database-url postgres://postgres@127.0.0.1:5432/bench_registry] [--keep]

1. Generates the region (``manage.py make_roster`` in a child process, so its memory is not
   counted; timed separately): districts, schools, classes, teachers, students, guardians and
   about ``--defects`` of the students with one injected defect each, plus valid noise.
2. Imports it the way the CLI does (``actions.imports.start_import`` with ``run=False``, then
   ``importing.engine.run_batch``): wall time, data rows/s (rows of every file / seconds) and
   the process's peak resident memory (``ru_maxrss``) and, sampled, that of the process plus
   the engine's forked reader worker.
3. Compares the batch's findings with the truth file: per code expected / found / missing /
   unexpected; findings on clean rows (must be 0) and on noise rows (must be 0).
4. Imports the same file again: the idempotent re-import's time and that nothing changed.
5. PostgreSQL only: ``COPY`` of the same CSV rows into plain tables of text columns, and the
   ratio import time / COPY time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES = (
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "demographics",
    "roles",
    "enrollments",
)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _PeakMemory:
    """Samples the resident memory of this process plus its children (the engine reads and
    cleans rows in a forked worker) every 0.2 s; ``peak_mib`` is the largest sum seen."""

    def __init__(self) -> None:
        import threading

        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss_kib(pid: str) -> int:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def sample(self) -> None:
        pids = {"self"}
        for task in Path("/proc/self/task").iterdir():
            try:
                pids.update((task / "children").read_text().split())
            except OSError:
                continue
        total = sum(self._rss_kib(pid) for pid in pids) / 1024
        self.peak_mib = max(self.peak_mib, total)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def __enter__(self) -> _PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _recreate_postgres(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _generate(args: argparse.Namespace, out: Path, truth: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603  # our own manage.py with our arguments
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "make_roster",
            str(out),
            f"--students={args.students}",
            f"--seed={args.seed}",
            f"--defects={args.defects}",
            f"--truth={truth}",
        ],
        check=True,
        env=env,
        cwd=ROOT,
    )
    return time.perf_counter() - started


def _setup_region() -> tuple[Any, Any, Any]:
    """The region and city orgs, a platform administrator and the source system."""
    from shuyuan.core.context import change_context, system_actor
    from shuyuan.core.models import Org, OrgKind, new_path_key
    from shuyuan.identity.models import Role, RoleAssignment, User
    from shuyuan.registry.choices import SourceKind
    from shuyuan.registry.models import SourceSystem

    with change_context(actor=system_actor(), source="system"):
        region = Org(
            kind=OrgKind.REGION,
            name="Henan",
            path=new_path_key() + "/",
            depth=0,
            division_code="410000",
        )
        region.save(force_insert=True)
        city = Org(
            kind=OrgKind.CITY,
            name="Zhengzhou",
            parent=region,
            path=region.path + new_path_key() + "/",
            depth=1,
            division_code="410100",
        )
        city.save(force_insert=True)
        admin = User(username="bench-admin", real_name="Bench Admin", home_org=region)
        admin.set_unusable_password()
        admin.save(force_insert=True)
        RoleAssignment(user=admin, role=Role.PLATFORM_ADMIN, org=region).save(force_insert=True)
        source = SourceSystem(code="mis", name="MIS", kind=SourceKind.SCHOOL_MIS, org=city)
        source.save()
    admin.clear_role_cache()
    return city, admin, source


def _import(path: Path, city: Any, admin: Any, source: Any) -> tuple[Any, float, float]:
    """(batch, seconds storing the upload, seconds running the engine)."""
    from shuyuan.registry.actions.imports import start_import
    from shuyuan.registry.importing.engine import run_batch

    started = time.perf_counter()
    with path.open("rb") as fh:
        batch = start_import(
            actor=admin, source=source, org=city, uploaded_file=fh, file_name=path.name, run=False
        )
    stored = time.perf_counter() - started
    started = time.perf_counter()
    batch = run_batch(batch)
    return batch, stored, time.perf_counter() - started


def compare_findings(batch: Any, bundle: Path, truth_path: Path) -> Any:
    """The batch's findings against the truth (``synthetic.compare_with_truth``)."""
    from shuyuan.registry.models import Finding
    from shuyuan.registry.synthetic import compare_with_truth

    findings = list(
        Finding.objects.filter(batch=batch).values_list(
            "file", "row", "column", "code", "sourced_id"
        )
    )
    return compare_with_truth(findings, bundle, truth_path, prefix=batch.source.id_prefix)


def copy_baseline(bundle: Path) -> tuple[float, int]:
    """Seconds to COPY every data file of the bundle into plain text-column tables (PostgreSQL)."""
    from django.db import connection

    rows = 0
    started = time.perf_counter()
    with zipfile.ZipFile(bundle) as zf, connection.cursor() as cursor:
        for name in FILES:
            with zf.open(f"{name}.csv") as raw:
                header = raw.readline().decode("utf-8").strip().split(",")
                columns = ", ".join(f'"{c}" text' for c in header)
                cursor.execute(f'DROP TABLE IF EXISTS "bench_copy_{name}"')
                cursor.execute(f'CREATE TABLE "bench_copy_{name}" ({columns})')
                sql = f'COPY "bench_copy_{name}" FROM STDIN (FORMAT csv)'
                with cursor.cursor.copy(sql) as copy:
                    while block := raw.read(1024 * 1024):
                        copy.write(block)
            cursor.execute(f'SELECT count(*) FROM "bench_copy_{name}"')  # noqa: S608  # fixed names
            rows += cursor.fetchone()[0]
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        for name in FILES:
            cursor.execute(f'DROP TABLE "bench_copy_{name}"')
    return seconds, rows


def _changes(batch: Any) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for table, counts in (batch.counts or {}).items():
        if table in FILES and isinstance(counts, dict):
            for key in ("rows", "rejected", "created", "updated", "unchanged"):
                totals[key] += int(counts.get(key) or 0)
    totals["tobedeleted"] = sum((batch.counts or {}).get("tobedeleted", {}).values())
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--defects", type=float, default=0.01)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", action="store_true", help="Keep the database and files.")
    parser.add_argument("--no-reimport", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="shuyuan-bench-registry-"))
    env = dict(os.environ)
    env.update(SHUYUAN_ENV="development", SHUYUAN_VAR_DIR=str(tmp))
    if args.database_url:
        env["SHUYUAN_DATABASE_URL"] = args.database_url
        _recreate_postgres(args.database_url)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuyuan.settings.base")

    bundle, truth = tmp / "region.zip", tmp / "region_truth.csv"
    generate_seconds = _generate(args, bundle, truth, env)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0, skip_checks=True)
    migrate_seconds = time.perf_counter() - started
    city, admin, source = _setup_region()
    rss_before = _maxrss_mib()

    with _PeakMemory() as peak:
        batch, store_seconds, run_seconds = _import(bundle, city, admin, source)
    rss_after = _maxrss_mib()
    import_seconds = store_seconds + run_seconds
    changes = _changes(batch)
    rows = int(batch.rows_total)
    report = compare_findings(batch, bundle, truth)

    print(
        f"import: {batch.status}, {import_seconds:.1f} s = {rows / import_seconds:,.0f} rows/s, "
        f"peak {rss_after:,.0f} MiB (with the reader worker {peak.peak_mib:,.0f} MiB); "
        f"expected findings missing: {len(report.missing)}, "
        f"findings on clean rows: {len(report.on_clean)}",
        flush=True,
    )

    copy_seconds = copy_rows = 0.0
    if connection.vendor == "postgresql":
        copy_seconds, copy_rows = copy_baseline(bundle)

    reimport: tuple[Any, float, float] | None = None
    if not args.no_reimport:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        reimport = _import(bundle, city, admin, source)

    size_mib = bundle.stat().st_size / 1024**2
    print()
    print(f"database: {connection.vendor}; students: {args.students:,}; seed {args.seed}")
    print(f"bundle: {size_mib:.1f} MiB zip; generated in {generate_seconds:.1f} s (not counted)")
    print(f"migrate: {migrate_seconds:.1f} s")
    print()
    print(f"{'code':<26} {'expected':>9} {'found':>9} {'missing':>8} {'unexpected':>10}")
    for code, exp, got, missing, unexpected in report.per_code:
        print(f"{code:<26} {exp:>9,} {got:>9,} {missing:>8,} {unexpected:>10,}")
    print(f"findings on clean rows: {len(report.on_clean)} (must be 0)")
    if report.on_clean:
        print(f"  e.g. {report.on_clean[:10]}")
    print(f"findings on noise rows: {report.on_noise or 0} (must be none)")
    if report.bundle_level:
        print(f"bundle-level findings: {report.bundle_level}")
    if report.missing:
        print(f"missing (first 20): {report.missing[:20]}")
    print(f"defect kinds not detected: {report.kinds_missed or 'none'}")
    print()
    print("== summary ==")
    print(f"batch status:       {batch.status} {batch.error_code}")
    print(f"data rows:          {rows:,} (rejected {changes.get('rejected', 0):,})")
    print(
        f"import:             {import_seconds:.1f} s (store {store_seconds:.1f} s + engine "
        f"{run_seconds:.1f} s) = {rows / import_seconds:,.0f} rows/s"
    )
    print(
        f"peak memory:        {rss_after:,.0f} MiB ru_maxrss of the importing process "
        f"(before the import {rss_before:,.0f} MiB); with its reader worker "
        f"{peak.peak_mib:,.0f} MiB (sampled sum)"
    )
    if reimport is not None:
        again, store2, run2 = reimport
        c2 = _changes(again)
        print(
            f"re-import:          {store2 + run2:.1f} s = {rows / (store2 + run2):,.0f} rows/s; "
            f"created {c2.get('created', 0)}, updated {c2.get('updated', 0)}, "
            f"tobedeleted {c2.get('tobedeleted', 0)}, status {again.status}"
        )
    if copy_seconds:
        print(
            f"COPY baseline:      {copy_rows:,.0f} rows in {copy_seconds:.1f} s = "
            f"{copy_rows / copy_seconds:,.0f} rows/s; import/COPY = "
            f"{import_seconds / copy_seconds:.1f}x"
        )
    else:
        print("COPY baseline:      n/a (PostgreSQL only)")
    print(f"files:              {tmp}" + ("" if args.keep else " (removed)"))

    connection.close()
    if not args.keep:
        if args.database_url:
            _recreate_postgres(args.database_url, drop_only=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
