"""Knowledge points suggested for a resource from its text.

Two signals, combined into a score in [0, 1]:

1. Explicit mentions. An Aho–Corasick automaton (``pyahocorasick``) over every point's name
   and aliases finds each occurrence in the title, description and body in one pass per
   field. Overlapping matches keep the longest (``勾股定理的逆定理`` is not also counted as
   ``勾股定理``). A mention weighs 3 in the title, 2 in the description and 1 in the body;
   repeated mentions add with diminishing returns (``log2(1 + n)``).
2. Keywords. ``jieba.analyse`` TF-IDF keywords of the whole text (a private tokenizer that
   knows every point name as a word, so the global ``jieba`` dictionary is left alone) are
   matched against point names: a keyword of two or more characters (that is not itself a
   point's name or alias, already counted above) contained in a name, or a name contained in
   a keyword, adds ``weight × overlap`` (overlap = the shorter over the
   longer length), at most ``KEYWORD_WEIGHT``.

Points of another subject than the resource's are multiplied by ``OTHER_SUBJECT_FACTOR``. The
raw sum ``r`` becomes ``1 - exp(-r / SCALE)``, so one title mention gives about 0.78.

The automaton and the tokenizer are built once per graph revision (the newest change-log
sequence number of a knowledge point, plus their count) and kept in this process.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick
import jieba
import jieba.analyse
from django.db.models import Count, Max

from shuyuan.core.models import ChangeRecord

from ..models import KnowledgePoint, Resource, ResourceVersion

FIELD_WEIGHTS = {"title": 3.0, "description": 2.0, "body": 1.0}
KEYWORD_WEIGHT = 1.0
KEYWORD_TOP = 20
OTHER_SUBJECT_FACTOR = 0.3
SCALE = 2.0
MIN_SCORE = 0.05
#: Only the first characters of a long body are scanned (suggestions need the gist).
BODY_CHARS = 100_000


@dataclass
class _Index:
    revision: tuple[Any, ...]
    automaton: Any
    #: point id → (name, subject id)
    points: dict[int, tuple[str, int]]
    terms: frozenset[str]
    tfidf: Any


_lock = threading.Lock()
_cached: _Index | None = None
_tfidf: Any = None


def _keyword_extractor() -> Any:
    """One TF-IDF extractor with a private tokenizer per process (loading jieba's dictionary
    takes a second or two; point names are added to it as the graph grows)."""
    global _tfidf
    if _tfidf is None:
        jieba.setLogLevel(logging.WARNING)
        tfidf = jieba.analyse.TFIDF()
        tfidf.tokenizer = jieba.Tokenizer()
        _tfidf = tfidf
    return _tfidf


def graph_revision() -> tuple[Any, ...]:
    """Changes whenever a knowledge point is created, renamed, re-aliased or deleted: the newest
    change record of a point (its sequence number and chained hash, so a record rolled back and
    replaced by another with the same number still differs) and the points' count and top pk."""
    last = (
        ChangeRecord.objects.filter(target_type="resources.knowledgepoint")
        .order_by("-seq")
        .values_list("seq", "hash")
        .first()
    )
    stats = KnowledgePoint.objects.aggregate(n=Count("pk"), m=Max("pk"))
    return (last, stats["n"], stats["m"])


def _build(revision: tuple[Any, ...]) -> _Index:
    automaton = ahocorasick.Automaton()
    owners: dict[str, set[int]] = defaultdict(set)
    points: dict[int, tuple[str, int]] = {}
    tfidf = _keyword_extractor()
    for pk, name, aliases, subject_id in KnowledgePoint.objects.values_list(
        "pk", "name", "aliases", "subject_id"
    ):
        points[pk] = (name, subject_id)
        for term in {name, *(aliases or [])}:
            term = (term or "").strip().lower()
            if len(term) >= 2:
                owners[term].add(pk)
    for term, pks in owners.items():
        automaton.add_word(term, (len(term), tuple(sorted(pks))))
        tfidf.tokenizer.add_word(term, freq=2000)
    if owners:
        automaton.make_automaton()
    return _Index(revision, automaton if owners else None, points, frozenset(owners), tfidf)


def _index() -> _Index:
    global _cached
    revision = graph_revision()
    with _lock:
        if _cached is None or _cached.revision != revision:
            _cached = _build(revision)
        return _cached


def mentions(automaton: Any, text: str) -> dict[int, int]:
    """``{point id: occurrences}`` in ``text``, longest match winning where matches overlap."""
    if automaton is None or not text:
        return {}
    found = []
    for end, (length, pks) in automaton.iter(text.lower()):
        found.append((end - length + 1, end, pks))
    # Longest first, then leftmost; drop matches overlapping a kept one.
    found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
    taken: list[tuple[int, int]] = []
    counts: dict[int, int] = defaultdict(int)
    for start, end, pks in found:
        if any(start <= e and s <= end for s, e in taken):
            continue
        taken.append((start, end))
        for pk in pks:
            counts[pk] += 1
    return counts


def suggest_knowledge_points(
    text: str,
    *,
    subject_id: int | None = None,
    limit: int = 5,
    title: str = "",
    description: str = "",
    exclude: Iterable[int] = (),
) -> list[tuple[KnowledgePoint, float]]:
    """The best ``limit`` knowledge points for a resource with body ``text`` (and ``title``,
    ``description``), each with a score in (0, 1], best first; ``exclude`` (e.g. the points
    already tagged) are left out, and so are scores below ``MIN_SCORE``."""
    index = _index()
    raw: dict[int, float] = defaultdict(float)
    fields = {"title": title, "description": description, "body": (text or "")[:BODY_CHARS]}
    for field, content in fields.items():
        for pk, n in mentions(index.automaton, content).items():
            raw[pk] += FIELD_WEIGHTS[field] * math.log2(1 + n)
    whole = "\n".join(v for v in fields.values() if v)
    if whole.strip():
        keywords: list[tuple[str, float]] = index.tfidf.extract_tags(
            whole, topK=KEYWORD_TOP, withWeight=True
        )
        top = max((w for _k, w in keywords), default=1.0) or 1.0
        partial: dict[int, float] = defaultdict(float)
        for keyword, weight in keywords:
            keyword = keyword.lower()
            if len(keyword) < 2 or keyword in index.terms:
                # A keyword that is a point's name or alias was counted as a mention.
                continue
            for pk, (name, _subject) in index.points.items():
                lowered = name.lower()
                if keyword in lowered or lowered in keyword:
                    overlap = min(len(keyword), len(lowered)) / max(len(keyword), len(lowered))
                    partial[pk] += (weight / top) * overlap
        for pk, extra in partial.items():
            raw[pk] += min(extra, KEYWORD_WEIGHT)
    excluded = set(exclude)
    scored: list[tuple[int, float]] = []
    for pk, total in raw.items():
        value = float(total)
        if pk in excluded or pk not in index.points:
            continue
        if subject_id is not None and index.points[pk][1] != subject_id:
            value *= OTHER_SUBJECT_FACTOR
        score = 1.0 - math.exp(-value / SCALE)
        if score >= MIN_SCORE:
            scored.append((pk, round(score, 4)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    scored = scored[:limit]
    found = KnowledgePoint.objects.select_related("subject").in_bulk([pk for pk, _s in scored])
    return [(found[pk], score) for pk, score in scored if pk in found]


def latest_version(resource: Resource) -> ResourceVersion | None:
    """The version whose text suggestions read: the newest one."""
    return resource.versions.order_by("-number").first()


def suggest_for_resource(
    resource: Resource, *, limit: int = 5
) -> list[tuple[KnowledgePoint, float]]:
    """Suggestions for ``resource`` from its newest version's title, description and
    extracted text, in that version's subject, leaving out points it is tagged with."""
    version = latest_version(resource)
    if version is None:
        return []
    tagged = resource.tags.values_list("knowledge_point_id", flat=True)
    return suggest_knowledge_points(
        version.extracted_text,
        subject_id=version.subject_id,
        limit=limit,
        title=version.title,
        description=version.description,
        exclude=list(tagged),
    )
