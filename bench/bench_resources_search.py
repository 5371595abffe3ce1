"""Resource search at up to 1,000,000 synthetic resources: index build, latency, relevance.

Usage (SQLite temp file by default; a PostgreSQL URL is dropped and created):

    .venv/bin/python bench/bench_resources_search.py --n 100000
    .venv/bin/python bench/bench_resources_search.py --n 1000000 --workers 2
    .venv/bin/python bench/bench_resources_search.py --n 100000 \
        --database-url postgres://postgres@127.0.0.1:5432/bench_resources

What it does:

1. Migrates a fresh database, creates a region org and a platform administrator, and builds
   N listed synthetic resources with ``synthetic.make_resources`` (generation, jieba
   segmentation and pinyin, bulk inserts, one change record per chunk, indexing): the build
   time. Then the full-text structure alone is rebuilt from the stored tokens (FTS5
   ``rebuild`` + ``optimize`` / ``REINDEX`` of the GIN index): the pure index time.
2. Builds a tantivy index of the same documents (the same pre-segmented tokens, the same
   four fields with the same weights as boosts) and times it.
3. Runs 1,000 queries (seeded mix: single Chinese words, two words, full pinyin, initials,
   filtered queries, empty query + filter) through the backend (parse + match + rank + page,
   as ``search_resources`` does before loading rows) and through ``search_resources``
   (plus visibility, the 20 resources and highlighting); and the same text queries on
   tantivy (top 20 by BM25 with field boosts, filters as term queries). p50/p95/p99 ms.
4. nDCG@10 on ``bench/data/resources_queries.json`` (graded from the generator's ground truth).

``--dir PATH`` keeps the SQLite file (and the ground truth, ``truth.json``) in ``PATH``; with
``--reuse`` a later run on the same ``PATH`` (and the same ``--n``, ``--seed`` and database)
skips steps 1's build and rebuild and measures the stored index again, so a change to the query
side can be measured at 1,000,000 without the 13-minute build. A change to what documents hold
needs a fresh build.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUERIES_FILE = ROOT / "bench" / "data" / "resources_queries.json"


def _recreate_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup() -> tuple[Any, Any]:
    from shuyuan.core.context import change_context, system_actor
    from shuyuan.core.models import Org, OrgKind, new_path_key
    from shuyuan.identity.models import Role, RoleAssignment, User

    with change_context(actor=system_actor(), source="system"):
        region = Org(
            kind=OrgKind.REGION,
            name="Henan",
            path=new_path_key() + "/",
            depth=0,
            division_code="410000",
        )
        region.save(force_insert=True)
        admin = User(username="bench-admin", real_name="Bench Admin", home_org=region)
        admin.set_unusable_password()
        admin.save(force_insert=True)
        RoleAssignment(user=admin, role=Role.PLATFORM_ADMIN, org=region).save(force_insert=True)
    admin.clear_role_cache()
    return region, admin


class Truth:
    """Ground truth per resource id (compact arrays; ids of one run are contiguous)."""

    def __init__(self, vocab: Any) -> None:
        self.kp_index: dict[str, int] = {}
        for s in vocab.subjects:
            for kp in s.kps:
                self.kp_index.setdefault(f"{s.code}/{kp}", len(self.kp_index))
        self.types = sorted(vocab.raw["types"])
        self.base = 0
        self.kp = array("i")
        self.kp2 = array("i")
        self.type = array("b")
        self.subject = array("b")
        self.grade = array("b")
        self.subjects = [s.code for s in vocab.subjects]

    _ARRAYS = ("kp", "kp2", "type", "subject", "grade")

    def save(self, path: Path, meta: dict[str, Any]) -> None:
        data = {name: list(getattr(self, name)) for name in self._ARRAYS}
        path.write_text(json.dumps({"meta": meta, "base": self.base, **data}), encoding="utf-8")

    def load(self, path: Path) -> dict[str, Any]:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.base = int(data["base"])
        for name in self._ARRAYS:
            setattr(self, name, array(getattr(self, name).typecode, data[name]))
        return dict(data["meta"])

    def add(self, ids: Sequence[int], items: Sequence[Any]) -> None:
        if not self.kp:
            self.base = ids[0]
        if ids[0] != self.base + len(self.kp):
            raise RuntimeError("resource ids are not contiguous")
        for item in items:
            self.kp.append(self.kp_index[f"{item.subject}/{item.kp}"])
            self.kp2.append(self.kp_index[f"{item.subject}/{item.kp2}"] if item.kp2 else -1)
            self.type.append(self.types.index(item.resource_type))
            self.subject.append(self.subjects.index(item.subject))
            self.grade.append(int(item.grade))

    def relevance(self, rid: int, spec: dict[str, Any]) -> int:
        i = rid - self.base
        if not 0 <= i < len(self.kp):
            return 0
        kp = self.kp_index.get(f"{spec['subject']}/{spec['kp']}", -2)
        if self.kp[i] == kp:
            if spec.get("type") and self.types[self.type[i]] != spec["type"]:
                return 1
            return 2
        return 1 if self.kp2[i] == kp else 0

    def ideal(self, spec: dict[str, Any]) -> list[int]:
        kp = self.kp_index.get(f"{spec['subject']}/{spec['kp']}", -2)
        want = self.types.index(spec["type"]) if spec.get("type") else -1
        filters = spec.get("filters", {})
        twos = ones = 0
        for i in range(len(self.kp)):
            if filters and not self._passes(i, filters):
                continue
            if self.kp[i] == kp:
                if want == -1 or self.type[i] == want:
                    twos += 1
                else:
                    ones += 1
            elif self.kp2[i] == kp:
                ones += 1
            if twos >= 10:
                break
        return ([2] * twos + [1] * ones)[:10]

    def _passes(self, i: int, filters: dict[str, str]) -> bool:
        if "subject" in filters and self.subjects[self.subject[i]] != filters["subject"]:
            return False
        if "resource_type" in filters and self.types[self.type[i]] != filters["resource_type"]:
            return False
        return "grade" not in filters or self.grade[i] == int(filters["grade"])


def _dcg(rels: list[int]) -> float:
    return float(sum((2**r - 1) / math.log2(i + 2) for i, r in enumerate(rels[:10])))


def _ndcg(ranked: list[int], truth: Truth, spec: dict[str, Any]) -> float:
    ideal = _dcg(truth.ideal(spec))
    if ideal == 0:
        return 0.0
    return _dcg([truth.relevance(rid, spec) for rid in ranked]) / ideal


def _query_mix(vocab: Any, n: int, seed: int) -> list[tuple[str, dict[str, str]]]:
    rng = random.Random(seed)
    from shuyuan.resources.search.tokenize import _pinyin_of, segment

    words = [(s, kp) for s in vocab.subjects for kp in s.kps]
    type_words = [w for ws in vocab.raw["types"].values() for w in ws]
    types = sorted(vocab.raw["types"])
    out: list[tuple[str, dict[str, str]]] = []
    for i in range(n):
        subject, kp = rng.choice(words)
        kind = i % 10
        if kind < 3:
            out.append((kp, {}))
        elif kind < 5:
            out.append((f"{kp} {rng.choice(type_words)}", {}))
        elif kind == 5:
            full = "".join(_pinyin_of(t)[0] for t in segment(kp)[:1])
            out.append((full or kp, {}))
        elif kind == 6:
            out.append((_pinyin_of(kp)[1] or kp, {}))
        elif kind == 7:
            out.append((kp, {"subject": subject.code}))
        elif kind == 8:
            out.append(
                (
                    rng.choice(type_words),
                    {"resource_type": rng.choice(types), "grade": rng.choice(subject.grades)},
                )
            )
        else:
            out.append(("", {"subject": subject.code, "resource_type": rng.choice(types)}))
    return out


def _pct(values: list[float]) -> str:
    values = sorted(values)
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:7.2f}  p95 {q[94]:7.2f}  p99 {q[98]:7.2f}  max {values[-1]:7.2f}"


# --- tantivy -----------------------------------------------------------------------------------


def _tantivy_build(path: Path) -> tuple[Any, Any, float]:
    import tantivy
    from django.db import connection

    from shuyuan.resources.models import Subject

    codes = dict(Subject.objects.values_list("pk", "code"))
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in ("title", "body", "pinyin", "kps"):
        sb.add_text_field(
            name,
            stored=False,
            tokenizer_name="default",
            index_option="freq" if name == "pinyin" else "position",
        )
    for name in ("subject", "type", "grade", "stage"):
        sb.add_text_field(name, stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_float_field("boost", stored=False, fast=True)
    schema = sb.build()
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema, path=str(path))
    started = time.perf_counter()
    writer = index.writer(heap_size=256_000_000, num_threads=2)
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT resource_id, title_tokens, body_tokens, pinyin, kp_tokens, subject_id, "
                "resource_type, grade, stage, boost FROM resources_searchdocument "
                "WHERE resource_id > %s ORDER BY resource_id LIMIT 20000",
                [last],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        for rid, title, body, pinyin, kps, subject_id, rtype, grade, stage, boost in rows:
            writer.add_document(
                tantivy.Document(
                    id=rid,
                    title=title,
                    body=body,
                    pinyin=pinyin,
                    kps=kps,
                    subject=codes[subject_id],
                    type=rtype,
                    grade=grade or "-",
                    stage=stage,
                    boost=float(boost),
                )
            )
        last = rows[-1][0]
    writer.commit()
    writer.wait_merging_threads()
    seconds = time.perf_counter() - started
    index.reload()
    return index, schema, seconds


WEIGHTS = {"title": 10.0, "body": 1.0, "pinyin": 4.0, "kps": 6.0}


def _tantivy_query(schema: Any, clauses: list[Any], filters: dict[str, str]) -> Any:
    import tantivy

    occur = tantivy.Occur
    musts = []
    for clause in clauses:
        alternatives = []
        for alt in clause.alternatives:
            tokens = []
            for token in alt:
                fields = []
                for name, weight in WEIGHTS.items():
                    if clause.prefix:
                        q = tantivy.Query.regex_query(schema, name, f"{token}.*")
                    elif name == "pinyin":
                        continue
                    else:
                        q = tantivy.Query.term_query(schema, name, token)
                    fields.append((occur.Should, tantivy.Query.boost_query(q, weight)))
                tokens.append((occur.Must, tantivy.Query.boolean_query(fields)))
            alternatives.append((occur.Should, tantivy.Query.boolean_query(tokens)))
        musts.append((occur.Must, tantivy.Query.boolean_query(alternatives)))
    names = {"subject": "subject", "resource_type": "type", "grade": "grade", "stage": "stage"}
    for key, value in filters.items():
        musts.append((occur.Must, tantivy.Query.term_query(schema, names[key], value)))
    if not clauses:
        musts.append((occur.Must, tantivy.Query.all_query()))
    return tantivy.Query.boolean_query(musts)


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Keep the temp dir (SQLite file).")
    parser.add_argument(
        "--dir", default="", help="Directory for the SQLite file and ground truth (kept)."
    )
    parser.add_argument(
        "--reuse", action="store_true", help="Reuse the database built by an earlier --dir run."
    )
    args = parser.parse_args()
    if args.reuse and not args.dir:
        parser.error("--reuse needs --dir")
    if args.dir:
        tmp = Path(args.dir).resolve()
        tmp.mkdir(parents=True, exist_ok=True)
        args.keep = True
    else:
        tmp = Path(tempfile.mkdtemp(prefix="shuyuan-bench-search-"))
    truth_file = tmp / "truth.json"
    meta = {"n": args.n, "seed": args.seed, "database": args.database_url or "sqlite"}
    reuse = False
    if args.reuse:
        if not truth_file.exists():
            parser.error(f"--reuse: no earlier build in {tmp}")
        stored = json.loads(truth_file.read_text(encoding="utf-8"))["meta"]
        if stored != meta:
            parser.error(f"--reuse: {tmp} holds a build of {stored}, not {meta}")
        reuse = True
    os.environ["SHUYUAN_ENV"] = "development"
    os.environ["SHUYUAN_VAR_DIR"] = str(tmp)
    if args.database_url:
        if not reuse:
            _recreate_postgres(args.database_url)
        os.environ["SHUYUAN_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuyuan.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if not reuse:
        truth_file.unlink(missing_ok=True)
        db_files = list(tmp.glob("*.sqlite3*")) if not args.database_url else []
        for stale in db_files:
            stale.unlink()
        call_command("migrate", verbosity=0, skip_checks=True)
    from shuyuan.resources.search.backends import backend
    from shuyuan.resources.search.tokenize import segment
    from shuyuan.resources.synthetic import load_vocab

    segment("warm up jieba")
    vocab = load_vocab()
    truth = Truth(vocab)
    engine = backend()
    if reuse:
        from shuyuan.identity.models import User

        admin = User.objects.get(username="bench-admin")
        truth.load(truth_file)
        print(f"database: {connection.vendor}; resources: {args.n:,}; reusing {tmp}")
    else:
        admin = _build(args, truth, engine)
        truth.save(truth_file, meta)
    _measure(args, truth, engine, admin, vocab, tmp)
    connection.close()
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def _build(args: Any, truth: Truth, engine: Any) -> Any:
    from django.db import connection
    from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed

    from shuyuan.resources.synthetic import make_resources

    region, admin = _setup()
    print(f"database: {connection.vendor}; resources: {args.n:,}; workers: {args.workers}")
    started = time.perf_counter()
    with tqdm(total=args.n, unit="res", mininterval=5) as bar:
        report = make_resources(
            args.n,
            org=region,
            created_by=admin,
            seed=args.seed,
            workers=args.workers,
            create_knowledge_points=True,
            progress=bar.update,
            on_chunk=truth.add,
        )
    build = time.perf_counter() - started
    print(
        f"build (generate + segment + insert + index): {build:.1f} s "
        f"({args.n / build:,.0f} resources/s); indexed {report.indexed:,}"
    )
    started = time.perf_counter()
    engine.rebuild()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    rebuild = time.perf_counter() - started
    print(f"full-text structure rebuilt from stored tokens: {rebuild:.1f} s")
    if connection.vendor == "sqlite":
        db_file = Path(connection.settings_dict["NAME"])
        size = sum(p.stat().st_size for p in db_file.parent.glob(db_file.name + "*"))
        print(f"SQLite file size: {size / 1e6:,.0f} MB")
    return admin


def _measure(args: Any, truth: Truth, engine: Any, admin: Any, vocab: Any, tmp: Path) -> None:
    from django.db import connection

    from shuyuan.resources.queries.search import search_resources
    from shuyuan.resources.search.tokenize import exact_terms, parse_query

    mix = _query_mix(vocab, args.queries, args.seed)

    def backend_run(q: str, filters: dict[str, str]) -> list[int]:
        from shuyuan.resources.queries.search import _filters

        f = _filters(
            subject=filters.get("subject"),
            stage=filters.get("stage"),
            grade=filters.get("grade"),
            resource_type=filters.get("resource_type"),
            knowledge_point=None,
        )
        clauses = parse_query(q)
        exact = exact_terms(q, clauses)
        result = engine.search(clauses, f, 20, 0, exact=exact)
        if not result.total and len(clauses) > 1:
            result = engine.search(clauses, f, 20, 0, any_clause=True, exact=exact)
        return [h.resource_id for h in result.hits]

    for q, filters in mix[:50]:  # warm-up
        backend_run(q, filters)
    timings: list[float] = []
    for q, filters in mix:
        t0 = time.perf_counter()
        backend_run(q, filters)
        timings.append((time.perf_counter() - t0) * 1000)
    print(f"{connection.vendor:<10} backend   {len(mix)} queries: {_pct(timings)} ms")
    full: list[float] = []
    for q, filters in mix:
        t0 = time.perf_counter()
        search_resources(
            admin,
            q,
            subject=filters.get("subject"),
            grade=filters.get("grade"),
            resource_type=filters.get("resource_type"),
        )
        full.append((time.perf_counter() - t0) * 1000)
    print(f"{connection.vendor:<10} search_resources (rows + highlight): {_pct(full)} ms")
    by_kind: dict[str, list[float]] = {}
    kinds = [
        "word",
        "word",
        "word",
        "two words",
        "two words",
        "pinyin",
        "initials",
        "word + filter",
        "type word + 2 filters",
        "empty + 2 filters",
    ]
    full_by_kind: dict[str, list[float]] = {}
    for i, ms in enumerate(timings):
        by_kind.setdefault(kinds[i % 10], []).append(ms)
        full_by_kind.setdefault(kinds[i % 10], []).append(full[i])
    print("    per kind: backend p50 / p95 | search_resources p50 / p95 (ms)")
    for kind, values in by_kind.items():
        whole = full_by_kind[kind]
        print(
            f"    {kind:<24} {statistics.median(values):7.2f} / "
            f"{statistics.quantiles(values, n=20)[18]:7.2f} | "
            f"{statistics.median(whole):7.2f} / {statistics.quantiles(whole, n=20)[18]:7.2f}"
        )

    labelled = json.loads(QUERIES_FILE.read_text(encoding="utf-8"))["queries"]
    scores = []
    for spec in labelled:
        ranked = backend_run(spec["q"], spec.get("filters", {}))[:10]
        scores.append(_ndcg(ranked, truth, spec))
    print(
        f"{connection.vendor:<10} nDCG@10 over {len(labelled)} labelled queries: "
        f"{statistics.mean(scores):.3f}"
    )
    worst = sorted(zip(scores, (s["q"] for s in labelled), strict=True))[:5]
    print("    lowest: " + ", ".join(f"{q} {s:.2f}" for s, q in worst))
    if os.environ.get("BENCH_DEBUG"):
        from shuyuan.resources.models import ResourceVersion

        for _s, q in worst[:2]:
            spec = next(x for x in labelled if x["q"] == q)
            for rid in backend_run(q, spec.get("filters", {}))[:10]:
                title = ResourceVersion.objects.get(resource_id=rid).title
                print("     ", q, rid, truth.relevance(rid, spec), title)

    if not args.no_tantivy:
        shutil.rmtree(tmp / "tantivy", ignore_errors=True)
        index, schema, seconds = _tantivy_build(tmp / "tantivy")
        print(f"tantivy index from the same tokens: {seconds:.1f} s")
        searcher = index.searcher()

        def tantivy_run(q: str, filters: dict[str, str]) -> list[int]:
            query = _tantivy_query(schema, parse_query(q), filters)
            result = searcher.search(query, 20, count=True)
            return [searcher.doc(addr)["id"][0] for _score, addr in result.hits]

        for q, filters in mix[:50]:
            tantivy_run(q, filters)
        ttimes = []
        for q, filters in mix:
            t0 = time.perf_counter()
            tantivy_run(q, filters)
            ttimes.append((time.perf_counter() - t0) * 1000)
        print(f"tantivy    {len(mix)} queries: {_pct(ttimes)} ms")
        tscores = [
            _ndcg(tantivy_run(s["q"], s.get("filters", {}))[:10], truth, s) for s in labelled
        ]
        print(f"tantivy    nDCG@10 (BM25 only, no quality boost): {statistics.mean(tscores):.3f}")


if __name__ == "__main__":
    main()
