"""Account administration at 100,000 accounts: the list/search queries behind /accounts/.

Usage (SQLite by default; pass a PostgreSQL URL to compare):

    .venv/bin/python bench/bench_accounts.py [--database-url postgres://postgres@127.0.0.1/bench]

Builds the demo region with ~240 students per class (≈100,000 accounts incl. parents and
teachers) in a fresh database, then times what the accounts page runs for a platform admin, a
region admin and a school admin: the count, the first page, a deep page, a name search, an exact
ID-number search and the org list; then the same through the pages (request, middleware,
queries and template). Prints median and p95 milliseconds over repeated runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--students-per-class", type=int, default=205)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="shuyuan-bench-")
    os.environ["SHUYUAN_ENV"] = "development"
    os.environ["SHUYUAN_VAR_DIR"] = tmp
    if args.database_url:
        os.environ["SHUYUAN_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuyuan.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0, skip_checks=True)

    from shuyuan.core.queries import list_orgs
    from shuyuan.identity.demo import load_demo
    from shuyuan.identity.models import Role, RoleAssignment, User
    from shuyuan.identity.pii import pii_cipher
    from shuyuan.identity.queries import list_users

    started = time.perf_counter()
    load_demo(students_per_class=args.students_per_class)
    load_seconds = time.perf_counter() - started
    total = User.objects.count()
    print(f"database: {connection.vendor}; accounts: {total:,}; load: {load_seconds:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def viewer(role: str) -> User:
        return User.objects.get(pk=RoleAssignment.objects.filter(role=role).first().user_id)

    some = User.objects.filter(username="s01g1c1n01").first()
    id_number = pii_cipher().decrypt(bytes(some.id_number_cipher)) if some else ""
    cases = {
        "count": lambda u: list_users(u).count(),
        "page 1 (25 rows)": lambda u: list(list_users(u)[:25]),
        "page 200 (25 rows)": lambda u: list(list_users(u)[5000:5025]),
        "search prefix s01g2": lambda u: list(list_users(u, q="s01g2")[:25]),
        "search ID number": lambda u: list(list_users(u, q=id_number)[:25]),
        "filter role=teacher": lambda u: list(list_users(u, role=Role.TEACHER)[:25]),
        "org list page": lambda u: list(list_orgs(u)[:50]),
    }
    print(f"{'viewer':<16} {'query':<22} {'median ms':>10} {'p95 ms':>8} rows")
    for role in (Role.PLATFORM_ADMIN, Role.REGION_ADMIN, Role.SCHOOL_ADMIN):
        user = viewer(role)
        for name, run in cases.items():
            user.clear_role_cache()
            result = run(user)
            timings = []
            for _ in range(args.repeat):
                user.clear_role_cache()
                t0 = time.perf_counter()
                run(user)
                timings.append((time.perf_counter() - t0) * 1000)
            timings.sort()
            p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
            rows = result if isinstance(result, int) else len(result)
            print(f"{role:<16} {name:<22} {statistics.median(timings):>10.1f} {p95:>8.1f} {rows}")

    # The pages themselves: request, middleware, queries and template, through Django's client.
    from django.test import Client

    pages = {
        "GET /accounts/": "/accounts/",
        "GET /accounts/?page=200": "/accounts/?page=200",
        "GET /accounts/?q=s01g2": "/accounts/?q=s01g2",
        "GET /accounts/?q=<ID>": f"/accounts/?q={id_number}",
        "GET /orgs/": "/orgs/",
    }
    print(f"\n{'viewer':<16} {'page':<26} {'median ms':>10} {'p95 ms':>8} status")
    for role in (Role.PLATFORM_ADMIN, Role.REGION_ADMIN, Role.SCHOOL_ADMIN):
        client = Client(SERVER_NAME="localhost")
        client.force_login(viewer(role), backend="shuyuan.identity.backends.IdentifierBackend")
        for name, url in pages.items():
            status = client.get(url).status_code
            timings = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - t0) * 1000)
            timings.sort()
            p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
            print(f"{role:<16} {name:<26} {statistics.median(timings):>10.1f} {p95:>8.1f} {status}")


if __name__ == "__main__":
    main()
