"""Resources API: search (see docs/apps/resources.md).

``GET /api/v1/resources/search``: listed resources the caller may see, ranked by text
relevance × quality and use, with highlighted segments. Reads through ``queries.search``; an
unknown subject or knowledge-point code is a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from ninja import Query, Router

from shuyuan.core.schemas import ApiRequest, error_responses

from ..queries import search as queries
from ..schemas_search import SearchItemOut, SearchOut, SearchQuery, SegmentOut

router = Router(tags=["resources"])


def _segments(segments: list[tuple[str, bool]]) -> list[SegmentOut]:
    return [SegmentOut(text=text, match=match) for text, match in segments]


@router.get(
    "/search",
    response={200: SearchOut, **error_responses(422)},
    operation_id="resources_search_list",
    summary="Search listed resources",
)
def search(request: ApiRequest, params: Query[SearchQuery]) -> SearchOut:
    """Chinese full-text search: words are segmented, synonyms expanded, Latin words also
    match pinyin and initials as prefixes (``gougu``, ``ggdl``). Without ``q`` the filtered
    resources are listed by quality."""
    page = queries.search_resources(
        request.auth,
        params.q,
        subject=params.subject,
        stage=params.stage,
        grade=params.grade,
        resource_type=params.resource_type,
        knowledge_point=params.knowledge_point,
        page=params.page,
        per_page=params.per_page,
    )
    items = []
    for hit in page.hits:
        resource: Any = hit.resource
        version: Any = resource.listed_version
        items.append(
            SearchItemOut(
                id=resource.pk,
                title=version.title,
                title_segments=_segments(hit.title),
                snippet=_segments(hit.snippet),
                subject=version.subject.code,
                subject_name=version.subject.name,
                stage=version.stage,
                grade=version.grade,
                type=version.resource_type,
                quality=resource.quality_score,
                score=round(hit.score, 6),
                url=queries.resource_url(resource.pk),
            )
        )
    return SearchOut(
        total=page.total,
        exact=page.exact,
        page=page.number,
        per_page=page.per_page,
        took_ms=page.took_ms,
        items=items,
    )
