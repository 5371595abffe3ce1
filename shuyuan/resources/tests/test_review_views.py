"""Review pages and API: the queue, the task page, deciding, assignments; cross-org access."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from shuyuan.identity.actions import create_api_token
from shuyuan.identity.models import Role
from shuyuan.resources.choices import (
    AuditSeverity,
    ResourceStatus,
    ReviewStage,
    ReviewTaskStatus,
    VersionStatus,
)
from shuyuan.resources.models import AuditFinding, ReviewerAssignment, ReviewTask

from .test_review_actions import make_resource, open_task, submit_version

API = "/api/v1/resources/review"


@pytest.fixture
def w(res_world: Any) -> Any:
    return res_world


def test_queue_page(w, client_for):
    task = open_task(submit_version(w, make_resource(w), title="Pythagoras micro-lesson"))
    response = client_for(w.reviewer).get("/resources/review/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Pythagoras micro-lesson" in body
    assert f"/resources/review/tasks/{task.pk}/" in body
    filtered = client_for(w.reviewer).get("/resources/review/?stage=update")
    assert "Pythagoras micro-lesson" not in filtered.content.decode()
    mine = client_for(w.reviewer).get("/resources/review/?show=mine")
    assert "Pythagoras micro-lesson" in mine.content.decode()  # auto-assigned to reviewer
    assert client_for(w.teacher_a).get("/resources/review/").status_code == 403
    assert client_for(w.reviewer_b).get("/resources/review/").status_code == 200
    assert "Pythagoras" not in client_for(w.reviewer_b).get("/resources/review/").content.decode()


def test_task_page_and_decide(w, client_for, make_user):
    resource = make_resource(w)
    version = submit_version(w, resource, title="Pythagoras micro-lesson", file_name="v1.mp4")
    AuditFinding.objects.create(
        version=version,
        code="SENSITIVE_WORD",
        severity=AuditSeverity.BLOCK,
        message="A sensitive word was found.",
        detail={"word": "xyz", "count": 2},
    )
    task = open_task(version)
    client = client_for(w.reviewer)
    page = client.get(f"/resources/review/tasks/{task.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Pythagoras micro-lesson" in body
    assert "SENSITIVE_WORD" in body and "Blocking" in body
    assert 'name="override_findings"' in body
    assert "v1.mp4" in body
    # The file link of the submission area (when that page exists).
    from shuyuan.resources.views.review import version_file_url

    url = version_file_url(version.pk)
    assert url == f"/resources/versions/{version.pk}/file/"
    assert f'href="{url}"' in body
    # Approving without an override is refused and re-renders the page with the error.
    refused = client.post(f"/resources/review/tasks/{task.pk}/decide/", {"decision": "approve"})
    assert refused.status_code == 422
    assert "blocking problems" in refused.content.decode()
    ok = client.post(
        f"/resources/review/tasks/{task.pk}/decide/",
        {"decision": "approve", "override_findings": "on", "reason": "Quoted from a poem."},
    )
    assert ok.status_code == 303
    task.refresh_from_db()
    assert task.status == ReviewTaskStatus.DECIDED and task.override_findings
    listing = open_task(version)
    # Four eyes: the same reviewer sees the page but no form.
    page = client.get(f"/resources/review/tasks/{listing.pk}/")
    assert page.status_code == 200
    assert "another reviewer decides its listing" in page.content.decode()
    assert 'name="decision"' not in page.content.decode()
    refused = client.post(
        f"/resources/review/tasks/{listing.pk}/decide/", {"decision": "approve", "reason": "ok"}
    )
    assert refused.status_code == 403
    # The submitter sees the trail of their own resource, but cannot decide.
    own = client_for(w.teacher_a).get(f"/resources/review/tasks/{listing.pk}/")
    assert own.status_code == 200
    assert 'name="decision"' not in own.content.decode()
    # Cross-org: teacher_b and reviewer_b get a 404.
    assert client_for(w.teacher_b).get(f"/resources/review/tasks/{listing.pk}/").status_code == 404
    assert client_for(w.reviewer_b).get(f"/resources/review/tasks/{task.pk}/").status_code == 404
    assert (
        client_for(w.reviewer_b)
        .post(f"/resources/review/tasks/{task.pk}/decide/", {"decision": "approve"})
        .status_code
        == 404
    )


def test_update_page_shows_diff_and_old_versions(w, client_for, make_user):
    other = make_user(Role.RESOURCE_REVIEWER, w.tree.region, username="reviewer_2")
    from shuyuan.core.context import change_context, system_actor

    with change_context(actor=system_actor(), source="system"):
        ReviewerAssignment(
            reviewer=other, org=w.tree.region, subject=None, stages=list(ReviewStage.values)
        ).save(force_insert=True)
    resource = make_resource(w)
    v1 = submit_version(w, resource, title="Old title")
    client_for(w.reviewer).post(
        f"/resources/review/tasks/{open_task(v1).pk}/decide/", {"decision": "approve"}
    )
    client_for(other).post(
        f"/resources/review/tasks/{open_task(v1).pk}/decide/", {"decision": "approve"}
    )
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.LISTED
    v2 = submit_version(w, resource, number=2, title="New title")
    task = open_task(v2)
    body = client_for(w.reviewer).get(f"/resources/review/tasks/{task.pk}/").content.decode()
    assert "<del>Old title</del>" in body and "<ins>New title</ins>" in body
    assert "v1 · Old title" in body


def test_claim_page(w, client_for, make_user):
    other = make_user(Role.RESOURCE_REVIEWER, w.tree.region, username="reviewer_2")
    from shuyuan.core.context import change_context, system_actor

    with change_context(actor=system_actor(), source="system"):
        ReviewerAssignment(
            reviewer=other, org=w.tree.region, subject=None, stages=list(ReviewStage.values)
        ).save(force_insert=True)
    task = open_task(submit_version(w, make_resource(w)))
    assert task.assignee is None
    client = client_for(other)
    assert "Claim this task" in client.get(f"/resources/review/tasks/{task.pk}/").content.decode()
    assert client.post(f"/resources/review/tasks/{task.pk}/claim/").status_code == 303
    task.refresh_from_db()
    assert task.assignee == other


def test_assignments_page(w, client_for, make_user):
    new = make_user(Role.RESOURCE_REVIEWER, w.tree.school_a, username="reviewer_new")
    client = client_for(w.school_admin_a)
    page = client.get("/resources/review/assignments/")
    assert page.status_code == 200
    bad = client.post(
        "/resources/review/assignments/",
        {"reviewer": "teacher_a", "org": w.tree.school_a.pk, "stages": ["update"]},
    )
    assert bad.status_code == 422
    assert "reviewer role" in bad.content.decode()
    ok = client.post(
        "/resources/review/assignments/",
        {"reviewer": "reviewer_new", "org": w.tree.school_a.pk, "stages": ["update", "listing"]},
    )
    assert ok.status_code == 303
    assignment = ReviewerAssignment.objects.get(reviewer=new)
    assert assignment.stages == ["listing", "update"]
    assert "reviewer_new" in client.get("/resources/review/assignments/").content.decode()
    deactivate = f"/resources/review/assignments/{assignment.pk}/deactivate/"
    assert client_for(w.teacher_a).post(deactivate).status_code == 404
    assert client.post(deactivate).status_code == 303
    assignment.refresh_from_db()
    assert not assignment.active
    assert client_for(w.teacher_a).get("/resources/review/assignments/").status_code == 403


def test_api_round_trip(w, client_for, make_user):
    other = make_user(Role.RESOURCE_REVIEWER, w.tree.region, username="reviewer_2")
    # Region admins need MFA in the portal; a personal token is what scripts use.
    _token, raw = create_api_token(actor=w.region_admin, name="script")
    region_admin = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    created = region_admin.post(
        f"{API}/assignments",
        {"reviewer_id": other.pk, "org_id": w.tree.region.pk, "stages": ["listing", "update"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["stages"] == ["listing", "update"]
    assignment_id = created.json()["id"]
    refused = region_admin.post(
        f"{API}/assignments",
        {"reviewer_id": w.teacher_a.pk, "org_id": w.tree.region.pk, "stages": ["listing"]},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "field": "reviewer_id",
        "code": "NOT_A_REVIEWER",
        "message": refused.json()["message"],
    }
    listed = region_admin.get(f"{API}/assignments").json()
    assert listed["count"] == 3

    resource = make_resource(w)
    version = submit_version(w, resource, title="API lesson")
    reviewer = client_for(w.reviewer)
    queue = reviewer.get(f"{API}/tasks").json()
    assert queue["count"] == 1
    task_id = queue["items"][0]["id"]
    assert queue["items"][0]["stage"] == "submission"
    detail = reviewer.get(f"{API}/tasks/{task_id}").json()
    assert detail["version"]["title"] == "API lesson"
    assert detail["can_decide"] is True
    assert detail["diff"] == [] and detail["findings"] == []
    bad = reviewer.post(
        f"{API}/tasks/{task_id}/decide", {"decision": "reject"}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    decided = reviewer.post(
        f"{API}/tasks/{task_id}/decide", {"decision": "approve"}, content_type="application/json"
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "decided"
    again = reviewer.post(
        f"{API}/tasks/{task_id}/decide", {"decision": "approve"}, content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["code"] == "TASK_CLOSED"
    listing_id = ReviewTask.objects.get(version=version, status="open").pk
    four_eyes = reviewer.post(
        f"{API}/tasks/{listing_id}/decide", {"decision": "approve"}, content_type="application/json"
    )
    assert four_eyes.status_code == 403 and four_eyes.json()["code"] == "FOUR_EYES"
    second = client_for(other)
    assert second.post(f"{API}/tasks/{listing_id}/claim").status_code in (200, 409)
    done = second.post(
        f"{API}/tasks/{listing_id}/decide",
        {"decision": "approve", "reason": "Fine."},
        content_type="application/json",
    )
    assert done.status_code == 200, done.content
    assert [t["stage"] for t in done.json()["trail"]] == ["submission", "listing"]
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED
    # Cross-org and roles.
    assert client_for(w.teacher_b).get(f"{API}/tasks/{task_id}").status_code == 404
    assert client_for(w.teacher_b).get(f"{API}/tasks").status_code == 403
    assert client_for(w.reviewer_b).get(f"{API}/tasks/{task_id}").status_code == 404
    ended = region_admin.post(f"{API}/assignments/{assignment_id}/deactivate")
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert (
        client_for(w.teacher_a).post(f"{API}/assignments/{assignment_id}/deactivate").status_code
        == 404
    )
