"""The registry's REST router (``/api/v1/registry/``): imports and batches for other programs.

Upload a OneRoster zip or an XLSX template to start an import batch (multipart; the import runs
in the background), list the batches the caller may see, and read one batch with its progress,
counts and findings per code. Handlers are thin: reads through ``queries.imports`` (an invisible
batch, source or org is a 404), writes through ``actions.imports`` (a visible org the caller may
not import into is a 403).

The OneRoster 1.2 rostering API is separate (``oneroster/``, at ``/ims/oneroster/...``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from shuyuan.core.api import referenced_org
from shuyuan.core.errors import invalid
from shuyuan.core.schemas import (
    ApiRequest,
    DbId,
    PageQuery,
    api_field_names,
    error_responses,
    paginate,
)

from .actions import imports as actions
from .choices import BatchStatus
from .importing.engine import effective_status
from .models import ImportBatch
from .queries import imports as queries

SOURCE = "api"

router = Router()
imports = Router(tags=["Registry imports"])
router.add_router("/imports", imports)


class ImportBatchOut(Schema):
    """An import batch: what was uploaded, its progress and outcome. ``status`` shows a running
    batch whose worker stopped as ``interrupted`` (it can be resumed). ``counts`` holds per file
    ``{rows, created, updated, unchanged, rejected}`` and ``tobedeleted`` per file."""

    id: int
    source_id: int
    source_code: str
    org_id: int
    format: str
    mode: str
    file_name: str
    file_size: int
    digest: str
    status: BatchStatus
    phase: str
    rows_total: int
    rows_done: int
    percent: int
    counts: dict[str, Any]
    scores: dict[str, Any]
    error_code: str
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_source_code(obj: ImportBatch) -> str:
        return obj.source.code

    @staticmethod
    def resolve_status(obj: ImportBatch) -> str:
        return effective_status(obj)

    @staticmethod
    def resolve_percent(obj: ImportBatch) -> int:
        return obj.progress_percent


class ImportBatchPageOut(Schema):
    count: int
    items: list[ImportBatchOut]


class FindingCountOut(Schema):
    """How many findings of one code a batch has."""

    code: str
    severity: str
    dimension: str
    count: int


class ImportBatchDetailOut(ImportBatchOut):
    finding_counts: list[FindingCountOut]


class ImportBatchFilter(Schema):
    status: BatchStatus | None = None


def _detail(batch: ImportBatch) -> ImportBatchDetailOut:
    findings = [
        {"code": f["code"], "severity": f["severity"], "dimension": f["dimension"], "count": f["n"]}
        for f in queries.batch_finding_counts(batch)
    ]
    batch.finding_counts = findings  # type: ignore[attr-defined]  # read by the schema
    return ImportBatchDetailOut.from_orm(batch)


@imports.post(
    "",
    response={202: ImportBatchOut, **error_responses(403, 404, 422, body=True)},
    operation_id="registry_import_create",
    summary="Start an import",
)
def create_import(
    request: ApiRequest,
    source_id: Form[DbId],
    org_id: Form[DbId],
    file: File[UploadedFile],
    mode: Form[str] = "",
) -> Status[ImportBatchOut]:
    """Upload a OneRoster 1.2 CSV bundle (zip) or the XLSX template (multipart field ``file``)
    for ``org_id``'s subtree from source system ``source_id``. The import runs in the
    background: poll ``GET /imports/{id}``. ``mode`` (``bulk``/``delta``) only matters for a
    file without a manifest."""
    org = referenced_org(request, org_id, "org_id")
    with api_field_names(field="source_id"):
        source = queries.access_source(request.auth, source_id)
    from .views.imports import max_upload_bytes

    if (file.size or 0) > max_upload_bytes():
        raise invalid("file", "FILE_TOO_LARGE", _("The file is too large."))
    with api_field_names({"source": "source_id", "org": "org_id"}):
        batch = actions.start_import(
            actor=request.auth,
            source=source,
            org=org,
            uploaded_file=file,
            file_name=file.name or "upload.zip",
            mode_hint=mode or None,
        )
    batch = queries.access_batch(request.auth, batch.pk)
    return Status(202, ImportBatchOut.from_orm(batch))


@imports.get(
    "",
    response={200: ImportBatchPageOut, **error_responses(422)},
    operation_id="registry_import_list",
    summary="List import batches",
)
def list_imports(
    request: ApiRequest, filters: Query[ImportBatchFilter], page: Query[PageQuery]
) -> ImportBatchPageOut:
    """Import batches the caller may see, newest first."""
    qs = queries.list_batches(request.auth, status=filters.status or "")
    return paginate(qs, page, ImportBatchPageOut)


@imports.get(
    "/{id}",
    response={200: ImportBatchDetailOut, **error_responses(404, 422)},
    operation_id="registry_import_get",
    summary="Get an import batch",
)
def get_import(request: ApiRequest, id: DbId) -> ImportBatchDetailOut:
    """One batch with its progress, counts, scores and findings per code; one the caller may
    not see is a 404."""
    return _detail(queries.access_batch(request.auth, id))


@imports.post(
    "/{id}/resume",
    response={202: ImportBatchOut, **error_responses(403, 404, 409, 422)},
    operation_id="registry_import_resume",
    summary="Resume an interrupted import",
)
def resume_import(request: ApiRequest, id: DbId) -> Status[ImportBatchOut]:
    """Continue an interrupted batch from its checkpoint (409 ``BATCH_NOT_RESUMABLE`` for any
    other state)."""
    batch = queries.access_batch(request.auth, id)
    actions.resume_import(actor=request.auth, batch=batch)
    return Status(202, ImportBatchOut.from_orm(queries.access_batch(request.auth, id)))
