"""Domain errors of the resources app: stable codes on top of ``core.errors``.

Every error is a ``core.errors`` subclass, so the API renders it as ``{code, message, errors}``
and forms show it with ``add_domain_errors``. The helpers build the common ones with the field
they are about; the codes are part of the API (documented in docs/apps/resources.md).

Upload codes: ``FILE_REQUIRED``, ``FILE_EMPTY``, ``FILE_TOO_LARGE``, ``FILE_NAME_INVALID``,
``FILE_TYPE_MISMATCH`` (the extension names another type than the content),
``FILE_TYPE_NOT_ALLOWED`` (unknown or executable content, or a type the resource type does not
take), ``FILE_NOT_ALLOWED`` (a link-only resource), ``ARCHIVE_UNSAFE`` (an OOXML zip that is a
zip bomb or has unsafe paths).

Metadata codes: ``REQUIRED``, ``TOO_LONG``, ``MARKUP_NOT_ALLOWED``, ``INVALID_CHOICE``,
``GRADE_STAGE_MISMATCH``, ``CHAPTER_SUBJECT_MISMATCH``, ``CHAPTER_EDITION_MISMATCH``,
``CHAPTER_GRADE_MISMATCH``, ``LICENCE_EXPIRED``, ``URL_REQUIRED``, ``URL_INVALID``,
``UNKNOWN_FIELD``.

Workflow codes (409): ``VERSION_NOT_EDITABLE``, ``VERSION_NOT_SUBMITTABLE``,
``VERSION_NOT_WITHDRAWABLE``, ``UNFINISHED_VERSION``, ``RESOURCE_RETIRED``,
``VERSION_NUMBER_TAKEN``. Word lists: ``WORDS_INVALID``, ``WORDS_EMPTY``.
"""

from __future__ import annotations

from shuyuan.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ShuyuanError,
    invalid,
)

__all__ = [
    "Conflict",
    "FieldError",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "ShuyuanError",
    "conflict",
    "invalid",
]


class PayloadTooLarge(InvalidInput):
    """An uploaded file is larger than ``RESOURCES_MAX_UPLOAD_BYTES`` (``FILE_TOO_LARGE``)."""

    code = "FILE_TOO_LARGE"
    status = 413


def conflict(code: str, message: str, field: str | None = None) -> Conflict:
    """A ``Conflict`` (409) with a stable ``code``: the row is in a state that forbids it."""
    return Conflict(message, code=code, field=field)
