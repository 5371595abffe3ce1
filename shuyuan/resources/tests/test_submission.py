"""Provider actions: create, edit, new version, submit (the audit runs inline), withdraw; the
bad inputs of the issue, and that nothing is stored half-way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.resources import signals
from shuyuan.resources.actions import submission as actions
from shuyuan.resources.choices import (
    ResourceStatus,
    ResourceType,
    ReviewStage,
    Stage,
    VersionStatus,
)
from shuyuan.resources.models import Chapter, Resource, ResourceVersion
from shuyuan.resources.queries import resources as queries

from .test_audit_files import make_docx, make_mp4, make_pdf, make_zip_bomb_docx, upload


def stored_files() -> list[str]:
    """Every file in the (in-memory) storage under resources/."""
    found: list[str] = []

    def walk(path: str) -> None:
        if not default_storage.exists(path):
            return
        dirs, files = default_storage.listdir(path)
        found.extend(f"{path}/{f}" for f in files)
        for d in dirs:
            walk(f"{path}/{d}")

    walk("resources")
    return found


@pytest.fixture(autouse=True)
def _empty_storage() -> None:
    """The in-memory storage lives as long as the process: start each test with no files."""
    for name in stored_files():
        default_storage.delete(name)


def create(w: Any, actor: Any = None, **overrides: Any) -> Resource:
    fields: dict[str, Any] = {
        "org": w.tree.school_a,
        "provider_kind": "teacher",
        "provider_name": "School A maths group",
        "title": "Pythagorean theorem, lesson 1",
        "description": "Right triangles, squares on the sides, and a proof by rearrangement.",
        "subject": w.math,
        "stage": Stage.JUNIOR,
        "grade": "08",
        "edition": w.edition,
        "chapter": w.chapter,
        "resource_type": ResourceType.DOCUMENT,
        "licence": "CC BY 4.0",
        "licence_expires": timezone.localdate() + dt.timedelta(days=365),
        "external_url": "",
        "upload": upload("lesson.pdf", make_pdf("Pythagoras lesson one")),
    }
    fields.update(overrides)
    return actions.create_resource(actor=actor or w.teacher_a, **fields)


def codes(exc: Any) -> dict[str, str]:
    return {e.field: e.code for e in exc.value.errors}


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Any:
    def submit(actor: Any, version: ResourceVersion) -> ResourceVersion:
        with django_capture_on_commit_callbacks(execute=True):
            actions.submit_version(actor=actor, version=version)
        return ResourceVersion.objects.get(pk=version.pk)

    return submit


# --- creating -------------------------------------------------------------------------------------


def test_create_stores_resource_version_and_file(res_world):
    resource = create(res_world)
    version = resource.versions.get()
    assert resource.status == ResourceStatus.DRAFT
    assert version.number == 1 and version.status == VersionStatus.DRAFT
    assert version.file_name == "lesson.pdf"
    assert version.mime_type == "application/pdf"
    assert len(version.content_sm3) == 64
    assert version.file_size == len(make_pdf("Pythagoras lesson one"))
    with version.file.open("rb") as fh:
        assert fh.read().startswith(b"%PDF-")
    assert stored_files() == [version.file.name]


def test_extension_that_lies_is_refused_and_nothing_stored(res_world):
    with pytest.raises(InvalidInput) as exc:
        create(res_world, upload=upload("lesson.pdf", make_docx(["x"])))
    assert codes(exc) == {"file": "FILE_TYPE_MISMATCH"}
    assert "DOCX" in exc.value.errors[0].message
    assert not Resource.objects.exists() and not ResourceVersion.objects.exists()
    assert stored_files() == []


def test_executable_is_not_allowed(res_world):
    with pytest.raises(InvalidInput) as exc:
        create(res_world, upload=upload("lesson.pdf", b"MZ" + b"\x00" * 500))
    assert codes(exc) == {"file": "FILE_TYPE_NOT_ALLOWED"}


def test_zip_bomb_docx_is_refused(res_world):
    with pytest.raises(InvalidInput) as exc:
        create(res_world, upload=upload("lesson.docx", make_zip_bomb_docx()))
    assert codes(exc) == {"file": "ARCHIVE_UNSAFE"}
    assert not ResourceVersion.objects.exists() and stored_files() == []


@override_settings(RESOURCES_MAX_UPLOAD_BYTES=100)
def test_oversize_upload_is_refused(res_world):
    with pytest.raises(InvalidInput) as exc:
        create(res_world)
    assert exc.value.code == "FILE_TOO_LARGE" and exc.value.status == 413
    assert codes(exc) == {"file": "FILE_TOO_LARGE"}
    assert not Resource.objects.exists() and stored_files() == []


def test_markup_in_metadata_is_refused_not_stored(res_world):
    with pytest.raises(InvalidInput) as exc:
        create(
            res_world,
            title="Nice <script>alert(1)</script>",
            description="See <a href='x'>here</a>",
        )
    assert codes(exc) == {"title": "MARKUP_NOT_ALLOWED", "description": "MARKUP_NOT_ALLOWED"}
    assert not Resource.objects.exists()


def test_comparisons_are_not_markup_but_comments_are(res_world):
    resource = create(res_world, description="If a < b and b<2 then a <- b; x -> y.")
    assert "a < b" in resource.versions.get().description
    with pytest.raises(InvalidInput) as exc:
        create(res_world, description="Hidden <!-- comment -->")
    assert codes(exc) == {"description": "MARKUP_NOT_ALLOWED"}


def test_control_characters_are_stripped(res_world):
    resource = create(res_world, title="Lesson\x00 one\u202e", description="Line 1\r\nLine\x07 2")
    version = resource.versions.get()
    assert version.title == "Lesson one"
    assert version.description == "Line 1\nLine 2"


def test_chapter_of_another_subject_and_grade_of_another_stage(res_world):
    w = res_world
    with pytest.raises(InvalidInput) as exc:
        create(w, subject=w.physics, grade="03")
    assert {(e.field, e.code) for e in exc.value.errors} == {
        ("chapter", "CHAPTER_SUBJECT_MISMATCH"),
        ("chapter", "CHAPTER_GRADE_MISMATCH"),
        ("grade", "GRADE_STAGE_MISMATCH"),
    }
    assert not Resource.objects.exists()


def test_chapter_grade_must_match(res_world):
    with pytest.raises(InvalidInput) as exc:
        create(res_world, grade="07")
    assert codes(exc) == {"chapter": "CHAPTER_GRADE_MISMATCH"}


def test_licence_must_run_beyond_today_and_file_is_required(res_world):
    with pytest.raises(InvalidInput) as exc:
        create(res_world, licence_expires=timezone.localdate(), upload=None)
    assert codes(exc) == {"licence_expires": "LICENCE_EXPIRED", "file": "FILE_REQUIRED"}


def test_virtual_lab_needs_an_http_link_and_no_file(res_world):
    w = res_world
    with pytest.raises(InvalidInput) as exc:
        create(w, resource_type=ResourceType.VIRTUAL_LAB, upload=None, external_url="")
    assert codes(exc) == {"external_url": "URL_REQUIRED"}
    with pytest.raises(InvalidInput) as exc:
        create(w, resource_type=ResourceType.VIRTUAL_LAB, upload=None, external_url="javascript:x")
    assert codes(exc) == {"external_url": "URL_INVALID"}
    resource = create(
        w, resource_type=ResourceType.VIRTUAL_LAB, upload=None, external_url="https://lab.example/"
    )
    assert resource.versions.get().external_url == "https://lab.example/"


def test_video_type_takes_a_video(res_world):
    resource = create(
        res_world, resource_type=ResourceType.VIDEO, upload=upload("a.mp4", make_mp4())
    )
    assert resource.versions.get().mime_type == "video/mp4"
    with pytest.raises(InvalidInput) as exc:
        create(res_world, resource_type=ResourceType.VIDEO)
    assert codes(exc) == {"file": "FILE_TYPE_NOT_ALLOWED"}


def test_student_cannot_submit(res_world):
    with pytest.raises(PermissionDenied):
        create(res_world, actor=res_world.student_a, org=res_world.tree.class_a)
    assert not Resource.objects.exists()


def test_teacher_cannot_submit_for_another_school(res_world):
    with pytest.raises(PermissionDenied) as exc:
        create(res_world, org=res_world.tree.school_b)
    assert exc.value.field == "org"


def test_failed_save_after_storing_removes_the_file(res_world, monkeypatch):
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(ResourceVersion, "save", boom)
    with pytest.raises(RuntimeError):
        create(res_world)
    assert stored_files() == []
    assert not Resource.objects.exists()


# --- cross-org visibility -------------------------------------------------------------------------


def test_teacher_b_cannot_see_teacher_a_draft(res_world):
    w = res_world
    resource = create(w)
    version = resource.versions.get()
    with pytest.raises(NotFound):
        queries.access_resource(w.teacher_b, resource.pk, "staff_view")
    with pytest.raises(NotFound):
        queries.access_version(w.teacher_b, version.pk)
    with pytest.raises(NotFound):
        actions.update_version(actor=w.teacher_b, version=version, title="Mine now")
    with pytest.raises(NotFound):
        actions.withdraw_version(actor=w.teacher_b, version=version)
    assert queries.access_resource(w.school_admin_a, resource.pk, "staff_view") == resource
    assert list(queries.list_my_resources(w.teacher_a)) == [resource]
    assert list(queries.list_my_resources(w.teacher_b)) == []


# --- editing, submitting, withdrawing -------------------------------------------------------------


def test_update_draft_replaces_the_file_and_deletes_the_old_one(
    res_world, django_capture_on_commit_callbacks
):
    w = res_world
    version = create(w).versions.get()
    old = version.file.name
    with django_capture_on_commit_callbacks(execute=True):
        version = actions.update_version(
            actor=w.teacher_a,
            version=version,
            title="Pythagorean theorem, revised",
            upload=upload("lesson2.docx", make_docx(["Revised text"])),
        )
    assert version.title == "Pythagorean theorem, revised"
    assert version.mime_type.endswith("wordprocessingml.document")
    assert stored_files() == [version.file.name] and version.file.name != old


def test_update_refuses_unknown_fields_and_type_change_that_does_not_fit(res_world):
    w = res_world
    version = create(w).versions.get()
    with pytest.raises(InvalidInput) as exc:
        actions.update_version(actor=w.teacher_a, version=version, colour="red")
    assert exc.value.code == "UNKNOWN_FIELD"
    with pytest.raises(InvalidInput) as exc:
        actions.update_version(actor=w.teacher_a, version=version, resource_type=ResourceType.VIDEO)
    assert codes(exc) == {"file": "FILE_TYPE_NOT_ALLOWED"}


def test_submit_runs_the_audit_and_opens_review(res_world, run_on_commit):
    w = res_world
    version = create(w).versions.get()
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    signals.version_submitted.connect(receiver)
    try:
        version = run_on_commit(w.teacher_a, version)
    finally:
        signals.version_submitted.disconnect(receiver)
    assert version.status == VersionStatus.IN_REVIEW
    assert version.review_stage == ReviewStage.SUBMISSION
    assert version.submitted_at is not None and version.audited_at is not None
    assert "Pythagoras lesson one" in version.extracted_text
    assert version.resource.status == ResourceStatus.IN_REVIEW
    assert len(sent) == 1 and sent[0]["version"].pk == version.pk
    assert sent[0]["actor"] == w.teacher_a
    with pytest.raises(Conflict):
        actions.update_version(actor=w.teacher_a, version=version, title="Too late")
    with pytest.raises(Conflict):
        actions.submit_version(actor=w.teacher_a, version=version)


def test_withdraw_and_new_version_flow(res_world, run_on_commit):
    w = res_world
    resource = create(w)
    v1 = run_on_commit(w.teacher_a, resource.versions.get())
    with pytest.raises(Conflict) as exc:
        actions.new_version(actor=w.teacher_a, resource=resource)
    assert exc.value.code == "UNFINISHED_VERSION"
    v1 = actions.withdraw_version(actor=w.teacher_a, version=v1)
    assert v1.status == VersionStatus.WITHDRAWN
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.DRAFT
    # Pretend review listed v1 (the review engineer's code does this for real).
    with change_context(actor=system_actor(), source="system"):
        v1.status = VersionStatus.APPROVED
        v1.save()
        resource.status = ResourceStatus.LISTED
        resource.listed_version = v1
        resource.save()
    v2 = actions.new_version(actor=w.teacher_a, resource=resource, title="Lesson 1, second edition")
    assert v2.number == 2 and v2.status == VersionStatus.DRAFT
    assert v2.file.name == v1.file.name and v2.content_sm3 == v1.content_sm3
    assert v2.description == v1.description
    v2 = run_on_commit(w.teacher_a, v2)
    assert v2.review_stage == ReviewStage.UPDATE
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.LISTED  # the listed version stays listed


def test_rejected_version_edited_goes_back_to_draft(res_world, run_on_commit):
    w = res_world
    version = run_on_commit(w.teacher_a, create(w).versions.get())
    with change_context(actor=system_actor(), source="system"):
        version.status = VersionStatus.REJECTED
        version.save()
    version = actions.update_version(actor=w.teacher_a, version=version, title="Fixed title")
    assert version.status == VersionStatus.DRAFT and version.review_stage == ""
    version = run_on_commit(w.teacher_a, version)
    assert version.status == VersionStatus.IN_REVIEW


def test_new_chapter_of_other_edition_is_refused(res_world):
    w = res_world
    from shuyuan.resources.models import TextbookEdition

    with change_context(actor=system_actor(), source="system"):
        other = TextbookEdition(code="bsd", name="BSD")
        other.save(force_insert=True)
        chapter = Chapter(edition=other, subject=w.math, grade="08", code="bsd-8", title="Ch")
        chapter.save(force_insert=True)
    with pytest.raises(InvalidInput) as exc:
        create(w, chapter=chapter)
    assert codes(exc) == {"chapter": "CHAPTER_EDITION_MISMATCH"}
