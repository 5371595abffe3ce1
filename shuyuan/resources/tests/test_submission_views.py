"""Provider pages: they render, the form round trip works with a real upload, errors are shown,
other schools' drafts are 404, the file download is an attachment."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.context import change_context, system_actor
from shuyuan.resources.choices import ResourceType, Stage, VersionStatus
from shuyuan.resources.models import Resource, ResourceVersion, SensitiveWordList

from .test_audit_files import make_docx, make_pdf, upload
from .test_submission import _empty_storage, stored_files  # noqa: F401  # autouse fixture


def form_data(w: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "org": w.tree.school_a.pk,
        "provider_kind": "teacher",
        "provider_name": "School A",
        "title": "Pythagorean theorem",
        "description": "Squares on the sides of a right triangle, with a proof.",
        "subject": w.math.pk,
        "stage": Stage.JUNIOR,
        "grade": "08",
        "edition": w.edition.pk,
        "chapter": w.chapter.pk,
        "resource_type": ResourceType.DOCUMENT,
        "licence": "CC BY 4.0",
        "licence_expires": (timezone.localdate() + dt.timedelta(days=100)).isoformat(),
        "external_url": "",
        "file": upload("lesson.pdf", make_pdf("Pythagoras")),
        "change_note": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def post(django_capture_on_commit_callbacks: Any) -> Any:
    def run(client: Any, url: str, data: Any = None) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return run


def test_pages_render_and_full_provider_flow(res_world, client_for, post):
    w = res_world
    client = client_for(w.teacher_a)
    assert client.get(reverse("resources:submit_mine")).status_code == 200
    page = client.get(reverse("resources:submit_create"))
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    assert b"Chapter 17" in page.content
    response = post(client, reverse("resources:submit_create"), form_data(w))
    assert response.status_code == 303
    resource = Resource.objects.get()
    assert response["Location"] == reverse("resources:submit_manage", args=[resource.pk])
    version = resource.versions.get()
    manage = client.get(response["Location"])
    assert manage.status_code == 200
    assert b"lesson.pdf" in manage.content
    assert reverse("resources:submit_version_submit", args=[version.pk]).encode() in manage.content
    edit = client.get(reverse("resources:submit_version_edit", args=[version.pk]))
    assert edit.status_code == 200
    response = post(
        client,
        reverse("resources:submit_version_edit", args=[version.pk]),
        form_data(w, title="Pythagorean theorem, revised", file=""),
    )
    assert response.status_code == 303
    version.refresh_from_db()
    assert version.title == "Pythagorean theorem, revised" and version.file_name == "lesson.pdf"
    response = post(client, reverse("resources:submit_version_submit", args=[version.pk]))
    assert response.status_code == 303
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW
    manage = client.get(reverse("resources:submit_manage", args=[resource.pk]))
    assert b"METADATA_INCOMPLETE" in manage.content  # no knowledge-point tag yet
    mine = client.get(reverse("resources:submit_mine"))
    assert b"Pythagorean theorem, revised" in mine.content
    response = post(client, reverse("resources:submit_version_withdraw", args=[version.pk]))
    assert response.status_code == 303
    version.refresh_from_db()
    assert version.status == VersionStatus.WITHDRAWN
    response = post(client, reverse("resources:submit_new_version", args=[resource.pk]))
    assert response.status_code == 303
    v2 = resource.versions.get(number=2)
    assert response["Location"] == reverse("resources:submit_version_edit", args=[v2.pk])


def test_form_shows_errors_and_stores_nothing(res_world, client_for, post):
    w = res_world
    client = client_for(w.teacher_a)
    response = post(
        client,
        reverse("resources:submit_create"),
        form_data(
            w,
            title="<b>Bold</b> title",
            subject=w.physics.pk,
            file=upload("lesson.pdf", make_docx(["not a pdf"])),
        ),
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "Plain text only" in content
    assert "The chapter belongs to another subject." in content
    assert not Resource.objects.exists() and stored_files() == []
    response = post(
        client,
        reverse("resources:submit_create"),
        form_data(w, file=upload("lesson.pdf", make_docx(["x"]))),
    )
    assert response.status_code == 422
    assert "its content is DOCX" in response.content.decode()
    assert not ResourceVersion.objects.exists() and stored_files() == []


def test_student_cannot_open_the_form(res_world, client_for):
    client = client_for(res_world.student_a)
    assert client.get(reverse("resources:submit_create")).status_code == 403
    assert client.get(reverse("resources:submit_mine")).status_code == 200


def test_other_school_draft_is_404_and_file_download(res_world, client_for, post):
    w = res_world
    post(client_for(w.teacher_a), reverse("resources:submit_create"), form_data(w))
    resource = Resource.objects.get()
    version = resource.versions.get()
    other = client_for(w.teacher_b)
    assert other.get(reverse("resources:submit_manage", args=[resource.pk])).status_code == 404
    assert other.get(reverse("resources:submit_version_edit", args=[version.pk])).status_code == 404
    assert other.get(reverse("resources:submit_version_file", args=[version.pk])).status_code == 404
    assert (
        post(other, reverse("resources:submit_version_submit", args=[version.pk])).status_code
        == 404
    )
    response = client_for(w.reviewer).get(
        reverse("resources:submit_version_file", args=[version.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def with_mfa(user: Any) -> Any:
    """Admins must have enrolled MFA before the portal lets them in."""
    with change_context(actor=system_actor(), source="system"):
        user.totp_confirmed_at = timezone.now()
        user.save()
    return user


def test_word_list_page(res_world, client_for, post):
    w = res_world
    with_mfa(w.region_admin)
    assert client_for(w.teacher_a).get(reverse("resources:submit_words")).status_code == 403
    client = client_for(w.region_admin)
    assert client.get(reverse("resources:submit_words")).status_code == 200
    bad = post(
        client,
        reverse("resources:submit_words"),
        {"words": "x|maybe", "note": "", "activate": "on"},
    )
    assert bad.status_code == 422 and "Line 1" in bad.content.decode()
    ok = post(
        client,
        reverse("resources:submit_words"),
        {"words": "赌博\n诈骗|warn", "note": "v1", "activate": "on"},
    )
    assert ok.status_code == 303
    post(
        client,
        reverse("resources:submit_words"),
        {"words": "other", "note": "v2", "activate": "on"},
    )
    first = SensitiveWordList.objects.get(version=1)
    response = post(client, reverse("resources:submit_words_activate", args=[first.pk]))
    assert response.status_code == 303
    assert SensitiveWordList.objects.active() == first
    page = client.get(reverse("resources:submit_words"))
    assert "赌博" in page.content.decode()


def test_a_submitted_draft_says_its_audit_is_running(res_world, client_for, post):
    w = res_world
    client = client_for(w.teacher_a)
    post(client, reverse("resources:submit_create"), form_data(w))
    resource = Resource.objects.get()
    version = resource.versions.get()
    # The audit task is enqueued on commit; here the commit never comes, as while a worker is busy.
    response = client.post(reverse("resources:submit_version_submit", args=[version.pk]))
    assert response.status_code == 303
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT and version.submitted_at is not None
    manage = client.get(reverse("resources:submit_manage", args=[resource.pk]))
    assert b"the automatic check is running" in manage.content
    # Editing the draft again takes it back to "not checked yet".
    post(
        client,
        reverse("resources:submit_version_edit", args=[version.pk]),
        form_data(w, title="Pythagorean theorem, second try", file=""),
    )
    version.refresh_from_db()
    assert version.submitted_at is None
    manage = client.get(reverse("resources:submit_manage", args=[resource.pk]))
    assert b"Not checked yet" in manage.content
