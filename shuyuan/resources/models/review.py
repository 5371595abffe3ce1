"""The review workflow (提供必审、上线必审、更新必审).

An admin assigns reviewers to an org subtree, optionally one subject, for some stages
(``ReviewerAssignment``). When a version is submitted and its audit has run, a ``ReviewTask``
opens for the current stage; a reviewer whose assignment covers the resource's org, subject and
stage decides it (approve or reject, with a reason). Approval at submission review opens the
listing-review task; approval at listing or update review lists the version. Every task is
kept: together they are the version's review trail.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org

from ..choices import ReviewDecision, ReviewStage, ReviewTaskStatus
from .graph import Subject
from .resources import ResourceVersion


class ReviewerAssignmentQuerySet(ChangeLoggedQuerySet):
    pass


class ReviewerAssignment(ChangeLoggedModel):
    """``reviewer`` reviews resources owned within ``org``'s subtree (of ``subject``, or any
    subject when empty) at the listed ``stages``."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="review_assignments",
    )
    org = models.ForeignKey(
        Org, verbose_name=_("organisation subtree"), on_delete=models.PROTECT, related_name="+"
    )
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("subject"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty for every subject."),
    )
    stages = models.JSONField(
        _("stages"), default=list, help_text=_("Review stages this reviewer decides.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ReviewerAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("reviewer assignment")
        verbose_name_plural = _("reviewer assignments")
        ordering = ("org__path", "reviewer")

    def __str__(self) -> str:
        return f"{self.reviewer_id} @ {self.org_id}"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class ReviewTaskQuerySet(ChangeLoggedQuerySet):
    pass


class ReviewTask(ChangeLoggedModel):
    """One review of one version at one stage; decided once, kept forever (the trail)."""

    version = models.ForeignKey(
        ResourceVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="review_tasks",
    )
    stage = models.CharField(_("stage"), max_length=16, choices=ReviewStage.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ReviewTaskStatus.choices,
        default=ReviewTaskStatus.OPEN,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision = models.CharField(
        _("decision"), max_length=8, choices=ReviewDecision.choices, blank=True
    )
    reason = models.TextField(_("reason"), blank=True)
    override_findings = models.BooleanField(_("blocking audit findings overridden"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("opened at"), default=timezone.now, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = ReviewTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("review task")
        verbose_name_plural = _("review tasks")
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["status", "stage"], name="res_task_status_stage")]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "stage"],
                condition=models.Q(status="open"),
                name="res_task_one_open_per_stage",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage} review of {self.version_id}"

    def changelog_org_path(self) -> str:
        return self.version.resource.org.path if self.version_id else ""

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("resources.resource", str(self.version.resource_id))
