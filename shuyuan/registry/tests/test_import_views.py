"""Import pages: list, upload (runs inline in tests), progress partial, resume, template,
source systems; access across orgs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from shuyuan.identity.models import Role
from shuyuan.registry.choices import BatchStatus
from shuyuan.registry.models import ImportBatch, Person, SourceSystem
from shuyuan.registry.testing import build_bundle

from .import_data import roster


@pytest.fixture
def school_admin(make_user: Any, tree: Any) -> Any:
    return make_user(Role.SCHOOL_ADMIN, tree.school_a)


@pytest.fixture
def upload(tree: Any) -> SimpleUploadedFile:
    tables = roster(tree.school_a.credit_code)
    tables["orgs"][0]["parentSourcedId"] = ""
    return SimpleUploadedFile("roster.zip", build_bundle(tables), "application/zip")


_capture: list[Any] = []


@pytest.fixture(autouse=True)
def _run_on_commit(django_capture_on_commit_callbacks: Any) -> Any:
    """Posts run the task the action enqueues on commit (ImmediateBackend: inline)."""
    _capture.append(django_capture_on_commit_callbacks)
    yield
    _capture.pop()


def post(client: Any, url: str, data: Any = None) -> Any:
    with _capture[-1](execute=True):
        return client.post(url, data or {})


def post_import(client: Any, source: Any, org: Any, upload: Any, **extra: Any) -> Any:
    data = {"source": source.pk, "org": org.pk, "file": upload, "mode": "", **extra}
    return post(client, reverse("registry:import_create"), data)


def test_upload_starts_the_import_and_redirects(
    client_for, school_admin, make_source, tree, upload
):
    source = make_source(tree.school_a, "mis")
    client = client_for(school_admin)
    response = post_import(client, source, tree.school_a, upload)
    assert response.status_code == 303
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("registry:import_detail", args=[batch.pk])
    assert batch.status == BatchStatus.SUCCEEDED  # the task ran inline
    assert batch.actor == school_admin
    assert Person.objects.count() == 4
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"<progress" in page.content
    assert b"users" in page.content


def test_upload_without_a_file_is_422(client_for, school_admin, make_source, tree):
    source = make_source(tree.school_a, "mis")
    response = client_for(school_admin).post(
        reverse("registry:import_create"), {"source": source.pk, "org": tree.school_a.pk}
    )
    assert response.status_code == 422
    assert not ImportBatch.objects.exists()


def test_upload_over_the_size_limit_is_422(
    client_for, school_admin, make_source, tree, upload, settings
):
    settings.REGISTRY_MAX_UPLOAD_BYTES = 10
    source = make_source(tree.school_a, "mis")
    response = post_import(client_for(school_admin), source, tree.school_a, upload)
    assert response.status_code == 422
    assert b"larger than" in response.content


def test_school_admin_cannot_import_into_another_school(
    client_for, make_user, make_source, tree, upload
):
    admin_b = make_user(Role.SCHOOL_ADMIN, tree.school_b)
    source = make_source(tree.school_a, "mis")
    response = post_import(client_for(admin_b), source, tree.school_a, upload)
    assert response.status_code == 422  # school A is not among the form's choices
    assert not ImportBatch.objects.exists()


def test_teacher_gets_403_on_imports(client_for, make_user, tree):
    teacher = make_user(Role.TEACHER, tree.school_a)
    assert client_for(teacher).get(reverse("registry:import_list")).status_code == 403


def test_batch_of_another_school_is_404(
    client_for, make_user, school_admin, make_source, tree, upload
):
    source = make_source(tree.school_a, "mis")
    post_import(client_for(school_admin), source, tree.school_a, upload)
    batch = ImportBatch.objects.get()
    admin_b = make_user(Role.SCHOOL_ADMIN, tree.school_b)
    url = reverse("registry:import_detail", args=[batch.pk])
    assert client_for(admin_b).get(url).status_code == 404
    listing = client_for(admin_b).get(reverse("registry:import_list"))
    assert b"roster.zip" not in listing.content


def _running_batch(source: SourceSystem, org: Any, **fields: Any) -> ImportBatch:
    defaults = {
        "status": BatchStatus.RUNNING,
        "rows_total": 100,
        "rows_done": 40,
        "heartbeat_at": timezone.now(),
    }
    defaults.update(fields)
    return ImportBatch.objects.create(
        source=source, org=org, format="oneroster_csv", file_name="big.zip", digest="0" * 64,
        **defaults,
    )  # fmt: skip


def test_progress_partial_polls_while_running(client_for, school_admin, make_source, tree):
    batch = _running_batch(make_source(tree.school_a, "mis"), tree.school_a)
    url = reverse("registry:import_detail", args=[batch.pk])
    response = client_for(school_admin).get(
        url, headers={"HX-Request": "true", "HX-Target": "progress"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'hx-trigger="every 1s"' in body
    assert 'value="40"' in body


def test_finished_batch_stops_polling(client_for, school_admin, make_source, tree):
    batch = _running_batch(
        make_source(tree.school_a, "mis"), tree.school_a, status=BatchStatus.SUCCEEDED
    )
    url = reverse("registry:import_detail", args=[batch.pk])
    response = client_for(school_admin).get(
        url, headers={"HX-Request": "true", "HX-Target": "progress"}
    )
    assert "every 1s" not in response.content.decode()


def test_stale_running_batch_shows_resume(client_for, school_admin, make_source, tree):
    old = timezone.now() - dt.timedelta(minutes=10)
    batch = _running_batch(make_source(tree.school_a, "mis"), tree.school_a, heartbeat_at=old)
    page = client_for(school_admin).get(reverse("registry:import_detail", args=[batch.pk]))
    assert reverse("registry:import_resume", args=[batch.pk]).encode() in page.content


def test_resume_reruns_an_interrupted_batch(client_for, school_admin, make_source, tree, upload):
    source = make_source(tree.school_a, "mis")
    client = client_for(school_admin)
    post_import(client, source, tree.school_a, upload)
    batch = ImportBatch.objects.get()
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.INTERRUPTED, checkpoint={"table": "users", "row": 3}
    )
    response = post(client, reverse("registry:import_resume", args=[batch.pk]))
    assert response.status_code == 303
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED


def test_resume_of_a_finished_batch_is_refused(client_for, school_admin, make_source, tree):
    batch = _running_batch(
        make_source(tree.school_a, "mis"), tree.school_a, status=BatchStatus.SUCCEEDED
    )
    response = client_for(school_admin).post(reverse("registry:import_resume", args=[batch.pk]))
    assert response.status_code == 303
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED


def test_template_download_is_an_xlsx_attachment(client_for, school_admin):
    response = client_for(school_admin).get(reverse("registry:import_template"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content[:2] == b"PK"


def test_list_shows_batches(client_for, school_admin, make_source, tree, assert_max_queries):
    source = make_source(tree.school_a, "mis")
    for _ in range(3):
        _running_batch(source, tree.school_a)
    client = client_for(school_admin)
    with assert_max_queries(12):
        response = client.get(reverse("registry:import_list"))
    assert response.status_code == 200
    assert response.content.count(b"big.zip") == 3


def test_region_admin_registers_a_source(client_for, make_user, tree):
    admin = make_user(Role.REGION_ADMIN, tree.region, totp_confirmed_at=timezone.now())
    client = client_for(admin)
    data = {
        "code": "gat",
        "name": "Public security",
        "kind": "public_security",
        "id_prefix": "gat/",
        "org": tree.region.pk,
    }
    response = client.post(reverse("registry:source_list"), data)
    assert response.status_code == 303
    source = SourceSystem.objects.get(code="gat")
    assert source.id_prefix == "gat/"
    listing = client.get(reverse("registry:source_list"))
    assert b"gat/" in listing.content


def test_invalid_source_is_422(client_for, make_user, tree):
    admin = make_user(Role.REGION_ADMIN, tree.region, totp_confirmed_at=timezone.now())
    data = {"code": "Bad Code!", "name": "X", "kind": "public_security", "org": tree.region.pk}
    response = client_for(admin).post(reverse("registry:source_list"), data)
    assert response.status_code == 422
    assert not SourceSystem.objects.exists()


def test_school_admin_cannot_register_a_source(client_for, school_admin, tree):
    data = {"code": "x", "name": "X", "kind": "other", "org": tree.school_a.pk}
    response = client_for(school_admin).post(reverse("registry:source_list"), data)
    assert response.status_code == 403
    assert not SourceSystem.objects.exists()
