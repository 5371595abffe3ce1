"""Cross-org access matrix of the resources app: a draft of School A's teacher is invisible
(404, never 403) to School B's teacher, to a student and to a reviewer of another county, on
every page and API operation that names it; visible to its submitter and the region's reviewer.

Registry and identity keep their cross-org cases in their own test modules.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from shuyuan.resources.actions.submission import create_resource, submit_version
from shuyuan.resources.choices import ProviderKind, ResourceType, Stage
from shuyuan.resources.models import ReviewTask


@pytest.fixture
def draft(res_world, django_capture_on_commit_callbacks):
    w = res_world
    resource = create_resource(
        actor=w.teacher_a,
        org=w.tree.school_a,
        provider_kind=ProviderKind.TEACHER,
        provider_name="Teacher A",
        title="Pythagoras virtual lab",
        description="An interactive lab for the Pythagorean theorem, grade 8.",
        subject=w.math,
        stage=Stage.JUNIOR,
        grade="08",
        edition=None,
        chapter=None,
        resource_type=ResourceType.VIRTUAL_LAB,
        licence="CC BY 4.0",
        licence_expires=timezone.localdate() + dt.timedelta(days=365),
        external_url="https://lab.example.cn/pythagoras",
    )
    version = resource.versions.get()
    with django_capture_on_commit_callbacks(execute=True):  # the audit task runs on commit
        submit_version(actor=w.teacher_a, version=version)
    task = ReviewTask.objects.get(version=version)
    return resource, version, task


def _pages(resource, version, task):
    return [
        f"/resources/{resource.pk}/manage/",
        f"/resources/versions/{version.pk}/edit/",
        f"/resources/versions/{version.pk}/file/",
        f"/resources/{resource.pk}/",
        f"/resources/{resource.pk}/tags/",
        f"/resources/review/tasks/{task.pk}/",
        f"/api/v1/resources/submissions/{resource.pk}",
        f"/api/v1/resources/submissions/versions/{version.pk}/findings",
        f"/api/v1/resources/review/tasks/{task.pk}",
        f"/api/v1/resources/{resource.pk}/tags",
    ]


@pytest.mark.parametrize("who", ["teacher_b", "student_a", "reviewer_b"])
def test_a_draft_is_invisible_across_orgs(res_world, draft, client_for, who):
    client = client_for(getattr(res_world, who))
    for url in _pages(*draft):
        response = client.get(url)
        assert response.status_code == 404, (who, url, response.status_code)


def test_the_submitter_and_the_region_reviewer_see_it(res_world, draft, client_for):
    resource, _version, task = draft
    submitter = client_for(res_world.teacher_a)
    assert submitter.get(f"/resources/{resource.pk}/manage/").status_code == 200
    assert submitter.get(f"/api/v1/resources/submissions/{resource.pk}").status_code == 200
    reviewer = client_for(res_world.reviewer)
    assert reviewer.get(f"/resources/review/tasks/{task.pk}/").status_code == 200
    assert reviewer.get(f"/api/v1/resources/review/tasks/{task.pk}").status_code == 200
    # Not listed yet: nobody gets the public page, not even the submitter.
    assert submitter.get(f"/resources/{resource.pk}/").status_code == 404
