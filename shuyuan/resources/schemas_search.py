"""API schemas of resource search (``GET /api/v1/resources/search``)."""

from __future__ import annotations

from ninja import Field, Schema

from .choices import ResourceType, Stage


class SearchQuery(Schema):
    """Query parameters: the text and the filters (all optional) and paging."""

    q: str = Field("", description="Words, pinyin or initials; any text is accepted.")
    subject: str | None = Field(None, max_length=32, description="Subject code.")
    stage: Stage | None = None
    grade: str | None = Field(
        None, pattern=r"^(0[1-9]|1[0-2])$", description="Grade code, 01 to 12."
    )
    resource_type: ResourceType | None = None
    knowledge_point: str | None = Field(None, max_length=64, description="Knowledge-point code.")
    page: int = Field(1, ge=1, le=250, description="Page number.")
    per_page: int = Field(20, ge=1, le=100, description="Results per page (≤ 100).")


class SegmentOut(Schema):
    """A piece of highlighted text: ``match`` is true for a part that matched the query."""

    text: str
    match: bool


class SearchItemOut(Schema):
    """One result."""

    id: int
    title: str
    title_segments: list[SegmentOut]
    snippet: list[SegmentOut]
    subject: str
    subject_name: str
    stage: Stage
    grade: str
    type: ResourceType
    quality: float | None
    score: float
    url: str


class SearchOut(Schema):
    """A page of results. ``total`` counts the matches ranked; when ``exact`` is false there
    are more than that and only the best are reachable."""

    total: int
    exact: bool
    page: int
    per_page: int
    took_ms: float
    items: list[SearchItemOut]
