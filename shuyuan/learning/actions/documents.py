"""Writes of the xAPI document resources: store, merge and delete State, Activity Profile and
Agent Profile documents, with the ETag preconditions of xAPI concurrency control.

Each write runs in one transaction that locks the target row (``select_for_update`` on
PostgreSQL; SQLite serialises writers anyway), so the preconditions are checked against the
row that is then changed. Two writers creating the same document at once meet at the unique
constraint: the loser's transaction is rolled back and the write is retried once the winner's
row is visible, so there is never a second row or a half-written one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.errors import Conflict, PermissionDenied, ShuyuanError

from ..choices import DocumentKind
from ..models import Document
from ..queries.documents import DocumentScope, document_rows
from ..xapi.auth import Caller
from ..xapi.keys import digest

JSON_TYPE = "application/json"
_ATTEMPTS = 3

_T = TypeVar("_T")


class PreconditionFailed(ShuyuanError):
    """An If-Match / If-None-Match precondition does not hold (HTTP 412)."""

    code = "PRECONDITION_FAILED"
    status = 412


class DocumentExists(Conflict):
    """A PUT without a precondition would overwrite an existing document (HTTP 409)."""

    code = "DOCUMENT_EXISTS"


class NotMergeable(ShuyuanError):
    """A POST cannot merge: one of the two documents is not a JSON object (HTTP 400)."""

    code = "NOT_MERGEABLE"
    status = 400


@dataclass(frozen=True)
class Preconditions:
    """The raw ``If-Match`` / ``If-None-Match`` header values (``None`` when absent)."""

    if_match: str | None = None
    if_none_match: str | None = None

    @property
    def present(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


def etag_of(content: bytes) -> str:
    """The ETag of a document: the hex SHA-1 of its content (xAPI concurrency requirements)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def _tags(value: str) -> list[str] | None:
    """The entity tags of a header value, unquoted and lower-cased; ``None`` for ``*``."""
    if value.strip() == "*":
        return None
    tags = []
    for part in value.split(","):
        tag = part.strip()
        if tag[:2] in {"W/", "w/"}:
            tag = tag[2:]
        tags.append(tag.strip('"').lower())
    return [tag for tag in tags if tag]


def check_preconditions(preconditions: Preconditions, current: Document | None) -> None:
    """Raise ``PreconditionFailed`` unless the headers hold for ``current`` (RFC 7232 §3).

    ``If-Match`` holds when the document exists and (for a list of tags) its ETag is listed;
    ``If-None-Match`` holds when it does not exist or (for a list) its ETag is not listed.
    """
    if preconditions.if_match is not None:
        tags = _tags(preconditions.if_match)
        if current is None or (tags is not None and current.etag not in tags):
            raise PreconditionFailed(_("The document does not match the If-Match header."))
    if preconditions.if_none_match is not None and current is not None:
        tags = _tags(preconditions.if_none_match)
        if tags is None or current.etag in tags:
            raise PreconditionFailed(_("The document matches the If-None-Match header."))


def _area(kind: str) -> str:
    return "state" if kind == DocumentKind.STATE else "profile"


def _check_writer(actor: Caller, scope: DocumentScope) -> None:
    if scope.org_id != actor.org_id or not actor.can_write(_area(scope.kind)):
        raise PermissionDenied(_("This credential may not change these documents."))


def _retrying(write: Callable[[], _T]) -> _T:
    """Run ``write`` in a transaction, again when a concurrent writer created the same row."""
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return write()
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _locked(scope: DocumentScope, doc_id: str) -> Document | None:
    return document_rows(scope, doc_id).select_for_update().first()


def _store(
    scope: DocumentScope,
    doc_id: str,
    current: Document | None,
    content: bytes,
    content_type: str,
) -> Document:
    now = timezone.now()
    if current is not None:
        current.content = content
        current.content_type = content_type
        current.etag = etag_of(content)
        current.updated_at = now
        current.save(update_fields=["content", "content_type", "etag", "updated_at"])
        return current
    document = Document(
        kind=scope.kind,
        org_id=scope.org_id,
        activity_key=scope.activity_key,
        agent_key=scope.agent_key,
        registration=scope.registration or "",
        doc_key=digest(doc_id),
        doc_id=doc_id,
        content=content,
        content_type=content_type,
        etag=etag_of(content),
        updated_at=now,
    )
    document.save(force_insert=True)
    return document


def put_document(
    *,
    actor: Caller,
    scope: DocumentScope,
    doc_id: str,
    content: bytes,
    content_type: str,
    preconditions: Preconditions,
    conflict_without_precondition: bool,
) -> Document:
    """Store ``content`` as the document ``doc_id``, replacing any existing one.

    Raises ``PermissionDenied`` without the write scope, ``PreconditionFailed`` when a
    precondition header fails and ``DocumentExists`` when the document exists, no precondition
    was given and ``conflict_without_precondition`` (the xAPI rule for that resource) is set.
    """
    _check_writer(actor, scope)

    def write() -> Document:
        current = _locked(scope, doc_id)
        check_preconditions(preconditions, current)
        if current is not None and conflict_without_precondition and not preconditions.present:
            raise DocumentExists(
                _(
                    "The document already exists. Fetch it, then send the request again with "
                    "an If-Match header carrying its current ETag."
                )
            )
        return _store(scope, doc_id, current, content, content_type)

    return _retrying(write)


def merge_document(
    *,
    actor: Caller,
    scope: DocumentScope,
    doc_id: str,
    content: bytes,
    content_type: str,
    preconditions: Preconditions,
) -> Document:
    """POST: merge ``content`` into the document ``doc_id``, or store it when there is none.

    With an existing document both must be JSON objects sent as ``application/json``; the
    result has the existing document's properties overwritten by the posted ones (one level
    deep, as the specification's Document Merge). Raises ``NotMergeable`` (400) otherwise,
    and whenever content sent as ``application/json`` is not a JSON object; besides
    ``PermissionDenied`` and ``PreconditionFailed``.
    """
    _check_writer(actor, scope)
    posted = _json_object(content) if _main_type(content_type) == JSON_TYPE else None
    if _main_type(content_type) == JSON_TYPE and posted is None:
        raise NotMergeable(_("A document sent as application/json must be a JSON object."))

    def write() -> Document:
        current = _locked(scope, doc_id)
        check_preconditions(preconditions, current)
        if current is None:
            return _store(scope, doc_id, None, content, content_type)
        existing = (
            _json_object(bytes(current.content))
            if _main_type(current.content_type) == JSON_TYPE
            else None
        )
        if posted is None or existing is None:
            raise NotMergeable(
                _(
                    "Only JSON objects sent as application/json can be merged into a stored "
                    "JSON object."
                )
            )
        merged = json.dumps({**existing, **posted}, ensure_ascii=False, separators=(",", ":"))
        return _store(scope, doc_id, current, merged.encode("utf-8"), JSON_TYPE)

    return _retrying(write)


def delete_documents(
    *,
    actor: Caller,
    scope: DocumentScope,
    doc_id: str | None,
    preconditions: Preconditions,
) -> int:
    """Delete the document ``doc_id`` (checking the preconditions), or every document in
    ``scope`` when ``doc_id`` is ``None``; returns how many were deleted (0 is not an error).
    """
    _check_writer(actor, scope)

    def write() -> int:
        if doc_id is None:
            deleted, _by_model = document_rows(scope).delete()
            return deleted
        current = _locked(scope, doc_id)
        check_preconditions(preconditions, current)
        if current is None:
            return 0
        current.delete()
        return 1

    return _retrying(write)


def _main_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
