"""Intelligent diagnosis (智能诊断) and adaptive push (精准推送).

Derived data (rebuilt by a diagnosis run, never edited by hand)
    ``DiagnosisRun`` is one fit of Bayesian Knowledge Tracing (pyBKT) on every marked answer
    the platform holds (exam responses and practice answers), with its figures.
    ``SkillParameters`` are the fitted BKT parameters of one knowledge point (prior, learn,
    guess, slip). ``Mastery`` is the estimated probability that a student has mastered a
    knowledge point after all their answers, with the evidence it rests on. ``ItemStatistic``
    holds the classical statistics of an item: facility (mean score fraction, "difficulty")
    and discrimination (corrected item-total point-biserial correlation).

Push (facts: change-logged)
    ``Push`` is a resource or a practice item a teacher sent to a student for a weak
    knowledge point; the student sees it under "what to learn next" until done.
    ``PracticeAnswer`` is a student's answer to a pushed (or suggested) practice item,
    marked at once; it counts as evidence in the next diagnosis run.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet
from shuyuan.resources.models import KnowledgePoint, Resource

from .exams import Item, ItemVersion


class DiagnosisRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class DiagnosisRun(models.Model):
    """One fit of knowledge tracing on the platform's answers."""

    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DiagnosisRunStatus.choices,
        default=DiagnosisRunStatus.RUNNING,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    engine = models.CharField(_("engine"), max_length=64, blank=True)
    n_responses = models.PositiveIntegerField(_("answers"), default=0)
    n_students = models.PositiveIntegerField(_("students"), default=0)
    n_points = models.PositiveIntegerField(_("knowledge points"), default=0)
    fit_seconds = models.FloatField(_("fit time (s)"), default=0)
    error = models.TextField(_("error"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("diagnosis run")
        verbose_name_plural = _("diagnosis runs")
        ordering: ClassVar = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class SkillParameters(models.Model):
    """Fitted BKT parameters of one knowledge point (from the latest successful run)."""

    knowledge_point = models.OneToOneField(
        KnowledgePoint,
        verbose_name=_("knowledge point"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    run = models.ForeignKey(
        DiagnosisRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="+"
    )
    prior = models.FloatField(_("prior"))
    learn = models.FloatField(_("learn"))
    guess = models.FloatField(_("guess"))
    slip = models.FloatField(_("slip"))
    n_responses = models.PositiveIntegerField(_("answers"), default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("knowledge-tracing parameters")
        verbose_name_plural = _("knowledge-tracing parameters")

    def __str__(self) -> str:
        return f"{self.knowledge_point_id}: L0={self.prior:.2f} T={self.learn:.2f}"


class Mastery(models.Model):
    """P(mastered) of one knowledge point for one student, after all their answers."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    knowledge_point = models.ForeignKey(
        KnowledgePoint,
        verbose_name=_("knowledge point"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    probability = models.FloatField(_("mastery"))
    n_answers = models.PositiveIntegerField(_("answers"), default=0)
    n_correct = models.PositiveIntegerField(_("correct"), default=0)
    last_answered_at = models.DateTimeField(_("last answered at"), null=True, blank=True)
    run = models.ForeignKey(
        DiagnosisRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("mastery")
        verbose_name_plural = _("mastery")
        ordering: ClassVar = ["student", "probability"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["student", "knowledge_point"], name="learning_mastery_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.knowledge_point_id} {self.probability:.2f}"


class ItemStatistic(models.Model):
    """Classical item statistics of one item over its marked exam responses."""

    item = models.OneToOneField(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="statistic"
    )
    run = models.ForeignKey(
        DiagnosisRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="+"
    )
    n_responses = models.PositiveIntegerField(_("answers"), default=0)
    facility = models.FloatField(_("facility"), help_text=_("Mean score as a fraction of full."))
    discrimination = models.FloatField(
        _("discrimination"),
        null=True,
        blank=True,
        help_text=_("Correlation of the item's score with the rest of the paper."),
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("item statistic")
        verbose_name_plural = _("item statistics")

    def __str__(self) -> str:
        return f"{self.item_id}: p={self.facility:.2f}"


class PushStatus(models.TextChoices):
    NEW = "new", _("To do")
    DONE = "done", _("Done")


class PushQuerySet(ChangeLoggedQuerySet):
    pass


class Push(ChangeLoggedModel):
    """A resource or practice item a teacher sent to a student for a knowledge point."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    class_org = models.ForeignKey(
        Org, verbose_name=_("class"), on_delete=models.PROTECT, related_name="+"
    )
    knowledge_point = models.ForeignKey(
        KnowledgePoint,
        verbose_name=_("knowledge point"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    resource = models.ForeignKey(
        Resource,
        verbose_name=_("resource"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    item = models.ForeignKey(
        Item,
        verbose_name=_("practice item"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pushed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    pushed_at = models.DateTimeField(_("pushed at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=16, choices=PushStatus.choices, default=PushStatus.NEW
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    objects = PushQuerySet.as_manager()

    class Meta:
        verbose_name = _("push")
        verbose_name_plural = _("pushes")
        ordering: ClassVar = ["-pushed_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(Q(resource__isnull=False) & Q(item__isnull=True))
                | (Q(resource__isnull=True) & Q(item__isnull=False)),
                name="learning_push_one_target",
            ),
            models.UniqueConstraint(
                fields=["student", "resource"],
                condition=Q(status="new", resource__isnull=False),
                name="learning_push_resource_once",
            ),
            models.UniqueConstraint(
                fields=["student", "item"],
                condition=Q(status="new", item__isnull=False),
                name="learning_push_item_once",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["student", "status", "-pushed_at"], name="learning_push_student"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} <- {self.resource_id or self.item_id}"

    def changelog_org_path(self) -> str:
        return self.class_org.path if self.class_org_id else ""


class PracticeAnswer(models.Model):
    """A student's answer to a practice item, marked at once (evidence for diagnosis)."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    item_version = models.ForeignKey(
        ItemVersion, verbose_name=_("item version"), on_delete=models.PROTECT, related_name="+"
    )
    push = models.ForeignKey(
        Push,
        verbose_name=_("push"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="answers",
    )
    answer = models.JSONField(_("answer"), null=True)
    fraction = models.FloatField(_("score fraction"))
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("practice answer")
        verbose_name_plural = _("practice answers")
        ordering: ClassVar = ["student", "answered_at", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["student", "answered_at"], name="learning_practice_student"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.item_version_id} {self.fraction:.2f}"
