"""The search index's documents: one row per listed resource (derived data, rebuilt at will).

A ``SearchDocument`` holds the resource's text already segmented by ``search.tokenize``
(space-separated tokens per field) and the columns search filters and boosts on, copied from
the listed version so a query never joins the versions table. The full-text structures are
created per database by migration ``0002_search``:

* SQLite: the FTS5 table ``resources_search_fts`` (external content: this table), kept in step
  by triggers on insert, update and delete; ``facets`` is indexed too, so filters are
  intersected inside FTS5 rather than checked row by row;
* PostgreSQL: the generated column ``search_vector`` (weights A title, B knowledge points,
  C pinyin, D body; ``simple`` configuration) with a GIN index.

The short filter and boost columns come first, so reading them never walks the overflow
pages of the long token columns (SQLite stores a row's columns in order). The rows are written
only by ``search.index`` (which the search handlers call); they are not
facts and are not change-logged.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.scoping import ScopedQuerySet

from ..choices import GRADES, ResourceType, Stage
from .graph import Subject
from .resources import Resource


class SearchDocument(models.Model):
    """The indexed form of one listed resource."""

    resource = models.OneToOneField(
        Resource,
        verbose_name=_("resource"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="search_document",
    )
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("subject"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # res_search_subject covers it
        related_name="+",
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    grade = models.CharField(_("grade"), max_length=2, choices=GRADES, blank=True)
    resource_type = models.CharField(_("type"), max_length=16, choices=ResourceType.choices)
    boost = models.FloatField(
        _("boost"), default=1.0, help_text=_("Multiplies the text score (quality and use).")
    )
    indexed_at = models.DateTimeField(_("indexed at"), default=timezone.now)
    facets = models.TextField(
        _("filter tokens"),
        blank=True,
        help_text=_("Filter values as index terms."),
    )
    title_tokens = models.TextField(_("title tokens"), blank=True)
    body_tokens = models.TextField(_("body tokens"), blank=True)
    pinyin = models.TextField(_("pinyin"), blank=True)
    kp_tokens = models.TextField(_("knowledge-point tokens"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        indexes = [
            models.Index(fields=["-boost"], name="res_search_boost"),
            models.Index(fields=["subject", "-boost"], name="res_search_subject"),
            models.Index(fields=["resource_type", "-boost"], name="res_search_type"),
            models.Index(fields=["grade", "-boost"], name="res_search_grade"),
            models.Index(fields=["stage", "-boost"], name="res_search_stage"),
        ]

    def __str__(self) -> str:
        return f"search #{self.resource_id}"
