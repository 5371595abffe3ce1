"""Provider writes: create a resource, edit a draft, start a new version, submit, withdraw.

Who: creating and submitting need ``resources.submit`` (a role in ``SUBMIT_ROLES``) and an org
inside the subtree where the actor holds it; editing, submitting and withdrawing a version need
``change`` on it (the submitter, or admins of the owning org's subtree). A version the actor
cannot see is ``NotFound``; one they see but may not change is ``PermissionDenied``.

Metadata is plain text: control and bidi-override characters are removed, and text with markup
(``<tag``) is refused with ``MARKUP_NOT_ALLOWED`` rather than stored. The chapter must belong to
the subject (and edition), the grade to the stage; a virtual lab is a link (http/https) with no
file, every other type needs a file whose content is of a type it takes (``audit.sniff``).

Uploads are hashed with SM3 in 1 MiB chunks (``cryptography``'s incremental SM3, the same
primitive as ``core.crypto.sm3``) while their size is counted against
``RESOURCES_MAX_UPLOAD_BYTES``, then streamed to storage with ``FieldFile.save``. The file is
written inside the action's transaction and deleted again if that transaction fails, so no
stored file is left without its row. (An outer transaction opened by a caller that rolls back
later cannot be seen from here; no caller does that.) A replaced draft file is deleted after
commit unless another version still uses it (a new version shares its predecessor's file).

Submitting enqueues ``tasks.audit_version`` on commit: the version stays a draft until the
audit has run (``audit.run``), which then moves it into review.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import posixpath
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from cryptography.hazmat.primitives import hashes
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.context import change_context
from shuyuan.core.models import Org
from shuyuan.core.scoping import can, has_permission
from shuyuan.identity.queries import role_paths

from .. import conf
from ..audit import sniff
from ..choices import (
    GRADE_STAGE,
    ProviderKind,
    ResourceStatus,
    ResourceType,
    Stage,
    VersionStatus,
)
from ..errors import (
    FieldError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    conflict,
    invalid,
)
from ..models import Chapter, Resource, ResourceVersion, Subject, TextbookEdition
from ..permissions import SUBMIT_ROLES
from . import review

READ_SIZE = 1024 * 1024
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
PROVIDER_MAX = 200
LICENCE_MAX = 64
NOTE_MAX = 2000
URL_MAX = 500
FILE_NAME_MAX = 200

#: The metadata a version carries (``update_version`` and ``new_version`` take these).
METADATA_FIELDS = (
    "title",
    "description",
    "subject",
    "stage",
    "grade",
    "edition",
    "chapter",
    "resource_type",
    "licence",
    "licence_expires",
    "external_url",
)
UNFINISHED = (VersionStatus.DRAFT, VersionStatus.IN_REVIEW)

#: C0/C1 controls (but tab and newline), zero-width and bidi-override characters, BOM.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
#: The start of an HTML/XML tag, comment or declaration ("<b", "</a", "<!--", "<?xml").
_MARKUP = re.compile(r"<(?:[/?]?[A-Za-z]|!--|![A-Za-z])")
_URL = URLValidator(schemes=["http", "https"])


# --- checks ------------------------------------------------------------------------------------


def may_submit_for(actor: Any, org: Org) -> bool:
    """May ``actor`` submit resources owned by ``org`` (inside their submitting subtree)?"""
    if not has_permission(actor, "resources.submit"):
        return False
    if actor.is_platform_admin:
        return True
    return any(org.path.startswith(p) for p in role_paths(actor, SUBMIT_ROLES))


def submit_orgs(actor: Any) -> Any:
    """The active orgs ``actor`` may submit for, in tree order."""
    qs = Org.objects.filter(is_active=True).order_by("path")
    if not has_permission(actor, "resources.submit"):
        return qs.none()
    if actor.is_platform_admin:
        return qs
    paths = role_paths(actor, SUBMIT_ROLES)
    if not paths:
        return qs.none()
    from django.db.models import Q

    condition = Q()
    for p in paths:
        condition |= Q(path__startswith=p)
    return qs.filter(condition)


def _require_submit(actor: Any) -> None:
    if not has_permission(actor, "resources.submit"):
        raise PermissionDenied(_("Your roles do not include providing resources."))


def _require_change(actor: Any, version: ResourceVersion) -> None:
    if not ResourceVersion.objects.visible_to(actor).filter(pk=version.pk).exists():
        raise NotFound(_("Version not found."), code="VERSION_NOT_FOUND")
    if not can(actor, "change", version):
        raise PermissionDenied(_("You cannot change this resource."))


def _require_resource_change(actor: Any, resource: Resource) -> None:
    if not Resource.objects.visible_to(actor).filter(pk=resource.pk).exists():
        raise NotFound(_("Resource not found."), code="RESOURCE_NOT_FOUND")
    if not can(actor, "change", resource):
        raise PermissionDenied(_("You cannot change this resource."))


def clean_plain_text(
    field: str,
    value: Any,
    limit: int,
    problems: list[FieldError],
    *,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """``value`` as plain text: controls removed, trimmed; markup, missing or over-long text
    adds a problem on ``field`` (and the cleaned text is returned anyway)."""
    text = unicodedata.normalize("NFC", str(value or ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if not multiline:
        text = " ".join(text.split())
    text = text.strip()
    if required and not text:
        problems.append(FieldError(field, "REQUIRED", _("This field is required.")))
    elif len(text) > limit:
        problems.append(
            FieldError(
                field,
                "TOO_LONG",
                _("At most %(limit)d characters are allowed.") % {"limit": limit},
            )
        )
    match = _MARKUP.search(text)
    if match:
        problems.append(
            FieldError(
                field,
                "MARKUP_NOT_ALLOWED",
                _('Plain text only: remove the markup starting with "%(tag)s".')
                % {"tag": text[match.start() : match.start() + 12]},
            )
        )
    return text


@dataclass
class Metadata:
    """Validated metadata of a version."""

    title: str
    description: str
    subject: Subject
    stage: str
    grade: str
    edition: TextbookEdition | None
    chapter: Chapter | None
    resource_type: str
    licence: str
    licence_expires: dt.date | None
    external_url: str

    def apply(self, version: ResourceVersion) -> None:
        for name in METADATA_FIELDS:
            setattr(version, name, getattr(self, name))


def clean_metadata(data: dict[str, Any], problems: list[FieldError]) -> Metadata | None:
    """Validate the metadata in ``data`` (keys ``METADATA_FIELDS``); problems are appended.
    Returns ``None`` when a problem makes the rest meaningless."""
    title = clean_plain_text("title", data.get("title"), TITLE_MAX, problems, required=True)
    description = clean_plain_text(
        "description", data.get("description"), DESCRIPTION_MAX, problems, multiline=True
    )
    licence = clean_plain_text("licence", data.get("licence"), LICENCE_MAX, problems, required=True)
    subject = data.get("subject")
    if not isinstance(subject, Subject):
        problems.append(FieldError("subject", "REQUIRED", _("Choose the subject.")))
    stage = str(data.get("stage") or "")
    if stage not in Stage.values:
        problems.append(FieldError("stage", "INVALID_CHOICE", _("Choose the stage.")))
    grade = str(data.get("grade") or "")
    if grade and grade not in GRADE_STAGE:
        problems.append(FieldError("grade", "INVALID_CHOICE", _("Choose a grade from the list.")))
    elif grade and stage in Stage.values and GRADE_STAGE[grade] != stage:
        problems.append(
            FieldError(
                "grade",
                "GRADE_STAGE_MISMATCH",
                _("Grade %(grade)s does not belong to the chosen stage.") % {"grade": grade},
            )
        )
    edition = data.get("edition") or None
    chapter = data.get("chapter") or None
    if chapter is not None:
        if isinstance(subject, Subject) and chapter.subject_id != subject.pk:
            problems.append(
                FieldError(
                    "chapter",
                    "CHAPTER_SUBJECT_MISMATCH",
                    _("The chapter belongs to another subject."),
                )
            )
        if edition is not None and chapter.edition_id != edition.pk:
            problems.append(
                FieldError(
                    "chapter",
                    "CHAPTER_EDITION_MISMATCH",
                    _("The chapter belongs to another textbook edition."),
                )
            )
        if grade and chapter.grade and chapter.grade != grade:
            problems.append(
                FieldError(
                    "chapter",
                    "CHAPTER_GRADE_MISMATCH",
                    _("The chapter is taught in grade %(grade)s.") % {"grade": chapter.grade},
                )
            )
        if edition is None:
            edition = chapter.edition
    resource_type = str(data.get("resource_type") or "")
    if resource_type not in ResourceType.values:
        problems.append(
            FieldError("resource_type", "INVALID_CHOICE", _("Choose the resource type."))
        )
    expires = data.get("licence_expires") or None
    if expires is not None and (
        not isinstance(expires, dt.date) or expires <= timezone.localdate()
    ):
        problems.append(
            FieldError(
                "licence_expires",
                "LICENCE_EXPIRED",
                _("The licence must run beyond today."),
            )
        )
    url = str(data.get("external_url") or "").strip()
    if url:
        try:
            if len(url) > URL_MAX:
                raise ValidationError("too long")
            _URL(url)
        except ValidationError:
            problems.append(
                FieldError(
                    "external_url",
                    "URL_INVALID",
                    _("Enter a full http:// or https:// address of at most %(n)d characters.")
                    % {"n": URL_MAX},
                )
            )
    elif resource_type == ResourceType.VIRTUAL_LAB:
        problems.append(
            FieldError("external_url", "URL_REQUIRED", _("A virtual lab needs its link."))
        )
    if problems or not isinstance(subject, Subject):
        return None
    return Metadata(
        title=title,
        description=description,
        subject=subject,
        stage=stage,
        grade=grade,
        edition=edition,
        chapter=chapter,
        resource_type=resource_type,
        licence=licence,
        licence_expires=expires,
        external_url=url,
    )


def _checked(meta: Metadata | None, problems: list[FieldError]) -> Metadata:
    """``meta`` if nothing is wrong; else ``InvalidInput`` listing every problem."""
    if problems or meta is None:
        raise InvalidInput(_("Some fields need correcting."), errors=problems)
    return meta


# --- uploads -----------------------------------------------------------------------------------


@dataclass
class Upload:
    """An uploaded file after its checks: where to read it, its name, size, hash and type."""

    fh: IO[bytes]
    name: str
    size: int
    sm3: str
    mime: str


def _file_name(upload: Any) -> str:
    raw = str(getattr(upload, "name", "") or "")
    name = posixpath.basename(raw.replace("\\", "/")).strip()
    name = _CONTROL.sub("", name)
    if not name or len(name) > FILE_NAME_MAX or name in {".", ".."}:
        raise invalid(
            "file", "FILE_NAME_INVALID", _("The file needs a name of at most 200 characters.")
        )
    return name


def read_upload(upload: Any, resource_type: str) -> Upload:
    """Check ``upload`` (an ``UploadedFile`` or any named, seekable binary file): size within
    ``RESOURCES_MAX_UPLOAD_BYTES``, not empty, content of a type ``resource_type`` takes and
    named for it, safe if a zip. Hashes it with SM3 in chunks."""
    name = _file_name(upload)
    limit = int(conf.get("RESOURCES_MAX_UPLOAD_BYTES"))
    too_large = PayloadTooLarge(
        _("The file is larger than %(limit)s MiB.") % {"limit": f"{limit / (1024 * 1024):g}"},
        field="file",
    )
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise too_large
    fh: Any = upload.file if isinstance(upload, File) and upload.file is not None else upload
    digest = hashes.Hash(hashes.SM3())
    size = 0
    fh.seek(0)
    while block := fh.read(READ_SIZE):
        size += len(block)
        if size > limit:
            raise too_large
        digest.update(block)
    fh.seek(0)
    if size == 0:
        raise invalid("file", "FILE_EMPTY", _("The file is empty."))
    if resource_type == ResourceType.VIRTUAL_LAB:
        raise invalid("file", "FILE_NOT_ALLOWED", _("A virtual lab is a link; it takes no file."))
    sniffed, problem = sniff.check_type(fh, name, resource_type)
    if problem is not None:
        raise invalid("file", problem.code, problem.message)
    if sniffed is None:  # check_type returns a type whenever there is no problem
        raise invalid("file", "FILE_TYPE_NOT_ALLOWED", _("The file's type is not recognised."))
    return Upload(fh, name, size, digest.finalize().hex(), sniffed.mime)


@contextlib.contextmanager
def _files_cleaned_up_on_error() -> Iterator[list[tuple[Any, str]]]:
    """Collect ``(storage, name)`` of files stored in the block; delete them if it raises."""
    stored: list[tuple[Any, str]] = []
    try:
        yield stored
    except BaseException:
        for storage, name in stored:
            with contextlib.suppress(Exception):
                storage.delete(name)
        raise


def _store(version: ResourceVersion, upload: Upload, stored: list[tuple[Any, str]]) -> None:
    version.file.save(upload.name, File(upload.fh, name=upload.name), save=False)
    stored.append((version.file.storage, version.file.name))
    version.file_name = upload.name
    version.file_size = upload.size
    version.content_sm3 = upload.sm3
    version.mime_type = upload.mime


def _delete_if_unused(storage: Any, name: str) -> None:
    if name and not ResourceVersion.objects.filter(file=name).exists():
        with contextlib.suppress(Exception):
            storage.delete(name)


def _check_file_fits(
    version: ResourceVersion, resource_type: str, problems: list[FieldError]
) -> None:
    """A version keeping its file must still take it after a change of type."""
    if resource_type == ResourceType.VIRTUAL_LAB:
        if version.file:
            problems.append(
                FieldError(
                    "file", "FILE_NOT_ALLOWED", _("A virtual lab is a link; it takes no file.")
                )
            )
        return
    if not version.file:
        problems.append(FieldError("file", "FILE_REQUIRED", _("Upload the file.")))
        return
    kept = sniff.Sniffed(version.mime_type, "")
    if not sniff.allowed_for(resource_type, kept):
        problems.append(
            FieldError(
                "file",
                "FILE_TYPE_NOT_ALLOWED",
                _("This resource type takes %(allowed)s files; the current file is %(type)s.")
                % {"allowed": sniff.allowed_labels(resource_type), "type": version.mime_type},
            )
        )


# --- actions -----------------------------------------------------------------------------------


def create_resource(
    *,
    actor: Any,
    org: Org | None,
    provider_kind: str,
    provider_name: str,
    title: str,
    description: str,
    subject: Subject | None,
    stage: str,
    grade: str,
    edition: TextbookEdition | None,
    chapter: Chapter | None,
    resource_type: str,
    licence: str,
    licence_expires: dt.date | None,
    external_url: str,
    upload: Any = None,
    change_note: str = "",
    source: str = "ui",
) -> Resource:
    """A new resource owned by ``org`` with its first version (both drafts).

    Raises ``PermissionDenied`` (no submitting role, or ``org`` outside the actor's subtree),
    ``InvalidInput`` naming each bad field, ``PayloadTooLarge`` (``FILE_TOO_LARGE``).
    """
    _require_submit(actor)
    if org is None:
        raise invalid("org", "REQUIRED", _("Choose the organisation that answers for it."))
    if not may_submit_for(actor, org):
        raise PermissionDenied(
            _("You cannot submit resources for %(org)s.") % {"org": org.name}, field="org"
        )
    problems: list[FieldError] = []
    if provider_kind not in ProviderKind.values:
        problems.append(
            FieldError("provider_kind", "INVALID_CHOICE", _("Choose the provider kind."))
        )
    provider = clean_plain_text(
        "provider_name", provider_name, PROVIDER_MAX, problems, required=True
    )
    note = clean_plain_text("change_note", change_note, NOTE_MAX, problems, multiline=True)
    meta = clean_metadata(
        {
            "title": title,
            "description": description,
            "subject": subject,
            "stage": stage,
            "grade": grade,
            "edition": edition,
            "chapter": chapter,
            "resource_type": resource_type,
            "licence": licence,
            "licence_expires": licence_expires,
            "external_url": external_url,
        },
        problems,
    )
    if upload is None and resource_type != ResourceType.VIRTUAL_LAB:
        problems.append(FieldError("file", "FILE_REQUIRED", _("Upload the file.")))
    meta = _checked(meta, problems)
    checked = read_upload(upload, meta.resource_type) if upload is not None else None
    with (
        _files_cleaned_up_on_error() as stored,
        transaction.atomic(),
        change_context(actor=actor, source=source),
    ):
        resource = Resource(
            org=org,
            provider_kind=provider_kind,
            provider_name=provider,
            created_by=actor,
            status=ResourceStatus.DRAFT,
        )
        resource.save(force_insert=True)
        version = ResourceVersion(
            resource=resource,
            number=1,
            status=VersionStatus.DRAFT,
            created_by=actor,
            change_note=note,
        )
        meta.apply(version)
        if checked is not None:
            _store(version, checked, stored)
        version.save(force_insert=True)
    return resource


def update_version(
    *, actor: Any, version: ResourceVersion, source: str = "ui", **fields: Any
) -> ResourceVersion:
    """Edit a draft or rejected version (a rejected one becomes a draft again: resubmission).

    ``fields``: any of ``METADATA_FIELDS``, ``upload`` (a new file) and ``change_note``; the
    others keep their values. Raises ``NotFound``, ``PermissionDenied``, ``Conflict``
    (``VERSION_NOT_EDITABLE``), ``InvalidInput``.
    """
    _require_change(actor, version)
    version = ResourceVersion.objects.select_related("resource").get(pk=version.pk)
    if version.status not in {VersionStatus.DRAFT, VersionStatus.REJECTED}:
        raise conflict(
            "VERSION_NOT_EDITABLE", _("Only a draft or a rejected version can be edited.")
        )
    unknown = set(fields) - {*METADATA_FIELDS, "upload", "change_note"}
    if unknown:
        raise InvalidInput(
            _("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))},
            code="UNKNOWN_FIELD",
            errors=[FieldError(n, "UNKNOWN_FIELD", _("Unknown field.")) for n in sorted(unknown)],
        )
    upload = fields.pop("upload", None)
    problems: list[FieldError] = []
    note = version.change_note
    if "change_note" in fields:
        note = clean_plain_text(
            "change_note", fields.pop("change_note"), NOTE_MAX, problems, multiline=True
        )
    data = {name: getattr(version, name) for name in METADATA_FIELDS}
    data.update(fields)
    meta = clean_metadata(data, problems)
    if meta is not None and upload is None:
        _check_file_fits(version, meta.resource_type, problems)
    meta = _checked(meta, problems)
    checked = read_upload(upload, meta.resource_type) if upload is not None else None
    old_file = version.file.name if checked is not None and version.file else ""
    storage = version.file.storage
    with (
        _files_cleaned_up_on_error() as stored,
        transaction.atomic(),
        change_context(actor=actor, source=source),
    ):
        locked = ResourceVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != version.status:
            raise conflict("VERSION_CHANGED", _("The version changed meanwhile; reload it."))
        meta.apply(version)
        version.change_note = note
        version.submitted_at = None  # edited: submit again to audit what it is now
        if version.status == VersionStatus.REJECTED:
            version.status = VersionStatus.DRAFT
            version.review_stage = ""
        if checked is not None:
            _store(version, checked, stored)
        version.save()
        if old_file:
            transaction.on_commit(lambda: _delete_if_unused(storage, old_file))
    return version


def new_version(
    *, actor: Any, resource: Resource, source: str = "ui", **changes: Any
) -> ResourceVersion:
    """Start version n+1 of ``resource`` as a draft, copying the latest version's metadata and
    file, with ``changes`` applied (as in ``update_version``). Every later version passes
    update review before it replaces the listed one (更新必审).

    Raises ``Conflict``: ``UNFINISHED_VERSION`` (a draft or a version in review exists),
    ``RESOURCE_RETIRED``, ``VERSION_NUMBER_TAKEN``; ``InvalidInput``; ``PermissionDenied``.
    """
    _require_resource_change(actor, resource)
    _require_submit(actor)
    resource = Resource.objects.get(pk=resource.pk)
    if resource.status == ResourceStatus.RETIRED:
        raise conflict("RESOURCE_RETIRED", _("A retired resource takes no new versions."))
    if resource.versions.filter(status__in=UNFINISHED).exists():
        raise conflict(
            "UNFINISHED_VERSION",
            _("Finish or withdraw the version in progress before starting another."),
        )
    latest = resource.versions.order_by("-number").first()
    if latest is None:
        raise conflict("UNFINISHED_VERSION", _("The resource has no version to start from."))
    unknown = set(changes) - {*METADATA_FIELDS, "upload", "change_note"}
    if unknown:
        raise InvalidInput(
            _("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))},
            code="UNKNOWN_FIELD",
            errors=[FieldError(n, "UNKNOWN_FIELD", _("Unknown field.")) for n in sorted(unknown)],
        )
    upload = changes.pop("upload", None)
    problems: list[FieldError] = []
    note = clean_plain_text(
        "change_note", changes.pop("change_note", ""), NOTE_MAX, problems, multiline=True
    )
    data = {name: getattr(latest, name) for name in METADATA_FIELDS}
    data.update(changes)
    meta = clean_metadata(data, problems)
    if meta is not None and upload is None:
        _check_file_fits(latest, meta.resource_type, problems)
    meta = _checked(meta, problems)
    checked = read_upload(upload, meta.resource_type) if upload is not None else None
    version = ResourceVersion(
        resource=resource,
        number=latest.number + 1,
        status=VersionStatus.DRAFT,
        created_by=actor,
        change_note=note,
    )
    meta.apply(version)
    if checked is None and latest.file:
        version.file.name = latest.file.name
        version.file_name = latest.file_name
        version.file_size = latest.file_size
        version.content_sm3 = latest.content_sm3
        version.mime_type = latest.mime_type
    try:
        with (
            _files_cleaned_up_on_error() as stored,
            transaction.atomic(),
            change_context(actor=actor, source=source),
        ):
            Resource.objects.select_for_update().filter(pk=resource.pk).first()
            if resource.versions.filter(status__in=UNFINISHED).exists():
                raise conflict(
                    "UNFINISHED_VERSION",
                    _("Finish or withdraw the version in progress before starting another."),
                )
            if checked is not None:
                _store(version, checked, stored)
            version.save(force_insert=True)
    except IntegrityError as exc:
        raise conflict(
            "VERSION_NUMBER_TAKEN", _("Another version was started meanwhile; reload the page.")
        ) from exc
    return version


def _enqueue_audit(version_id: int, actor_id: int | None) -> None:
    from ..tasks import audit_version

    audit_version.enqueue(version_id, actor_id)


def submit_version(*, actor: Any, version: ResourceVersion, source: str = "ui") -> ResourceVersion:
    """Submit a draft for review: the automatic audit is enqueued on commit and moves the
    version into review when it finishes (``audit.run.audit_version``).

    Raises ``Conflict`` (``VERSION_NOT_SUBMITTABLE``, ``RESOURCE_RETIRED``), ``InvalidInput``
    (``FILE_REQUIRED``), ``PermissionDenied``, ``NotFound``.
    """
    _require_change(actor, version)
    _require_submit(actor)
    version = ResourceVersion.objects.select_related("resource").get(pk=version.pk)
    if version.status != VersionStatus.DRAFT:
        raise conflict("VERSION_NOT_SUBMITTABLE", _("Only a draft can be submitted."))
    if version.resource.status == ResourceStatus.RETIRED:
        raise conflict("RESOURCE_RETIRED", _("A retired resource takes no new versions."))
    problems: list[FieldError] = []
    _check_file_fits(version, version.resource_type, problems)
    if problems:
        raise InvalidInput(_("Some fields need correcting."), errors=problems)
    actor_id = getattr(actor, "pk", None)
    version_id = version.pk
    with transaction.atomic(), change_context(actor=actor, source=source):
        # A draft with ``submitted_at`` is waiting for its audit (the pages say so).
        version.submitted_at = timezone.now()
        version.save()
        transaction.on_commit(lambda: _enqueue_audit(version_id, actor_id))
    return version


def withdraw_version(
    *, actor: Any, version: ResourceVersion, source: str = "ui"
) -> ResourceVersion:
    """Withdraw a draft or a version in review. A resource never listed whose last version in
    review is withdrawn goes back to draft. Raises ``Conflict`` (``VERSION_NOT_WITHDRAWABLE``),
    ``PermissionDenied``, ``NotFound``."""
    _require_change(actor, version)
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked: ResourceVersion = ResourceVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status not in UNFINISHED:
            raise conflict(
                "VERSION_NOT_WITHDRAWABLE",
                _("Only a draft or a version in review can be withdrawn."),
            )
        locked.status = VersionStatus.WITHDRAWN
        locked.save()
        review.cancel_open_tasks(actor=actor, version=locked, source=source)
        resource = Resource.objects.select_for_update().get(pk=locked.resource_id)
        if (
            resource.status == ResourceStatus.IN_REVIEW
            and resource.listed_version_id is None
            and not resource.versions.filter(status=VersionStatus.IN_REVIEW).exists()
        ):
            resource.status = ResourceStatus.DRAFT
            resource.save()
    return locked
