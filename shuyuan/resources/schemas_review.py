"""Ninja schemas of the review API (``/api/v1/resources/review/...``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from shuyuan.core.schemas import DbId, InSchema

from .choices import AuditSeverity, ReviewDecision, ReviewStage, ReviewTaskStatus
from .schemas_submission import VersionMetadataOut


class AccountRefOut(Schema):
    """A short reference to an account."""

    id: int
    username: str
    real_name: str


class ReviewVersionOut(VersionMetadataOut):
    """The version a task reviews: its metadata and file facts (not the file itself)."""

    subject_name: str
    org_id: int
    org_name: str

    @staticmethod
    def resolve_subject_name(obj: Any) -> str:
        return str(obj.subject.name)

    @staticmethod
    def resolve_org_id(obj: Any) -> int:
        return int(obj.resource.org_id)

    @staticmethod
    def resolve_org_name(obj: Any) -> str:
        return str(obj.resource.org.name)


class ReviewTaskOut(Schema):
    """One review task (one version at one stage); decided tasks carry the decision."""

    id: int
    version_id: int
    stage: ReviewStage
    status: ReviewTaskStatus
    title: str
    version_number: int
    assignee: AccountRefOut | None
    decision: str
    reason: str
    override_findings: bool
    decided_by: AccountRefOut | None
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @staticmethod
    def resolve_title(obj: Any) -> str:
        return str(obj.version.title)

    @staticmethod
    def resolve_version_number(obj: Any) -> int:
        return int(obj.version.number)


class ReviewTaskPageOut(Schema):
    count: int
    items: list[ReviewTaskOut]


class FindingOut(Schema):
    """One result of the automatic audit."""

    id: int
    code: str
    severity: AuditSeverity
    message: str
    detail: Any


class FieldDiffOut(Schema):
    """One field that differs from the listed version (display values)."""

    field: str
    label: str
    old: str
    new: str


class ReviewTaskDetailOut(ReviewTaskOut):
    """A task with its version, audit findings, diff against the listed version, and the
    review trail of the whole resource; ``can_decide`` tells whether the caller may decide it."""

    version: ReviewVersionOut
    findings: list[FindingOut]
    diff: list[FieldDiffOut]
    trail: list[ReviewTaskOut]
    can_decide: bool
    not_eligible_because: str


class QueueFilter(Schema):
    """Filters of the review queue."""

    stage: ReviewStage | None = None
    mine: bool = Field(False, description="Only tasks assigned to the caller.")
    unassigned: bool = Field(False, description="Only tasks in the shared queue.")


class DecisionIn(InSchema):
    """A decision. ``reason`` is required (≥ 5 characters) to reject, and to approve with
    ``override_findings`` when the audit found blocking problems."""

    decision: ReviewDecision
    reason: str = Field("", max_length=5000)
    override_findings: bool = False


class ReassignIn(InSchema):
    """Who gets the task (``null``: back to the shared queue)."""

    reviewer_id: DbId | None = None


class AssignmentOut(Schema):
    """A reviewer assignment."""

    id: int
    reviewer: AccountRefOut
    org_id: int
    org_name: str
    subject_id: int | None
    stages: list[str]
    active: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_org_name(obj: Any) -> str:
        return str(obj.org.name)


class AssignmentPageOut(Schema):
    count: int
    items: list[AssignmentOut]


class AssignmentFilter(Schema):
    active: bool | None = None


class AssignmentIn(InSchema):
    """A new assignment: ``reviewer_id`` reviews ``org_id``'s subtree (of ``subject_id``, or
    every subject when null) at ``stages``."""

    reviewer_id: DbId
    org_id: DbId
    subject_id: DbId | None = None
    stages: list[ReviewStage] = Field(min_length=1)
