"""Import actions: who may start, resume and register; what a started batch holds."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.core.models import ChangeRecord
from shuyuan.identity.models import Role
from shuyuan.registry.actions.imports import register_source, resume_import, start_import
from shuyuan.registry.choices import BatchStatus
from shuyuan.registry.models import ImportBatch, SourceSystem


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def start(actor: Any, source: Any, org: Any, data: bytes = b"PK-data", **kwargs: Any) -> Any:
    return start_import(
        actor=actor,
        source=source,
        org=org,
        uploaded_file=io.BytesIO(data),
        file_name="dir/roster.zip",
        run=False,
        **kwargs,
    )


def test_start_stores_the_file_with_its_digest(make_user, make_source, tree):
    admin = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    batch = start(admin, make_source(tree.school_a), tree.school_a, b"PK\x03\x04 some bytes")
    assert batch.status == BatchStatus.PENDING
    assert batch.file_name == "roster.zip"
    assert batch.file_size == 15
    assert batch.digest == sm3_hex(b"PK\x03\x04 some bytes")
    assert batch.actor == admin
    with batch.file.open("rb") as fh:
        assert fh.read() == b"PK\x03\x04 some bytes"


def test_start_enqueues_the_task_on_commit(
    make_user, make_source, tree, django_capture_on_commit_callbacks
):
    admin = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    with django_capture_on_commit_callbacks() as callbacks:
        start_import(
            actor=admin,
            source=make_source(tree.school_a),
            org=tree.school_a,
            uploaded_file=io.BytesIO(b"x"),
            file_name="r.zip",
        )
    assert len(callbacks) == 1


def test_school_admin_cannot_import_into_another_school(make_user, make_source, tree):
    admin_b = make_user(Role.SCHOOL_ADMIN, tree.school_b)
    with pytest.raises(NotFound):
        start(admin_b, make_source(tree.school_a), tree.school_a)
    assert not ImportBatch.objects.exists()


def test_school_admin_cannot_import_for_the_county(make_user, make_source, tree):
    admin = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    with pytest.raises((NotFound, PermissionDenied)):
        start(admin, make_source(tree.county_a), tree.county_a)


def test_teacher_cannot_import(make_user, make_source, tree):
    teacher = make_user(Role.TEACHER, tree.school_a)
    with pytest.raises(PermissionDenied):
        start(teacher, make_source(tree.school_a), tree.school_a)


def test_source_of_another_branch_is_refused(make_user, make_source, tree):
    admin = make_user(Role.PLATFORM_ADMIN)
    with pytest.raises(InvalidInput) as exc:
        start(admin, make_source(tree.school_b), tree.school_a)
    assert exc.value.errors[0].code == "SOURCE_OUT_OF_SCOPE"


def test_empty_file_is_refused(make_user, make_source, tree):
    admin = make_user(Role.PLATFORM_ADMIN)
    with pytest.raises(InvalidInput) as exc:
        start(admin, make_source(tree.school_a), tree.school_a, b"")
    assert exc.value.errors[0].code == "FILE_EMPTY"


def test_only_an_interrupted_batch_resumes(make_user, make_source, tree):
    admin = make_user(Role.PLATFORM_ADMIN)
    batch = start(admin, make_source(tree.school_a), tree.school_a)
    with pytest.raises(Conflict):
        resume_import(actor=admin, batch=batch, run=False)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.INTERRUPTED)
    batch.refresh_from_db()
    resume_import(actor=admin, batch=batch, run=False)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PENDING


def test_region_admin_registers_a_source_in_the_change_log(make_user, tree):
    admin = make_user(Role.REGION_ADMIN, tree.region)
    before = ChangeRecord.objects.count()
    source = register_source(
        actor=admin,
        code="gat",
        name="Public security",
        kind="public_security",
        org=tree.city,
        id_prefix="gat/",
    )
    assert source.id_prefix == "gat/"
    assert ChangeRecord.objects.count() == before + 1
    with pytest.raises(Conflict):
        register_source(actor=admin, code="gat", name="Again", kind="other", org=tree.city)


def test_school_admin_cannot_register_a_source(make_user, tree):
    admin = make_user(Role.SCHOOL_ADMIN, tree.school_a)
    with pytest.raises(PermissionDenied):
        register_source(actor=admin, code="x", name="X", kind="other", org=tree.school_a)
    assert not SourceSystem.objects.exists()


def test_bad_source_fields_are_named(make_user, tree):
    admin = make_user(Role.PLATFORM_ADMIN)
    with pytest.raises(InvalidInput) as exc:
        register_source(
            actor=admin, code="Bad Code", name="", kind="nope", org=tree.region, id_prefix="a b"
        )
    assert {e.field for e in exc.value.errors} == {"code", "name", "kind", "id_prefix"}
