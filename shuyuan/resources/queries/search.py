"""Reads: resource search (``search_resources``) and the choices of its filters.

The index holds only listed resources; the final ids are still filtered through
``Resource.objects.visible_to(user).listed()``, so a stale document never shows a resource the
user may not see. A query whose words do not all occur anywhere falls back to any of them.

Cost: one match (ranked in the database, see ``search.backends``), one query for the page's
resources (only ``LOADED_FIELDS``: never the long columns such as the extracted text), one
for their subjects and,
for a Latin (pinyin) query only, one query for the page's stored title and knowledge-point
tokens: the Chinese words whose pinyin a Latin token starts are taken from them, so
highlighting never runs jieba over a description.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from shuyuan.core.errors import InvalidInput

from ..choices import GRADES, ResourceType, Stage
from ..models import KnowledgePoint, Resource, Subject
from ..models.search import SearchDocument
from ..search.backends import CANDIDATES, Filters, RawResult, backend
from ..search.highlight import Segment, highlight
from ..search.tokenize import (
    exact_terms,
    has_cjk,
    is_latin,
    parse_query,
    pinyin_matches,
    query_terms,
)

MAX_PER_PAGE = 100
#: The columns of a page's resources and listed versions that are loaded (what the search
#: page and the API show; another column read from a hit costs one query per hit). The
#: long columns (extracted text, notes) are never read: loading a page is a fraction of a
#: millisecond per row instead of several milliseconds for the page.
LOADED_FIELDS = (
    "id",
    "provider_kind",
    "provider_name",
    "status",
    "listed_version_id",
    "quality_score",
    "rating_average",
    "rating_count",
    "view_count",
    "download_count",
    "listed_version__id",
    "listed_version__resource_id",
    "listed_version__number",
    "listed_version__title",
    "listed_version__description",
    "listed_version__subject_id",
    "listed_version__stage",
    "listed_version__grade",
    "listed_version__resource_type",
    "listed_version__licence",
)
SNIPPET_CHARS = 120
#: Characters of a description searched for the snippet.
SNIPPET_SOURCE_CHARS = 2000


@dataclass(frozen=True)
class SearchHit:
    """One result: the resource (listed version, subject loaded), its score and highlights."""

    resource: Resource
    score: float
    title: list[Segment]
    snippet: list[Segment]


@dataclass(frozen=True)
class SearchPage:
    """One page of results. ``total`` counts the matches ranked (at most
    ``backends.CANDIDATES``; ``exact`` is False when there are more)."""

    total: int
    hits: list[SearchHit]
    took_ms: float
    number: int = 1
    per_page: int = 20
    exact: bool = True
    query: str = ""
    terms: list[str] = field(default_factory=list)

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def _choice(field_name: str, value: str | None, allowed: set[str]) -> str:
    if not value:
        return ""
    if value not in allowed:
        raise InvalidInput(
            _("Choose a valid value."),
            code="invalid_choice",
            field=field_name,
        )
    return value


def _filters(
    *,
    subject: str | None,
    stage: str | None,
    grade: str | None,
    resource_type: str | None,
    knowledge_point: str | None,
) -> Filters:
    subject_id = None
    if subject:
        subject_id = Subject.objects.filter(code=subject).values_list("pk", flat=True).first()
        if subject_id is None:
            raise InvalidInput(_("No subject has this code."), code="unknown", field="subject")
    kp_id = None
    if knowledge_point:
        kp_id = (
            KnowledgePoint.objects.filter(code=knowledge_point).values_list("pk", flat=True).first()
        )
        if kp_id is None:
            raise InvalidInput(
                _("No knowledge point has this code."), code="unknown", field="knowledge_point"
            )
    return Filters(
        subject_id=subject_id,
        stage=_choice("stage", stage, set(Stage.values)),
        grade=_choice("grade", grade, {value for value, _label in GRADES}),
        resource_type=_choice("resource_type", resource_type, set(ResourceType.values)),
        knowledge_point_id=kp_id,
    )


def search_resources(
    user: Any,
    q: str,
    *,
    subject: str | None = None,
    stage: str | None = None,
    grade: str | None = None,
    resource_type: str | None = None,
    knowledge_point: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> SearchPage:
    """Listed resources ``user`` may see that match ``q`` (any text; words segmented, synonyms
    expanded, Latin words also matched as pinyin prefixes) and the filters (codes and choice
    values; an unknown one is an ``InvalidInput`` naming the field). An empty ``q`` lists the
    filtered resources by quality and use."""
    started = time.perf_counter()
    per_page = min(max(int(per_page), 1), MAX_PER_PAGE)
    page = max(int(page), 1)
    filters = _filters(
        subject=subject,
        stage=stage,
        grade=grade,
        resource_type=resource_type,
        knowledge_point=knowledge_point,
    )
    clauses = parse_query(q)
    exact = exact_terms(q, clauses)
    offset = (page - 1) * per_page
    engine = backend()
    result: RawResult
    if clauses and offset >= CANDIDATES:
        result = RawResult(0, [], exact=False)
    else:
        result = engine.search(clauses, filters, per_page, offset, exact=exact)
        if not result.total and len(clauses) > 1:
            result = engine.search(clauses, filters, per_page, offset, any_clause=True, exact=exact)
    ids = [h.resource_id for h in result.hits]
    rows: QuerySet[Resource] = (
        Resource.objects.visible_to(user)
        .listed()
        .filter(pk__in=ids)
        .select_related("listed_version")
        .only(*LOADED_FIELDS)
    )
    visible = {r.pk: r for r in rows}
    # The page's few subjects once each (not one joined copy per row).
    subjects = Subject.objects.in_bulk(
        {r.listed_version.subject_id for r in visible.values() if r.listed_version}
    )
    for r in visible.values():
        if r.listed_version and r.listed_version.subject_id in subjects:
            r.listed_version.subject = subjects[r.listed_version.subject_id]
    terms = query_terms(clauses)
    latin = [t for t in terms if is_latin(t)]
    words = _pinyin_words(list(visible), latin) if latin else {}
    hits = []
    for raw in result.hits:
        resource = visible.get(raw.resource_id)
        if resource is None:
            continue
        version: Any = resource.listed_version
        marked = terms + words.get(resource.pk, [])
        hits.append(
            SearchHit(
                resource=resource,
                score=raw.score,
                title=highlight(version.title, marked),
                snippet=highlight(
                    version.description[:SNIPPET_SOURCE_CHARS],
                    marked,
                    max_chars=SNIPPET_CHARS,
                ),
            )
        )
    return SearchPage(
        total=result.total,
        hits=hits,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        number=page,
        per_page=per_page,
        exact=result.exact,
        query=q,
        terms=terms,
    )


def _pinyin_words(resource_ids: list[int], latin: list[str]) -> dict[int, list[str]]:
    """Per resource, the Chinese words of its stored title and knowledge-point tokens whose
    pinyin or initials start with one of the ``latin`` query tokens (what the pinyin column
    matched), longest first so a whole word is marked rather than a part."""
    if not resource_ids:
        return {}
    stored = SearchDocument.objects.filter(resource_id__in=resource_ids).values_list(
        "resource_id", "title_tokens", "kp_tokens"
    )
    out: dict[int, list[str]] = {}
    for resource_id, title_tokens, kp_tokens in stored:
        tokens = dict.fromkeys(f"{title_tokens} {kp_tokens}".split())
        found = [t for t in tokens if has_cjk(t) and any(pinyin_matches(t, q) for q in latin)]
        out[resource_id] = sorted(found, key=len, reverse=True)
    return out


def resource_url(pk: int) -> str:
    """The public page of a resource (the evaluation area's page), by name when it exists."""
    try:
        return reverse("resources:eval_detail", args=[pk])
    except NoReverseMatch:
        return f"/resources/{pk}/"


def subject_choices(user: Any) -> QuerySet[Subject]:
    """Subjects ``user`` may see, for the filter."""
    return Subject.objects.visible_to(user).order_by("order", "code")
