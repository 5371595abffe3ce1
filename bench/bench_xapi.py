"""The xAPI LRS on PostgreSQL: statements/s over HTTP, GET latency at 10,000,000 statements.

Usage (the database is dropped and created unless ``--reuse``):

    .venv/bin/python bench/bench_xapi.py --n 100000 \
        --database-url postgres://postgres@127.0.0.1:5432/bench_xapi
    .venv/bin/python bench/bench_xapi.py --n 10000000 \
        --database-url postgres://postgres@127.0.0.1:5432/bench_xapi
    .venv/bin/python bench/bench_xapi.py --n 10000000 --reuse --phases get \
        --database-url postgres://postgres@127.0.0.1:5432/bench_xapi

What it does:

1. Migrates a fresh database, creates a region org and two LRS clients with known keys
   (``bench-preload``, whose name records N, the seed and the time base, and ``bench-load``,
   the credential of the HTTP phases), both through ``create_lrs_client``.
2. Preloads N synthetic statements with ``COPY`` straight into ``learning_statement``,
   ``learning_statementagent``, ``learning_statementactivity`` (and ``learning_activity``),
   in the exact stored format ``actions.statements.store_statements`` writes (``data`` JSON,
   index keys from ``xapi.keys``; side-table rows for the mentions beyond the actor and the
   object: an agent row for the authority, an activity row for each context activity).
   20,000 learners (account agents, log-normal activity), 30 ADL / Tin Can verbs (skewed),
   50,000 activities in 1,000 courses and 10 subjects (Zipf popularity), registrations on
   ~42%, result on scoring verbs, contextActivities on ~70%, ``stored`` increasing over one
   year. Generation runs in
   ``--workers`` processes; the secondary indexes and unique/foreign-key constraints of the
   three tables are dropped before the load and recreated from their own catalog
   definitions afterwards (checked identical), then ``VACUUM ANALYZE``. Prints load time,
   rows/s, index time and sizes. ``--reuse`` skips all of this when the database holds a
   preload of the same N and seed.
3. Starts gunicorn (``--server-workers`` x ``--server-threads`` gthread, DEBUG off) on a free
   port and drives it from ``--clients`` threads (``http.client``, keep-alive, Basic auth,
   ``X-Experience-API-Version: 2.0.0``):
   ``single``: POST one statement per request for ``--duration`` s; ``batch``: POST arrays
   of 100 (fresh UUIDs every run); statements/s, request p50/p95/p99 and the CPU cores busy
   in the server workers, PostgreSQL, this load generator and the rest of the machine.
   ``get``: ``--queries`` GET /xapi/statements with ``agent`` + ``verb`` + ``since`` drawn
   from the preloaded distribution (20% of the verbs uniform, so rare ones give empty pages),
   one client at a time after 50 warm-up requests: p50/p95/p99 ms and mean result count; then
   ``agent`` alone and ``activity`` alone (a third as many each).
4. Peak memory: VmHWM of each gunicorn process, ru_maxrss of the loader and its workers.

Needs gunicorn (the ``bench`` extra, installed by ``scripts/install --dev``). Never part of pytest.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import concurrent.futures
import datetime as dt
import http.client
import itertools
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOMEPAGE = "https://shuyuan.example.cn/"  # LEARNING_XAPI_ACCOUNT_HOMEPAGE's default
RESOURCES = "https://shuyuan.example.cn/resources/"
PRELOAD_KEY = "bench-preload"
LOAD_KEY = "bench-load"
SECRET = "bench-xapi-secret-4b1d0c3e9a7f5e2d8c6b4a0f1e3d5c7b"  # noqa: S105  # bench-only credential
STATEMENT_TABLES = ("learning_statement", "learning_statementagent", "learning_statementactivity")
YEAR_SECONDS = 365 * 24 * 3600
LEARNERS = 20_000
ACTIVITIES = 50_000
COURSES = 1_000
SUBJECTS = 10
ADL = "http://adlnet.gov/expapi/verbs/"
TINCAN = "http://id.tincanapi.com/verb/"
#: (IRI, display, relative frequency, carries a result)
VERBS: list[tuple[str, str, float, bool]] = [
    (ADL + "experienced", "experienced", 20, False),
    (TINCAN + "viewed", "viewed", 15, False),
    (ADL + "answered", "answered", 12, True),
    (ADL + "progressed", "progressed", 10, True),
    (ADL + "attempted", "attempted", 8, False),
    (ADL + "completed", "completed", 8, True),
    (ADL + "initialized", "initialized", 5, False),
    (ADL + "terminated", "terminated", 5, True),
    (ADL + "launched", "launched", 4, False),
    (ADL + "interacted", "interacted", 3, False),
    (ADL + "passed", "passed", 2, True),
    (ADL + "scored", "scored", 1.5, True),
    (ADL + "failed", "failed", 1, True),
    (ADL + "suspended", "suspended", 1, False),
    (ADL + "resumed", "resumed", 1, False),
    (ADL + "commented", "commented", 0.5, False),
    (ADL + "attended", "attended", 0.5, False),
    (ADL + "exited", "exited", 0.5, False),
    (TINCAN + "downloaded", "downloaded", 0.5, False),
    (ADL + "logged-in", "logged-in", 0.5, False),
    (ADL + "logged-out", "logged-out", 0.3, False),
    (ADL + "asked", "asked", 0.3, False),
    (ADL + "mastered", "mastered", 0.3, True),
    (TINCAN + "liked", "liked", 0.3, False),
    (ADL + "shared", "shared", 0.2, False),
    (TINCAN + "bookmarked", "bookmarked", 0.2, False),
    (ADL + "created", "created", 0.1, False),
    (ADL + "registered", "registered", 0.1, False),
    (ADL + "imported", "imported", 0.05, False),
    (ADL + "preferred", "preferred", 0.05, False),
]
ACTIVITY_TYPES = [
    ("http://adlnet.gov/expapi/activities/lesson", "Lesson"),
    ("http://adlnet.gov/expapi/activities/media", "Video"),
    ("http://adlnet.gov/expapi/activities/assessment", "Quiz"),
    ("http://adlnet.gov/expapi/activities/cmi.interaction", "Question"),
    ("http://adlnet.gov/expapi/activities/file", "Worksheet"),
]
REGISTRATION_NS = uuid.UUID("3d0f6c1a-8a44-4c8e-9a51-2b7f0e6c9d11")


def _iso(seconds: float) -> str:
    """Epoch seconds as the LRS writes ``stored``: UTC, milliseconds, ``Z``."""
    moment = dt.datetime.fromtimestamp(round(seconds, 3), tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _cjk(rng: random.Random, length: int) -> str:
    return "".join(chr(0x4E00 + rng.randrange(0x5000)) for _ in range(length))


class Universe:
    """The learners, verbs and activities of the synthetic region, fixed by the seed."""

    def __init__(self, seed: int) -> None:
        from shuyuan.learning.xapi import keys
        from shuyuan.learning.xapi.validation import agent_key

        rng = random.Random(seed)
        self.learners = [f"s{i:07d}" for i in range(LEARNERS)]
        self.agents = [
            {"objectType": "Agent", "account": {"homePage": HOMEPAGE, "name": name}}
            for name in self.learners
        ]
        self.actor_keys = [keys.agent_digest(agent_key(a)) for a in self.agents]
        self.learner_cum = list(
            itertools.accumulate(rng.lognormvariate(0, 0.8) for _ in range(LEARNERS))
        )
        self.verb_keys = [keys.verb_key(v[0]) for v in VERBS]
        self.verb_cum = list(itertools.accumulate(v[2] for v in VERBS))
        self.subjects: list[dict[str, Any]] = [
            {
                "objectType": "Activity",
                "id": f"{RESOURCES}subjects/{i}",
                "definition": {"name": {"zh-CN": _cjk(rng, 2)}},
            }
            for i in range(SUBJECTS)
        ]
        self.courses: list[dict[str, Any]] = [
            {
                "objectType": "Activity",
                "id": f"{RESOURCES}courses/{i}",
                "definition": {
                    "name": {"zh-CN": _cjk(rng, 6), "en-US": f"Course {i}"},
                    "type": "http://adlnet.gov/expapi/activities/course",
                },
            }
            for i in range(COURSES)
        ]
        self.activities: list[dict[str, Any]] = []
        for i in range(ACTIVITIES):
            type_iri, label = ACTIVITY_TYPES[i % len(ACTIVITY_TYPES)]
            self.activities.append(
                {
                    "objectType": "Activity",
                    "id": f"{RESOURCES}{i}",
                    "definition": {
                        "name": {"zh-CN": _cjk(rng, rng.randint(4, 12)), "en-US": f"{label} {i}"},
                        "type": type_iri,
                    },
                }
            )
        order = list(range(ACTIVITIES))
        rng.shuffle(order)  # popularity rank -> activity index
        self.activity_by_rank = order
        self.activity_cum = list(itertools.accumulate(1 / (r + 1) for r in range(ACTIVITIES)))
        self.activity_keys = [keys.activity_key(a["id"]) for a in self.activities]
        self.course_keys = [keys.activity_key(c["id"]) for c in self.courses]
        self.subject_keys = [keys.activity_key(s["id"]) for s in self.subjects]
        # JSON of the big fixed parts, so a stored document is mostly joined, not encoded
        self.agent_json = [_dumps(a) for a in self.agents]
        self.activity_json = [_dumps(a) for a in self.activities]
        self.verb_json = [_dumps({"id": v[0], "display": {"en-US": v[1]}}) for v in VERBS]

    def learner(self, rng: random.Random) -> int:
        return bisect.bisect(self.learner_cum, rng.random() * self.learner_cum[-1])

    def verb(self, rng: random.Random) -> int:
        return bisect.bisect(self.verb_cum, rng.random() * self.verb_cum[-1])

    def activity(self, rng: random.Random) -> int:
        rank = bisect.bisect(self.activity_cum, rng.random() * self.activity_cum[-1])
        return self.activity_by_rank[min(rank, ACTIVITIES - 1)]

    def statement(
        self, rng: random.Random, timestamp: float
    ) -> tuple[dict[str, Any], int, int, int, list[str]]:
        """A statement as a tool sends it (no id/stored/authority/version), with the learner,
        verb and activity indexes and the keys of its context activities."""
        learner, verb, act = self.learner(rng), self.verb(rng), self.activity(rng)
        iri, display, _weight, has_result = VERBS[verb]
        body: dict[str, Any] = {
            "actor": self.agents[learner],
            "verb": {"id": iri, "display": {"en-US": display}},
            "object": self.activities[act],
        }
        if has_result:
            raw = rng.randint(0, 100)
            result: dict[str, Any] = {
                "score": {"scaled": raw / 100, "raw": raw, "min": 0, "max": 100},
                "success": raw >= 60,
                "completion": True,
                "duration": f"PT{rng.randint(1, 59)}M{rng.randint(0, 59)}S",
            }
            if display == "answered":
                result["response"] = rng.choice("ABCD")
            body["result"] = result
        context_keys: list[str] = []
        if rng.random() < 0.7:
            course = act // (ACTIVITIES // COURSES)
            context: dict[str, Any] = {}
            if rng.random() < 0.6:
                context["registration"] = str(uuid.uuid5(REGISTRATION_NS, f"{learner}/{course}"))
            groups: dict[str, Any] = {"parent": [self._ref(self.courses[course])]}
            context_keys.append(self.course_keys[course])
            if rng.random() < 0.3:
                subject = course % SUBJECTS
                groups["grouping"] = [self._ref(self.subjects[subject])]
                context_keys.append(self.subject_keys[subject])
            context["contextActivities"] = groups
            context["platform"] = "Shuyuan"
            context["language"] = "zh-CN"
            body["context"] = context
        body["timestamp"] = _iso(timestamp)
        return body, learner, verb, act, context_keys

    @staticmethod
    def _ref(activity: dict[str, Any]) -> dict[str, Any]:
        return {"objectType": "Activity", "id": activity["id"]}


# --- preload -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the preload writes, shared with the worker processes."""

    n: int
    seed: int
    t0: float
    client_id: int
    org_path: str
    authority: dict[str, Any]
    authority_key: str


_UNIVERSE: Universe | None = None
_PLAN: Plan | None = None


def _worker_init(plan: Plan) -> None:
    global _UNIVERSE, _PLAN
    _UNIVERSE = Universe(plan.seed)
    _PLAN = plan


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\")


def _generate_chunk(bounds: tuple[int, int]) -> tuple[bytes, bytes, bytes, int]:
    """COPY text of statements with ids ``start`` .. ``stop - 1`` and their index rows."""
    universe, plan = _UNIVERSE, _PLAN
    assert universe is not None and plan is not None  # set by the initializer
    start, stop = bounds
    rng = random.Random(plan.seed * 1_000_003 + start)
    step = YEAR_SECONDS / plan.n
    statements: list[str] = []
    agents: list[str] = []
    activities: list[str] = []
    client, org_path = plan.client_id, _copy_text(plan.org_path)
    authority_json = _dumps(plan.authority)
    authority_key = plan.authority_key
    for pk in range(start, stop):
        stored = plan.t0 + (pk - 1) * step
        lag = rng.uniform(0, 600) if rng.random() < 0.95 else rng.uniform(600, 3 * 86400)
        body, learner, verb, act, context_keys = universe.statement(rng, stored - lag)
        statement_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        stored_text = _iso(stored)
        # == _dumps({"id": ..., **body, "authority": ..., "stored": ..., "version": "2.0.0"})
        parts = [
            '{"id":"',
            statement_id,
            '","actor":',
            universe.agent_json[learner],
            ',"verb":',
            universe.verb_json[verb],
            ',"object":',
            universe.activity_json[act],
        ]
        if "result" in body:
            parts += [',"result":', _dumps(body["result"])]
        if "context" in body:
            parts += [',"context":', _dumps(body["context"])]
        parts += [
            ',"timestamp":"',
            body["timestamp"],
            '","authority":',
            authority_json,
            ',"stored":"',
            stored_text,
            '","version":"2.0.0"}',
        ]
        document = "".join(parts)
        registration = body.get("context", {}).get("registration", "\\N")
        actor_key = universe.actor_keys[learner]
        statements.append(
            f"{pk}\t{statement_id}\t{stored_text}\t{body['timestamp']}\t{actor_key}\t"
            f"{universe.verb_keys[verb]}\t{universe.activity_keys[act]}\t\\N\t{registration}\t"
            f"f\tf\t{client}\t{org_path}\t{_copy_text(document)}\n"
        )
        # the side tables hold the mentions beyond the actor and the object (as _insert does)
        object_key = universe.activity_keys[act]
        agents.extend(
            f"{pk}\t{key}\n" for key in sorted({actor_key, authority_key} - {actor_key, object_key})
        )
        activities.extend(f"{pk}\t{key}\n" for key in sorted(set(context_keys) - {object_key}))
    return (
        "".join(statements).encode(),
        "".join(agents).encode(),
        "".join(activities).encode(),
        len(agents) + len(activities),
    )


def _schema_objects(cursor: Any) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(table, constraint, definition) of unique/FK constraints and (index, definition) of the
    other secondary indexes of the statement tables."""
    constraints: list[tuple[str, str, str]] = []
    indexes: list[tuple[str, str]] = []
    for table in STATEMENT_TABLES:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY conname",
            [table],
        )
        constraints += [(table, name, definition) for name, definition in cursor.fetchall()]
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass AND NOT indisprimary AND indexrelid NOT IN "
            "(SELECT conindid FROM pg_constraint WHERE conrelid = %s::regclass) ORDER BY 1",
            [table, table],
        )
        indexes += list(cursor.fetchall())
    return constraints, indexes


def _preload(args: Any, plan: Plan) -> None:
    import psycopg

    universe = Universe(plan.seed)
    conn = psycopg.connect(args.database_url, autocommit=True)
    cursor = conn.cursor()
    cursor.execute("SET synchronous_commit = off")
    constraints, indexes = _schema_objects(cursor)
    for table, name, _definition in constraints:
        if _definition.startswith("FOREIGN KEY"):
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for table, name, _definition in constraints:
        if not _definition.startswith("FOREIGN KEY"):
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    print(
        f"dropped {len(indexes)} indexes and {len(constraints)} constraints of "
        f"{', '.join(STATEMENT_TABLES)} for the load"
    )

    started = time.perf_counter()
    now_text = _iso(plan.t0)
    with cursor.copy(
        "COPY learning_activity (activity_key, activity_id, definition, updated_at) FROM STDIN"
    ) as copy:
        every = [
            *zip(universe.activity_keys, universe.activities, strict=True),
            *zip(universe.course_keys, universe.courses, strict=True),
            *zip(universe.subject_keys, universe.subjects, strict=True),
        ]
        for key, activity in every:
            definition = json.dumps(activity["definition"], ensure_ascii=False)
            copy.write(f"{key}\t{activity['id']}\t{_copy_text(definition)}\t{now_text}\n".encode())

    chunk = args.chunk
    bounds = [(s, min(s + chunk, plan.n + 1)) for s in range(1, plan.n + 1, chunk)]
    index_rows = 0
    done = 0
    window = max(2, args.workers + 2)
    last_report = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=args.workers, initializer=_worker_init, initargs=(plan,)
    ) as pool:
        queue = iter(bounds)
        pending = [pool.submit(_generate_chunk, item) for item in itertools.islice(queue, window)]
        while pending:
            stmt_text, agent_text, act_text, extra = pending.pop(0).result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(_generate_chunk, nxt))
            for table, columns, text in (
                ("learning_statement", _STATEMENT_COLUMNS, stmt_text),
                ("learning_statementagent", "(statement_id, agent_key)", agent_text),
                ("learning_statementactivity", "(statement_id, activity_key)", act_text),
            ):
                with cursor.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                    copy.write(text)
            index_rows += extra
            done += stmt_text.count(b"\n")
            if time.perf_counter() - last_report > 30:
                last_report = time.perf_counter()
                elapsed = last_report - started
                print(f"  ... {done:,} statements, {done / elapsed:,.0f}/s", flush=True)
    load = time.perf_counter() - started
    print(
        f"preload (generate + COPY): {plan.n:,} statements + {index_rows:,} index rows in "
        f"{load:.1f} s: {plan.n / load:,.0f} statements/s, "
        f"{(plan.n + index_rows) / load:,.0f} rows/s"
    )

    started = time.perf_counter()
    cursor.execute("SET maintenance_work_mem = '1GB'")
    for table in STATEMENT_TABLES:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, _max_id(cursor, table)]
        )
    for name, definition in indexes:
        t = time.perf_counter()
        cursor.execute(definition)
        print(f"  index {name}: {time.perf_counter() - t:.1f} s", flush=True)
    for table, name, definition in constraints:
        if not definition.startswith("FOREIGN KEY"):
            t = time.perf_counter()
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            print(f"  constraint {name}: {time.perf_counter() - t:.1f} s", flush=True)
    for table, name, definition in constraints:
        if definition.startswith("FOREIGN KEY"):
            t = time.perf_counter()
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            print(f"  constraint {name}: {time.perf_counter() - t:.1f} s", flush=True)
    restored = _schema_objects(cursor)
    if restored != (constraints, indexes):
        raise RuntimeError(f"the schema was not restored identically: {restored}")
    build = time.perf_counter() - started
    print(f"indexes and constraints rebuilt ({len(indexes)} + {len(constraints)}): {build:.1f} s")
    started = time.perf_counter()
    for table in (*STATEMENT_TABLES, "learning_activity"):
        cursor.execute(f"VACUUM (ANALYZE) {table}")
    print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")
    _print_sizes(cursor)
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"loader peak RSS: {usage:,.0f} MiB (largest generator worker: {workers:,.0f} MiB)")
    conn.close()


def _max_id(cursor: Any, table: str) -> int:
    from psycopg import sql

    cursor.execute(sql.SQL("SELECT coalesce(max(id), 1) FROM {}").format(sql.Identifier(table)))
    return int(cursor.fetchone()[0])


_STATEMENT_COLUMNS = (
    "(id, statement_id, stored, timestamp, actor_key, verb_key, object_key, object_ref, "
    "registration, is_voiding, voided, client_id, org_path, data)"
)


def _print_sizes(cursor: Any) -> None:
    for table in STATEMENT_TABLES:
        cursor.execute(
            "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)", [table, table]
        )
        heap, idx = cursor.fetchone()
        print(f"  {table}: table {heap / 2**30:.2f} GiB, indexes {idx / 2**30:.2f} GiB")
    cursor.execute("SELECT pg_database_size(current_database())")
    print(f"  database: {cursor.fetchone()[0] / 2**30:.2f} GiB")


# --- set-up ------------------------------------------------------------------------------------


def _recreate_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup(args: Any) -> Plan:
    from shuyuan.core.context import change_context, system_actor
    from shuyuan.core.models import Org, OrgKind, new_path_key
    from shuyuan.learning.actions.clients import create_lrs_client
    from shuyuan.learning.xapi import keys
    from shuyuan.learning.xapi.auth import client_authority
    from shuyuan.learning.xapi.validation import agent_key

    with change_context(actor=system_actor(), source="system"):
        region = Org(
            kind=OrgKind.REGION,
            name="Henan",
            path=new_path_key() + "/",
            depth=0,
            division_code="410000",
        )
        region.save(force_insert=True)
    t0 = float(int(time.time()) - YEAR_SECONDS - 3600)
    meta = json.dumps({"n": args.n, "seed": args.seed, "t0": int(t0)}, separators=(",", ":"))
    preload, _secret = create_lrs_client(
        actor=system_actor(),
        name="preload " + meta,
        org=region,
        key=PRELOAD_KEY,
        secret=SECRET,
        source="system",
    )
    create_lrs_client(
        actor=system_actor(),
        name="bench load",
        org=region,
        key=LOAD_KEY,
        secret=SECRET,
        source="system",
    )
    authority = client_authority(preload)
    return Plan(
        n=args.n,
        seed=args.seed,
        t0=t0,
        client_id=preload.pk,
        org_path=region.path,
        authority=authority,
        authority_key=keys.agent_digest(agent_key(authority)),
    )


def _stored_plan(args: Any) -> Plan | None:
    """The plan of an earlier preload of the same N and seed, if the database holds one."""
    from shuyuan.learning.models import LrsClient, Statement

    client = LrsClient.objects.filter(key=PRELOAD_KEY).select_related("org").first()
    if client is None:
        return None
    meta = json.loads(client.name.removeprefix("preload "))
    if meta["n"] != args.n or meta["seed"] != args.seed:
        return None
    if not Statement.objects.filter(pk=args.n, client=client).exists():
        return None
    return Plan(
        n=args.n,
        seed=args.seed,
        t0=float(meta["t0"]),
        client_id=client.pk,
        org_path=client.org.path,
        authority={},
        authority_key="",
    )


# --- HTTP --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """gunicorn serving ``shuyuan.wsgi`` in a child process."""

    def __init__(self, args: Any, tmp: Path) -> None:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        if not gunicorn.exists():
            raise SystemExit("gunicorn is not installed: scripts/install --dev (the bench extra)")
        self.port = _free_port()
        self.log = tmp / "gunicorn.log"
        env = dict(os.environ)
        env.update(
            SHUYUAN_ENV="development",
            SHUYUAN_DEBUG="false",
            SHUYUAN_DATABASE_URL=args.database_url,
            SHUYUAN_SECRET_KEY="bench",  # noqa: S106  # a throw-away server
            SHUYUAN_VAR_DIR=str(tmp),
            DJANGO_SETTINGS_MODULE="shuyuan.settings.base",
        )
        command = [
            str(gunicorn),
            "shuyuan.wsgi",
            "--workers",
            str(args.server_workers),
            "--threads",
            str(args.server_threads),
            "--worker-class",
            "gthread",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--keep-alive",
            "30",
            "--timeout",
            "120",
            "--error-logfile",
            str(self.log),
        ]
        self.process = subprocess.Popen(  # noqa: S603  # fixed command line
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/xapi/about")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not start:\n" + self.log.read_text()[-3000:])

    def pids(self) -> list[int]:
        master = self.process.pid
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(entry.name))
        return [master, *sorted(children)]

    def memory(self) -> str:
        parts = []
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(
                line.split(":", 1) for line in status.splitlines() if line.startswith("Vm")
            )
            hwm = int(fields["VmHWM"].split()[0]) / 1024
            rss = int(fields["VmRSS"].split()[0]) / 1024
            role = "master" if pid == self.process.pid else "worker"
            parts.append(f"{role} {pid}: peak {hwm:,.0f} MiB (now {rss:,.0f})")
        return "; ".join(parts)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class CpuMeter:
    """CPU seconds used during a phase by the server's processes, by ``postgres`` processes
    (every database's, including backends that exit during the phase: /proc is sampled every
    0.2 s), by this process, and by the rest of the machine (from /proc/stat)."""

    def __init__(self, server: Server) -> None:
        self.server_pids = set(server.pids())
        self.tick = os.sysconf("SC_CLK_TCK")
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.stop = threading.Event()
        self.first = {pid: cpu for pid, (_kind, cpu) in self._sample().items()}
        self.machine0 = self._machine()
        self.client0 = self._client()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self) -> dict[int, tuple[str, float]]:
        found: dict[int, tuple[str, float]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            pid = int(entry.name)
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            kind = "server" if pid in self.server_pids else "postgres" if comm == "postgres" else ""
            if kind:
                fields = stat.rsplit(")", 1)[1].split()
                found[pid] = (kind, (int(fields[11]) + int(fields[12])) / self.tick)
        return found

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self.last.update(self._sample())

    def _machine(self) -> float:
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
        return (sum(values) - values[3] - values[4]) / self.tick

    @staticmethod
    def _client() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def result(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join()
        self.last.update(self._sample())
        totals = {"server": 0.0, "postgres": 0.0}
        for pid, (kind, cpu) in self.last.items():
            totals[kind] += cpu - self.first.get(pid, 0.0)
        totals["client"] = self._client() - self.client0
        machine = self._machine() - self.machine0
        totals["other"] = machine - totals["server"] - totals["postgres"] - totals["client"]
        return totals


def _headers() -> dict[str, str]:
    token = base64.b64encode(f"{LOAD_KEY}:{SECRET}".encode()).decode()
    return {
        "Authorization": "Basic " + token,
        "X-Experience-API-Version": "2.0.0",
        "Content-Type": "application/json",
    }


@dataclass
class Outcome:
    ms: float
    status: int
    body: bytes


def _request(
    conn: http.client.HTTPConnection, method: str, url: str, body: bytes | None
) -> Outcome:
    t0 = time.perf_counter()
    conn.request(method, url, body=body, headers=_headers())
    response = conn.getresponse()
    data = response.read()
    return Outcome((time.perf_counter() - t0) * 1000, response.status, data)


def _pct(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    q = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return f"p50 {q[49]:7.1f}  p95 {q[94]:7.1f}  p99 {q[98]:7.1f}  max {max(values):7.1f} ms"


def _post_phase(
    args: Any, server: Server, universe: Universe, label: str, batch: int | None
) -> None:
    """``--clients`` threads POST statements (one object, or arrays of ``batch``).

    Each client first sends one untimed request (the first requests of a fresh gunicorn worker
    thread take seconds: connections, lazy imports), then all start together."""
    lock = threading.Lock()
    ready = threading.Barrier(args.clients + 1)
    latencies: list[float] = []
    stored = [0]
    errors: list[Outcome] = []

    def client(index: int) -> None:
        rng = random.Random(args.seed * 7919 + index + (batch or 1) * 1_000)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        mine: list[float] = []
        count = 0
        bad: list[Outcome] = []
        warm_up = True
        deadline = 0.0
        while warm_up or time.perf_counter() < deadline:
            now = time.time()
            items = []
            for _ in range(batch or 1):
                body, *_rest = universe.statement(rng, now - rng.uniform(0, 60))
                items.append({"id": str(uuid.uuid4()), **body})  # new ids on every run
            payload = json.dumps(items if batch else items[0], ensure_ascii=False).encode()
            outcome = _request(conn, "POST", "/xapi/statements", payload)
            if warm_up:
                warm_up = False
                ready.wait()
                deadline = time.perf_counter() + args.duration
            elif outcome.status == 200:
                count += len(items)
                mine.append(outcome.ms)
            else:
                bad.append(outcome)
        conn.close()
        with lock:
            latencies.extend(mine)
            stored[0] += count
            errors.extend(bad)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    meter = CpuMeter(server)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = meter.result()
    print(
        f"{label:<22} {stored[0] / elapsed:8,.0f} statements/s  ({stored[0]:,} in {elapsed:.1f} s, "
        f"{len(latencies):,} requests, {args.clients} clients)  request {_pct(latencies)}"
    )
    print(
        "    CPU seconds per second of wall time: "
        f"server workers {cpu['server'] / elapsed:.2f}, "
        f"PostgreSQL {cpu['postgres'] / elapsed:.2f}, "
        f"load generator {cpu['client'] / elapsed:.2f}, "
        f"everything else {cpu['other'] / elapsed:.2f} (of {os.cpu_count()} cores)"
    )
    if errors:
        print(
            f"    {len(errors)} failed requests, first: {errors[0].status} {errors[0].body[:300]!r}"
        )


def _get_phase(args: Any, server: Server, universe: Universe, plan: Plan) -> None:
    """GET /xapi/statements latency for query shapes drawn from the preloaded distribution."""
    rng = random.Random(args.seed * 31 + 5)
    span_end = plan.t0 + YEAR_SECONDS

    def agent_param() -> str:
        return json.dumps(universe.agents[universe.learner(rng)], separators=(",", ":"))

    def verb_param() -> str:
        verb = universe.verb(rng) if rng.random() < 0.8 else rng.randrange(len(VERBS))
        return VERBS[verb][0]

    def since_param() -> str:
        return _iso(plan.t0 + rng.random() * (span_end - plan.t0))

    def triple() -> dict[str, str]:
        return {"agent": agent_param(), "verb": verb_param(), "since": since_param()}

    def agent_only() -> dict[str, str]:
        return {"agent": agent_param()}

    def activity_only() -> dict[str, str]:
        return {"activity": universe.activities[universe.activity(rng)]["id"]}

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    for _ in range(50):  # warm-up: connections, code paths, a little cache
        _request(conn, "GET", "/xapi/statements?" + urlencode(triple()), None)
    shapes: list[tuple[str, Callable[[], dict[str, str]], int]] = [
        ("agent + verb + since", triple, args.queries),
        ("agent", agent_only, max(1, args.queries // 3)),
        ("activity", activity_only, max(1, args.queries // 3)),
    ]
    for label, make, count in shapes:
        latencies: list[float] = []
        results: list[int] = []
        more = 0
        errors: list[Outcome] = []
        for _ in range(count):
            outcome = _request(conn, "GET", "/xapi/statements?" + urlencode(make()), None)
            if outcome.status != 200:
                errors.append(outcome)
                continue
            latencies.append(outcome.ms)
            page = json.loads(outcome.body)
            results.append(len(page.get("statements", [])))
            more += bool(page.get("more"))
        empty = sum(1 for r in results if r == 0)
        mean = statistics.mean(results) if results else 0
        print(
            f"GET {label:<22} {count:,} queries: {_pct(latencies)}; mean {mean:.1f} statements, "
            f"{empty} empty, {more} with more"
        )
        if errors:
            print(f"    {len(errors)} failed, first: {errors[0].status} {errors[0].body[:300]!r}")
    conn.close()


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="postgres://... (dropped, created)")
    parser.add_argument("--n", type=int, default=10_000_000, help="statements to preload")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--chunk", type=int, default=20_000, help="statements per COPY chunk")
    parser.add_argument("--reuse", action="store_true", help="keep an existing preload of N")
    parser.add_argument(
        "--phases", default="single,batch,get", help="comma list of single, batch, get"
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds per POST phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--queries", type=int, default=1000, help="GET agent+verb+since queries")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=4)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a PostgreSQL URL")
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - {"single", "batch", "get"}
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    tmp = Path(tempfile.mkdtemp(prefix="shuyuan-bench-xapi-"))
    os.environ["SHUYUAN_ENV"] = "development"
    os.environ["SHUYUAN_VAR_DIR"] = str(tmp)
    os.environ["SHUYUAN_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuyuan.settings.base")
    plan: Plan | None = None
    if args.reuse:
        import django

        try:
            django.setup()
            plan = _stored_plan(args)
        except Exception as exc:  # any failure: no usable preload
            print(f"--reuse: no usable preload ({exc.__class__.__name__}); building one")
        from django.db import connection

        connection.close()
    if plan is None:
        _recreate_postgres(args.database_url)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, skip_checks=True)
        plan = _setup(args)
        connection.close()
        print(f"database: PostgreSQL; preloading {args.n:,} statements, {args.workers} workers")
        _preload(args, plan)
    else:
        print(f"database: PostgreSQL; reusing the preload of {args.n:,} statements")

    universe = Universe(args.seed)
    if phases:
        server = Server(args, tmp)
        print(
            f"gunicorn: {args.server_workers} workers x {args.server_threads} threads "
            f"(gthread), port {server.port}; load average {os.getloadavg()[0]:.2f}"
        )
        try:
            if "single" in phases:
                _post_phase(args, server, universe, "POST 1 statement", None)
            if "batch" in phases:
                _post_phase(args, server, universe, "POST 100 statements", 100)
            if "get" in phases:
                _get_phase(args, server, universe, plan)
            print("server memory: " + server.memory())
        finally:
            server.stop()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
