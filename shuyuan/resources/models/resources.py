"""Resources and their versions.

A ``Resource`` is the durable identity (who provides it, which org owns it, counters, its
current listed version); each edit creates a ``ResourceVersion`` holding the metadata and the
file, which must pass review before it replaces the listed one (更新必审). Old versions stay
readable to reviewers and the provider. Files are kept through Django's storage API
(``STORAGES["default"]``: local disk by default, S3-compatible by configuration).

Each new version is screened automatically (``audit``): file type by content, size, text
extraction, sensitive words against a versioned ``SensitiveWordList``, exact and near
duplicates, metadata completeness. The results are ``AuditFinding`` rows shown to reviewers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet

from ..choices import (
    GRADES,
    AuditSeverity,
    ProviderKind,
    ResourceStatus,
    ResourceType,
    ReviewStage,
    Stage,
    TagSource,
    VersionStatus,
)
from .graph import Chapter, KnowledgePoint, Subject, TextbookEdition


def version_upload_to(instance: ResourceVersion, filename: str) -> str:
    """Storage key: ``resources/<resource id>/<version number>/<sanitised name>``."""
    from django.utils.text import get_valid_filename

    return f"resources/{instance.resource_id}/{instance.number}/{get_valid_filename(filename)}"


class ResourceQuerySet(ChangeLoggedQuerySet):
    def listed(self) -> ResourceQuerySet:
        """Resources visible to teachers and students: listed and not retired."""
        return self.filter(status=ResourceStatus.LISTED, listed_version__isnull=False)


class Resource(ChangeLoggedModel):
    """A digital education resource: its identity, provider, life cycle and counters."""

    changelog_operational = frozenset(
        {"view_count", "download_count", "rating_count", "rating_average", "quality_score"}
    )

    org = models.ForeignKey(
        Org,
        verbose_name=_("owning organisation"),
        on_delete=models.PROTECT,
        related_name="resources",
        help_text=_("The school or administrative unit that answers for the resource."),
    )
    provider_kind = models.CharField(
        _("provider kind"), max_length=16, choices=ProviderKind.choices
    )
    provider_name = models.CharField(
        _("provider"),
        max_length=200,
        help_text=_("The school, teacher, company, library or museum that provides it."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="submitted_resources",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ResourceStatus.choices, default=ResourceStatus.DRAFT
    )
    listed_version = models.OneToOneField(
        "ResourceVersion",
        verbose_name=_("listed version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    knowledge_points: models.ManyToManyField[KnowledgePoint, ResourceTag] = models.ManyToManyField(
        KnowledgePoint,
        verbose_name=_("knowledge points"),
        through="ResourceTag",
        blank=True,
        related_name="resources",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    listed_at = models.DateTimeField(_("first listed at"), null=True, blank=True)
    # Use and evaluation (operational counters, kept up to date by actions.evaluation).
    view_count = models.PositiveIntegerField(_("views"), default=0)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    rating_count = models.PositiveIntegerField(_("ratings"), default=0)
    rating_average = models.FloatField(_("average rating"), null=True, blank=True)
    quality_score = models.FloatField(_("quality score"), null=True, blank=True)
    # Retirement.
    retirement_flag = models.CharField(
        _("flagged for retirement because"), max_length=32, blank=True
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    retired_reason = models.TextField(_("retirement reason"), blank=True)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(fields=["status", "-quality_score"], name="res_resource_status_q"),
            models.Index(fields=["created_by", "-created_at"], name="res_resource_creator"),
        ]

    def __str__(self) -> str:
        version = self.listed_version
        return version.title if version is not None else f"#{self.pk}"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class ResourceVersionQuerySet(ChangeLoggedQuerySet):
    pass


class ResourceVersion(ChangeLoggedModel):
    """One version of a resource: the metadata and the file a reviewer approves or rejects."""

    changelog_redacted = frozenset({"extracted_text"})

    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    review_stage = models.CharField(
        _("review stage"), max_length=16, choices=ReviewStage.choices, blank=True
    )
    # Metadata.
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    subject = models.ForeignKey(
        Subject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    grade = models.CharField(_("grade"), max_length=2, choices=GRADES, blank=True)
    edition = models.ForeignKey(
        TextbookEdition,
        verbose_name=_("textbook edition"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("chapter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resource_type = models.CharField(_("type"), max_length=16, choices=ResourceType.choices)
    licence = models.CharField(
        _("licence"), max_length=64, help_text=_("E.g. CC BY 4.0, or the contract number.")
    )
    licence_expires = models.DateField(_("licence expires"), null=True, blank=True)
    external_url = models.URLField(
        _("link"), max_length=500, blank=True, help_text=_("For virtual-lab links.")
    )
    # The file (absent for a link-only resource).
    file = models.FileField(_("file"), upload_to=version_upload_to, max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_size = models.BigIntegerField(_("file size"), null=True, blank=True)
    mime_type = models.CharField(_("detected type"), max_length=100, blank=True)
    content_sm3 = models.CharField(
        _("content hash (SM3)"), max_length=64, blank=True, db_index=True
    )
    # What the audit extracted.
    extracted_text = models.TextField(_("extracted text"), blank=True)
    simhash = models.BigIntegerField(_("similarity fingerprint"), null=True, blank=True)
    completeness = models.FloatField(_("metadata completeness"), null=True, blank=True)
    audited_at = models.DateTimeField(_("audited at"), null=True, blank=True)
    # Trail.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    change_note = models.TextField(_("what changed"), blank=True)

    objects = ResourceVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("resource version")
        verbose_name_plural = _("resource versions")
        ordering = ("resource", "-number")
        constraints = [
            models.UniqueConstraint(fields=["resource", "number"], name="res_version_number")
        ]
        indexes = [
            models.Index(fields=["status", "review_stage"], name="res_version_review"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.number})"

    def changelog_org_path(self) -> str:
        return self.resource.org.path if self.resource_id else ""

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("resources.resource", str(self.resource_id))


class ResourceTagQuerySet(ChangeLoggedQuerySet):
    pass


class ResourceTag(ChangeLoggedModel):
    """A resource tagged to a knowledge point, by hand or accepted from a suggestion."""

    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="tags"
    )
    knowledge_point = models.ForeignKey(
        KnowledgePoint,
        verbose_name=_("knowledge point"),
        on_delete=models.PROTECT,
        related_name="tags",
    )
    source = models.CharField(_("source"), max_length=16, choices=TagSource.choices)
    score = models.FloatField(_("suggestion score"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tagged by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ResourceTagQuerySet.as_manager()

    class Meta:
        verbose_name = _("knowledge-point tag")
        verbose_name_plural = _("knowledge-point tags")
        constraints = [
            models.UniqueConstraint(fields=["resource", "knowledge_point"], name="res_tag_unique")
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} → {self.knowledge_point_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("resources.resource", str(self.resource_id))


class SensitiveWordListQuerySet(ChangeLoggedQuerySet):
    def active(self) -> SensitiveWordList | None:
        return self.filter(active=True).order_by("-version").first()


class SensitiveWordList(ChangeLoggedModel):
    """One version of the sensitive-word list; exactly one is active. Words are kept one per
    line with an optional ``|severity`` (``block`` by default, or ``warn``)."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    words = models.TextField(_("words"))
    word_count = models.PositiveIntegerField(_("word count"), default=0)
    active = models.BooleanField(_("active"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = SensitiveWordListQuerySet.as_manager()

    class Meta:
        verbose_name = _("sensitive-word list")
        verbose_name_plural = _("sensitive-word lists")
        ordering = ("-version",)

    def __str__(self) -> str:
        return f"v{self.version}"


class AuditFinding(models.Model):
    """One result of the automatic content audit of a version, shown to its reviewers."""

    version = models.ForeignKey(
        ResourceVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="audit_findings",
    )
    code = models.CharField(_("code"), max_length=40)
    severity = models.CharField(_("severity"), max_length=8, choices=AuditSeverity.choices)
    message = models.TextField(_("message"))
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    word_list = models.ForeignKey(
        SensitiveWordList,
        verbose_name=_("word list"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")
        ordering = ("version", "pk")

    def __str__(self) -> str:
        return f"{self.code} ({self.severity})"
