"""The platform's own events as xAPI statements: resource use, recorded off the hot path."""

from __future__ import annotations

import json

import pytest

from shuyuan.learning.actions.events import record_platform_event
from shuyuan.learning.models import Statement
from shuyuan.learning.tasks import record_resource_use
from shuyuan.learning.testing import XapiClient, make_credential
from shuyuan.learning.xapi.agents import account_agent_key
from shuyuan.learning.xapi.platform import VERB_COMPLETED, VERB_VIEWED, resource_activity_id
from shuyuan.resources.actions import evaluation as resource_actions
from shuyuan.resources.choices import UsageKind
from shuyuan.resources.models import UsageEvent
from shuyuan.resources.tests.test_evaluation import make_resource

pytestmark = pytest.mark.django_db


def test_viewing_a_resource_stores_a_statement_after_commit(
    res_world, django_capture_on_commit_callbacks
):
    w = res_world
    resource = make_resource(w)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resource_actions.record_usage(actor=w.student_a, resource=resource, kind=UsageKind.VIEW)
    assert not Statement.objects.exists()  # nothing on the request's own path
    for callback in callbacks:
        callback()
    stored = Statement.objects.get()
    data = json.loads(stored.data)
    assert data["actor"]["account"]["name"] == "student_a"
    assert "name" not in data["actor"]  # no real names of minors in learning records
    assert data["verb"]["id"] == VERB_VIEWED
    assert data["object"]["id"] == resource_activity_id(resource.pk)
    assert data["object"]["definition"]["name"]["und"] == "Pythagoras lesson"
    assert stored.actor_key == account_agent_key(w.student_a)
    assert stored.org_path == w.student_a.home_org.path


def test_rerunning_the_task_stores_the_statement_once(
    res_world, django_capture_on_commit_callbacks
):
    w = res_world
    resource = make_resource(w)
    with django_capture_on_commit_callbacks(execute=True):
        resource_actions.record_usage(actor=w.student_a, resource=resource, kind=UsageKind.COMPLETE)
    event = UsageEvent.objects.get()
    first = Statement.objects.get()
    assert record_resource_use.call(event.pk) == str(first.statement_id)
    assert Statement.objects.count() == 1
    assert json.loads(first.data)["verb"]["id"] == VERB_COMPLETED


def test_task_for_a_missing_event_says_so(db):
    assert record_resource_use.call(999_999) == "missing"


def test_platform_statement_is_readable_by_a_client_of_its_org(res_world):
    w = res_world
    xapi = XapiClient(make_credential(w.tree.region))
    statement_id = record_platform_event(
        user=w.student_a,
        verb_id=VERB_COMPLETED,
        verb_display="completed",
        object_id="https://shuyuan.example.cn/exams/1/items/7",
        object_name="Item 7",
        result={"success": True, "score": {"scaled": 1.0}},
        source_key="exam-answer:1",
    )
    response = xapi.get("/xapi/statements", {"statementId": statement_id})
    assert response.status_code == 200
    assert response.json()["result"]["success"] is True
