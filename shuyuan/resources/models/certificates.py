"""Inclusion certificates (收录证书).

When a version is listed, a ``Certificate`` is issued: a number, the SM3 hash of the file (or of
the canonical metadata for a link), an SM2 signature over the canonical certificate payload,
and a place in a hash chain (``sequence``, ``prev_hash``, ``entry_hash``) so that the order of
registration can be proven in an IP dispute. Anyone may verify a certificate by number on the
public page or API.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.scoping import ScopedQuerySet

from .resources import Resource, ResourceVersion


class Certificate(models.Model):
    """One inclusion certificate; append-only (never updated or deleted)."""

    number = models.CharField(_("certificate number"), max_length=40, unique=True)
    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.PROTECT, related_name="certificates"
    )
    version = models.OneToOneField(
        ResourceVersion,
        verbose_name=_("version"),
        on_delete=models.PROTECT,
        related_name="certificate",
    )
    title = models.CharField(_("title"), max_length=200)
    provider_name = models.CharField(_("provider"), max_length=200)
    content_hash = models.CharField(_("content hash (SM3)"), max_length=64)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    algorithm = models.CharField(_("signature algorithm"), max_length=16, default="SM2")
    public_key = models.CharField(_("signer public key"), max_length=200)
    signature = models.CharField(_("signature"), max_length=300)
    prev_hash = models.CharField(_("previous entry hash"), max_length=64)
    entry_hash = models.CharField(_("entry hash"), max_length=64, unique=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("inclusion certificate")
        verbose_name_plural = _("inclusion certificates")
        ordering = ("-sequence",)

    def __str__(self) -> str:
        return self.number
