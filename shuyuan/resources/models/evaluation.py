"""Use and evaluation: views and downloads, star ratings with moderated comments, expert
evaluations. ``actions.evaluation`` combines them into ``Resource.quality_score`` and flags
resources with sustained low quality or an expired licence for retirement."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet
from shuyuan.core.scoping import ScopedQuerySet

from ..choices import ModerationStatus, UsageKind
from .resources import Resource


class UsageEvent(models.Model):
    """One view, download or completion of a resource (append-only; feeds co-usage)."""

    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="usage"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=UsageKind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        indexes = [
            models.Index(fields=["user", "-at"], name="res_usage_user"),
            models.Index(fields=["resource", "kind"], name="res_usage_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.resource_id}"


class RatingQuerySet(ChangeLoggedQuerySet):
    pass


class Rating(ChangeLoggedModel):
    """One account's 1–5 star rating of a resource, with an optional comment that is shown to
    others only after moderation."""

    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="ratings"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    stars = models.PositiveSmallIntegerField(
        _("stars"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    comment_status = models.CharField(
        _("comment status"),
        max_length=16,
        choices=ModerationStatus.choices,
        default=ModerationStatus.PENDING,
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moderated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = RatingQuerySet.as_manager()

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ("-updated_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["resource", "user"], name="res_rating_once"),
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="res_rating_stars"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stars}★ {self.resource_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("resources.resource", str(self.resource_id))


class ExpertEvaluationQuerySet(ChangeLoggedQuerySet):
    pass


class ExpertEvaluation(ChangeLoggedModel):
    """An expert's evaluation (0–100) of a resource against the evaluation criteria."""

    resource = models.ForeignKey(
        Resource,
        verbose_name=_("resource"),
        on_delete=models.CASCADE,
        related_name="expert_evaluations",
    )
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("expert"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    criteria = models.JSONField(
        _("criteria scores"), default=dict, blank=True, help_text=_("Score per criterion.")
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ExpertEvaluationQuerySet.as_manager()

    class Meta:
        verbose_name = _("expert evaluation")
        verbose_name_plural = _("expert evaluations")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["resource", "expert"], name="res_expert_once"),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=100), name="res_expert_score"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score} {self.resource_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("resources.resource", str(self.resource_id))
