"""Review workflow reads: the review queue, one task, a resource's review trail, the
differences between a version and the listed one, reviewer assignments.

Everything is scoped with ``visible_to`` (rules in ``resources.permissions``): an invisible task
or assignment is ``NotFound``. The queue narrows the tasks a user may review to those they are
eligible to decide, in SQL: the user's active assignments become one condition per assignment
(org subtree, subject, stages), and conflict of interest and four eyes are exclusions.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.scoping import has_permission
from shuyuan.identity.queries import role_paths

from ..choices import AuditSeverity, ReviewStage, ReviewTaskStatus, VersionStatus
from ..models import AuditFinding, ResourceVersion, ReviewerAssignment, ReviewTask, Subject
from ..permissions import ADMIN_ROLES

QUEUE_FILTERS = ("all", "mine", "unassigned")

#: Version fields compared by ``version_diff``, in display order.
DIFF_FIELDS = (
    "title",
    "description",
    "subject",
    "stage",
    "grade",
    "edition",
    "chapter",
    "resource_type",
    "licence",
    "licence_expires",
    "external_url",
    "content_sm3",
    "file_name",
)


def _task_rows(qs: QuerySet[ReviewTask]) -> QuerySet[ReviewTask]:
    return qs.select_related(
        "version",
        "version__subject",
        "version__resource",
        "version__resource__org",
        "assignee",
        "decided_by",
    )


def _eligible_condition(user: Any) -> Q | None:
    """Tasks ``user``'s active assignments cover (org subtree, subject, stage); ``None`` if the
    user has no assignment. One query for the assignments, none per task."""
    conditions = []
    assignments = ReviewerAssignment.objects.filter(reviewer=user, active=True).select_related(
        "org"
    )
    for a in assignments:
        stages = [s for s in (a.stages or []) if s in ReviewStage.values]
        if not stages:
            continue
        cond = Q(version__resource__org__path__startswith=a.org.path, stage__in=stages)
        if a.subject_id is not None:
            cond &= Q(version__subject=a.subject_id)
        conditions.append(cond)
    return reduce(operator.or_, conditions) if conditions else None


def review_queue(
    user: Any, stage: str | None = None, mine: bool = False, unassigned: bool = False
) -> QuerySet[ReviewTask]:
    """Open tasks ``user`` is eligible to decide, oldest first; ``stage`` narrows to one stage,
    ``mine`` to tasks assigned to the user, ``unassigned`` to the shared queue."""
    # A task whose version left review (withdrawn) or moved on is not waiting for anyone.
    qs: QuerySet[ReviewTask] = ReviewTask.objects.visible_to(user, "review").filter(
        status=ReviewTaskStatus.OPEN,
        version__status=VersionStatus.IN_REVIEW,
        version__review_stage=F("stage"),
    )
    if not user.is_platform_admin:
        condition = _eligible_condition(user)
        if condition is None:
            return ReviewTask.objects.none()
        qs = qs.filter(condition)
    qs = qs.exclude(version__resource__created_by=user.pk).exclude(version__created_by=user.pk)
    partner = Subquery(
        ReviewTask.objects.filter(
            version=OuterRef("version"),
            stage=ReviewStage.SUBMISSION,
            status=ReviewTaskStatus.DECIDED,
        )
        .order_by("-decided_at", "-pk")
        .values("decided_by")[:1]
    )
    qs = qs.annotate(
        submission_decider=Coalesce(partner, Value(0), output_field=IntegerField())
    ).exclude(stage=ReviewStage.LISTING, submission_decider=user.pk)
    if stage:
        qs = qs.filter(stage=stage)
    if mine:
        qs = qs.filter(assignee=user.pk)
    elif unassigned:
        qs = qs.filter(assignee__isnull=True)
    return _task_rows(qs).order_by("created_at", "pk")


def queue_counts(user: Any) -> dict[str, int]:
    """How many open tasks ``user`` is eligible for, per stage (every stage present)."""
    counts = dict.fromkeys(ReviewStage.values, 0)
    rows = review_queue(user).order_by().values_list("stage").annotate(n=Count("pk"))
    for stage, n in rows:
        counts[stage] = n
    return counts


def can_use_queue(user: Any) -> bool:
    """Does ``user`` review resources at all (platform admin or a reviewer role)?"""
    return has_permission(user, "resources.review")


def access_task(user: Any, pk: int) -> ReviewTask:
    """The task ``pk`` if ``user`` may see it (submitter, admins, reviewers of the subtree)."""
    task: ReviewTask | None = _task_rows(ReviewTask.objects.visible_to(user)).filter(pk=pk).first()
    if task is None:
        raise NotFound(_("Review task not found."), code="TASK_NOT_FOUND")
    return task


def version_trail(user: Any, version: ResourceVersion) -> QuerySet[ReviewTask]:
    """Every review task of every version of ``version``'s resource that ``user`` may see, in
    order (version, opening time)."""
    qs: QuerySet[ReviewTask] = ReviewTask.objects.visible_to(user).filter(
        version__resource=version.resource_id
    )
    return _task_rows(qs).order_by("version__number", "created_at", "pk")


def task_findings(user: Any, version: ResourceVersion) -> QuerySet[AuditFinding]:
    """The automatic audit's findings on ``version``, blocking ones first."""
    order = {AuditSeverity.BLOCK: 0, AuditSeverity.WARN: 1, AuditSeverity.INFO: 2}
    rows: QuerySet[AuditFinding] = AuditFinding.objects.visible_to(user).filter(version=version)
    rank = Case(
        *(When(severity=s, then=Value(n)) for s, n in order.items()),
        default=Value(3),
        output_field=IntegerField(),
    )
    ranked: QuerySet[AuditFinding] = rows.annotate(rank=rank).order_by("rank", "pk")
    return ranked


def other_versions(user: Any, version: ResourceVersion) -> QuerySet[ResourceVersion]:
    """The resource's other versions ``user`` may read, newest first."""
    return (
        ResourceVersion.objects.visible_to(user)
        .filter(resource=version.resource_id)
        .exclude(pk=version.pk)
        .select_related("subject")
        .order_by("-number")
    )


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs between the listed version and the version under review."""

    field: str
    label: str
    old: str
    new: str


def _display(version: ResourceVersion, name: str) -> str:
    field = ResourceVersion._meta.get_field(name)
    value = getattr(version, name)
    if value is None or value == "":
        return ""
    if getattr(field, "choices", None):
        return str(getattr(version, f"get_{name}_display")())
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def version_diff(version: ResourceVersion) -> list[FieldDiff]:
    """Field-by-field differences between ``version`` and its resource's listed version
    (empty when nothing is listed or ``version`` is the listed one)."""
    listed_id = version.resource.listed_version_id
    if listed_id is None or listed_id == version.pk:
        return []
    listed = ResourceVersion.objects.select_related("subject", "edition", "chapter").get(
        pk=listed_id
    )
    diffs = []
    for name in DIFF_FIELDS:
        field = ResourceVersion._meta.get_field(name)
        old_raw = getattr(listed, getattr(field, "attname", name))
        new_raw = getattr(version, getattr(field, "attname", name))
        if old_raw == new_raw:
            continue
        diffs.append(
            FieldDiff(
                field=name,
                label=str(getattr(field, "verbose_name", name)),
                old=_display(listed, name),
                new=_display(version, name),
            )
        )
    return diffs


def can_manage_assignments(user: Any) -> bool:
    """Does ``user`` administer an org subtree (may assign reviewers there)?"""
    return bool(user.is_platform_admin) or bool(role_paths(user, ADMIN_ROLES))


def list_assignments(user: Any, *, active: bool | None = None) -> QuerySet[ReviewerAssignment]:
    """Reviewer assignments ``user`` may see (their own; admins: those of their subtrees)."""
    qs: QuerySet[ReviewerAssignment] = ReviewerAssignment.objects.visible_to(user).select_related(
        "reviewer", "org", "subject"
    )
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("-active", "org__path", "reviewer__username", "pk")


def access_assignment(user: Any, pk: int, action: str = "view") -> ReviewerAssignment:
    """The assignment ``pk`` if ``user`` may ``action`` it; otherwise ``NotFound``."""
    found: ReviewerAssignment | None = (
        ReviewerAssignment.objects.visible_to(user, action)
        .select_related("reviewer", "org", "subject")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Reviewer assignment not found."), code="ASSIGNMENT_NOT_FOUND")
    return found


def changeable_assignment_ids(user: Any, ids: list[int]) -> set[int]:
    """Which of the assignments ``ids`` ``user`` may end."""
    rows: QuerySet[ReviewerAssignment] = ReviewerAssignment.objects.visible_to(
        user, "change"
    ).filter(pk__in=ids)
    return set(rows.values_list("pk", flat=True))


def subject_choices(user: Any) -> QuerySet[Subject]:
    """Subjects an assignment can be limited to."""
    subjects: QuerySet[Subject] = Subject.objects.visible_to(user).order_by("order", "code")
    return subjects


def access_subject(user: Any, pk: int) -> Subject:
    """The subject ``pk``; ``NotFound`` if there is none visible."""
    found: Subject | None = Subject.objects.visible_to(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Subject not found."), code="SUBJECT_NOT_FOUND")
    return found
