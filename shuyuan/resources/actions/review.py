"""Review workflow writes (提供必审、上线必审、更新必审): opening, claiming, reassigning and
deciding review tasks, and managing reviewer assignments.

A version whose audit finished is ``IN_REVIEW`` at ``review_stage`` (``submission`` for a first
version, ``update`` for a later version of a listed resource). ``open_review`` opens one task for
(version, stage) and assigns it when exactly one eligible reviewer has the fewest open tasks;
otherwise the task waits unassigned in the shared queue. Approving at submission opens the
listing task; approving at listing or update lists the version (the previous listed version is
superseded) and sends ``version_listed`` and ``resource_changed``.

Eligibility (``eligibility_error``): an active assignment covering the resource's org subtree,
the version's subject (or any subject) and the task's stage, and the ``review`` scope on the
resource; never the submitter or the version's creator (conflict of interest); at listing, not
the person who decided the submission review of the same version (four eyes). Platform admins
need no assignment, but conflict of interest and four eyes apply to them too.

Every decision is a change-logged update of the task (who, when, decision, reason) plus an
audit event: ``resources.review.approved``, ``resources.review.rejected``,
``resources.review.overridden`` (blocking audit findings overridden). Assignment changes write
``resources.review.assignment_created`` / ``resources.review.assignment_deactivated``, a
reassignment ``resources.review.reassigned``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context, get_change_context
from shuyuan.core.errors import Conflict, PermissionDenied, invalid
from shuyuan.core.models import Org
from shuyuan.identity.queries import role_paths

from .. import signals
from ..choices import (
    AuditSeverity,
    ResourceStatus,
    ReviewDecision,
    ReviewStage,
    ReviewTaskStatus,
    VersionStatus,
)
from ..models import (
    AuditFinding,
    Resource,
    ResourceVersion,
    ReviewerAssignment,
    ReviewTask,
    Subject,
)
from ..permissions import ADMIN_ROLES, REVIEW_ROLES

#: Shortest reason accepted for a rejection or an override of blocking findings.
REASON_MIN = 5
REASON_MAX = 5000

NOT_ELIGIBLE = "NOT_ELIGIBLE_REVIEWER"
CONFLICT_OF_INTEREST = "CONFLICT_OF_INTEREST"
FOUR_EYES = "FOUR_EYES"


# --- eligibility -------------------------------------------------------------------------------


def path_prefixes(path: str) -> list[str]:
    """Every org path that covers ``path`` (its ancestors' paths and itself): ``a/b/`` →
    ``["a/", "a/b/"]``. A subtree contains an org iff the subtree's path is among these."""
    parts = [p for p in path.split("/") if p]
    return ["".join(f"{p}/" for p in parts[: i + 1]) for i in range(len(parts))]


def assignment_matches(
    assignment: ReviewerAssignment, version: ResourceVersion, stage: str
) -> bool:
    """Does ``assignment`` cover the version's resource org, subject and ``stage``?"""
    return (
        assignment.active
        and version.resource.org.path.startswith(assignment.org.path)
        and (assignment.subject_id is None or assignment.subject_id == version.subject_id)
        and stage in (assignment.stages or [])
    )


def submission_decider_id(version: ResourceVersion) -> int | None:
    """Who decided the latest submission review of ``version`` (the four-eyes partner)."""
    task = (
        ReviewTask.objects.filter(
            version=version, stage=ReviewStage.SUBMISSION, status=ReviewTaskStatus.DECIDED
        )
        .order_by("-decided_at", "-pk")
        .only("decided_by_id")
        .first()
    )
    return task.decided_by_id if task is not None else None


def _has_review_scope(user: Any, resource: Resource) -> bool:
    if user.is_platform_admin:
        return True
    path = resource.org.path
    return any(path.startswith(p) for p in role_paths(user, REVIEW_ROLES))


def eligibility_error(user: Any, task: ReviewTask) -> str | None:
    """``None`` if ``user`` may decide ``task`` now, else why not: ``CONFLICT_OF_INTEREST``,
    ``FOUR_EYES`` or ``NOT_ELIGIBLE_REVIEWER``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOT_ELIGIBLE
    version = task.version
    resource = version.resource
    if user.pk in (resource.created_by_id, version.created_by_id):
        return CONFLICT_OF_INTEREST
    if not user.is_platform_admin:
        if not _has_review_scope(user, resource):
            return NOT_ELIGIBLE
        assignments = ReviewerAssignment.objects.filter(
            reviewer=user, active=True, org__path__in=path_prefixes(resource.org.path)
        ).select_related("org")
        if not any(assignment_matches(a, version, task.stage) for a in assignments):
            return NOT_ELIGIBLE
    if task.stage == ReviewStage.LISTING and submission_decider_id(version) == user.pk:
        return FOUR_EYES
    return None


def _eligibility_exception(code: str, field: str | None = None) -> PermissionDenied:
    messages = {
        CONFLICT_OF_INTEREST: _(
            "You submitted or edited this resource, so you cannot review it (conflict of interest)."
        ),
        FOUR_EYES: _(
            "You decided the submission review of this version; another reviewer must decide "
            "its listing review (four-eyes principle)."
        ),
        NOT_ELIGIBLE: _(
            "This reviewer is not assigned to review this resource's organisation, subject "
            "and stage."
        ),
    }
    return PermissionDenied(messages[code], code=code, field=field)


def require_eligible(user: Any, task: ReviewTask, *, field: str | None = None) -> None:
    """Raise ``PermissionDenied`` (with the eligibility code) unless ``user`` may decide."""
    code = eligibility_error(user, task)
    if code is not None:
        raise _eligibility_exception(code, field)


def eligible_reviewers(task: ReviewTask) -> list[Any]:
    """Active accounts with an assignment that makes them eligible for ``task``."""
    version = task.version
    resource = version.resource
    candidates = (
        ReviewerAssignment.objects.filter(
            active=True,
            reviewer__is_active=True,
            org__path__in=path_prefixes(resource.org.path),
        )
        .filter(Q(subject__isnull=True) | Q(subject=version.subject_id))
        .exclude(reviewer__in=[resource.created_by_id, version.created_by_id])
        .select_related("reviewer", "org")
    )
    partner = submission_decider_id(version) if task.stage == ReviewStage.LISTING else None
    found: dict[int, Any] = {}
    for assignment in candidates:
        user = assignment.reviewer
        if user.pk in found or user.pk == partner:
            continue
        if task.stage in (assignment.stages or []) and _has_review_scope(user, resource):
            found[user.pk] = user
    return list(found.values())


def pick_reviewer(task: ReviewTask) -> Any | None:
    """The eligible reviewer with the fewest open tasks, if exactly one has the fewest."""
    reviewers = eligible_reviewers(task)
    if not reviewers:
        return None
    loads = dict(
        ReviewTask.objects.filter(
            status=ReviewTaskStatus.OPEN, assignee__in=[u.pk for u in reviewers]
        )
        .values_list("assignee")
        .annotate(n=Count("pk"))
    )
    least = min(loads.get(u.pk, 0) for u in reviewers)
    best = [u for u in reviewers if loads.get(u.pk, 0) == least]
    return best[0] if len(best) == 1 else None


# --- helpers -----------------------------------------------------------------------------------


def _source(default: str) -> str:
    ctx = get_change_context()
    return ctx.source if ctx is not None else default


def _clean_reason(value: str, *, required: bool, overriding: bool = False) -> str:
    reason = (value or "").strip()
    if len(reason) > REASON_MAX:
        raise invalid(
            "reason",
            "TOO_LONG",
            _("At most %(limit)d characters are allowed.") % {"limit": REASON_MAX},
        )
    if required and len(reason) < REASON_MIN:
        if overriding:
            message = _(
                "Give a reason of at least %(min)d characters for overriding the audit findings."
            )
        else:
            message = _("Give a reason of at least %(min)d characters for the rejection.")
        raise invalid("reason", "REASON_REQUIRED", message % {"min": REASON_MIN})
    return reason


def _task_closed() -> Conflict:
    return Conflict(_("This review task is no longer open."), code="TASK_CLOSED")


def _is_resource_admin(actor: Any, resource: Resource) -> bool:
    if actor.is_platform_admin:
        return True
    return any(resource.org.path.startswith(p) for p in role_paths(actor, ADMIN_ROLES))


def _locked_task(task: ReviewTask) -> ReviewTask:
    locked: ReviewTask = ReviewTask.objects.select_for_update().get(pk=task.pk)
    locked.version = (
        ResourceVersion.objects.select_for_update().select_related(None).get(pk=locked.version_id)
    )
    locked.version.resource = Resource.objects.select_for_update().get(
        pk=locked.version.resource_id
    )
    return locked


def has_blocking_findings(version: ResourceVersion) -> bool:
    """Does the automatic audit of ``version`` have a blocking finding?"""
    return AuditFinding.objects.filter(version=version, severity=AuditSeverity.BLOCK).exists()


# --- tasks -------------------------------------------------------------------------------------


def open_review(*, actor: Any, version: ResourceVersion) -> ReviewTask:
    """Open the review task of ``version`` at its ``review_stage`` (or return the open one) and
    assign it if exactly one eligible reviewer has the fewest open tasks.

    Called by the ``version_submitted`` receiver inside the submitting transaction, and by
    ``decide`` after a submission approval. Raises ``Conflict`` (``VERSION_NOT_IN_REVIEW``) for a
    version that is not waiting for review.
    """
    if version.status != VersionStatus.IN_REVIEW or version.review_stage not in ReviewStage.values:
        raise Conflict(_("This version is not waiting for review."), code="VERSION_NOT_IN_REVIEW")
    stage = version.review_stage
    with transaction.atomic(), change_context(actor=actor, source=_source("system")):
        existing: ReviewTask | None = ReviewTask.objects.filter(
            version=version, stage=stage, status=ReviewTaskStatus.OPEN
        ).first()
        if existing is not None:
            return existing
        # Tasks left open at another stage (the version was withdrawn and resubmitted) close.
        now = timezone.now()
        stale = ReviewTask.objects.select_for_update().filter(
            version=version, status=ReviewTaskStatus.OPEN
        )
        for old in stale.exclude(stage=stage):
            old.status = ReviewTaskStatus.CANCELLED
            old.decided_at = now
            old.save()
        task = ReviewTask(version=version, stage=stage)
        task.assignee = pick_reviewer(task)
        try:
            with transaction.atomic():
                task.save(force_insert=True)
        except IntegrityError:
            # Another transaction opened it first (the partial unique constraint).
            found: ReviewTask = ReviewTask.objects.get(
                version=version, stage=stage, status=ReviewTaskStatus.OPEN
            )
            return found
    return task


def claim_task(*, actor: Any, task: ReviewTask, source: str = "ui") -> ReviewTask:
    """Assign an open task to ``actor``, who must be eligible to decide it. A task assigned to
    someone else is ``Conflict`` (``TASK_ASSIGNED``); an admin can reassign it."""
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked = _locked_task(task)
        if locked.status != ReviewTaskStatus.OPEN:
            raise _task_closed()
        require_eligible(actor, locked)
        if locked.assignee_id not in (None, actor.pk):
            raise Conflict(_("This task is assigned to another reviewer."), code="TASK_ASSIGNED")
        if locked.assignee_id != actor.pk:
            locked.assignee = actor
            locked.save()
    return locked


def reassign_task(
    *, actor: Any, task: ReviewTask, reviewer: Any | None, source: str = "ui"
) -> ReviewTask:
    """An admin of the resource's org subtree gives an open task to an eligible ``reviewer``
    (or back to the shared queue with ``None``)."""
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked = _locked_task(task)
        if not _is_resource_admin(actor, locked.version.resource):
            raise PermissionDenied(
                _("Only administrators of the resource's organisation can reassign its reviews.")
            )
        if locked.status != ReviewTaskStatus.OPEN:
            raise _task_closed()
        if reviewer is not None:
            require_eligible(reviewer, locked, field="reviewer")
        previous = locked.assignee_id
        locked.assignee = reviewer
        locked.save()
        record_audit(
            "resources.review.reassigned",
            actor=actor,
            subject=locked,
            org_path=locked.version.resource.org.path,
            extra={"from": previous, "to": reviewer.pk if reviewer is not None else None},
        )
    return locked


def decide(
    *,
    actor: Any,
    task: ReviewTask,
    decision: str,
    reason: str = "",
    override_findings: bool = False,
    source: str = "ui",
) -> ReviewTask:
    """Approve or reject an open task.

    Rejecting needs a reason (``REASON_REQUIRED``); the version is rejected and so is the
    resource unless an earlier version is listed (which stays public). Approving a version with
    blocking audit findings needs ``override_findings`` and a reason (``BLOCKING_FINDINGS``).
    Approval at submission opens the listing review; at listing or update it lists the version.
    The task and version rows are locked, so of two simultaneous decisions the second is
    ``Conflict`` (``TASK_CLOSED``). Eligibility errors are ``PermissionDenied`` with the codes
    ``NOT_ELIGIBLE_REVIEWER``, ``CONFLICT_OF_INTEREST``, ``FOUR_EYES``.
    """
    if decision not in ReviewDecision.values:
        raise invalid("decision", "INVALID_CHOICE", _("Choose approve or reject."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked = _locked_task(task)
        if locked.status != ReviewTaskStatus.OPEN:
            raise _task_closed()
        require_eligible(actor, locked)
        version = locked.version
        resource = version.resource
        if version.status != VersionStatus.IN_REVIEW or version.review_stage != locked.stage:
            raise _task_closed()
        overriding = False
        if decision == ReviewDecision.REJECT:
            text = _clean_reason(reason, required=True)
        elif has_blocking_findings(version):
            if not override_findings:
                raise invalid(
                    "override_findings",
                    "BLOCKING_FINDINGS",
                    _(
                        "The automatic audit found blocking problems; approve only by "
                        "overriding them with a reason."
                    ),
                )
            text = _clean_reason(reason, required=True, overriding=True)
            overriding = True
        else:
            text = _clean_reason(reason, required=False)
        now = timezone.now()
        locked.status = ReviewTaskStatus.DECIDED
        locked.decision = decision
        locked.reason = text
        locked.override_findings = overriding
        locked.decided_by = actor
        locked.decided_at = now
        if locked.assignee_id is None:
            locked.assignee = actor
        locked.save()
        org_path = resource.org.path
        extra = {"version": version.pk, "stage": locked.stage, "reason": text[:500]}
        if decision == ReviewDecision.REJECT:
            _reject(version, resource, now)
            record_audit(
                "resources.review.rejected",
                actor=actor,
                subject=locked,
                org_path=org_path,
                extra=extra,
            )
            return locked
        if overriding:
            record_audit(
                "resources.review.overridden",
                actor=actor,
                subject=locked,
                org_path=org_path,
                extra=extra,
            )
        record_audit(
            "resources.review.approved", actor=actor, subject=locked, org_path=org_path, extra=extra
        )
        if locked.stage == ReviewStage.SUBMISSION:
            version.review_stage = ReviewStage.LISTING
            version.save()
            open_review(actor=actor, version=version)
        else:
            _list(actor, version, resource, now)
    return locked


def _reject(version: ResourceVersion, resource: Resource, now: Any) -> None:
    version.status = VersionStatus.REJECTED
    version.decided_at = now
    version.save()
    if resource.listed_version_id is None and resource.status != ResourceStatus.REJECTED:
        resource.status = ResourceStatus.REJECTED
        resource.save()


def _list(actor: Any, version: ResourceVersion, resource: Resource, now: Any) -> None:
    previous: ResourceVersion | None = None
    if resource.listed_version_id not in (None, version.pk):
        previous = ResourceVersion.objects.select_for_update().get(pk=resource.listed_version_id)
        previous.status = VersionStatus.SUPERSEDED
        previous.save()
    version.status = VersionStatus.APPROVED
    version.decided_at = now
    version.save()
    resource.listed_version = version
    resource.status = ResourceStatus.LISTED
    if resource.listed_at is None:
        resource.listed_at = now
    resource.save()
    signals.version_listed.send(
        sender=ResourceVersion, version=version, previous=previous, actor=actor
    )
    signals.resource_changed.send(sender=Resource, resource_id=resource.pk)


def cancel_open_tasks(*, actor: Any, version: ResourceVersion, source: str = "ui") -> int:
    """Cancel the open review tasks of ``version`` (it was withdrawn); returns how many.

    ``actor`` must be the system or someone who may change the resource (the submitter or an
    admin of its org subtree).
    """
    with transaction.atomic(), change_context(actor=actor, source=_source(source)):
        if not getattr(actor, "is_system_actor", False) and not (
            Resource.objects.visible_to(actor, "change").filter(pk=version.resource_id).exists()
        ):
            raise PermissionDenied()
        tasks = list(
            ReviewTask.objects.select_for_update().filter(
                version=version, status=ReviewTaskStatus.OPEN
            )
        )
        now = timezone.now()
        for task in tasks:
            task.status = ReviewTaskStatus.CANCELLED
            task.decided_at = now
            task.save()
    return len(tasks)


# --- reviewer assignments ----------------------------------------------------------------------


def _check_org_admin(actor: Any, org: Org | None) -> Org:
    if org is None:
        raise invalid("org", "REQUIRED", _("Choose the organisation."))
    if actor.is_platform_admin:
        return org
    if not any(org.path.startswith(p) for p in role_paths(actor, ADMIN_ROLES)):
        raise PermissionDenied(
            _("You cannot assign reviewers in %(org)s.") % {"org": org}, field="org"
        )
    return org


def clean_stages(values: Iterable[Any]) -> list[str]:
    """``values`` as review stages in workflow order; unknown or none raise on ``stages``."""
    chosen = list(values or [])
    if any(v not in ReviewStage.values for v in chosen):
        raise invalid("stages", "INVALID_CHOICE", _("Choose review stages from the list."))
    if not chosen:
        raise invalid("stages", "REQUIRED", _("Choose at least one review stage."))
    return [s for s in ReviewStage.values if s in chosen]


def create_assignment(
    *,
    actor: Any,
    reviewer: Any,
    org: Org | None,
    subject: Subject | None,
    stages: Iterable[Any],
    source: str = "ui",
) -> ReviewerAssignment:
    """Let ``reviewer`` review resources of ``org``'s subtree (of ``subject``, or every subject)
    at ``stages``. ``actor`` must administer ``org``; ``reviewer`` must hold the resource
    reviewer role at an org overlapping it (``NOT_A_REVIEWER``)."""
    org = _check_org_admin(actor, org)
    chosen = clean_stages(stages)
    if reviewer is None:
        raise invalid("reviewer", "REQUIRED", _("Choose the reviewer."))
    paths = role_paths(reviewer, REVIEW_ROLES)
    if not reviewer.is_active or not any(
        p.startswith(org.path) or org.path.startswith(p) for p in paths
    ):
        raise invalid(
            "reviewer",
            "NOT_A_REVIEWER",
            _("This account does not hold the resource reviewer role in this organisation."),
        )
    duplicate = ReviewerAssignment.objects.filter(
        reviewer=reviewer, org=org, subject=subject, active=True
    ).exists()
    if duplicate:
        raise Conflict(
            _("This reviewer already has an active assignment for this organisation and subject."),
            code="ASSIGNMENT_EXISTS",
            field="reviewer",
        )
    assignment = ReviewerAssignment(reviewer=reviewer, org=org, subject=subject, stages=chosen)
    with transaction.atomic(), change_context(actor=actor, source=source):
        assignment.save(force_insert=True)
        record_audit(
            "resources.review.assignment_created",
            actor=actor,
            subject=assignment,
            org_path=org.path,
            extra={
                "reviewer": reviewer.pk,
                "subject": subject.pk if subject is not None else None,
                "stages": chosen,
            },
        )
    return assignment


def deactivate_assignment(
    *, actor: Any, assignment: ReviewerAssignment, source: str = "ui"
) -> ReviewerAssignment:
    """End an assignment; open tasks assigned to its reviewer that they may no longer decide
    go back to the shared queue."""
    if not ReviewerAssignment.objects.visible_to(actor, "change").filter(pk=assignment.pk).exists():
        raise PermissionDenied(_("You cannot change this reviewer assignment."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked = ReviewerAssignment.objects.select_for_update().get(pk=assignment.pk)
        if not locked.active:
            return locked
        locked.active = False
        locked.save()
        reviewer = locked.reviewer
        for task in ReviewTask.objects.select_for_update().filter(
            assignee=reviewer, status=ReviewTaskStatus.OPEN
        ):
            if eligibility_error(reviewer, task) is not None:
                task.assignee = None
                task.save()
        record_audit(
            "resources.review.assignment_deactivated",
            actor=actor,
            subject=locked,
            org_path=locked.org.path,
            extra={"reviewer": reviewer.pk},
        )
    return locked
