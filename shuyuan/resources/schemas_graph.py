"""Ninja schemas of the knowledge-graph API (``api/graph.py``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Field, Schema

from shuyuan.core.schemas import DbId, InSchema

from .choices import EdgeKind, Stage, TagSource
from .models import KnowledgePoint


class SubjectOut(Schema):
    """A subject; ``point_count`` is how many knowledge points it has."""

    id: int
    code: str
    name: str
    order: int
    point_count: int = 0


class EditionOut(Schema):
    id: int
    code: str
    name: str
    publisher: str


class ChapterOut(Schema):
    """A chapter of an edition's book for a subject and grade (``parent_id``: its chapter)."""

    id: int
    code: str
    title: str
    edition_id: int
    subject_id: int
    grade: str
    parent_id: int | None
    order: int


class ChapterFilter(Schema):
    subject: str = Field("", max_length=32, description="Subject code.")
    edition: str = Field("", max_length=32, description="Edition code.")


class PointRefOut(Schema):
    """A short reference to a knowledge point."""

    id: int
    code: str
    name: str
    subject_id: int


class PointOut(Schema):
    """A knowledge point. ``identifier`` is its CASE identifier (kept by export and import)."""

    id: int
    identifier: uuid.UUID
    code: str
    name: str
    aliases: list[str]
    description: str
    subject_id: int
    subject_code: str
    stage: Stage
    grade: str

    @staticmethod
    def resolve_subject_code(obj: KnowledgePoint) -> str:
        return obj.subject.code


class PointDetailOut(PointOut):
    """A point with the codes of its chapters."""

    chapters: list[str]

    @staticmethod
    def resolve_chapters(obj: KnowledgePoint) -> list[str]:
        return sorted(obj.chapters.values_list("code", flat=True))


class PointPageOut(Schema):
    count: int
    items: list[PointOut]


class PointFilter(Schema):
    subject: str = Field("", max_length=32, description="Subject code.")
    q: str = Field("", max_length=100, description="Name, alias or code contains.")
    stage: Stage | None = None
    grade: str = Field("", max_length=2)


class PointIn(InSchema):
    """A new knowledge point; ``subject`` and ``chapters`` are codes."""

    code: str = Field(max_length=64)
    name: str = Field(max_length=100)
    subject: str = Field(max_length=32)
    stage: Stage
    grade: str = Field("", max_length=2)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field("", max_length=5000)
    chapters: list[str] = Field(default_factory=list, max_length=100)


class PointPatch(InSchema):
    """Changes to a point; omitted fields stay as they are (the subject cannot change)."""

    code: str | None = Field(None, max_length=64)
    name: str | None = Field(None, max_length=100)
    stage: Stage | None = None
    grade: str | None = Field(None, max_length=2)
    aliases: list[str] | None = Field(None, max_length=20)
    description: str | None = Field(None, max_length=5000)
    chapters: list[str] | None = Field(None, max_length=100)


class DistancedPointOut(PointRefOut):
    """A point with its distance in prerequisite steps."""

    distance: int


class EdgeOut(Schema):
    """An edge: ``source`` is a prerequisite of, or related to, ``target``."""

    id: int
    source_id: int
    target_id: int
    kind: EdgeKind


class EdgeIn(InSchema):
    source_id: DbId
    target_id: DbId
    kind: EdgeKind


class NeighbourhoodOut(Schema):
    """Prerequisites (recursively, up to ``depth``), dependents, related points, and the edges
    among all of them."""

    point: PointOut
    prerequisites: list[DistancedPointOut]
    dependents: list[DistancedPointOut]
    related: list[PointRefOut]
    edges: list[dict[str, Any]]


class DepthQuery(Schema):
    depth: int = Field(3, ge=1, le=10, description="Prerequisite steps to follow.")


class ImportSummaryOut(Schema):
    """What an import did (nothing is deleted by an import)."""

    points_created: int
    points_updated: int
    points_unchanged: int
    edges_created: int
    edges_existing: int
    skipped: int


class TagOut(Schema):
    """A resource's tag."""

    knowledge_point: PointRefOut
    source: TagSource
    score: float | None
    created_at: dt.datetime


class TagIn(InSchema):
    knowledge_point_id: DbId
    source: TagSource = TagSource.MANUAL
    score: float | None = Field(None, ge=0, le=1)


class SuggestionOut(Schema):
    knowledge_point: PointRefOut
    score: float


class SuggestionQuery(Schema):
    limit: int = Field(5, ge=1, le=20)
