"""Resources API: review (see docs/apps/resources.md).

The review queue, one task with its findings, diff and trail, claiming, deciding and
reassigning tasks, and reviewer assignments. Handlers read through ``queries.review`` (an
invisible task or assignment is a 404) and write through ``actions.review`` (an ineligible
reviewer is a 403 with ``NOT_ELIGIBLE_REVIEWER``, ``CONFLICT_OF_INTEREST`` or ``FOUR_EYES``; a
task decided meanwhile is a 409 ``TASK_CLOSED``).
"""

from __future__ import annotations

from ninja import Query, Router, Status

from shuyuan.core.api import referenced_org
from shuyuan.core.errors import PermissionDenied
from shuyuan.core.schemas import (
    ApiRequest,
    DbId,
    PageQuery,
    api_field_names,
    error_responses,
    paginate,
)
from shuyuan.identity import queries as identity_queries

from ..actions import review as actions
from ..models import ReviewTask, Subject
from ..queries import review as queries
from ..schemas_review import (
    AssignmentFilter,
    AssignmentIn,
    AssignmentOut,
    AssignmentPageOut,
    DecisionIn,
    QueueFilter,
    ReassignIn,
    ReviewTaskDetailOut,
    ReviewTaskOut,
    ReviewTaskPageOut,
)

SOURCE = "api"

router = Router(tags=["resources"])


def _detail(request: ApiRequest, task: ReviewTask) -> ReviewTaskDetailOut:
    user = request.auth
    version = task.version
    reason = actions.eligibility_error(user, task) if task.status == "open" else None
    # Read by the schema (like registry's batch detail): the ORM task plus computed parts.
    task.findings = list(queries.task_findings(user, version))  # type: ignore[attr-defined]  # read by the schema
    task.diff = [d.__dict__ for d in queries.version_diff(version)]  # type: ignore[attr-defined]  # read by the schema
    task.trail = list(queries.version_trail(user, version))  # type: ignore[attr-defined]  # read by the schema
    task.can_decide = task.status == "open" and reason is None  # type: ignore[attr-defined]  # read by the schema
    task.not_eligible_because = reason or ""  # type: ignore[attr-defined]  # read by the schema
    return ReviewTaskDetailOut.from_orm(task)


def _require_reviewer(request: ApiRequest) -> None:
    if not queries.can_use_queue(request.auth):
        raise PermissionDenied()


@router.get(
    "/review/tasks",
    response={200: ReviewTaskPageOut, **error_responses(403, 422)},
    operation_id="resources_review_task_list",
    summary="List the review queue",
)
def review_queue(
    request: ApiRequest, filters: Query[QueueFilter], page: Query[PageQuery]
) -> ReviewTaskPageOut:
    """Open review tasks the caller may decide, oldest first (403 for an account that does not
    review resources)."""
    _require_reviewer(request)
    qs = queries.review_queue(
        request.auth, stage=filters.stage, mine=filters.mine, unassigned=filters.unassigned
    )
    return paginate(qs, page, ReviewTaskPageOut)


@router.get(
    "/review/tasks/{id}",
    response={200: ReviewTaskDetailOut, **error_responses(404, 422)},
    operation_id="resources_review_task_get",
    summary="Get a review task",
)
def review_task(request: ApiRequest, id: DbId) -> ReviewTaskDetailOut:
    """One task with its version, the automatic audit's findings, the differences from the
    listed version and the review trail of the resource."""
    return _detail(request, queries.access_task(request.auth, id))


@router.post(
    "/review/tasks/{id}/claim",
    response={200: ReviewTaskOut, **error_responses(403, 404, 409, 422)},
    operation_id="resources_review_task_claim",
    summary="Claim a review task",
)
def claim_task(request: ApiRequest, id: DbId) -> ReviewTaskOut:
    """Assign an open task to the caller, who must be eligible (409 ``TASK_ASSIGNED`` if
    someone else has it, ``TASK_CLOSED`` if it was decided)."""
    task = queries.access_task(request.auth, id)
    actions.claim_task(actor=request.auth, task=task, source=SOURCE)
    return ReviewTaskOut.from_orm(queries.access_task(request.auth, id))


@router.post(
    "/review/tasks/{id}/decide",
    response={200: ReviewTaskDetailOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_review_task_decide",
    summary="Decide a review task",
)
def decide_task(request: ApiRequest, id: DbId, payload: DecisionIn) -> ReviewTaskDetailOut:
    """Approve or reject. Approval at submission opens the listing review; at listing or
    update it lists the version. 422 ``REASON_REQUIRED`` / ``BLOCKING_FINDINGS``; 403 for an
    ineligible reviewer; 409 ``TASK_CLOSED`` if it was decided meanwhile."""
    task = queries.access_task(request.auth, id)
    actions.decide(
        actor=request.auth,
        task=task,
        decision=payload.decision,
        reason=payload.reason,
        override_findings=payload.override_findings,
        source=SOURCE,
    )
    return _detail(request, queries.access_task(request.auth, id))


@router.post(
    "/review/tasks/{id}/reassign",
    response={200: ReviewTaskOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_review_task_reassign",
    summary="Reassign a review task",
)
def reassign_task(request: ApiRequest, id: DbId, payload: ReassignIn) -> ReviewTaskOut:
    """An admin of the resource's organisation gives an open task to an eligible reviewer, or
    back to the shared queue (``reviewer_id: null``)."""
    task = queries.access_task(request.auth, id)
    reviewer = None
    if payload.reviewer_id is not None:
        with api_field_names(field="reviewer_id"):
            reviewer = identity_queries.access_user(request.auth, payload.reviewer_id)
    with api_field_names({"reviewer": "reviewer_id"}):
        actions.reassign_task(actor=request.auth, task=task, reviewer=reviewer, source=SOURCE)
    return ReviewTaskOut.from_orm(queries.access_task(request.auth, id))


@router.get(
    "/review/assignments",
    response={200: AssignmentPageOut, **error_responses(422)},
    operation_id="resources_review_assignment_list",
    summary="List reviewer assignments",
)
def list_assignments(
    request: ApiRequest, filters: Query[AssignmentFilter], page: Query[PageQuery]
) -> AssignmentPageOut:
    """The caller's own assignments, and for admins those of their org subtrees."""
    qs = queries.list_assignments(request.auth, active=filters.active)
    return paginate(qs, page, AssignmentPageOut)


@router.post(
    "/review/assignments",
    response={201: AssignmentOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_review_assignment_create",
    summary="Assign a reviewer",
)
def create_assignment(request: ApiRequest, payload: AssignmentIn) -> Status[AssignmentOut]:
    """Let a reviewer review ``org_id``'s subtree (one subject or all) at some stages. The
    caller must administer the org; the reviewer must hold the resource reviewer role there
    (422 ``NOT_A_REVIEWER``)."""
    user = request.auth
    org = referenced_org(request, payload.org_id, "org_id")
    with api_field_names(field="reviewer_id"):
        reviewer = identity_queries.access_user(user, payload.reviewer_id)
    subject: Subject | None = None
    if payload.subject_id is not None:
        with api_field_names(field="subject_id"):
            subject = queries.access_subject(user, payload.subject_id)
    with api_field_names({"reviewer": "reviewer_id", "org": "org_id", "subject": "subject_id"}):
        assignment = actions.create_assignment(
            actor=user,
            reviewer=reviewer,
            org=org,
            subject=subject,
            stages=[str(s) for s in payload.stages],
            source=SOURCE,
        )
    found = queries.access_assignment(user, assignment.pk)
    return Status(201, AssignmentOut.from_orm(found))


@router.post(
    "/review/assignments/{id}/deactivate",
    response={200: AssignmentOut, **error_responses(403, 404, 422)},
    operation_id="resources_review_assignment_deactivate",
    summary="End a reviewer assignment",
)
def deactivate_assignment(request: ApiRequest, id: DbId) -> AssignmentOut:
    """End an assignment (admins of its org); open tasks its reviewer may no longer decide go
    back to the shared queue."""
    assignment = queries.access_assignment(request.auth, id)
    actions.deactivate_assignment(actor=request.auth, assignment=assignment, source=SOURCE)
    return AssignmentOut.from_orm(queries.access_assignment(request.auth, id))
