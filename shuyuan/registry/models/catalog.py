"""The data catalog: shared datasets, access requests and approvals, API clients, access log.

共享为原则，不共享为例外: a dataset is shared unconditionally (any registered consumer may read
it), conditionally (after a request is approved) or not at all. Consumers are OAuth 2 clients
(client-credentials grant) owned by an org; every read they make is logged.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet

from ..choices import AccessRequestStatus, SharingLevel


class DatasetQuerySet(ChangeLoggedQuerySet):
    pass


class Dataset(ChangeLoggedModel):
    """A published slice of base data: which entity types, for which org subtree."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    org = models.ForeignKey(
        Org, verbose_name=_("scope (org subtree)"), on_delete=models.PROTECT, related_name="+"
    )
    entity_types = models.JSONField(
        _("entity types"),
        default=list,
        help_text=_("OneRoster collections included, e.g. users, classes, enrollments."),
    )
    includes_demographics = models.BooleanField(_("includes demographics"), default=False)
    sharing_level = models.CharField(
        _("sharing level"),
        max_length=16,
        choices=SharingLevel.choices,
        default=SharingLevel.CONDITIONAL,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("data steward"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")
        ordering: ClassVar = ["code"]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class ApiClientQuerySet(ChangeLoggedQuerySet):
    pass


class ApiClient(ChangeLoggedModel):
    """A consumer system with OAuth 2 client credentials (the secret is stored hashed)."""

    client_id = models.CharField(_("client id"), max_length=64, unique=True)
    secret_hash = models.CharField(_("secret hash"), max_length=255, editable=False)
    name = models.CharField(_("name"), max_length=120)
    org = models.ForeignKey(
        Org, verbose_name=_("owning organisation"), on_delete=models.PROTECT, related_name="+"
    )
    scopes = models.JSONField(_("allowed scopes"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ApiClientQuerySet.as_manager()

    changelog_redacted: ClassVar[frozenset[str]] = frozenset({"secret_hash"})

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class ClientToken(models.Model):
    """An issued bearer token (stored as its SM3 hash) with its scopes and expiry."""

    client = models.ForeignKey(
        ApiClient, verbose_name=_("client"), on_delete=models.CASCADE, related_name="tokens"
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("client token")
        verbose_name_plural = _("client tokens")

    def __str__(self) -> str:
        return f"{self.client_id}:{self.token_hash[:8]}"


class AccessRequestQuerySet(ChangeLoggedQuerySet):
    pass


class AccessRequest(ChangeLoggedModel):
    """A consumer's request to use a dataset, and the steward's decision."""

    dataset = models.ForeignKey(
        Dataset, verbose_name=_("dataset"), on_delete=models.PROTECT, related_name="requests"
    )
    client = models.ForeignKey(
        ApiClient, verbose_name=_("client"), on_delete=models.PROTECT, related_name="requests"
    )
    purpose = models.TextField(_("purpose"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AccessRequestStatus.choices,
        default=AccessRequestStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
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
    decision_note = models.TextField(_("decision note"), blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_note = models.TextField(_("reason for revoking"), blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            # One open request (pending or approved) per client and dataset, even under races.
            models.UniqueConstraint(
                fields=["client", "dataset"],
                condition=models.Q(status__in=["pending", "approved"]),
                name="registry_accessrequest_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_id} -> {self.dataset_id} ({self.status})"

    def changelog_org_path(self) -> str:
        return self.dataset.org.path if self.dataset_id else ""


class AccessLogQuerySet(ScopedQuerySet):
    pass


class AccessLog(models.Model):
    """One read by a consumer (append-only): which client, dataset, path and how many rows.

    ``org_path`` is the path of the dataset's org (the client's org when the read matched no
    dataset): admins and auditors of that subtree read the entry (``permissions.py``).
    """

    client = models.ForeignKey(
        ApiClient, verbose_name=_("client"), on_delete=models.PROTECT, related_name="+"
    )
    dataset = models.ForeignKey(
        Dataset,
        verbose_name=_("dataset"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    org_path = models.CharField(_("org path"), max_length=255, db_index=True)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    query = models.CharField(_("query"), max_length=1000, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status"))
    rows = models.PositiveIntegerField(_("rows returned"), default=0)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.client_id} {self.method} {self.path}"
