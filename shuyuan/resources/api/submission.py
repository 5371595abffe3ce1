"""Resources API: submission (see docs/apps/resources.md).

Providers create a resource with its file (multipart), edit a draft, start a new version,
submit (the automatic audit runs in the background and moves the version into review) and
withdraw; they and the staff of the owning org read a resource with every version and a
version's audit findings. Word-list managers list and create versions of the sensitive-word
list. Reads through ``queries.resources`` (invisible: 404), writes through
``actions.submission`` / ``actions.words``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from shuyuan.core.api import referenced_org, require_permission
from shuyuan.core.errors import NotFound
from shuyuan.core.schemas import (
    ApiRequest,
    DbId,
    PageQuery,
    api_field_names,
    error_responses,
    paginate,
)

from ..actions import submission as actions
from ..actions import words as word_actions
from ..models import Chapter, Subject, TextbookEdition
from ..queries import resources as queries
from ..schemas_submission import (
    FindingListOut,
    ResourceCreateForm,
    ResourceDetailOut,
    ResourcePageOut,
    VersionChangeForm,
    VersionOut,
    WordListDetailOut,
    WordListIn,
    WordListOut,
    WordListPageOut,
    resource_detail,
)

SOURCE = "api"
FIELD_NAMES = {
    "org": "org_id",
    "subject": "subject_id",
    "edition": "edition_id",
    "chapter": "chapter_id",
}

router = Router(tags=["resources"])


def _ref(user: Any, model: Any, pk: int | None, field: str) -> Any:
    """The graph row ``pk`` (``None``/0: none); an invisible one is a 404 naming ``field``."""
    if not pk:
        return None
    row = model.objects.visible_to(user).filter(pk=pk).first()
    if row is None:
        raise NotFound(_("Not found."), field=field)
    return row


def _detail(request: ApiRequest, pk: int) -> ResourceDetailOut:
    resource = queries.access_resource(request.auth, pk, "staff_view")
    return resource_detail(resource, list(queries.resource_versions(request.auth, resource)))


def _changes(
    request: ApiRequest, data: VersionChangeForm, file: UploadedFile | None
) -> dict[str, Any]:
    user = request.auth
    sent = data.model_dump(exclude_unset=True, exclude_none=True)
    changes: dict[str, Any] = {}
    for name in ("title", "description", "stage", "grade", "resource_type", "licence"):
        if name in sent:
            changes[name] = str(sent[name])
    for name in ("licence_expires", "external_url", "change_note"):
        if name in sent:
            changes[name] = sent[name]
    if "subject_id" in sent:
        changes["subject"] = _ref(user, Subject, sent["subject_id"], "subject_id")
    if "edition_id" in sent:
        changes["edition"] = _ref(user, TextbookEdition, sent["edition_id"], "edition_id")
    if "chapter_id" in sent:
        changes["chapter"] = _ref(user, Chapter, sent["chapter_id"], "chapter_id")
    if file is not None:
        changes["upload"] = file
    return changes


@router.post(
    "/submissions",
    response={201: ResourceDetailOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_submit_create",
    summary="Create a resource",
)
def create_resource(
    request: ApiRequest, data: Form[ResourceCreateForm], file: File[UploadedFile | None] = None
) -> Status[ResourceDetailOut]:
    """A new resource with its first version, both drafts (multipart: the fields and a ``file``
    part). The file's content must be of a type the resource type takes and its name must not
    lie about it (``FILE_TYPE_MISMATCH``, ``FILE_TYPE_NOT_ALLOWED``, ``ARCHIVE_UNSAFE``); over
    the size limit is 413 ``FILE_TOO_LARGE``. Submit the version to start review."""
    user = request.auth
    org = referenced_org(request, data.org_id, "org_id")
    with api_field_names(FIELD_NAMES):
        resource = actions.create_resource(
            actor=user,
            org=org,
            provider_kind=data.provider_kind,
            provider_name=data.provider_name,
            title=data.title,
            description=data.description,
            subject=_ref(user, Subject, data.subject_id, "subject_id"),
            stage=data.stage,
            grade=data.grade,
            edition=_ref(user, TextbookEdition, data.edition_id, "edition_id"),
            chapter=_ref(user, Chapter, data.chapter_id, "chapter_id"),
            resource_type=data.resource_type,
            licence=data.licence,
            licence_expires=data.licence_expires,
            external_url=data.external_url,
            upload=file,
            change_note=data.change_note,
            source=SOURCE,
        )
    return Status(201, _detail(request, resource.pk))


@router.get(
    "/submissions",
    response={200: ResourcePageOut, **error_responses(422)},
    operation_id="resources_submit_mine_list",
    summary="List my resources",
)
def list_mine(request: ApiRequest, page: Query[PageQuery]) -> ResourcePageOut:
    """Resources the caller submitted, newest first, with their latest version's state."""
    return paginate(queries.list_my_resources(request.auth), page, ResourcePageOut)


@router.get(
    "/submissions/{int:id}",
    response={200: ResourceDetailOut, **error_responses(404, 422)},
    operation_id="resources_submit_get",
    summary="Get a resource with its versions",
)
def get_resource(request: ApiRequest, id: DbId) -> ResourceDetailOut:
    """The staff view of a resource (submitter, admins and reviewers of the owning org): every
    version, not only the listed one."""
    return _detail(request, id)


@router.post(
    "/submissions/{int:id}/versions",
    response={201: VersionOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_submit_version_create",
    summary="Start a new version",
)
def create_version(
    request: ApiRequest,
    id: DbId,
    data: Form[VersionChangeForm],
    file: File[UploadedFile | None] = None,
) -> Status[VersionOut]:
    """Version n+1 as a draft: a copy of the latest version's metadata and file with the sent
    fields changed. 409 ``UNFINISHED_VERSION`` while a draft or a version in review exists."""
    resource = queries.access_resource(request.auth, id, "staff_view")
    with api_field_names(FIELD_NAMES):
        version = actions.new_version(
            actor=request.auth,
            resource=resource,
            source=SOURCE,
            **_changes(request, data, file),
        )
    return Status(201, VersionOut.from_orm(version))


@router.post(
    "/submissions/versions/{int:id}",
    response={200: VersionOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_submit_version_update",
    summary="Edit a draft version",
)
def update_version(
    request: ApiRequest,
    id: DbId,
    data: Form[VersionChangeForm],
    file: File[UploadedFile | None] = None,
) -> VersionOut:
    """Change a draft or rejected version (multipart; absent fields are kept, a ``file`` part
    replaces the file). A rejected version becomes a draft again (resubmission)."""
    version = queries.access_version(request.auth, id)
    with api_field_names(FIELD_NAMES):
        version = actions.update_version(
            actor=request.auth, version=version, source=SOURCE, **_changes(request, data, file)
        )
    return VersionOut.from_orm(version)


@router.post(
    "/submissions/versions/{int:id}/submit",
    response={202: VersionOut, **error_responses(403, 404, 409, 422)},
    operation_id="resources_submit_version_submit",
    summary="Submit a version for review",
)
def submit_version(request: ApiRequest, id: DbId) -> Status[VersionOut]:
    """Start the automatic audit; the version moves to ``in_review`` when it finishes (poll
    the version). 409 ``VERSION_NOT_SUBMITTABLE`` unless it is a draft."""
    version = queries.access_version(request.auth, id)
    actions.submit_version(actor=request.auth, version=version, source=SOURCE)
    return Status(202, VersionOut.from_orm(queries.access_version(request.auth, id)))


@router.post(
    "/submissions/versions/{int:id}/withdraw",
    response={200: VersionOut, **error_responses(403, 404, 409, 422)},
    operation_id="resources_submit_version_withdraw",
    summary="Withdraw a version",
)
def withdraw_version(request: ApiRequest, id: DbId) -> VersionOut:
    """Withdraw a draft or a version in review (409 ``VERSION_NOT_WITHDRAWABLE`` otherwise)."""
    version = queries.access_version(request.auth, id)
    version = actions.withdraw_version(actor=request.auth, version=version, source=SOURCE)
    return VersionOut.from_orm(version)


@router.get(
    "/submissions/versions/{int:id}/findings",
    response={200: FindingListOut, **error_responses(404, 422)},
    operation_id="resources_submit_finding_list",
    summary="List a version's audit findings",
)
def list_findings(request: ApiRequest, id: DbId) -> FindingListOut:
    """The automatic audit's findings of the version, blocking ones first (submitter, admins
    and reviewers of the owning org)."""
    version = queries.access_version(request.auth, id, "staff_view")
    rows = list(queries.version_findings(request.auth, version))
    return FindingListOut.model_validate({"count": len(rows), "items": rows})


@router.get(
    "/submissions/word-lists",
    response={200: WordListPageOut, **error_responses(403, 422)},
    operation_id="resources_submit_word_list_list",
    summary="List sensitive-word list versions",
)
def list_word_lists(request: ApiRequest, page: Query[PageQuery]) -> WordListPageOut:
    """Versions of the sensitive-word list, newest first (``resources.manage_word_list``)."""
    require_permission(request, "resources.manage_word_list")
    return paginate(queries.list_word_lists(request.auth), page, WordListPageOut)


@router.post(
    "/submissions/word-lists",
    response={201: WordListDetailOut, **error_responses(403, 409, 422, body=True)},
    operation_id="resources_submit_word_list_create",
    summary="Save a new sensitive-word list version",
)
def create_word_list(request: ApiRequest, body: WordListIn) -> Status[WordListDetailOut]:
    """Save the words (one a line, optional ``|warn``) as the next version, normalised and
    de-duplicated; with ``activate`` (default) it becomes the active list."""
    word_list = word_actions.create_word_list(
        actor=request.auth,
        words_text=body.words,
        note=body.note,
        activate=body.activate,
        source=SOURCE,
    )
    return Status(201, WordListDetailOut.from_orm(word_list))


@router.post(
    "/submissions/word-lists/{int:id}/activate",
    response={200: WordListOut, **error_responses(403, 404, 422)},
    operation_id="resources_submit_word_list_activate",
    summary="Activate a sensitive-word list version",
)
def activate_word_list(request: ApiRequest, id: DbId) -> WordListOut:
    """Make this version the active list (the others become inactive)."""
    require_permission(request, "resources.manage_word_list")
    word_list = queries.access_word_list(request.auth, id)
    return WordListOut.from_orm(
        word_actions.activate_word_list(actor=request.auth, word_list=word_list, source=SOURCE)
    )
