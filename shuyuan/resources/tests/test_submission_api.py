"""The submission API round trip: create (multipart), read, edit, submit, findings, withdraw,
new version; errors in the one shape; cross-org 404; word lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from shuyuan.resources.models import Resource

from .test_audit_files import make_docx, make_pdf, upload
from .test_submission import _empty_storage, stored_files  # noqa: F401  # autouse fixture
from .test_submission_views import with_mfa

URL = "/api/v1/resources/submissions"


def fields(w: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "org_id": w.tree.school_a.pk,
        "provider_kind": "teacher",
        "provider_name": "School A",
        "title": "Pythagorean theorem",
        "description": "Squares on the sides of a right triangle.",
        "subject_id": w.math.pk,
        "stage": "junior",
        "grade": "08",
        "chapter_id": w.chapter.pk,
        "resource_type": "document",
        "licence": "CC BY 4.0",
        "licence_expires": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        "file": upload("lesson.pdf", make_pdf("Pythagoras")),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def post(django_capture_on_commit_callbacks: Any) -> Any:
    def run(client: Any, url: str, data: Any = None, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data if data is not None else {}, **kwargs)

    return run


def test_api_round_trip(res_world, client_for, post):
    w = res_world
    client = client_for(w.teacher_a)
    created = post(client, URL, fields(w))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["latest_title"] == "Pythagorean theorem"
    [version] = body["versions"]
    assert version["mime_type"] == "application/pdf" and len(version["content_sm3"]) == 64
    assert version["edition_id"] == w.edition.pk  # taken from the chapter
    vid = version["id"]
    edited = post(client, f"{URL}/versions/{vid}", {"title": "Pythagoras, revised"})
    assert edited.status_code == 200 and edited.json()["title"] == "Pythagoras, revised"
    assert edited.json()["grade"] == "08"  # untouched
    submitted = post(client, f"{URL}/versions/{vid}/submit")
    assert submitted.status_code == 202
    # The audit runs on commit (inline with the test backend, after the response here).
    after = client.get(f"{URL}/{body['id']}").json()["versions"][0]
    assert after["status"] == "in_review" and after["review_stage"] == "submission"
    findings = client.get(f"{URL}/versions/{vid}/findings").json()
    assert "METADATA_INCOMPLETE" in {f["code"] for f in findings["items"]}
    mine = client.get(URL).json()
    assert mine["count"] == 1 and mine["items"][0]["latest_status"] == "in_review"
    again = post(client, f"{URL}/{body['id']}/versions", {})
    assert again.status_code == 409 and again.json()["code"] == "UNFINISHED_VERSION"
    withdrawn = post(client, f"{URL}/versions/{vid}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    v2 = post(client, f"{URL}/{body['id']}/versions", {"change_note": "Second go"})
    assert v2.status_code == 201 and v2.json()["number"] == 2
    assert v2.json()["file_name"] == "lesson.pdf"
    detail = client.get(f"{URL}/{body['id']}").json()
    assert [v["number"] for v in detail["versions"]] == [2, 1]


def test_api_errors_name_fields(res_world, client_for, post):
    w = res_world
    client = client_for(w.teacher_a)
    lying = post(client, URL, fields(w, file=upload("lesson.pdf", make_docx(["x"]))))
    assert lying.status_code == 422
    assert lying.json()["errors"][0] == {
        "field": "file",
        "code": "FILE_TYPE_MISMATCH",
        "message": lying.json()["errors"][0]["message"],
    }
    bad = post(client, URL, fields(w, subject_id=w.physics.pk, title="<script>x</script>"))
    assert bad.status_code == 422
    assert {(e["field"], e["code"]) for e in bad.json()["errors"]} >= {
        ("chapter_id", "CHAPTER_SUBJECT_MISMATCH"),
        ("title", "MARKUP_NOT_ALLOWED"),
    }
    with override_settings(RESOURCES_MAX_UPLOAD_BYTES=50):
        big = post(client, URL, fields(w))
    assert big.status_code == 413 and big.json()["code"] == "FILE_TOO_LARGE"
    missing = post(client, URL, fields(w, subject_id=999999))
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "subject_id"
    assert not Resource.objects.exists() and stored_files() == []


def test_api_cross_org_and_student(res_world, client_for, post):
    w = res_world
    created = post(client_for(w.teacher_a), URL, fields(w)).json()
    vid = created["versions"][0]["id"]
    other = client_for(w.teacher_b)
    assert other.get(f"{URL}/{created['id']}").status_code == 404
    assert other.get(f"{URL}/versions/{vid}/findings").status_code == 404
    assert post(other, f"{URL}/versions/{vid}/submit").status_code == 404
    assert post(other, f"{URL}/versions/{vid}", {"title": "x"}).status_code == 404
    student = client_for(w.student_a)
    refused = post(student, URL, fields(w, org_id=w.tree.class_a.pk))
    assert refused.status_code == 403


def test_api_word_lists(res_world, client_for, post):
    w = res_world
    assert client_for(w.teacher_a).get(f"{URL}/word-lists").status_code == 403
    client = client_for(with_mfa(w.region_admin))
    created = post(
        client,
        f"{URL}/word-lists",
        {"words": "赌博\n诈骗|warn", "note": "first"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["word_count"] == 2
    assert created.json()["active"] is True
    listed = client.get(f"{URL}/word-lists").json()
    assert listed["count"] == 1 and listed["items"][0]["version"] == 1
    bad = post(client, f"{URL}/word-lists", {"words": "x|maybe"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "words"
    activated = post(client, f"{URL}/word-lists/{created.json()['id']}/activate")
    assert activated.status_code == 200 and activated.json()["active"] is True
