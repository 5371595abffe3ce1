"""``/api/v1/registry/imports``: upload, list, detail with progress, resume; access."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shuyuan.identity.actions import create_api_token
from shuyuan.identity.models import Role
from shuyuan.registry.choices import BatchStatus
from shuyuan.registry.models import ImportBatch, Person
from shuyuan.registry.testing import build_bundle

from .import_data import roster

URL = "/api/v1/registry/imports"


def token_client(user: Any) -> tuple[Client, dict[str, str]]:
    _token, raw = create_api_token(actor=user, name="script")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def school_admin(make_user: Any, tree: Any) -> Any:
    return make_user(Role.SCHOOL_ADMIN, tree.school_a)


@pytest.fixture
def bundle(tree: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile("roster.zip", build_bundle(roster(tree.school_a.credit_code)))


def upload(client: Client, auth: dict[str, str], source: Any, org: Any, file: Any) -> Any:
    data = {"source_id": source.pk, "org_id": org.pk, "file": file}
    return client.post(URL, data, **auth)


def test_upload_starts_a_batch(
    school_admin, make_source, tree, bundle, django_capture_on_commit_callbacks
):
    source = make_source(tree.school_a, "mis")
    client, auth = token_client(school_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, auth, source, tree.school_a, bundle)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["file_name"] == "roster.zip"
    assert body["source_code"] == "mis"
    batch = ImportBatch.objects.get(pk=body["id"])
    assert batch.status == BatchStatus.SUCCEEDED
    assert Person.objects.count() == 4
    detail = client.get(f"{URL}/{batch.pk}", **auth).json()
    assert detail["status"] == "succeeded"
    assert detail["percent"] == 100
    assert detail["counts"]["users"]["created"] == 4
    assert isinstance(detail["finding_counts"], list)
    listing = client.get(URL, **auth).json()
    assert listing["count"] == 1
    assert listing["items"][0]["id"] == batch.pk


def test_upload_into_another_school_is_404(make_user, make_source, tree, bundle):
    admin_b = make_user(Role.SCHOOL_ADMIN, tree.school_b)
    source = make_source(tree.school_a, "mis")
    client, auth = token_client(admin_b)
    response = upload(client, auth, source, tree.school_a, bundle)
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "org_id"
    assert not ImportBatch.objects.exists()


def test_upload_into_a_visible_org_without_rights_is_403(make_user, make_source, tree, bundle):
    teacher = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    source = make_source(tree.county_a, "mis")
    client, auth = token_client(teacher)
    # the school admin sees school A but may not import for the whole county
    response = upload(client, auth, source, tree.county_a, bundle)
    assert response.status_code in {403, 404}
    assert not ImportBatch.objects.exists()


def test_upload_without_a_file_is_422(school_admin, make_source, tree):
    source = make_source(tree.school_a, "mis")
    client, auth = token_client(school_admin)
    response = client.post(URL, {"source_id": source.pk, "org_id": tree.school_a.pk}, **auth)
    assert response.status_code == 422


def test_batch_of_another_school_is_404(make_user, school_admin, make_source, tree):
    source = make_source(tree.school_a, "mis")
    batch = ImportBatch.objects.create(
        source=source, org=tree.school_a, format="oneroster_csv", file_name="x.zip", digest="0"
    )
    admin_b = make_user(Role.SCHOOL_ADMIN, tree.school_b)
    client, auth = token_client(admin_b)
    assert client.get(f"{URL}/{batch.pk}", **auth).status_code == 404
    assert client.get(URL, **auth).json()["count"] == 0


def test_resume_of_a_finished_batch_is_409(school_admin, make_source, tree):
    source = make_source(tree.school_a, "mis")
    batch = ImportBatch.objects.create(
        source=source,
        org=tree.school_a,
        format="oneroster_csv",
        file_name="x.zip",
        digest="0",
        status=BatchStatus.SUCCEEDED,
    )
    client, auth = token_client(school_admin)
    response = client.post(f"{URL}/{batch.pk}/resume", **auth)
    assert response.status_code == 409
    assert response.json()["code"] == "BATCH_NOT_RESUMABLE"


def test_list_query_count_is_fixed(school_admin, make_source, tree, assert_max_queries):
    source = make_source(tree.school_a, "mis")
    for _ in range(5):
        ImportBatch.objects.create(
            source=source, org=tree.school_a, format="oneroster_csv", file_name="x.zip", digest="0"
        )
    client, auth = token_client(school_admin)
    with assert_max_queries(10):
        response = client.get(URL, **auth)
    assert response.json()["count"] == 5
