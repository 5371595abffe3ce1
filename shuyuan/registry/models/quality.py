"""Data-quality findings, duplicate candidates and reversible merges."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet

from ..choices import Dimension, FindingStatus, MatchReason, MatchStatus, Severity
from .entities import Person
from .sources import ImportBatch


class FindingQuerySet(ScopedQuerySet):
    pass


class Finding(models.Model):
    """One rule's verdict on one cell, row or record, with a stable ``code``.

    ``file``/``row``/``column`` locate it in the uploaded file (row 1 is the header, so the
    first data row is 2); ``value`` is what was there (PII masked, at most 200 characters).
    ``org`` is the school (or the batch's org) the row belongs to, for per-org reports.

    Findings are operational rows written in bulk by the importer, so they are not change-logged;
    resolving or dismissing one stores ``decided_by``/``decided_at``/``note`` and appends an
    ``AuditEvent`` (``registry.finding.resolved`` / ``registry.finding.dismissed``).
    """

    batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("batch"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="findings",
    )
    org = models.ForeignKey(
        Org, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("code"), max_length=64, db_index=True)
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    file = models.CharField(_("file"), max_length=64, blank=True)
    row = models.PositiveIntegerField(_("row"), null=True, blank=True)
    column = models.CharField(_("column"), max_length=64, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    message = models.CharField(_("message"), max_length=500)
    entity_type = models.CharField(_("entity type"), max_length=32, blank=True)
    sourced_id = models.CharField(_("sourcedId"), max_length=255, blank=True)
    record_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    created_at = models.DateTimeField(_("found at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved or dismissed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("resolved or dismissed at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering: ClassVar = ["batch_id", "file", "row", "id"]
        indexes: ClassVar = [
            models.Index(fields=["batch", "code"], name="registry_finding_batch"),
            models.Index(fields=["org", "status"], name="registry_finding_org"),
            models.Index(fields=["entity_type", "record_id"], name="registry_finding_rec"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.file}:{self.row}:{self.column}"


class MatchCandidateQuerySet(ChangeLoggedQuerySet):
    pass


class MatchCandidate(ChangeLoggedModel):
    """Two person records that may be one person, waiting for an administrator's decision.

    ``left`` is the earlier record (lower id). Deciding is an action: merge, keep apart, or
    reverse an earlier merge.
    """

    left = models.ForeignKey(
        Person, verbose_name=_("record"), on_delete=models.PROTECT, related_name="+"
    )
    right = models.ForeignKey(
        Person, verbose_name=_("possible duplicate"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=32, choices=MatchReason.choices)
    score = models.FloatField(_("score"))
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    org = models.ForeignKey(
        Org, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=MatchStatus.choices, default=MatchStatus.OPEN
    )
    batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("found by batch"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("found at"), default=timezone.now)

    objects = MatchCandidateQuerySet.as_manager()

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        ordering: ClassVar = ["status", "-score", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["left", "right"], name="registry_match_pair_u"),
        ]

    def __str__(self) -> str:
        return f"{self.left_id} ~ {self.right_id} ({self.reason})"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class MergeQuerySet(ChangeLoggedQuerySet):
    pass


class Merge(ChangeLoggedModel):
    """One merge of ``absorbed`` into ``survivor``, with what is needed to undo it.

    ``survivor_before`` is the survivor's field values before the merge and ``survivor_after``
    the values the merge wrote (only the fields it changed, by attname; ciphertext as base64), so
    an unmerge restores exactly and refuses when a field changed since. ``absorbed_before`` keeps
    the absorbed record's ``status``. ``moved`` lists the rows re-pointed from the absorbed
    record (``{"enrollment": [ids], "role": [ids], "guardian": [ids], "ward": [ids]}``) and
    those left in place because re-pointing them would break a unique rule (``"skipped"``).
    The snapshots hold ciphertext and blind indexes, so the change log records them redacted.
    """

    candidate = models.ForeignKey(
        MatchCandidate, verbose_name=_("candidate"), on_delete=models.PROTECT, related_name="merges"
    )
    survivor = models.ForeignKey(
        Person, verbose_name=_("survivor"), on_delete=models.PROTECT, related_name="+"
    )
    absorbed = models.ForeignKey(
        Person, verbose_name=_("absorbed record"), on_delete=models.PROTECT, related_name="+"
    )
    survivor_before = models.JSONField(_("survivor before the merge"), default=dict)
    survivor_after = models.JSONField(_("values the merge wrote"), default=dict)
    absorbed_before = models.JSONField(_("absorbed record before the merge"), default=dict)
    moved = models.JSONField(_("re-pointed rows"), default=dict)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("merged at"), default=timezone.now)

    objects = MergeQuerySet.as_manager()

    changelog_redacted: ClassVar[frozenset[str]] = frozenset(
        {"survivor_before", "survivor_after", "absorbed_before"}
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.absorbed_id} -> {self.survivor_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return (Person._meta.label_lower, str(self.survivor_id))
