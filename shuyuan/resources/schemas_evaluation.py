"""Ninja schemas of the resources API: use and evaluation, retirement, recommendations and
inclusion certificates."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from shuyuan.core.schemas import InSchema

from .models import Rating, Resource


class ResourceCardOut(Schema):
    """A listed resource in a list (recommendations, similar, retirement flags)."""

    id: int
    title: str
    resource_type: str
    subject: str
    grade: str
    provider_name: str
    quality_score: float | None
    rating_average: float | None
    rating_count: int
    view_count: int
    download_count: int
    status: str
    retirement_flag: str

    @staticmethod
    def resolve_title(obj: Resource) -> str:
        return obj.listed_version.title if obj.listed_version else ""

    @staticmethod
    def resolve_resource_type(obj: Resource) -> str:
        return obj.listed_version.resource_type if obj.listed_version else ""

    @staticmethod
    def resolve_subject(obj: Resource) -> str:
        return obj.listed_version.subject.code if obj.listed_version else ""

    @staticmethod
    def resolve_grade(obj: Resource) -> str:
        return obj.listed_version.grade if obj.listed_version else ""


class ResourceCardListOut(Schema):
    count: int
    items: list[ResourceCardOut]


class RatingIn(InSchema):
    stars: int = Field(..., ge=1, le=5, description="1 to 5 stars.")
    comment: str = Field("", max_length=2000, description="Published after moderation.")


class RatingOut(Schema):
    """A rating; ``comment_status`` is ``pending`` until a moderator decides."""

    id: int
    resource_id: int
    stars: int
    comment: str
    comment_status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class CommentOut(Schema):
    """A published comment."""

    id: int
    stars: int
    comment: str
    author: str
    updated_at: dt.datetime

    @staticmethod
    def resolve_author(obj: Rating) -> str:
        return obj.user.real_name or obj.user.username


class CommentPageOut(Schema):
    count: int
    items: list[CommentOut]


class PendingCommentOut(RatingOut):
    author: str

    @staticmethod
    def resolve_author(obj: Rating) -> str:
        return obj.user.username


class PendingCommentPageOut(Schema):
    count: int
    items: list[PendingCommentOut]


class RatingSummaryOut(Schema):
    """Average stars, number of ratings and ratings per star (keys ``"1"`` to ``"5"``)."""

    average: float | None
    count: int
    histogram: dict[str, int]


class ModerationIn(InSchema):
    approve: bool
    reason: str = Field("", max_length=2000, description="Required when rejecting.")


class EvaluationIn(InSchema):
    score: int = Field(..., ge=0, le=100)
    criteria: dict[str, int] = Field(default_factory=dict, description="Criterion: 0-100.")
    comment: str = Field("", max_length=4000)


class EvaluationOut(Schema):
    id: int
    resource_id: int
    score: int
    criteria: dict[str, Any]
    comment: str
    created_at: dt.datetime


class UsageIn(InSchema):
    kind: Literal["view", "download", "complete"]


class UsageOut(Schema):
    """Whether the use was counted (a repeated view within 30 minutes is not) and the counts."""

    counted: bool
    view_count: int
    download_count: int


class ReasonIn(InSchema):
    reason: str = Field("", max_length=2000)


class CheckOut(Schema):
    """One verification check; ``ok`` is null when it could not be checked."""

    name: str
    ok: bool | None
    detail: str


class CertificateOut(Schema):
    """An inclusion certificate with its signature, the signer's key and the verification."""

    number: str
    sequence: int
    resource_id: int
    version_number: int
    title: str
    provider: str
    content_hash: str
    issued_at: dt.datetime
    algorithm: str
    public_key: str
    signature: str
    prev_hash: str
    entry_hash: str
    payload: str = Field(description="The canonical JSON that was signed.")
    valid: bool
    checks: list[CheckOut]


class FileCheckOut(Schema):
    """Whether an uploaded file's SM3 equals the certificate's content hash."""

    number: str
    matches: bool
    file_sm3: str
    content_hash: str
