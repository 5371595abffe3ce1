"""Build the search document of a resource and keep the index in step.

Only listed resources (``Resource.objects.listed()``: listed, with a listed version, so never a
retired one) have a document; ``reindex`` removes the document of any other. The text comes
from the listed version (title, description, the first ``MAX_TEXT_CHARS`` of the extracted
text, subject, edition and chapter) and the names and aliases of the resource's knowledge
points; the boost from the quality score and the use counters.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import Resource, ResourceTag
from ..models.search import SearchDocument
from .backends import backend, facet_tokens
from .tokenize import exact_term, pinyin_terms, segment

#: Characters of the extracted text that are indexed.
MAX_TEXT_CHARS = 20_000
#: Boost = 1 + QUALITY_WEIGHT * quality (0..1) + USE_WEIGHT * log1p(views + 3 * downloads).
QUALITY_WEIGHT = 0.3
USE_WEIGHT = 0.03
#: Resources read per chunk by ``reindex_all``.
CHUNK = 2000


def compute_boost(quality_score: float | None, views: int, downloads: int) -> float:
    """The multiplier of a document's text score. ``quality_score`` is on a 0–100 scale."""
    quality = min(max(float(quality_score or 0.0), 0.0), 100.0) / 100.0
    uses = max(views, 0) + 3 * max(downloads, 0)
    return 1.0 + QUALITY_WEIGHT * quality + USE_WEIGHT * math.log1p(uses)


def _join(tokens: Iterable[str]) -> str:
    return " ".join(tokens)


@dataclass(frozen=True)
class DocumentParts:
    """What a document is made of (raw text; ``row`` segments it)."""

    resource_id: int
    title: str
    description: str
    extracted_text: str
    context: str
    kp_texts: tuple[str, ...]
    kp_ids: tuple[int, ...]
    subject_id: int
    stage: str
    grade: str
    resource_type: str
    boost: float


def row(parts: DocumentParts, now: Any) -> tuple[Any, ...]:
    """The document of ``parts`` as a tuple in ``backends.DOC_COLUMNS`` order."""
    title = segment(parts.title)
    kps = [t for text in parts.kp_texts for t in segment(text)]
    context = segment(parts.context)
    body = segment(parts.description) + context
    if parts.extracted_text:
        body += segment(parts.extracted_text, limit=MAX_TEXT_CHARS)
    return (
        parts.resource_id,
        _join(title),
        _join(body),
        _join(pinyin_terms(title + kps + context)),
        _join(kps),
        _join(
            facet_tokens(
                parts.subject_id, parts.stage, parts.grade, parts.resource_type, parts.kp_ids
            )
            + exact_terms_of(parts.kp_texts)
        ),
        parts.subject_id,
        parts.stage,
        parts.grade,
        parts.resource_type,
        parts.boost,
        now,
    )


def exact_terms_of(kp_texts: Sequence[str]) -> list[str]:
    """The exact-match terms of a document: one per knowledge-point name and alias (see
    ``tokenize.exact_term``), stored with the filter terms."""
    return [t for t in dict.fromkeys(exact_term(text) for text in kp_texts) if t]


def document_parts(
    resource: Any, kp_texts: Sequence[str], kp_ids: Sequence[int] = ()
) -> DocumentParts:
    """The parts of ``resource`` (its ``listed_version`` with subject, edition and chapter
    loaded)."""
    version = resource.listed_version
    context = " ".join(
        part
        for part in (
            version.subject.name if version.subject_id else "",
            version.edition.name if version.edition_id else "",
            version.chapter.title if version.chapter_id else "",
        )
        if part
    )
    return DocumentParts(
        resource_id=resource.pk,
        title=version.title,
        description=version.description,
        extracted_text=version.extracted_text,
        context=context,
        kp_texts=tuple(kp_texts),
        kp_ids=tuple(kp_ids),
        subject_id=version.subject_id,
        stage=version.stage,
        grade=version.grade,
        resource_type=version.resource_type,
        boost=compute_boost(resource.quality_score, resource.view_count, resource.download_count),
    )


def _knowledge_points(
    resource_ids: Sequence[int],
) -> tuple[dict[int, list[str]], dict[int, list[int]]]:
    """Names and aliases, and ids, of the knowledge points each resource is tagged with."""
    texts: dict[int, list[str]] = defaultdict(list)
    ids: dict[int, list[int]] = defaultdict(list)
    tags = ResourceTag.objects.filter(resource_id__in=list(resource_ids)).values_list(
        "resource_id", "knowledge_point_id", "knowledge_point__name", "knowledge_point__aliases"
    )
    for resource_id, kp_id, name, aliases in tags:
        ids[resource_id].append(kp_id)
        texts[resource_id].append(name)
        texts[resource_id].extend(a for a in (aliases or []) if isinstance(a, str))
    return texts, ids


def build_rows(resource_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """Documents of those of ``resource_ids`` that are listed."""
    resources = list(
        Resource.objects.listed()
        .filter(pk__in=list(resource_ids))
        .select_related(
            "listed_version",
            "listed_version__subject",
            "listed_version__edition",
            "listed_version__chapter",
        )
    )
    texts, kp_ids = _knowledge_points([r.pk for r in resources])
    now = timezone.now()
    return [
        row(document_parts(r, texts.get(r.pk, []), kp_ids.get(r.pk, [])), now) for r in resources
    ]


def reindex(resource_ids: Sequence[int]) -> int:
    """Bring the documents of ``resource_ids`` up to date: (re)index the listed ones, remove
    the others. Returns the number of documents written."""
    ids = sorted({int(i) for i in resource_ids})
    if not ids:
        return 0
    rows = build_rows(ids)
    engine = backend()
    with transaction.atomic():
        engine.delete(ids)
        return engine.index(rows)


def reindex_all(
    *, chunk: int = CHUNK, progress: Callable[[int], None] | None = None, rebuild: bool = True
) -> int:
    """Rebuild every document: index each listed resource (in chunks of ``chunk``), drop the
    documents of resources that are no longer listed, then compact the full-text structures.
    ``progress`` is called with the number of resources done after each chunk."""
    engine = backend()
    listed = Resource.objects.listed()
    stale = SearchDocument.objects.exclude(resource_id__in=listed.values("pk"))
    with transaction.atomic():
        engine.delete(list(stale.values_list("resource_id", flat=True)))
    written = 0
    last = 0
    while True:
        ids = list(listed.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk])
        if not ids:
            break
        last = ids[-1]
        rows = build_rows(ids)
        with transaction.atomic():
            engine.delete(ids)
            written += engine.index(rows)
        if progress is not None:
            progress(len(ids))
    if rebuild:
        engine.rebuild()
    engine.analyze()
    return written
