"""Ninja schemas of the core app, and the API conventions every app's schemas share.

Shared by every app's ``api.py`` (other apps may import ``core.schemas``):

* ``ErrorOut``: the one error shape, ``{code, message, errors: [{field, code, message}]}``;
  ``error_responses(...)`` documents it for the statuses an operation can return.
* ``PageQuery`` and ``paginate``: limit/offset paging with a hard maximum (``MAX_LIMIT``); every
  list answers ``{"count", "items"}`` where ``count`` is the exact number of matching rows.
* ``api_field_names``: renames the fields of a domain error from the action's names (``parent``)
  to the API's (``parent_id``), and names the field of a 404 for a referenced row.
* ``ApiRequest``: the request type of handlers (``request.auth`` is the caller).
* ``DbId``: a primary key in a path, query or body (bounded so it fits a 64-bit column).
* ``InSchema``: the base of input schemas; unknown fields are refused, so a misspelt field in a
  PATCH is a 422 rather than a silent no-op.

Output schemas declare their fields explicitly and never carry plaintext personal data.
"""

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from pydantic import ConfigDict

from .errors import FieldError, ShuyuanError
from .models import OrgKind

#: The largest page a list returns, and the default.
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
#: Deep offsets are slow on every database; filter instead.
MAX_OFFSET = 1_000_000

#: A primary key: positive and within a signed 64-bit column, so a huge number is a 422 naming the
#: field instead of a database error.
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]

P = TypeVar("P", bound=Schema)


class ApiRequest(HttpRequest):
    """What an API handler receives: ``auth`` is the authenticated account, set by the API's
    authentication (token or session) before any handler runs."""

    auth: Any


class InSchema(Schema):
    """Base of request bodies: unknown fields are an error (``UNKNOWN_FIELD``)."""

    model_config = ConfigDict(extra="forbid")


# --- errors ------------------------------------------------------------------------------------


class FieldErrorOut(Schema):
    """One problem with one input field; ``field`` is a path such as ``rows[12].id_number``."""

    field: str
    code: str
    message: str


class ErrorOut(Schema):
    """Every error response: a stable ``code``, a translated ``message``, per-field ``errors``."""

    code: str = Field(examples=["INVALID_INPUT"])
    message: str
    errors: list[FieldErrorOut] = Field(default_factory=list)


def error_responses(*statuses: int, body: bool = False) -> dict[int, type[ErrorOut]]:
    """``{status: ErrorOut}`` for an operation's ``response=`` mapping. 401 is always included
    (every operation needs authentication); ``body=True`` adds 400 (a body that is not UTF-8
    JSON) and 413 (a body over the upload limit) for operations that read a request body."""
    extra = {400, 413} if body else set()
    return dict.fromkeys(sorted({401, *extra, *statuses}), ErrorOut)


@contextlib.contextmanager
def api_field_names(names: dict[str, str] | None = None, *, field: str = "") -> Iterator[None]:
    """Re-raise a domain error raised inside the block with its fields named as the API names
    them: ``names`` maps an action's field name to the API's; ``field`` names the field of an
    error that names none (a referenced row that is not found or not visible).
    """
    try:
        yield
    except ShuyuanError as exc:
        exc.errors = [
            FieldError((names or {}).get(error.field, error.field), error.code, error.message)
            for error in exc.errors
        ]
        if field and not exc.errors:
            exc.errors.append(FieldError(field, exc.code, exc.message))
        raise


# --- paging ------------------------------------------------------------------------------------


class PageQuery(Schema):
    """Limit/offset paging parameters of every list."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page (≤ 200).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip.")


def paginate(queryset: QuerySet[Any], page: PageQuery, schema: type[P]) -> P:
    """One page of ``queryset`` as the page schema ``schema`` (``count`` and ``items``).

    Two queries whatever the page size (the count and the page), plus whatever the queryset's
    ``select_related`` already folds in; item schemas must not touch unfetched relations.
    """
    count = queryset.count()
    rows = list(queryset[page.offset : page.offset + page.limit]) if page.offset < count else []
    return schema.model_validate({"count": count, "items": rows})


# --- org tree ----------------------------------------------------------------------------------


class OrgRefOut(Schema):
    """A short reference to an org (id and name)."""

    id: int
    name: str


class OrgOut(Schema):
    """An org of the tree. ``school_code`` is the platform's one-school-one-code (一校一码)."""

    id: int
    kind: OrgKind
    name: str
    parent_id: int | None
    depth: int
    division_code: str
    school_code: str | None
    credit_code: str | None
    is_active: bool
    created_at: dt.datetime


class OrgPageOut(Schema):
    count: int
    items: list[OrgOut]


class OrgFilter(Schema):
    """Filters of the org list."""

    q: str = Field(
        "", max_length=100, description="Name contains, division code prefix, or exact code."
    )
    kind: OrgKind | None = None
    parent: DbId | None = Field(None, description="Only direct children of this org.")


class OrgIn(InSchema):
    """A new org. Regions, cities and counties need a GB/T 2260 division code; schools need a
    GB 32100 unified social credit code and get a school code assigned."""

    kind: OrgKind
    name: str = Field(max_length=120)
    parent_id: DbId | None = Field(None, description="Empty only for a region (platform admins).")
    division_code: str = Field("", max_length=12)
    credit_code: str | None = Field(None, max_length=32)


class OrgPatch(InSchema):
    """Changes to an org; omitted fields stay as they are."""

    name: str | None = Field(None, max_length=120)
    division_code: str | None = Field(None, max_length=12)
    credit_code: str | None = Field(None, max_length=32)
    is_active: bool | None = None


class OrgMoveIn(InSchema):
    """Where to move an org (with its whole subtree)."""

    parent_id: DbId


# --- change log and audit log ------------------------------------------------------------------


class ChangeRecordOut(Schema):
    """One entry of the hash-chained change log; ``changes`` maps a field to ``[old, new]``
    (personal data appears masked or as ``"[redacted]"``, never in plaintext)."""

    seq: int
    created_at: dt.datetime
    actor_id: int | None
    actor_name: str
    request_id: str
    source: str
    action: str
    target_type: str
    target_id: str
    target_repr: str
    changes: dict[str, Any]
    message: str
    prev_hash: str
    hash: str


class ChangeRecordPageOut(Schema):
    count: int
    items: list[ChangeRecordOut]


class ChangeRecordFilter(Schema):
    """Filters of the change log."""

    target_type: str = Field("", max_length=100, description="e.g. core.org, identity.user")
    target_id: str = Field("", max_length=64)
    actor: str = Field("", max_length=150, description="Account name of the actor.")


class ChainVerificationOut(Schema):
    """Whether the change-log chain holds; otherwise the first entry that breaks it."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str


class AuditEventOut(Schema):
    """A security-relevant event (sign-ins, PII reveals, role grants, …)."""

    id: int
    code: str
    created_at: dt.datetime
    actor_id: int | None
    actor_name: str
    subject_type: str
    subject_id: str
    subject_repr: str
    ip: str | None
    user_agent: str
    request_id: str
    extra: dict[str, Any]


class AuditEventPageOut(Schema):
    count: int
    items: list[AuditEventOut]


class AuditEventFilter(Schema):
    """Filters of the audit log."""

    code: str = Field("", max_length=64, description="Code prefix, e.g. identity.login")
    actor: str = Field("", max_length=150, description="Account name of the actor.")
