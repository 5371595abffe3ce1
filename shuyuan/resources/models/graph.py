"""The subject knowledge graph: subjects, textbook editions and chapters, knowledge points,
and the prerequisite / related-to edges between knowledge points.

Prerequisite edges form a DAG (``source`` must be learnt before ``target``); an edge that
would close a cycle is refused by ``actions.graph``. Related-to edges are symmetric and stored
once. Each knowledge point carries a CASE ``identifier`` (a UUID) so a CASE export and re-import
keep identity.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet

from ..choices import GRADES, EdgeKind, Stage


class GraphQuerySet(ChangeLoggedQuerySet):
    pass


class Subject(ChangeLoggedModel):
    """A school subject (语文, 数学, ...); the code is stable, the name is displayed."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    order = models.PositiveIntegerField(_("order"), default=0)

    objects = GraphQuerySet.as_manager()

    class Meta:
        verbose_name = _("subject")
        verbose_name_plural = _("subjects")
        ordering = ("order", "code")

    def __str__(self) -> str:
        return self.name


class TextbookEdition(ChangeLoggedModel):
    """A textbook series (人教版, 北师大版, ...)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    publisher = models.CharField(_("publisher"), max_length=100, blank=True)

    objects = GraphQuerySet.as_manager()

    class Meta:
        verbose_name = _("textbook edition")
        verbose_name_plural = _("textbook editions")
        ordering = ("code",)

    def __str__(self) -> str:
        return self.name


class Chapter(ChangeLoggedModel):
    """A chapter (or section, through ``parent``) of one edition's book for a subject and grade."""

    edition = models.ForeignKey(
        TextbookEdition,
        verbose_name=_("textbook edition"),
        on_delete=models.PROTECT,
        related_name="chapters",
    )
    subject = models.ForeignKey(
        Subject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="chapters"
    )
    grade = models.CharField(_("grade"), max_length=2, choices=GRADES)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent chapter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    code = models.SlugField(_("code"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=0)

    objects = GraphQuerySet.as_manager()

    class Meta:
        verbose_name = _("chapter")
        verbose_name_plural = _("chapters")
        ordering = ("edition", "subject", "grade", "order", "code")

    def __str__(self) -> str:
        return self.title


class KnowledgePoint(ChangeLoggedModel):
    """One knowledge point (知识点) of a subject and stage, e.g. 勾股定理."""

    identifier = models.UUIDField(_("CASE identifier"), default=uuid.uuid4, unique=True)
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    aliases = models.JSONField(
        _("aliases"), default=list, blank=True, help_text=_("Other names the point is known by.")
    )
    description = models.TextField(_("description"), blank=True)
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("subject"),
        on_delete=models.PROTECT,
        related_name="knowledge_points",
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    grade = models.CharField(_("grade"), max_length=2, choices=GRADES, blank=True)
    chapters = models.ManyToManyField(
        Chapter, verbose_name=_("chapters"), blank=True, related_name="knowledge_points"
    )

    objects = GraphQuerySet.as_manager()

    class Meta:
        verbose_name = _("knowledge point")
        verbose_name_plural = _("knowledge points")
        ordering = ("subject", "stage", "code")
        indexes = [models.Index(fields=["subject", "stage"], name="res_kp_subject_stage")]

    def __str__(self) -> str:
        return self.name


class KnowledgeEdge(ChangeLoggedModel):
    """``source`` is a prerequisite of, or related to, ``target``."""

    source = models.ForeignKey(
        KnowledgePoint,
        verbose_name=_("from"),
        on_delete=models.CASCADE,
        related_name="edges_out",
    )
    target = models.ForeignKey(
        KnowledgePoint,
        verbose_name=_("to"),
        on_delete=models.CASCADE,
        related_name="edges_in",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EdgeKind.choices)

    objects = GraphQuerySet.as_manager()

    class Meta:
        verbose_name = _("knowledge-point edge")
        verbose_name_plural = _("knowledge-point edges")
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="res_edge_unique"),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="res_edge_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -{self.kind}-> {self.target_id}"
