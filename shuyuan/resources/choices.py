"""Vocabularies of the resources app (labels translated; values stable in the API)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    PRIMARY = "primary", _("Primary school")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary")
    VOCATIONAL = "vocational", _("Vocational")


#: Grades as OneRoster/CEDS codes, with the stage each belongs to.
GRADES: tuple[tuple[str, str], ...] = tuple((f"{n:02d}", f"{n:02d}") for n in range(1, 13))
GRADE_STAGE = {
    **{f"{n:02d}": Stage.PRIMARY for n in range(1, 7)},
    **{f"{n:02d}": Stage.JUNIOR for n in range(7, 10)},
    **{f"{n:02d}": Stage.SENIOR for n in range(10, 13)},
}


class ResourceType(models.TextChoices):
    VIDEO = "video", _("Video")
    DOCUMENT = "document", _("Document")
    COURSEWARE = "courseware", _("Courseware")
    EXERCISE_SET = "exercise_set", _("Exercise set")
    MICRO_LESSON = "micro_lesson", _("Micro-lesson")
    VIRTUAL_LAB = "virtual_lab", _("Virtual-lab link")


class ProviderKind(models.TextChoices):
    SCHOOL = "school", _("School")
    TEACHER = "teacher", _("Teacher")
    COMPANY = "company", _("Company")
    LIBRARY = "library", _("Library")
    MUSEUM = "museum", _("Museum")


class ResourceStatus(models.TextChoices):
    """Where the resource as a whole is in its life cycle."""

    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    LISTED = "listed", _("Listed")
    REJECTED = "rejected", _("Rejected")
    RETIRED = "retired", _("Retired")


class VersionStatus(models.TextChoices):
    """Where one version is: edited, under review at ``review_stage``, decided, or replaced."""

    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ReviewStage(models.TextChoices):
    """提供必审、上线必审、更新必审: a first version passes submission then listing review;
    every later version passes update review."""

    SUBMISSION = "submission", _("Submission review")
    LISTING = "listing", _("Listing review")
    UPDATE = "update", _("Update review")


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


class ReviewTaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DECIDED = "decided", _("Decided")
    CANCELLED = "cancelled", _("Cancelled")


class AuditSeverity(models.TextChoices):
    """``block`` findings stop a version from being approved until a reviewer overrides them
    with a reason; ``warn`` and ``info`` are shown to the reviewer."""

    BLOCK = "block", _("Blocking")
    WARN = "warn", _("Warning")
    INFO = "info", _("Information")


class EdgeKind(models.TextChoices):
    PREREQUISITE = "prerequisite", _("Prerequisite of")
    RELATED = "related", _("Related to")


class TagSource(models.TextChoices):
    MANUAL = "manual", _("Tagged by hand")
    SUGGESTED = "suggested", _("Suggested from the text")


class ModerationStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting moderation")
    APPROVED = "approved", _("Published")
    REJECTED = "rejected", _("Rejected")


class UsageKind(models.TextChoices):
    VIEW = "view", _("Viewed")
    DOWNLOAD = "download", _("Downloaded")
    COMPLETE = "complete", _("Completed")
