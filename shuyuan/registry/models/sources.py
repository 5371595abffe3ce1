"""Source systems, per-field authority (survivorship) and import batches."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet

from ..choices import (
    BatchFormat,
    BatchMode,
    BatchStatus,
    EntityType,
    SourceKind,
    SurvivorshipStrategy,
)


class SourceSystemQuerySet(ChangeLoggedQuerySet):
    pass


class SourceSystem(ChangeLoggedModel):
    """A registered system that sends base data (a school MIS, the public-security feed, ...).

    ``id_prefix`` namespaces the source's sourcedIds in the registry (OneRoster ids are
    provider-scoped): the first, primary source usually has none, others e.g. ``"gat/"``.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=32, choices=SourceKind.choices)
    id_prefix = models.CharField(
        _("sourcedId prefix"),
        max_length=16,
        blank=True,
        help_text=_("Prepended to this source's sourcedIds; letters, digits and . - _ / @ only."),
    )
    org = models.ForeignKey(
        Org,
        verbose_name=_("owning organisation"),
        on_delete=models.PROTECT,
        related_name="registry_sources",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = SourceSystemQuerySet.as_manager()

    class Meta:
        verbose_name = _("source system")
        verbose_name_plural = _("source systems")
        ordering: ClassVar = ["code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["id_prefix"], name="registry_source_unique_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class FieldAuthorityQuerySet(ChangeLoggedQuerySet):
    pass


class FieldAuthority(ChangeLoggedModel):
    """The survivorship rule for one field of one entity type (一数一源).

    With ``authoritative``, only ``source`` writes the field; other sources' values are kept as
    observations and a disagreement becomes a finding. Fields without a rule use ``creator``.
    """

    entity_type = models.CharField(_("entity type"), max_length=32, choices=EntityType.choices)
    field = models.CharField(_("field"), max_length=64)
    strategy = models.CharField(
        _("strategy"),
        max_length=16,
        choices=SurvivorshipStrategy.choices,
        default=SurvivorshipStrategy.AUTHORITATIVE,
    )
    source = models.ForeignKey(
        SourceSystem,
        verbose_name=_("authoritative source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authorities",
    )

    objects = FieldAuthorityQuerySet.as_manager()

    class Meta:
        verbose_name = _("field authority")
        verbose_name_plural = _("field authorities")
        ordering: ClassVar = ["entity_type", "field"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["entity_type", "field"], name="registry_authority_unique_field"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}.{self.field}: {self.strategy}"


class ImportBatchQuerySet(ScopedQuerySet):
    pass


class ImportBatch(models.Model):
    """One uploaded file and its import: the job row the UI polls, and the unit of provenance.

    Progress and counts are operational state (not change-logged); the batch's effect on the
    registry is recorded by the importer as one chained ``ChangeRecord`` per committed chunk.
    ``checkpoint`` is where a crashed import resumes: ``{"file": ..., "row": ...}``.
    """

    source = models.ForeignKey(
        SourceSystem, verbose_name=_("source"), on_delete=models.PROTECT, related_name="batches"
    )
    org = models.ForeignKey(
        Org,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="registry_batches",
        help_text=_("Records outside this org's subtree are refused."),
    )
    format = models.CharField(_("format"), max_length=16, choices=BatchFormat.choices)
    mode = models.CharField(_("mode"), max_length=8, choices=BatchMode.choices, blank=True)
    file = models.FileField(_("file"), upload_to="registry/imports/%Y/%m/", max_length=255)
    file_name = models.CharField(_("file name"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    digest = models.CharField(_("SM3 digest"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    phase = models.CharField(_("phase"), max_length=64, blank=True)
    rows_total = models.PositiveBigIntegerField(_("rows in file"), default=0)
    rows_done = models.PositiveBigIntegerField(_("rows processed"), default=0)
    checkpoint = models.JSONField(_("checkpoint"), default=dict, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    scores = models.JSONField(_("quality scores"), default=dict, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registry_batches",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == BatchStatus.SUCCEEDED else 0
        return min(100, int(self.rows_done * 100 / self.rows_total))

    @property
    def is_finished(self) -> bool:
        return self.status in {BatchStatus.SUCCEEDED, BatchStatus.FAILED}

    def as_progress(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "phase": self.phase,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total,
            "percent": self.progress_percent,
        }
