"""Synthetic resources for demos and benchmarks (``manage.py make_resources``).

DEMO AND BENCHMARK DATA ONLY. The resources are created directly in the listed state as the
system actor, bypassing submission, audit and review (no files, no certificates): they exist
to show search on a populated region and to measure it at up to a million resources.

Titles and descriptions are built from ``data/synthetic_vocab.json`` (subjects, grades,
knowledge points, resource types, editions, templates such as
``《{kp}》{type}——{edition}{grade}{term}``), with the knowledge points of
``data/graph_seed.csv`` added to their subjects. The generator is deterministic for a seed and
records its ground truth (each resource's main knowledge point, and the second one its
description only mentions), which the search benchmark grades relevance with.

Rows are written in chunks with ``registry.importing.bulk.insert_rows`` (``executemany`` on
SQLite, ``COPY`` on PostgreSQL) inside ``bulk_writes()``, one transaction and one summary
change record (counts, id range, SM3 digest) per chunk, and indexed in the same chunk. The
segmentation can run in worker processes (``workers``); memory stays bounded by the chunk.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from shuyuan.core import crypto
from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.models import ChangeAction, Org, append_change
from shuyuan.registry.importing.bulk import allocate_ids, insert_rows

from .choices import GRADE_STAGE, ProviderKind, ResourceStatus, TagSource, VersionStatus
from .models import KnowledgePoint, Resource, ResourceTag, ResourceVersion, Subject, TextbookEdition
from .search.backends import backend
from .search.index import DocumentParts, compute_boost, row

DATA_DIR = Path(__file__).resolve().parent / "data"
VOCAB_FILE = DATA_DIR / "synthetic_vocab.json"
GRAPH_SEED_FILE = DATA_DIR / "graph_seed.csv"
CHUNK = 5000
LICENCE = "CC BY 4.0"
SECONDARY_RATE = 0.3


@dataclass(frozen=True)
class SubjectVocab:
    code: str
    name: str
    grades: tuple[str, ...]
    chapters: tuple[str, ...]
    kps: tuple[str, ...]


@dataclass(frozen=True)
class Vocab:
    subjects: tuple[SubjectVocab, ...]
    raw: dict[str, Any] = field(hash=False, compare=False)

    def kp_names(self) -> list[tuple[str, str]]:
        """Every ``(subject code, knowledge-point name)``."""
        return [(s.code, kp) for s in self.subjects for kp in s.kps]


@cache
def load_vocab(path: Path = VOCAB_FILE, seed_file: Path = GRAPH_SEED_FILE) -> Vocab:
    """The vocabulary, with the graph seed's knowledge points added to their subjects."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    extra: dict[str, list[str]] = {}
    if seed_file.exists():
        with seed_file.open(encoding="utf-8", newline="") as handle:
            for rec in csv.DictReader(handle):
                if rec.get("subject") and rec.get("name"):
                    extra.setdefault(rec["subject"], []).append(rec["name"].strip())
    subjects = []
    for s in raw["subjects"]:
        kps = tuple(dict.fromkeys([*s["kps"], *extra.get(s["code"], [])]))
        subjects.append(
            SubjectVocab(s["code"], s["name"], tuple(s["grades"]), tuple(s["chapters"]), kps)
        )
    return Vocab(tuple(subjects), raw)


@dataclass(frozen=True)
class SyntheticResource:
    """One generated resource and its ground truth (``kp`` in the title, ``kp2`` only in the
    description)."""

    subject: str
    kp: str
    kp2: str
    grade: str
    resource_type: str
    edition: str
    title: str
    description: str
    provider: str
    quality: float
    views: int
    downloads: int


def generate(n: int, *, seed: int, vocab: Vocab | None = None) -> Iterator[SyntheticResource]:
    """``n`` resources, the same ones for the same seed and vocabulary."""
    vocab = vocab or load_vocab()
    raw = vocab.raw
    rng = random.Random(seed)  # noqa: S311  # reproducible demo data, not security
    types = sorted(raw["types"])
    editions = [e["name"] for e in raw["editions"]]
    for _ in range(n):
        subject = rng.choice(vocab.subjects)
        kp = rng.choice(subject.kps)
        kp2 = ""
        if len(subject.kps) > 1 and rng.random() < SECONDARY_RATE:
            kp2 = rng.choice([k for k in subject.kps if k != kp])
        grade = rng.choice(subject.grades)
        resource_type = rng.choice(types)
        words = {
            "kp": kp,
            "kp2": kp2,
            "type": rng.choice(raw["types"][resource_type]),
            "edition": rng.choice(editions),
            "grade": raw["grades"][grade],
            "term": rng.choice(raw["terms"]),
            "subject": subject.name,
            "chapter": rng.choice(subject.chapters),
            "aspect": rng.choice(raw["aspects"]),
            "use": rng.choice(raw["uses"]),
        }
        title = rng.choice(raw["title_templates"]).format(**words)[:200]
        description = rng.choice(raw["description_templates"]).format(**words)
        if kp2:
            description += rng.choice(raw["secondary_templates"]).format(**words)
        views = int(rng.paretovariate(1.2) * 5)
        yield SyntheticResource(
            subject=subject.code,
            kp=kp,
            kp2=kp2,
            grade=grade,
            resource_type=resource_type,
            edition=words["edition"],
            title=title,
            description=description,
            provider=rng.choice(raw["providers"]),
            quality=round(rng.betavariate(5, 2) * 100, 1),
            views=views,
            downloads=views // rng.randint(2, 10),
        )


# --- writing -----------------------------------------------------------------------------------


@dataclass
class Lookups:
    subjects: dict[str, tuple[int, str]]  # code -> (id, name)
    editions: dict[str, int]  # name -> id
    kps: dict[tuple[str, str], int]  # (subject code, name) -> id


def prepare(vocab: Vocab, *, create_knowledge_points: bool) -> Lookups:
    """Ensure the vocabulary's subjects exist (and its knowledge points when asked); map the
    names to ids. Runs inside the caller's change context."""
    subjects: dict[str, tuple[int, str]] = {}
    for order, s in enumerate(vocab.subjects, start=1):
        obj = Subject.objects.filter(code=s.code).first()
        if obj is None:
            obj = Subject(code=s.code, name=s.name, order=order)
            obj.save(force_insert=True)
        subjects[s.code] = (obj.pk, obj.name)
    editions = dict(TextbookEdition.objects.values_list("name", "pk"))
    kps: dict[tuple[str, str], int] = {}
    by_subject = {pk: code for code, (pk, _name) in subjects.items()}
    for subject_id, name, pk in KnowledgePoint.objects.filter(
        subject_id__in=list(by_subject)
    ).values_list("subject_id", "name", "pk"):
        kps.setdefault((by_subject[subject_id], name), pk)
    if create_knowledge_points:
        for s in vocab.subjects:
            for name in s.kps:
                if (s.code, name) in kps:
                    continue
                digest = hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()
                grade = s.grades[len(s.grades) // 2]
                kp = KnowledgePoint(
                    code=f"syn-{s.code}-{digest[:10]}",
                    name=name,
                    subject_id=subjects[s.code][0],
                    stage=GRADE_STAGE[grade],
                    grade=grade,
                )
                kp.save(force_insert=True)
                kps[(s.code, name)] = kp.pk
    return Lookups(subjects, editions, kps)


def _insert(model: type[models.Model], records: list[dict[str, Any]]) -> None:
    """Insert rows with explicit ids; columns a record leaves out get the field default."""
    if not records:
        return
    fields = list(model._meta.concrete_fields)
    attnames = [f.attname for f in fields]
    defaults = {f.attname: f.get_default() for f in fields}
    insert_rows(
        model,
        attnames,
        ([{**defaults, **rec}[a] for a in attnames] for rec in records),
    )


def _rows_of(parts: list[DocumentParts]) -> list[tuple[Any, ...]]:
    now = timezone.now()
    return [row(p, now) for p in parts]


@dataclass
class MakeReport:
    created: int = 0
    tagged: int = 0
    indexed: int = 0
    first_id: int | None = None
    last_id: int | None = None


def make_resources(
    n: int,
    *,
    org: Org,
    created_by: Any,
    seed: int = 1,
    chunk: int = CHUNK,
    workers: int = 1,
    create_knowledge_points: bool = False,
    progress: Callable[[int], None] | None = None,
    on_chunk: Callable[[Sequence[int], Sequence[SyntheticResource]], None] | None = None,
) -> MakeReport:
    """Create ``n`` listed synthetic resources of ``org`` (submitted by ``created_by``), tag
    them with their main knowledge point when it exists in the graph, and index them.

    ``on_chunk(ids, resources)`` receives each chunk's ground truth (for benchmarks).
    """
    if n < 0:
        raise ValueError("n must not be negative")
    vocab = load_vocab()
    report = MakeReport()
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        with change_context(actor=system_actor(), source="cli"):
            with transaction.atomic():
                lookups = prepare(vocab, create_knowledge_points=create_knowledge_points)
            stream = generate(n, seed=seed, vocab=vocab)
            done = 0
            while done < n:
                batch = [next(stream) for _ in range(min(chunk, n - done))]
                _write_chunk(batch, org, created_by, lookups, (pool, workers), report, on_chunk)
                done += len(batch)
                if progress is not None:
                    progress(len(batch))
            backend().analyze()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return report


def _write_chunk(
    batch: list[SyntheticResource],
    org: Org,
    created_by: Any,
    lookups: Lookups,
    workers: tuple[Any, int],
    report: MakeReport,
    on_chunk: Callable[[Sequence[int], Sequence[SyntheticResource]], None] | None,
) -> None:
    now = timezone.now()
    user_id = created_by.pk
    pool, processes = workers
    with transaction.atomic():
        resource_ids = allocate_ids(Resource, len(batch))
        version_ids = allocate_ids(ResourceVersion, len(batch))
        resources, versions, tags, parts = [], [], [], []
        for rid, vid, item in zip(resource_ids, version_ids, batch, strict=True):
            subject_id, subject_name = lookups.subjects[item.subject]
            resources.append(
                {
                    "id": rid,
                    "org_id": org.pk,
                    "provider_kind": ProviderKind.SCHOOL,
                    "provider_name": item.provider,
                    "created_by_id": user_id,
                    "status": ResourceStatus.LISTED,
                    "listed_version_id": vid,
                    "created_at": now,
                    "listed_at": now,
                    "view_count": item.views,
                    "download_count": item.downloads,
                    "quality_score": item.quality,
                }
            )
            versions.append(
                {
                    "id": vid,
                    "resource_id": rid,
                    "number": 1,
                    "status": VersionStatus.APPROVED,
                    "title": item.title,
                    "description": item.description,
                    "subject_id": subject_id,
                    "stage": GRADE_STAGE[item.grade],
                    "grade": item.grade,
                    "edition_id": lookups.editions.get(item.edition),
                    "resource_type": item.resource_type,
                    "licence": LICENCE,
                    "external_url": (
                        f"https://lab.example.org/{rid}"
                        if item.resource_type == "virtual_lab"
                        else ""
                    ),
                    "completeness": 1.0,
                    "audited_at": now,
                    "created_by_id": user_id,
                    "created_at": now,
                    "submitted_at": now,
                    "decided_at": now,
                }
            )
            kp_id = lookups.kps.get((item.subject, item.kp))
            if kp_id is not None:
                tags.append(
                    {
                        "resource_id": rid,
                        "knowledge_point_id": kp_id,
                        "source": TagSource.MANUAL,
                        "created_by_id": user_id,
                        "created_at": now,
                    }
                )
            parts.append(
                DocumentParts(
                    resource_id=rid,
                    title=item.title,
                    description=item.description,
                    extracted_text="",
                    context=" ".join((subject_name, item.edition)),
                    kp_texts=(item.kp,) if kp_id is not None else (),
                    kp_ids=(kp_id,) if kp_id is not None else (),
                    subject_id=subject_id,
                    stage=GRADE_STAGE[item.grade],
                    grade=item.grade,
                    resource_type=item.resource_type,
                    boost=compute_boost(item.quality, item.views, item.downloads),
                )
            )
        if pool is not None:
            size = max(1, len(parts) // (processes * 4))
            rows = [r for rows in pool.map(_rows_of, _split(parts, size)) for r in rows]
        else:
            rows = _rows_of(parts)
        with bulk_writes():
            _insert(Resource, resources)
            _insert(ResourceVersion, versions)
            if tags:
                tag_ids = allocate_ids(ResourceTag, len(tags))
                _insert(ResourceTag, [{"id": i, **t} for i, t in zip(tag_ids, tags, strict=True)])
            indexed = backend().index(rows)
        digest = crypto.sm3(
            json.dumps(
                [[r["id"], v["title"]] for r, v in zip(resources, versions, strict=True)],
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode("utf-8")
        ).hex()
        append_change(
            action=ChangeAction.BULK,
            target_type="resources.resource",
            target_id=f"{resource_ids[0]}-{resource_ids[-1]}",
            target_repr=f"{len(batch)} synthetic resources",
            changes={
                "created": len(batch),
                "versions": len(batch),
                "tags": len(tags),
                "indexed": indexed,
                "digest": digest,
            },
            org_path=org.path,
            message="synthetic demo/bench resources (listed without review)",
        )
    report.created += len(batch)
    report.tagged += len(tags)
    report.indexed += indexed
    report.first_id = report.first_id or resource_ids[0]
    report.last_id = resource_ids[-1]
    if on_chunk is not None:
        on_chunk(resource_ids, batch)


def _split(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
