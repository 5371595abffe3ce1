"""Online exams (无纸化考试): the item bank, papers, assessments published to classes, and what
students answer.

Item bank (facts: change-logged)
    ``Item`` is one question with a stable ``identifier`` (the QTI identifier), owned by an org
    (a school's bank, or a region's bank shared with every school below it), of one ``kind``,
    with a ``difficulty`` and tags to knowledge points (``ItemTag``). Its content lives in
    ``ItemVersion`` rows: editing an item adds version ``n + 1`` and moves
    ``Item.current_version``; versions are never changed, so a paper that used version 2 keeps
    marking against version 2. The shape of ``ItemVersion.content`` per kind is documented in
    ``learning.exams.content``.

Papers and assessments (facts: change-logged)
    ``Paper`` is an ordered set of item versions (``PaperItem`` with points), built by hand or
    from a blueprint (knowledge points x difficulty x count, kept in ``Paper.blueprint``).
    ``Assessment`` publishes a paper to a class with a window (``opens_at`` .. ``closes_at``),
    an optional time limit, an attempt limit and shuffling; scores are shown to students only
    after the teacher releases them (``scores_released_at``).

Sitting (working state, written through ``actions.exams`` only)
    ``Attempt`` is one sitting of one student: its own item and option order (when shuffled),
    a ``deadline`` (the window's end or the time limit, whichever is first), its status and,
    once marked, its score. A student has at most one attempt in progress per assessment
    (a partial unique constraint), so two devices that start at once share one attempt.
    ``Response`` is the latest answer to one paper item in an attempt, with a ``revision``
    counter for the optimistic concurrency of two devices; ``ResponseLog`` keeps every save
    as it arrived (append-only), so no answer a student gave is ever lost, even one that lost
    a race. ``FocusEvent`` logs focus loss and connection loss seen by the browser.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org
from shuyuan.core.scoping import ScopedQuerySet
from shuyuan.resources.models import KnowledgePoint, Subject

STEM_MAX = 10_000
TITLE_MAX = 200
EXPLANATION_MAX = 4_000


class ItemKind(models.TextChoices):
    """The kinds of question the item bank holds (QTI interaction in brackets)."""

    SINGLE = "single", _("Single choice")  # choiceInteraction, max-choices 1
    MULTIPLE = "multiple", _("Multiple choice")  # choiceInteraction, max-choices 0
    TRUE_FALSE = "true_false", _("True or false")  # choiceInteraction over true/false
    FILL_BLANK = "fill_blank", _("Fill in the blank")  # textEntryInteraction per blank
    NUMERIC = "numeric", _("Numeric")  # textEntryInteraction, base-type float
    MATCHING = "matching", _("Matching")  # matchInteraction
    ORDERING = "ordering", _("Ordering")  # orderInteraction
    SHORT_ANSWER = "short_answer", _("Short answer")  # extendedTextInteraction, rubric

    @classmethod
    def objective(cls) -> frozenset[str]:
        """Kinds the platform marks automatically (all but short answer)."""
        return frozenset(k for k in cls.values if k != cls.SHORT_ANSWER)


class Difficulty(models.IntegerChoices):
    EASY = 1, _("Easy")
    MEDIUM = 2, _("Medium")
    HARD = 3, _("Hard")


class ItemStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class AssessmentStatus(models.TextChoices):
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")


class AttemptStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Awaiting marking")
    MARKED = "marked", _("Marked")


class SubmittedBy(models.TextChoices):
    STUDENT = "student", _("The student")
    DEADLINE = "deadline", _("Time ran out")


class FocusEventKind(models.TextChoices):
    BLUR = "blur", _("Left the exam window")
    FOCUS = "focus", _("Came back to the exam window")
    HIDDEN = "hidden", _("Exam tab hidden")
    VISIBLE = "visible", _("Exam tab shown again")
    OFFLINE = "offline", _("Connection lost")
    ONLINE = "online", _("Connection back")
    RESUMED = "resumed", _("Resumed (page opened again)")


# --- item bank ----------------------------------------------------------------------------------


class ItemQuerySet(ChangeLoggedQuerySet):
    pass


class Item(ChangeLoggedModel):
    """One question of the item bank; its content is ``current_version``."""

    identifier = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True)
    org = models.ForeignKey(
        Org, verbose_name=_("owning org"), on_delete=models.PROTECT, related_name="+"
    )
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("subject"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ItemKind.choices)
    difficulty = models.PositiveSmallIntegerField(
        _("difficulty"), choices=Difficulty.choices, default=Difficulty.MEDIUM
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.ACTIVE
    )
    knowledge_points: models.ManyToManyField[KnowledgePoint, ItemTag] = models.ManyToManyField(
        KnowledgePoint,
        verbose_name=_("knowledge points"),
        through="ItemTag",
        related_name="+",
        blank=True,
    )
    current_version = models.ForeignKey(
        "ItemVersion",
        verbose_name=_("current version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering: ClassVar = ["-updated_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["org", "status", "-updated_at"], name="learning_item_org"),
            models.Index(fields=["subject", "difficulty"], name="learning_item_subject"),
        ]

    def __str__(self) -> str:
        return str(self.identifier)

    @property
    def is_objective(self) -> bool:
        return self.kind in ItemKind.objective()

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class ItemTagQuerySet(ChangeLoggedQuerySet):
    pass


class ItemTag(ChangeLoggedModel):
    """An item is about a knowledge point (the basis of blueprints, diagnosis and push)."""

    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="tags"
    )
    knowledge_point = models.ForeignKey(
        KnowledgePoint,
        verbose_name=_("knowledge point"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = ItemTagQuerySet.as_manager()

    class Meta:
        verbose_name = _("item tag")
        verbose_name_plural = _("item tags")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "knowledge_point"], name="learning_itag_uniq")
        ]
        indexes: ClassVar = [
            models.Index(fields=["knowledge_point", "item"], name="learning_itag_kp"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} ~ {self.knowledge_point_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("learning.item", str(self.item_id))


class ItemVersionQuerySet(ChangeLoggedQuerySet):
    pass


class ItemVersion(ChangeLoggedModel):
    """The content of an item at version ``number`` (immutable once created)."""

    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    stem = models.TextField(_("question"), max_length=STEM_MAX)
    content = models.JSONField(_("content"), default=dict)
    explanation = models.TextField(_("explanation"), max_length=EXPLANATION_MAX, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ItemVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("item version")
        verbose_name_plural = _("item versions")
        ordering: ClassVar = ["item", "-number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "number"], name="learning_itemver_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.item_id} v{self.number}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("learning.item", str(self.item_id))


# --- papers and assessments ---------------------------------------------------------------------


class PaperQuerySet(ChangeLoggedQuerySet):
    pass


class Paper(ChangeLoggedModel):
    """An exam paper: item versions in order with their points."""

    org = models.ForeignKey(Org, verbose_name=_("org"), on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("subject"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    instructions = models.TextField(_("instructions"), max_length=EXPLANATION_MAX, blank=True)
    blueprint = models.JSONField(
        _("blueprint"),
        default=list,
        blank=True,
        help_text=_("The rows it was assembled from: knowledge point, difficulty, count."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = PaperQuerySet.as_manager()

    class Meta:
        verbose_name = _("paper")
        verbose_name_plural = _("papers")
        ordering: ClassVar = ["-updated_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["created_by", "-updated_at"], name="learning_paper_author"),
        ]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class PaperItemQuerySet(ChangeLoggedQuerySet):
    pass


class PaperItem(ChangeLoggedModel):
    """One question of a paper, at ``position`` (0 first), worth ``points``."""

    paper = models.ForeignKey(
        Paper, verbose_name=_("paper"), on_delete=models.CASCADE, related_name="items"
    )
    item_version = models.ForeignKey(
        ItemVersion, verbose_name=_("item version"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=2, default=1)

    objects = PaperItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("paper question")
        verbose_name_plural = _("paper questions")
        ordering: ClassVar = ["paper", "position", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["paper", "item_version"], name="learning_paperitem_uniq"
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="learning_paperitem_points"),
        ]

    def __str__(self) -> str:
        return f"{self.paper_id}#{self.position}: {self.item_version_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return ("learning.paper", str(self.paper_id))


class AssessmentQuerySet(ChangeLoggedQuerySet):
    pass


class Assessment(ChangeLoggedModel):
    """A paper published to a class: when it may be sat, for how long, how often."""

    paper = models.ForeignKey(
        Paper, verbose_name=_("paper"), on_delete=models.PROTECT, related_name="assessments"
    )
    class_org = models.ForeignKey(
        Org, verbose_name=_("class"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    duration_minutes = models.PositiveIntegerField(
        _("time limit (minutes)"),
        null=True,
        blank=True,
        help_text=_("Empty: until the window closes."),
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts allowed"), default=1)
    shuffle_items = models.BooleanField(_("shuffle questions"), default=False)
    shuffle_options = models.BooleanField(_("shuffle options"), default=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AssessmentStatus.choices,
        default=AssessmentStatus.PUBLISHED,
    )
    scores_released_at = models.DateTimeField(_("scores released at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("published at"), default=timezone.now, editable=False)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering: ClassVar = ["-opens_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="learning_assess_window"
            ),
            models.CheckConstraint(condition=Q(max_attempts__gte=1), name="learning_assess_tries"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["class_org", "-opens_at"], name="learning_assess_class"),
        ]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.class_org.path if self.class_org_id else ""

    def is_open(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.status == AssessmentStatus.PUBLISHED and (
            self.opens_at <= moment < self.closes_at  # type: ignore[operator]  # datetimes
        )


class Attempt(models.Model):
    """One sitting of an assessment by one student."""

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="attempts"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    number = models.PositiveSmallIntegerField(_("attempt"), default=1)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AttemptStatus.choices,
        default=AttemptStatus.IN_PROGRESS,
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    deadline = models.DateTimeField(_("deadline"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.CharField(
        _("submitted by"), max_length=16, choices=SubmittedBy.choices, blank=True
    )
    item_order = models.JSONField(_("question order"), default=list)
    option_order = models.JSONField(_("option order"), default=dict)
    score = models.DecimalField(_("score"), max_digits=8, decimal_places=2, null=True, blank=True)
    max_score = models.DecimalField(_("out of"), max_digits=8, decimal_places=2, default=0)
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering: ClassVar = ["assessment", "student", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["assessment", "student", "number"], name="learning_attempt_uniq"
            ),
            models.UniqueConstraint(
                fields=["assessment", "student"],
                condition=Q(status="in_progress"),
                name="learning_attempt_one_open",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["student", "-started_at"], name="learning_attempt_student"),
            models.Index(fields=["assessment", "status"], name="learning_attempt_status"),
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id}/{self.student_id}#{self.number}"


class Response(models.Model):
    """The latest answer to one question in an attempt, and its mark."""

    attempt = models.ForeignKey(
        Attempt, verbose_name=_("attempt"), on_delete=models.CASCADE, related_name="responses"
    )
    paper_item = models.ForeignKey(
        PaperItem, verbose_name=_("question"), on_delete=models.PROTECT, related_name="+"
    )
    answer = models.JSONField(_("answer"), null=True, blank=True)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    saved_at = models.DateTimeField(_("saved at"), default=timezone.now)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    auto_marked = models.BooleanField(_("marked automatically"), default=False)
    rubric_scores = models.JSONField(_("rubric scores"), default=list, blank=True)
    feedback = models.TextField(_("feedback"), max_length=EXPLANATION_MAX, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering: ClassVar = ["attempt", "paper_item__position"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["attempt", "paper_item"], name="learning_resp_uniq")
        ]
        indexes: ClassVar = [
            models.Index(fields=["paper_item", "marked_at"], name="learning_resp_item"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.paper_item_id} r{self.revision}"


class ResponseLog(models.Model):
    """Every answer save as it arrived (append-only): nothing a student typed is lost."""

    attempt = models.ForeignKey(
        Attempt, verbose_name=_("attempt"), on_delete=models.CASCADE, related_name="+"
    )
    paper_item = models.ForeignKey(
        PaperItem, verbose_name=_("question"), on_delete=models.PROTECT, related_name="+"
    )
    answer = models.JSONField(_("answer"), null=True, blank=True)
    base_revision = models.PositiveIntegerField(_("based on revision"), default=0)
    accepted = models.BooleanField(_("accepted"), default=True)
    device = models.CharField(_("device"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("answer log entry")
        verbose_name_plural = _("answer log")
        ordering: ClassVar = ["attempt", "received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.paper_item_id} @ {self.received_at}"


class FocusEvent(models.Model):
    """The browser reported focus or connection loss during an attempt."""

    attempt = models.ForeignKey(
        Attempt, verbose_name=_("attempt"), on_delete=models.CASCADE, related_name="focus_events"
    )
    kind = models.CharField(_("event"), max_length=16, choices=FocusEventKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("focus event")
        verbose_name_plural = _("focus events")
        ordering: ClassVar = ["attempt", "occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.attempt_id} {self.kind} @ {self.occurred_at}"
