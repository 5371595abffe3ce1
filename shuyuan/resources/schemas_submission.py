"""Ninja schemas of the submission API: resources and versions as their providers and staff see
them, audit findings, sensitive-word lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from shuyuan.core.schemas import InSchema

from .choices import ProviderKind, ResourceStatus, ResourceType, Stage, VersionStatus
from .models import AuditFinding, Resource, ResourceVersion, SensitiveWordList


class ResourceCreateForm(Schema):
    """Multipart fields of a new resource (its first version's metadata); ``file`` is a
    separate multipart part, required unless ``resource_type`` is ``virtual_lab``."""

    org_id: int = Field(ge=1, le=2**63 - 1, description="The org that answers for it.")
    provider_kind: ProviderKind
    provider_name: str = Field(max_length=200)
    title: str = Field(max_length=200)
    description: str = Field("", max_length=10_000, description="Plain text.")
    subject_id: int = Field(ge=1, le=2**63 - 1)
    stage: Stage
    grade: str = Field("", max_length=2, description="01 to 12, within the stage.")
    edition_id: int | None = Field(None, ge=1, le=2**63 - 1)
    chapter_id: int | None = Field(None, ge=1, le=2**63 - 1)
    resource_type: ResourceType
    licence: str = Field(max_length=64)
    licence_expires: dt.date | None = None
    external_url: str = Field("", max_length=500, description="Required for a virtual lab.")
    change_note: str = Field("", max_length=2000)


class VersionChangeForm(Schema):
    """Multipart fields that change a version; an absent field keeps its value. Send an empty
    ``grade``/``description``/``external_url`` to clear it, ``0`` for ``edition_id`` or
    ``chapter_id`` to clear them. A ``file`` part replaces the file."""

    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    subject_id: int | None = Field(None, ge=1, le=2**63 - 1)
    stage: Stage | None = None
    grade: str | None = Field(None, max_length=2)
    edition_id: int | None = Field(None, ge=0, le=2**63 - 1)
    chapter_id: int | None = Field(None, ge=0, le=2**63 - 1)
    resource_type: ResourceType | None = None
    licence: str | None = Field(None, max_length=64)
    licence_expires: dt.date | None = None
    external_url: str | None = Field(None, max_length=500)
    change_note: str | None = Field(None, max_length=2000)


class VersionMetadataOut(Schema):
    """A version's metadata and file facts (SM3 of the content, detected type); the review API
    extends it."""

    id: int
    resource_id: int
    number: int
    status: VersionStatus
    review_stage: str
    title: str
    description: str
    subject_id: int
    stage: str
    grade: str
    edition_id: int | None
    chapter_id: int | None
    resource_type: str
    licence: str
    licence_expires: dt.date | None
    external_url: str
    file_name: str
    file_size: int | None
    mime_type: str
    content_sm3: str
    submitted_at: dt.datetime | None

    @staticmethod
    def resolve_review_stage(obj: ResourceVersion) -> str:
        return obj.review_stage or ""


class VersionOut(VersionMetadataOut):
    """One version: metadata, file facts and audit state."""

    completeness: float | None
    audited_at: dt.datetime | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    change_note: str


class ResourceOut(Schema):
    """A resource with its latest version's title and state."""

    id: int
    org_id: int
    provider_kind: str
    provider_name: str
    status: ResourceStatus
    listed_version_id: int | None
    created_at: dt.datetime
    latest_version_id: int | None = None
    latest_title: str | None = None
    latest_number: int | None = None
    latest_status: str | None = None


class ResourcePageOut(Schema):
    count: int
    items: list[ResourceOut]


class ResourceDetailOut(ResourceOut):
    """A resource with every version the caller may see, newest first."""

    versions: list[VersionOut]


class FindingOut(Schema):
    """One result of the automatic audit. ``detail`` depends on ``code``: for
    ``SENSITIVE_WORD`` ``{word, field, count, positions, snippet}``; for duplicates
    ``{resource_id, version_id, title, ...}``; for ``METADATA_INCOMPLETE`` ``{missing}``."""

    id: int
    code: str
    severity: str
    message: str
    detail: dict[str, Any]
    word_list_version: int | None = None
    created_at: dt.datetime

    @staticmethod
    def resolve_word_list_version(obj: AuditFinding) -> int | None:
        return obj.word_list.version if obj.word_list is not None else None


class FindingListOut(Schema):
    count: int
    items: list[FindingOut]


class WordListOut(Schema):
    """A version of the sensitive-word list (without its words)."""

    id: int
    version: int
    word_count: int
    active: bool
    note: str
    created_at: dt.datetime
    created_by: str | None = None

    @staticmethod
    def resolve_created_by(obj: SensitiveWordList) -> str | None:
        return obj.created_by.username if obj.created_by is not None else None


class WordListDetailOut(WordListOut):
    words: str


class WordListPageOut(Schema):
    count: int
    items: list[WordListOut]


class WordListIn(InSchema):
    """A new version of the list: one word a line, optional ``|warn``."""

    words: str = Field(max_length=2_000_000)
    note: str = Field("", max_length=200)
    activate: bool = True


def resource_detail(resource: Resource, versions: list[ResourceVersion]) -> ResourceDetailOut:
    data = ResourceOut.from_orm(resource).model_dump()
    return ResourceDetailOut(**data, versions=[VersionOut.from_orm(v) for v in versions])
