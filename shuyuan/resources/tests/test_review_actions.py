"""The review workflow: submission → listing → listed, update review, rejection and
resubmission, eligibility (conflict of interest, four eyes, assignments), blocking findings,
double decisions, assignments, the queue and the diff."""

from __future__ import annotations

from typing import Any

import pytest

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.core.models import AuditEvent, ChangeRecord
from shuyuan.identity.models import Role
from shuyuan.resources import signals
from shuyuan.resources.actions import review as actions
from shuyuan.resources.choices import (
    AuditSeverity,
    ProviderKind,
    ResourceStatus,
    ResourceType,
    ReviewStage,
    ReviewTaskStatus,
    Stage,
    VersionStatus,
)
from shuyuan.resources.models import (
    AuditFinding,
    Resource,
    ResourceVersion,
    ReviewerAssignment,
    ReviewTask,
)
from shuyuan.resources.queries import review as queries


def make_resource(w: Any, *, owner: Any = None, org: Any = None, subject: Any = None) -> Resource:
    owner = owner or w.teacher_a
    with change_context(actor=system_actor(), source="system"):
        resource = Resource(
            org=org or w.tree.school_a,
            provider_kind=ProviderKind.TEACHER,
            provider_name="Teacher A",
            created_by=owner,
            status=ResourceStatus.IN_REVIEW,
        )
        resource.save(force_insert=True)
    return resource


def submit_version(
    w: Any, resource: Resource, *, number: int = 1, title: str = "勾股定理微课", **fields: Any
) -> ResourceVersion:
    """A version that finished its audit, sent to review as the submission engineer does."""
    stage = ReviewStage.UPDATE if resource.listed_version_id else ReviewStage.SUBMISSION
    with change_context(actor=system_actor(), source="system"):
        version = ResourceVersion(
            resource=resource,
            number=number,
            status=VersionStatus.IN_REVIEW,
            review_stage=stage,
            title=title,
            subject=fields.pop("subject", w.math),
            stage=Stage.JUNIOR,
            grade="08",
            edition=w.edition,
            chapter=w.chapter,
            resource_type=ResourceType.MICRO_LESSON,
            licence="CC BY 4.0",
            created_by=fields.pop("created_by", resource.created_by),
            **fields,
        )
        version.save(force_insert=True)
        signals.version_submitted.send(
            sender=ResourceVersion, version=version, actor=resource.created_by
        )
    return version


def open_task(version: ResourceVersion) -> ReviewTask:
    return ReviewTask.objects.get(version=version, status=ReviewTaskStatus.OPEN)


@pytest.fixture
def w(res_world: Any) -> Any:
    return res_world


@pytest.fixture
def second_reviewer(w: Any, make_user: Any) -> Any:
    """Another region-wide reviewer of every stage (needed for four eyes at listing)."""
    user = make_user(Role.RESOURCE_REVIEWER, w.tree.region, username="reviewer_2")
    with change_context(actor=system_actor(), source="system"):
        ReviewerAssignment(
            reviewer=user, org=w.tree.region, subject=None, stages=list(ReviewStage.values)
        ).save(force_insert=True)
    return user


def test_full_path_submission_listing_listed(w, second_reviewer):
    listed: list[Any] = []

    def on_listed(sender: Any, version: Any, previous: Any, actor: Any, **kw: Any) -> None:
        listed.append((version.pk, previous, actor.pk))

    signals.version_listed.connect(on_listed, dispatch_uid="test_review_listed")
    try:
        resource = make_resource(w)
        version = submit_version(w, resource)
        task = open_task(version)
        assert task.stage == ReviewStage.SUBMISSION
        # Two region reviewers with no open tasks tie: the task waits in the shared queue.
        assert task.assignee is None
        assert not ResourceVersion.objects.visible_to(w.student_a).filter(pk=version.pk).exists()
        assert not Resource.objects.visible_to(w.student_a).exists()

        actions.decide(actor=w.reviewer, task=task, decision="approve")
        version.refresh_from_db()
        assert version.review_stage == ReviewStage.LISTING
        assert version.status == VersionStatus.IN_REVIEW
        listing = open_task(version)
        assert listing.stage == ReviewStage.LISTING
        # Four eyes: the submission decider is not eligible, so the other one is assigned.
        assert listing.assignee == second_reviewer
        assert not Resource.objects.visible_to(w.student_a).exists()

        actions.decide(actor=second_reviewer, task=listing, decision="approve", reason="Good.")
    finally:
        signals.version_listed.disconnect(dispatch_uid="test_review_listed")
    version.refresh_from_db()
    resource.refresh_from_db()
    assert version.status == VersionStatus.APPROVED and version.decided_at is not None
    assert resource.status == ResourceStatus.LISTED
    assert resource.listed_version_id == version.pk and resource.listed_at is not None
    assert listed == [(version.pk, None, second_reviewer.pk)]
    assert ResourceVersion.objects.visible_to(w.student_a).filter(pk=version.pk).exists()
    codes = list(
        AuditEvent.objects.filter(code__startswith="resources.review.").values_list(
            "code", flat=True
        )
    )
    assert codes.count("resources.review.approved") == 2
    trail = list(queries.version_trail(w.reviewer, version))
    assert [(t.stage, t.decision, t.decided_by_id) for t in trail] == [
        (ReviewStage.SUBMISSION, "approve", w.reviewer.pk),
        (ReviewStage.LISTING, "approve", second_reviewer.pk),
    ]
    # The decision is in the change log of the task.
    record = ChangeRecord.objects.filter(
        target_type="resources.reviewtask", target_id=str(listing.pk), action="update"
    ).last()
    assert record is not None
    assert record.actor_id == second_reviewer.pk
    assert record.changes["decision"] == ["", "approve"]
    assert record.changes["reason"] == ["", "Good."]


def list_version(w: Any, version: ResourceVersion, first: Any, second: Any) -> None:
    actions.decide(actor=first, task=open_task(version), decision="approve")
    actions.decide(actor=second, task=open_task(version), decision="approve")


def test_update_review_replaces_listed_version(w, second_reviewer):
    resource = make_resource(w)
    v1 = submit_version(w, resource)
    list_version(w, v1, w.reviewer, second_reviewer)
    resource.refresh_from_db()
    v2 = submit_version(w, resource, number=2, title="勾股定理微课（修订）", file_name="v2.mp4")
    task = open_task(v2)
    assert task.stage == ReviewStage.UPDATE
    diff = {d.field: d for d in queries.version_diff(v2)}
    assert set(diff) == {"title", "file_name"}
    assert diff["title"].old == "勾股定理微课" and diff["title"].new == "勾股定理微课（修订）"
    # Until the update is approved the old version stays public and the new one is hidden.
    assert not ResourceVersion.objects.visible_to(w.student_a).filter(pk=v2.pk).exists()
    actions.decide(actor=w.reviewer, task=task, decision="approve")
    v1.refresh_from_db()
    v2.refresh_from_db()
    resource.refresh_from_db()
    assert v1.status == VersionStatus.SUPERSEDED
    assert v2.status == VersionStatus.APPROVED
    assert resource.listed_version_id == v2.pk
    student_versions = ResourceVersion.objects.visible_to(w.student_a)
    assert list(student_versions.values_list("pk", flat=True)) == [v2.pk]
    assert ResourceVersion.objects.visible_to(w.reviewer).filter(pk=v1.pk).exists()
    assert [v.pk for v in queries.other_versions(w.reviewer, v2)] == [v1.pk]
    assert queries.version_diff(v2) == []


def test_rejected_update_keeps_old_version_listed(w, second_reviewer):
    resource = make_resource(w)
    v1 = submit_version(w, resource)
    list_version(w, v1, w.reviewer, second_reviewer)
    resource.refresh_from_db()
    v2 = submit_version(w, resource, number=2, title="Worse")
    actions.decide(actor=w.reviewer, task=open_task(v2), decision="reject", reason="Blurry video.")
    resource.refresh_from_db()
    v2.refresh_from_db()
    assert v2.status == VersionStatus.REJECTED
    assert resource.status == ResourceStatus.LISTED and resource.listed_version_id == v1.pk


def test_reject_and_resubmit(w):
    resource = make_resource(w)
    version = submit_version(w, resource)
    task = open_task(version)
    with pytest.raises(InvalidInput) as exc:
        actions.decide(actor=w.reviewer, task=task, decision="reject", reason="bad")
    assert exc.value.errors[0].field == "reason"
    assert exc.value.code == "REASON_REQUIRED"
    actions.decide(actor=w.reviewer, task=task, decision="reject", reason="The audio is missing.")
    version.refresh_from_db()
    resource.refresh_from_db()
    assert version.status == VersionStatus.REJECTED and version.decided_at is not None
    assert resource.status == ResourceStatus.REJECTED
    assert AuditEvent.objects.filter(code="resources.review.rejected").count() == 1
    # The submitter edits and resubmits the same version: a new task opens.
    with change_context(actor=w.teacher_a, source="ui"):
        version.description = "Now with audio."
        version.status = VersionStatus.IN_REVIEW
        version.review_stage = ReviewStage.SUBMISSION
        version.save()
        signals.version_submitted.send(sender=ResourceVersion, version=version, actor=w.teacher_a)
    new_task = open_task(version)
    assert new_task.pk != task.pk
    trail = list(queries.version_trail(w.teacher_a, version))
    assert [(t.pk, t.status) for t in trail] == [
        (task.pk, ReviewTaskStatus.DECIDED),
        (new_task.pk, ReviewTaskStatus.OPEN),
    ]
    # Sending the signal again does not open a second task.
    with change_context(actor=w.teacher_a, source="ui"):
        signals.version_submitted.send(sender=ResourceVersion, version=version, actor=w.teacher_a)
    assert ReviewTask.objects.filter(version=version, status=ReviewTaskStatus.OPEN).count() == 1


def test_conflict_of_interest(w, make_user):
    resource = make_resource(w, owner=w.reviewer)
    version = submit_version(w, resource)
    task = open_task(version)
    assert task.assignee is None  # the only other reviewer (County B) does not cover School A
    with pytest.raises(PermissionDenied) as exc:
        actions.decide(actor=w.reviewer, task=task, decision="approve")
    assert exc.value.code == "CONFLICT_OF_INTEREST"
    with pytest.raises(PermissionDenied) as exc:
        actions.claim_task(actor=w.reviewer, task=task)
    assert exc.value.code == "CONFLICT_OF_INTEREST"
    assert not queries.review_queue(w.reviewer).filter(pk=task.pk).exists()
    # Platform admins are not exempt either.
    admin = make_user(Role.PLATFORM_ADMIN, None)
    other = make_resource(w, owner=admin)
    other_task = open_task(submit_version(w, other))
    with pytest.raises(PermissionDenied) as exc:
        actions.decide(actor=admin, task=other_task, decision="approve")
    assert exc.value.code == "CONFLICT_OF_INTEREST"


def test_four_eyes(w):
    resource = make_resource(w)
    version = submit_version(w, resource)
    actions.decide(actor=w.reviewer, task=open_task(version), decision="approve")
    listing = open_task(version)
    assert listing.assignee is None  # nobody else may decide it
    assert not queries.review_queue(w.reviewer).filter(pk=listing.pk).exists()
    with pytest.raises(PermissionDenied) as exc:
        actions.decide(actor=w.reviewer, task=listing, decision="approve")
    assert exc.value.code == "FOUR_EYES"
    listing.refresh_from_db()
    assert listing.status == ReviewTaskStatus.OPEN


def test_blocking_findings_need_override_and_reason(w):
    resource = make_resource(w)
    version = submit_version(w, resource)
    AuditFinding.objects.create(
        version=version,
        code="SENSITIVE_WORD",
        severity=AuditSeverity.BLOCK,
        message="Sensitive word",
        detail={"word": "x"},
    )
    task = open_task(version)
    with pytest.raises(InvalidInput) as exc:
        actions.decide(actor=w.reviewer, task=task, decision="approve")
    assert exc.value.code == "BLOCKING_FINDINGS"
    assert exc.value.errors[0].field == "override_findings"
    with pytest.raises(InvalidInput) as exc:
        actions.decide(actor=w.reviewer, task=task, decision="approve", override_findings=True)
    assert exc.value.code == "REASON_REQUIRED"
    task.refresh_from_db()
    assert task.status == ReviewTaskStatus.OPEN
    actions.decide(
        actor=w.reviewer,
        task=task,
        decision="approve",
        override_findings=True,
        reason="The word is a historical quotation.",
    )
    task.refresh_from_db()
    assert task.override_findings and task.decision == "approve"
    assert AuditEvent.objects.filter(code="resources.review.overridden").count() == 1


def test_reviewer_b_cannot_decide_school_a(w):
    version = submit_version(w, make_resource(w))
    task = open_task(version)
    assert task.assignee == w.reviewer  # the only eligible reviewer of School A
    with pytest.raises(NotFound):
        queries.access_task(w.reviewer_b, task.pk)
    with pytest.raises(PermissionDenied) as exc:
        actions.decide(actor=w.reviewer_b, task=task, decision="approve")
    assert exc.value.code == "NOT_ELIGIBLE_REVIEWER"
    assert not queries.review_queue(w.reviewer_b).exists()


def test_reviewer_b_scope_subject_and_stage(w, second_reviewer):
    maths = open_task(submit_version(w, make_resource(w, owner=w.teacher_b, org=w.tree.school_b)))
    physics_res = make_resource(w, owner=w.teacher_b, org=w.tree.school_b)
    physics = open_task(submit_version(w, physics_res, subject=w.physics))
    queue = set(queries.review_queue(w.reviewer_b).values_list("pk", flat=True))
    assert queue == {maths.pk}
    assert queries.queue_counts(w.reviewer_b)[ReviewStage.SUBMISSION] == 1
    with pytest.raises(PermissionDenied):
        actions.decide(actor=w.reviewer_b, task=physics, decision="approve")
    actions.decide(actor=w.reviewer_b, task=maths, decision="approve")
    listing = open_task(maths.version)
    # reviewer_b does not review the listing stage.
    assert not queries.review_queue(w.reviewer_b).filter(pk=listing.pk).exists()
    with pytest.raises(PermissionDenied) as exc:
        actions.decide(actor=w.reviewer_b, task=listing, decision="approve")
    assert exc.value.code == "NOT_ELIGIBLE_REVIEWER"
    assert set(queries.review_queue(w.reviewer).values_list("pk", flat=True)) == {
        physics.pk,
        listing.pk,
    }


def test_double_decision_is_task_closed(w):
    version = submit_version(w, make_resource(w))
    task = open_task(version)
    stale = ReviewTask.objects.get(pk=task.pk)
    actions.decide(actor=w.reviewer, task=task, decision="reject", reason="Wrong chapter.")
    with pytest.raises(Conflict) as exc:
        actions.decide(actor=w.reviewer, task=stale, decision="approve")
    assert exc.value.code == "TASK_CLOSED"
    stale.refresh_from_db()
    assert stale.decision == "reject"


def test_student_sees_nothing_before_listing(w):
    version = submit_version(w, make_resource(w))
    assert not Resource.objects.visible_to(w.student_a).exists()
    assert not ResourceVersion.objects.visible_to(w.student_a).exists()
    assert not ReviewTask.objects.visible_to(w.student_a).exists()
    with pytest.raises(NotFound):
        queries.access_task(w.student_a, open_task(version).pk)


def test_claim_and_reassign(w, second_reviewer):
    version = submit_version(w, make_resource(w))
    task = open_task(version)
    assert task.assignee is None
    actions.claim_task(actor=second_reviewer, task=task)
    task.refresh_from_db()
    assert task.assignee == second_reviewer
    assert list(queries.review_queue(second_reviewer, mine=True)) == [task]
    assert not queries.review_queue(w.reviewer, unassigned=True).exists()
    with pytest.raises(Conflict) as exc:
        actions.claim_task(actor=w.reviewer, task=task)
    assert exc.value.code == "TASK_ASSIGNED"
    with pytest.raises(PermissionDenied):
        actions.reassign_task(actor=w.reviewer, task=task, reviewer=w.reviewer)
    with pytest.raises(PermissionDenied) as exc:
        actions.reassign_task(actor=w.school_admin_a, task=task, reviewer=w.reviewer_b)
    assert exc.value.code == "NOT_ELIGIBLE_REVIEWER" and exc.value.field == "reviewer"
    actions.reassign_task(actor=w.school_admin_a, task=task, reviewer=w.reviewer)
    task.refresh_from_db()
    assert task.assignee == w.reviewer
    assert AuditEvent.objects.filter(code="resources.review.reassigned").count() == 1


def test_cancel_open_tasks(w):
    version = submit_version(w, make_resource(w))
    with pytest.raises(PermissionDenied):
        actions.cancel_open_tasks(actor=w.teacher_b, version=version)
    assert actions.cancel_open_tasks(actor=w.teacher_a, version=version) == 1
    assert ReviewTask.objects.get(version=version).status == ReviewTaskStatus.CANCELLED


def test_assignments(w, make_user):
    new = make_user(Role.RESOURCE_REVIEWER, w.tree.school_a, username="reviewer_new")
    with pytest.raises(PermissionDenied):
        actions.create_assignment(
            actor=w.school_admin_a,
            reviewer=new,
            org=w.tree.county_a,
            subject=None,
            stages=["update"],
        )
    with pytest.raises(InvalidInput) as exc:
        actions.create_assignment(
            actor=w.school_admin_a,
            reviewer=w.teacher_a,
            org=w.tree.school_a,
            subject=None,
            stages=["update"],
        )
    assert exc.value.code == "NOT_A_REVIEWER"
    with pytest.raises(InvalidInput) as exc:
        actions.create_assignment(
            actor=w.school_admin_a, reviewer=new, org=w.tree.school_a, subject=None, stages=[]
        )
    assert exc.value.field == "stages"
    with pytest.raises(InvalidInput) as exc:
        actions.create_assignment(
            actor=w.school_admin_a,
            reviewer=w.reviewer_b,
            org=w.tree.school_a,
            subject=None,
            stages=["submission"],
        )
    assert exc.value.code == "NOT_A_REVIEWER"  # County B's reviewer holds no role in School A
    assignment = actions.create_assignment(
        actor=w.school_admin_a,
        reviewer=new,
        org=w.tree.school_a,
        subject=w.math,
        stages=["update", "submission"],
    )
    assert assignment.stages == ["submission", "update"]
    with pytest.raises(Conflict):
        actions.create_assignment(
            actor=w.school_admin_a,
            reviewer=new,
            org=w.tree.school_a,
            subject=w.math,
            stages=["listing"],
        )
    assert set(queries.list_assignments(w.school_admin_a)) == {assignment}
    assert set(queries.list_assignments(new)) == {assignment}
    task = open_task(submit_version(w, make_resource(w)))
    assert set(queries.review_queue(new).values_list("pk", flat=True)) == {task.pk}
    actions.claim_task(actor=new, task=task)
    with pytest.raises(PermissionDenied):
        actions.deactivate_assignment(actor=w.teacher_a, assignment=assignment)
    actions.deactivate_assignment(actor=w.school_admin_a, assignment=assignment)
    assignment.refresh_from_db()
    task.refresh_from_db()
    assert not assignment.active
    assert task.assignee is None  # back to the shared queue
    assert not queries.review_queue(new).exists()
    codes = set(AuditEvent.objects.values_list("code", flat=True))
    assert {
        "resources.review.assignment_created",
        "resources.review.assignment_deactivated",
    } <= codes


def test_queue_query_count(w, second_reviewer, django_assert_max_num_queries):
    for _ in range(5):
        submit_version(w, make_resource(w))
    with django_assert_max_num_queries(3):
        rows = list(queries.review_queue(w.reviewer))
        assert len(rows) == 5
        assert all(r.version.resource.org.path for r in rows)


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_one_wins(res_world, second_reviewer):
    """Two reviewers decide the same listing task at once: the row lock makes the second wait
    and then see the task closed (PostgreSQL; SQLite serialises writers anyway)."""
    import threading
    import time

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    w = res_world
    resource = make_resource(w)
    with change_context(actor=system_actor(), source="system"):
        version = ResourceVersion(
            resource=resource,
            number=1,
            status=VersionStatus.IN_REVIEW,
            review_stage=ReviewStage.LISTING,
            title="Race",
            subject=w.math,
            stage=Stage.JUNIOR,
            resource_type=ResourceType.DOCUMENT,
            licence="CC BY 4.0",
            created_by=w.teacher_a,
        )
        version.save(force_insert=True)
    task = actions.open_review(actor=system_actor(), version=version)
    first_inside = threading.Event()

    def slow_listing(sender: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "first":
            first_inside.set()
            time.sleep(0.5)  # hold the locks while the second reviewer tries

    signals.version_listed.connect(slow_listing, dispatch_uid="test_review_race", weak=False)
    outcomes: dict[str, str] = {}

    def run(name: str, reviewer: Any) -> None:
        try:
            if name == "second":
                first_inside.wait(5)
            actions.decide(
                actor=reviewer, task=ReviewTask.objects.get(pk=task.pk), decision="approve"
            )
            outcomes[name] = "decided"
        except Conflict as exc:
            outcomes[name] = exc.code
        finally:
            connections.close_all()

    try:
        threads = [
            threading.Thread(target=run, args=("first", w.reviewer), name="first"),
            threading.Thread(target=run, args=("second", second_reviewer), name="second"),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        signals.version_listed.disconnect(dispatch_uid="test_review_race")
    assert outcomes == {"first": "decided", "second": "TASK_CLOSED"}
    task.refresh_from_db()
    assert task.decided_by_id == w.reviewer.pk


def test_withdrawn_version_leaves_queue_and_stale_stage_task_closes(w, second_reviewer):
    version = submit_version(w, make_resource(w))
    actions.decide(actor=w.reviewer, task=open_task(version), decision="approve")
    listing = open_task(version)
    assert queries.review_queue(second_reviewer).filter(pk=listing.pk).exists()
    with change_context(actor=w.teacher_a, source="ui"):
        version.status = VersionStatus.WITHDRAWN
        version.save()
    # Not yet cancelled (the withdrawal wiring is the lead's), but no longer in anyone's queue.
    assert not queries.review_queue(second_reviewer).filter(pk=listing.pk).exists()
    with pytest.raises(Conflict) as exc:
        actions.decide(actor=second_reviewer, task=listing, decision="approve")
    assert exc.value.code == "TASK_CLOSED"
    # Resubmitted: the stale listing task is cancelled and a submission task opens.
    with change_context(actor=w.teacher_a, source="ui"):
        version.status = VersionStatus.IN_REVIEW
        version.review_stage = ReviewStage.SUBMISSION
        version.save()
        signals.version_submitted.send(sender=ResourceVersion, version=version, actor=w.teacher_a)
    listing.refresh_from_db()
    assert listing.status == ReviewTaskStatus.CANCELLED
    assert open_task(version).stage == ReviewStage.SUBMISSION


def test_withdrawing_through_the_action_cancels_the_open_task(w):
    from shuyuan.resources.actions.submission import withdraw_version

    version = submit_version(w, make_resource(w))
    task = open_task(version)
    withdraw_version(actor=w.teacher_a, version=version)
    task.refresh_from_db()
    assert task.status == ReviewTaskStatus.CANCELLED
    assert not ReviewTask.objects.filter(version=version, status=ReviewTaskStatus.OPEN).exists()
