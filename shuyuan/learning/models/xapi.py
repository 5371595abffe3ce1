"""The xAPI Learning Record Store's tables (see the package docstring)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet

from ..choices import DocumentKind

KEY_LENGTH = 32


class LrsClientQuerySet(ChangeLoggedQuerySet):
    pass


class LrsClient(ChangeLoggedModel):
    """A credential for one learning tool, limited to an org's subtree.

    The tool authenticates with HTTP Basic (``key`` and the secret) or with an OAuth 2 bearer
    token from the client-credentials grant. Only a keyed SM3 digest of the secret is stored.
    ``scopes`` are the xAPI OAuth scopes the client holds (``all`` by default).
    """

    name = models.CharField(_("name"), max_length=120)
    key = models.CharField(_("key"), max_length=64, unique=True)
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    org = models.ForeignKey(
        Org, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    scopes = models.JSONField(_("scopes"), default=list)
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

    objects = LrsClientQuerySet.as_manager()

    changelog_redacted: ClassVar[frozenset[str]] = frozenset({"secret_hash"})

    class Meta:
        verbose_name = _("LRS client")
        verbose_name_plural = _("LRS clients")
        ordering: ClassVar = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class LrsToken(models.Model):
    """An OAuth 2 bearer token issued to an ``LrsClient`` (only its SM3 digest is stored)."""

    client = models.ForeignKey(
        LrsClient, verbose_name=_("client"), on_delete=models.CASCADE, related_name="tokens"
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("LRS access token")
        verbose_name_plural = _("LRS access tokens")

    def __str__(self) -> str:
        return f"{self.client_id}:{self.token_hash[:8]}"


class StatementQuerySet(ScopedQuerySet):
    pass


class Statement(models.Model):
    """One xAPI statement, immutable once stored (only ``voided`` ever changes, once).

    ``data`` is the statement as the LRS returns it in the ``exact`` format (with ``id``,
    ``stored``, ``timestamp``, ``authority`` and ``version`` filled in), as JSON text.
    """

    statement_id = models.UUIDField(_("statement id"), unique=True)
    stored = models.DateTimeField(_("stored at"))
    timestamp = models.DateTimeField(_("timestamp"))
    actor_key = models.CharField(_("actor key"), max_length=KEY_LENGTH)
    verb_key = models.CharField(_("verb key"), max_length=KEY_LENGTH)
    object_key = models.CharField(_("object key"), max_length=KEY_LENGTH, blank=True)
    object_ref = models.UUIDField(_("referenced statement"), null=True, blank=True)
    registration = models.UUIDField(_("registration"), null=True, blank=True)
    is_voiding = models.BooleanField(_("voids another statement"), default=False)
    voided = models.BooleanField(_("voided"), default=False)
    client = models.ForeignKey(
        LrsClient,
        verbose_name=_("stored through"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # filtered only together with an indexed column
    )
    org_path = models.CharField(_("organisation path"), max_length=255, db_index=False)
    data = models.TextField(_("statement (JSON)"))

    objects = StatementQuerySet.as_manager()

    class Meta:
        verbose_name = _("xAPI statement")
        verbose_name_plural = _("xAPI statements")
        indexes: ClassVar = [
            models.Index(fields=["stored", "id"], name="learning_stmt_stored"),
            models.Index(
                fields=["actor_key", "verb_key", "stored"], name="learning_stmt_actor_verb"
            ),
            models.Index(fields=["object_key", "stored"], name="learning_stmt_object"),
            models.Index(fields=["verb_key", "stored"], name="learning_stmt_verb"),
            models.Index(
                fields=["registration", "stored"],
                name="learning_stmt_registration",
                condition=models.Q(registration__isnull=False),
            ),
            models.Index(
                fields=["object_ref"],
                name="learning_stmt_ref",
                condition=models.Q(object_ref__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return str(self.statement_id)


class StatementAgent(models.Model):
    """An agent or identified group a statement mentions beyond its actor and object
    (authority, context, SubStatement), for ``related_agents``; the actor and object are
    matched on ``Statement``'s own indexed columns, so they are not repeated here."""

    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # (key, statement) serves every query; statements are never deleted
    )
    agent_key = models.CharField(_("agent key"), max_length=KEY_LENGTH)

    class Meta:
        verbose_name = _("statement agent")
        verbose_name_plural = _("statement agents")
        indexes: ClassVar = [
            models.Index(fields=["agent_key", "statement"], name="learning_stmtagent_key"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}:{self.agent_key}"


class StatementActivity(models.Model):
    """An activity a statement mentions beyond its object (context Activities, a
    SubStatement's object), for ``related_activities``."""

    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # (key, statement) serves every query; statements are never deleted
    )
    activity_key = models.CharField(_("activity key"), max_length=KEY_LENGTH)

    class Meta:
        verbose_name = _("statement activity")
        verbose_name_plural = _("statement activities")
        indexes: ClassVar = [
            models.Index(fields=["activity_key", "statement"], name="learning_stmtact_key"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}:{self.activity_key}"


class Attachment(models.Model):
    """An attachment body, stored once per SHA-2 digest and cited by statements."""

    sha2 = models.CharField(_("SHA-2 digest"), max_length=128, unique=True)
    content_type = models.CharField(_("content type"), max_length=255)
    length = models.PositiveBigIntegerField(_("length"))
    content = models.BinaryField(_("content"))
    created_at = models.DateTimeField(_("stored at"), default=timezone.now)

    class Meta:
        verbose_name = _("xAPI attachment")
        verbose_name_plural = _("xAPI attachments")

    def __str__(self) -> str:
        return self.sha2


class Activity(models.Model):
    """The LRS's canonical definition of an activity, kept from the statements it receives."""

    activity_key = models.CharField(_("activity key"), max_length=KEY_LENGTH, unique=True)
    activity_id = models.TextField(_("activity IRI"))
    definition = models.JSONField(_("definition"), default=dict)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("xAPI activity")
        verbose_name_plural = _("xAPI activities")

    def __str__(self) -> str:
        return self.activity_id


class DocumentQuerySet(ScopedQuerySet):
    pass


class Document(models.Model):
    """A State, Activity Profile or Agent Profile document.

    Documents live in the namespace of the org whose credential wrote them (``org``); key
    columns that do not apply to a kind are empty strings. ``etag`` is the SHA-1 of the
    content (hex), as the xAPI ETag requirements use.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    org = models.ForeignKey(
        Org, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    activity_key = models.CharField(_("activity key"), max_length=KEY_LENGTH, blank=True)
    agent_key = models.CharField(_("agent key"), max_length=KEY_LENGTH, blank=True)
    registration = models.CharField(_("registration"), max_length=36, blank=True)
    doc_key = models.CharField(_("document key"), max_length=KEY_LENGTH)
    doc_id = models.TextField(_("document id"))
    content = models.BinaryField(_("content"))
    content_type = models.CharField(_("content type"), max_length=255)
    etag = models.CharField(_("ETag"), max_length=64)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("xAPI document")
        verbose_name_plural = _("xAPI documents")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["org", "kind", "activity_key", "agent_key", "registration", "doc_key"],
                name="learning_document_unique",
            )
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["org", "kind", "activity_key", "agent_key", "updated_at"],
                name="learning_document_list",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.doc_id}"
