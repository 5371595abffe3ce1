"""Learning spaces (一人一空间): what an account keeps in its space, and what a teacher sets.

Personal rows (written by their owner only, never seen by anyone else):
    ``Favourite`` marks a listed resource; ``Note`` is a short plain-text note, optionally
    about a resource. They are working state of one person, not decisions about others, so
    they are plain models written through ``actions.spaces``.

Teaching rows (facts: change-logged):
    ``LessonPlan`` is a teacher's preparation of one lesson for a class (an ``Org`` of kind
    ``class``), with ordered ``LessonPlanResource`` rows. ``Assignment`` is work a teacher
    sets for a class, with ordered ``AssignmentResource`` rows and a due time; it is ``open``
    until the teacher closes it. ``AssignmentSubmission`` is one student's "done" on an
    assignment (one per student); marking it also stores an xAPI ``completed`` statement, so
    the LRS stays the learning record and the row is the quick index of who completed.

The learning timeline itself is not stored here: it is read from the LRS (``Statement``).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet
from shuyuan.resources.models import Resource

NOTE_TITLE_MAX = 120
NOTE_BODY_MAX = 4000
PLAN_TITLE_MAX = 200
PLAN_NOTES_MAX = 4000
INSTRUCTIONS_MAX = 4000


class AssignmentStatus(models.TextChoices):
    """Whether students can still mark an assignment done."""

    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Favourite(models.Model):
    """A listed resource an account keeps in its space (one row per account and resource)."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["account", "resource"], name="learning_fav_unique")
        ]
        indexes: ClassVar = [
            models.Index(fields=["account", "-created_at"], name="learning_fav_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} ★ {self.resource_id}"


class Note(models.Model):
    """A plain-text note an account keeps in its space, optionally about a resource."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    resource = models.ForeignKey(
        Resource,
        verbose_name=_("resource"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=NOTE_TITLE_MAX)
    body = models.TextField(_("note"), max_length=NOTE_BODY_MAX, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering: ClassVar = ["-updated_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["account", "-updated_at"], name="learning_note_account"),
        ]

    def __str__(self) -> str:
        return self.title


class LessonPlanQuerySet(ChangeLoggedQuerySet):
    pass


class LessonPlan(ChangeLoggedModel):
    """A teacher's preparation of one lesson for a class: title, resources in order, notes."""

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("teacher"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    class_org = models.ForeignKey(
        Org, verbose_name=_("class"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=PLAN_TITLE_MAX)
    notes = models.TextField(_("notes"), max_length=PLAN_NOTES_MAX, blank=True)
    taught_on = models.DateField(_("lesson date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = LessonPlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("lesson plan")
        verbose_name_plural = _("lesson plans")
        ordering: ClassVar = ["-updated_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["teacher", "-updated_at"], name="learning_plan_teacher"),
        ]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.class_org.path if self.class_org_id else ""


class LessonPlanResourceQuerySet(ChangeLoggedQuerySet):
    pass


class LessonPlanResource(ChangeLoggedModel):
    """One resource of a lesson plan, at ``position`` (0 first)."""

    lesson_plan = models.ForeignKey(
        LessonPlan, verbose_name=_("lesson plan"), on_delete=models.CASCADE, related_name="items"
    )
    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = LessonPlanResourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("lesson plan resource")
        verbose_name_plural = _("lesson plan resources")
        ordering: ClassVar = ["lesson_plan", "position", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["lesson_plan", "resource"], name="learning_planres_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lesson_plan_id}#{self.position}: {self.resource_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("learning.lessonplan", str(self.lesson_plan_id))


class AssignmentQuerySet(ChangeLoggedQuerySet):
    pass


class Assignment(ChangeLoggedModel):
    """Work a teacher sets for a class: instructions, resources in order, a due time."""

    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    class_org = models.ForeignKey(
        Org, verbose_name=_("class"), on_delete=models.PROTECT, related_name="+"
    )
    lesson_plan = models.ForeignKey(
        LessonPlan,
        verbose_name=_("lesson plan"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assignments",
    )
    title = models.CharField(_("title"), max_length=PLAN_TITLE_MAX)
    instructions = models.TextField(_("instructions"), max_length=INSTRUCTIONS_MAX, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AssignmentStatus.choices,
        default=AssignmentStatus.OPEN,
    )
    created_at = models.DateTimeField(_("set at"), default=timezone.now, editable=False)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["class_org", "status", "-created_at"], name="learning_asg_class"),
            models.Index(fields=["set_by", "-created_at"], name="learning_asg_teacher"),
        ]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.class_org.path if self.class_org_id else ""


class AssignmentResourceQuerySet(ChangeLoggedQuerySet):
    pass


class AssignmentResource(ChangeLoggedModel):
    """One resource of an assignment, at ``position`` (0 first)."""

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="items"
    )
    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = AssignmentResourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment resource")
        verbose_name_plural = _("assignment resources")
        ordering: ClassVar = ["assignment", "position", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["assignment", "resource"], name="learning_asgres_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}#{self.position}: {self.resource_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("learning.assignment", str(self.assignment_id))


class AssignmentSubmission(models.Model):
    """A student's "done" on an assignment (one per student; the LRS holds the statement)."""

    assignment = models.ForeignKey(
        Assignment,
        verbose_name=_("assignment"),
        on_delete=models.CASCADE,
        related_name="submissions",
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    completed_at = models.DateTimeField(_("completed at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment submission")
        verbose_name_plural = _("assignment submissions")
        ordering: ClassVar = ["-completed_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["assignment", "student"], name="learning_submission_unique"
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["student", "-completed_at"], name="learning_sub_student"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} ✓ {self.assignment_id}"
