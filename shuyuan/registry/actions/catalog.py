"""Catalog writes: datasets, API clients (consumers) and the request → approval workflow.

Who may do what is decided by the scope rules in ``registry.permissions``: a dataset is changed
(and its requests decided) by admins of its org subtree; a client is managed, and access is
requested for it, by admins of the client's org. Every action checks that, runs in one
transaction inside ``change_context`` (datasets, clients and requests are change-logged) and
writes an audit event when it matters for security (codes below).

Audit codes: ``registry.dataset.sharing_changed``, ``registry.client.created``,
``registry.client.secret_rotated``, ``registry.client.deactivated``,
``registry.access_request.requested``, ``.approved``, ``.rejected``, ``.revoked``,
``registry.access_log.exported``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context
from shuyuan.core.errors import Conflict, PermissionDenied, invalid
from shuyuan.core.models import Org
from shuyuan.core.scoping import can
from shuyuan.identity.models import Role
from shuyuan.identity.queries import role_paths

from ..choices import AccessRequestStatus, SharingLevel
from ..models import AccessRequest, ApiClient, ClientToken, Dataset

#: The OneRoster 1.2 rostering collections a dataset can publish, in the order shown.
COLLECTIONS = (
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "students",
    "teachers",
    "enrollments",
    "demographics",
)

SCOPE_PREFIX = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
#: The OneRoster 1.2 rostering scopes a client may be allowed.
SCOPES = (
    SCOPE_PREFIX + "roster-core.readonly",
    SCOPE_PREFIX + "roster.readonly",
    SCOPE_PREFIX + "roster-demographics.readonly",
)

CLIENT_ID_PREFIX = "sy-"
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
PURPOSE_MIN = 10
PURPOSE_MAX = 2000
NOTE_MAX = 2000
#: Roles that may steward a dataset (besides platform admins).
STEWARD_ROLES = frozenset({Role.REGION_ADMIN, Role.SCHOOL_ADMIN})


# --- datasets ----------------------------------------------------------------------------------


def _clean_code(code: str) -> str:
    code = (code or "").strip().lower()
    if not CODE_RE.fullmatch(code):
        raise invalid(
            "code",
            "INVALID_CODE",
            _("A code has 2 to 64 lower-case letters, digits, hyphens or underscores."),
        )
    return code


def _clean_text(field: str, value: str, limit: int, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise invalid(field, "REQUIRED", _("This field is required."))
    if len(value) > limit:
        raise invalid(
            field, "TOO_LONG", _("At most %(limit)d characters are allowed.") % {"limit": limit}
        )
    return value


def clean_entity_types(values: Iterable[Any]) -> list[str]:
    """``values`` as known OneRoster collection names in catalog order; unknown names, other
    types or an empty list raise ``InvalidInput`` on ``entity_types``."""
    chosen = list(values or [])
    unknown = [v for v in chosen if not isinstance(v, str) or v not in COLLECTIONS]
    if unknown:
        raise invalid(
            "entity_types",
            "UNKNOWN_ENTITY_TYPE",
            _("Unknown collection: %(names)s.") % {"names": ", ".join(map(str, unknown))[:200]},
        )
    if not chosen:
        raise invalid("entity_types", "REQUIRED", _("Choose at least one collection."))
    return [c for c in COLLECTIONS if c in chosen]


def _check_org(actor: Any, org: Org | None) -> Org:
    if org is None:
        raise invalid("org", "REQUIRED", _("Choose the organisation."))
    if not can(actor, "change", org):
        raise PermissionDenied(_("You cannot manage data of %(org)s.") % {"org": org})
    return org


def _check_steward(steward: Any, org: Org) -> None:
    """A steward must be able to decide the dataset's requests: an admin of its subtree."""
    if steward is None:
        return
    if not steward.is_active:
        raise invalid("steward", "STEWARD_INACTIVE", _("The steward's account is inactive."))
    if steward.is_platform_admin:
        return
    if not any(org.path.startswith(p) for p in role_paths(steward, STEWARD_ROLES)):
        raise invalid(
            "steward",
            "STEWARD_NOT_ADMIN",
            _("The steward must be an administrator of the dataset's organisation."),
        )


def _clean_sharing(level: str) -> str:
    if level not in SharingLevel.values:
        raise invalid("sharing_level", "INVALID_CHOICE", _("Choose a sharing level."))
    return level


def _code_taken(code: str, exclude: int | None = None) -> bool:
    return Dataset.objects.filter(code=code).exclude(pk=exclude).exists()


def _code_conflict() -> Conflict:
    return Conflict(
        _("Another dataset already has this code."), code="DATASET_CODE_EXISTS", field="code"
    )


def create_dataset(
    *,
    actor: Any,
    code: str,
    title: str,
    org: Org | None,
    entity_types: Iterable[Any],
    sharing_level: str = SharingLevel.CONDITIONAL,
    description: str = "",
    includes_demographics: bool = False,
    steward: Any = None,
    source: str = "ui",
) -> Dataset:
    """Publish a dataset for ``org``'s subtree (an org ``actor`` may change).

    ``entity_types`` must be OneRoster collection names; choosing ``demographics`` marks the
    dataset as including demographics. The steward defaults to ``actor`` and must administer
    the org. Raises ``InvalidInput``, ``Conflict`` (``DATASET_CODE_EXISTS``), ``PermissionDenied``.
    """
    org = _check_org(actor, org)
    types = clean_entity_types(entity_types)
    steward = steward if steward is not None else actor
    _check_steward(steward, org)
    dataset = Dataset(
        code=_clean_code(code),
        title=_clean_text("title", title, 200, required=True),
        description=_clean_text("description", description, 5000, required=False),
        org=org,
        entity_types=types,
        includes_demographics=bool(includes_demographics) or "demographics" in types,
        sharing_level=_clean_sharing(sharing_level),
        owner=steward,
    )
    if _code_taken(dataset.code):
        raise _code_conflict()
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            dataset.save(force_insert=True)
    except IntegrityError as exc:
        raise _code_conflict() from exc
    return dataset


def update_dataset(
    *,
    actor: Any,
    dataset: Dataset,
    code: str,
    title: str,
    org: Org | None,
    entity_types: Iterable[Any],
    sharing_level: str,
    description: str = "",
    includes_demographics: bool = False,
    steward: Any = None,
    source: str = "ui",
) -> Dataset:
    """Change a dataset ``actor`` may change (and move it only to an org they may change).

    Making it ``not_shared`` revokes its approved requests and rejects its pending ones (each
    change-logged), so a not-shared dataset never has an approval; a change of sharing level
    writes ``registry.dataset.sharing_changed``.
    """
    if not can(actor, "change", dataset):
        raise PermissionDenied()
    org = _check_org(actor, org)
    types = clean_entity_types(entity_types)
    steward = steward if steward is not None else dataset.owner
    _check_steward(steward, org)
    new_code = _clean_code(code)
    if new_code != dataset.code and _code_taken(new_code, exclude=dataset.pk):
        raise _code_conflict()
    old_level = dataset.sharing_level
    dataset.code = new_code
    dataset.title = _clean_text("title", title, 200, required=True)
    dataset.description = _clean_text("description", description, 5000, required=False)
    dataset.org = org
    dataset.entity_types = types
    dataset.includes_demographics = bool(includes_demographics) or "demographics" in types
    dataset.sharing_level = _clean_sharing(sharing_level)
    dataset.owner = steward
    fields = [
        "code",
        "title",
        "description",
        "org",
        "entity_types",
        "includes_demographics",
        "sharing_level",
        "owner",
    ]
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            dataset.save(update_fields=fields)
            closed: list[int] = []
            if dataset.sharing_level == SharingLevel.NOT_SHARED:
                closed = _close_open_requests(actor, dataset)
            if old_level != dataset.sharing_level:
                record_audit(
                    "registry.dataset.sharing_changed",
                    actor=actor,
                    subject=dataset,
                    org_path=org.path,
                    extra={
                        "old": old_level,
                        "new": dataset.sharing_level,
                        "closed_requests": closed,
                    },
                )
    except IntegrityError as exc:
        raise _code_conflict() from exc
    return dataset


def _close_open_requests(actor: Any, dataset: Dataset) -> list[int]:
    """Revoke approved and reject pending requests of a dataset that is no longer shared."""
    now = timezone.now()
    note = _("The dataset is no longer shared.")
    closed: list[int] = []
    open_states = [AccessRequestStatus.PENDING, AccessRequestStatus.APPROVED]
    for request in AccessRequest.objects.filter(dataset=dataset, status__in=open_states):
        if request.status == AccessRequestStatus.APPROVED:
            request.status = AccessRequestStatus.REVOKED
            request.revoked_by = actor if getattr(actor, "pk", None) else None
            request.revoked_at = now
            request.revoke_note = note
            request.save(update_fields=["status", "revoked_by", "revoked_at", "revoke_note"])
        else:
            request.status = AccessRequestStatus.REJECTED
            request.decided_by = actor if getattr(actor, "pk", None) else None
            request.decided_at = now
            request.decision_note = note
            request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        closed.append(request.pk)
    return closed


# --- API clients -------------------------------------------------------------------------------


def _clean_scopes(scopes: Iterable[Any]) -> list[str]:
    chosen = list(scopes or [])
    unknown = [s for s in chosen if not isinstance(s, str) or s not in SCOPES]
    if unknown:
        raise invalid("scopes", "UNKNOWN_SCOPE", _("Choose scopes from the list."))
    if not chosen:
        raise invalid("scopes", "REQUIRED", _("Choose at least one scope."))
    return [s for s in SCOPES if s in chosen]


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _revoke_tokens(client: ApiClient, now: dt.datetime) -> int:
    # ClientToken is not change-logged; the audit event records how many were revoked.
    return ClientToken.objects.filter(client=client, revoked_at__isnull=True).update(revoked_at=now)


def register_client(
    *, actor: Any, name: str, org: Org | None, scopes: Iterable[Any], source: str = "ui"
) -> tuple[ApiClient, str]:
    """Register a consumer system owned by ``org`` (an org ``actor`` may change).

    Returns the client and its secret in plain text, which exists only in this return value:
    the row keeps ``make_password(secret)``. Writes ``registry.client.created``.
    """
    org = _check_org(actor, org)
    clean_name = " ".join((name or "").split())
    if not clean_name or len(clean_name) > 120:
        raise invalid("name", "REQUIRED", _("Give the client a name of at most 120 characters."))
    secret = _new_secret()
    client = ApiClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(8),
        secret_hash=make_password(secret),
        name=clean_name,
        org=org,
        scopes=_clean_scopes(scopes),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    with transaction.atomic(), change_context(actor=actor, source=source):
        client.save(force_insert=True)
        record_audit(
            "registry.client.created",
            actor=actor,
            subject=client,
            org_path=org.path,
            extra={"client_id": client.client_id, "scopes": client.scopes},
        )
    return client, secret


def _check_client_change(actor: Any, client: ApiClient) -> None:
    if not can(actor, "change", client):
        raise PermissionDenied()


def rotate_client_secret(
    *, actor: Any, client: ApiClient, source: str = "ui"
) -> tuple[ApiClient, str]:
    """Give an active client a new secret (returned once) and revoke every token it holds.

    Writes ``registry.client.secret_rotated``; an inactive client is ``Conflict``
    (``CLIENT_INACTIVE``).
    """
    _check_client_change(actor, client)
    if not client.is_active:
        raise Conflict(_("This client is deactivated."), code="CLIENT_INACTIVE")
    secret = _new_secret()
    with transaction.atomic(), change_context(actor=actor, source=source):
        client.secret_hash = make_password(secret)
        client.save(update_fields=["secret_hash"])
        revoked = _revoke_tokens(client, timezone.now())
        record_audit(
            "registry.client.secret_rotated",
            actor=actor,
            subject=client,
            org_path=client.org.path,
            extra={"client_id": client.client_id, "revoked_tokens": revoked},
        )
    return client, secret


def deactivate_client(*, actor: Any, client: ApiClient, source: str = "ui") -> ApiClient:
    """Switch a client off for good: it gets no more tokens and its tokens are revoked.

    Writes ``registry.client.deactivated`` (deactivating an inactive client does nothing).
    """
    _check_client_change(actor, client)
    if not client.is_active:
        return client
    with transaction.atomic(), change_context(actor=actor, source=source):
        client.is_active = False
        client.save(update_fields=["is_active"])
        revoked = _revoke_tokens(client, timezone.now())
        record_audit(
            "registry.client.deactivated",
            actor=actor,
            subject=client,
            org_path=client.org.path,
            extra={"client_id": client.client_id, "revoked_tokens": revoked},
        )
    return client


# --- access requests ---------------------------------------------------------------------------


def _request_exists() -> Conflict:
    return Conflict(
        _("This client already has a pending or approved request for this dataset."),
        code="REQUEST_EXISTS",
    )


def _state_conflict(request: AccessRequest) -> Conflict:
    return Conflict(
        _("This request is %(status)s; it cannot be changed that way.")
        % {"status": request.get_status_display()},
        code="REQUEST_STATE",
    )


def _check_valid_until(value: dt.date | None, field: str = "valid_until") -> None:
    if value is not None and value < timezone.localdate():
        raise invalid(field, "DATE_IN_PAST", _("Choose today or a later date."))


def request_access(
    *,
    actor: Any,
    dataset: Dataset,
    client: ApiClient,
    purpose: str,
    valid_until: dt.date | None = None,
    source: str = "ui",
) -> AccessRequest:
    """Ask the dataset's stewards to let ``client`` (one ``actor`` manages) read ``dataset``.

    Only conditional datasets take requests: an unconditional one is ``InvalidInput``
    (``REQUEST_NOT_NEEDED``), a not-shared one ``InvalidInput`` (``DATASET_NOT_SHARED``). A
    second open request for the same pair is ``Conflict`` (``REQUEST_EXISTS``). Writes
    ``registry.access_request.requested``.
    """
    if not can(actor, "view", dataset):
        raise PermissionDenied()
    _check_client_change(actor, client)
    if dataset.sharing_level == SharingLevel.UNCONDITIONAL:
        raise invalid(
            "dataset",
            "REQUEST_NOT_NEEDED",
            _("This dataset is shared unconditionally: every active client may read it."),
        )
    if dataset.sharing_level == SharingLevel.NOT_SHARED:
        raise invalid("dataset", "DATASET_NOT_SHARED", _("This dataset is not shared."))
    if not client.is_active:
        raise invalid("client", "CLIENT_INACTIVE", _("This client is deactivated."))
    text = (purpose or "").strip()
    if len(text) < PURPOSE_MIN:
        raise invalid(
            "purpose",
            "PURPOSE_TOO_SHORT",
            _("Describe the purpose in at least %(count)d characters.") % {"count": PURPOSE_MIN},
        )
    text = _clean_text("purpose", text, PURPOSE_MAX, required=True)
    _check_valid_until(valid_until)
    open_states = [AccessRequestStatus.PENDING, AccessRequestStatus.APPROVED]
    if AccessRequest.objects.filter(
        dataset=dataset, client=client, status__in=open_states
    ).exists():
        raise _request_exists()
    request = AccessRequest(
        dataset=dataset,
        client=client,
        purpose=text,
        valid_until=valid_until,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            request.save(force_insert=True)
            _audit_request("registry.access_request.requested", actor, request)
    except IntegrityError as exc:
        raise _request_exists() from exc
    return request


def _audit_request(code: str, actor: Any, request: AccessRequest) -> None:
    record_audit(
        code,
        actor=actor,
        subject=request,
        org_path=request.dataset.org.path,
        extra={
            "dataset": request.dataset.code,
            "client_id": request.client.client_id,
            "client_org": request.client.org.path,
            "status": request.status,
            "valid_until": request.valid_until.isoformat() if request.valid_until else None,
        },
    )


def _check_decide(actor: Any, request: AccessRequest) -> None:
    if not can(actor, "change", request):
        raise PermissionDenied()


def approve_access_request(
    *,
    actor: Any,
    request: AccessRequest,
    valid_until: dt.date | None = None,
    note: str = "",
    source: str = "ui",
) -> AccessRequest:
    """A steward approves a pending request, optionally setting or shortening ``valid_until``
    (never beyond what was requested). Writes ``registry.access_request.approved``.

    Raises ``Conflict`` (``REQUEST_STATE`` unless pending), ``InvalidInput``
    (``DATASET_NOT_SHARED``, ``DATE_IN_PAST``, ``BEYOND_REQUESTED``), ``PermissionDenied``.
    """
    _check_decide(actor, request)
    if request.status != AccessRequestStatus.PENDING:
        raise _state_conflict(request)
    if request.dataset.sharing_level == SharingLevel.NOT_SHARED:
        raise invalid("dataset", "DATASET_NOT_SHARED", _("This dataset is not shared."))
    _check_valid_until(valid_until)
    if valid_until is None:
        valid_until = request.valid_until
    elif request.valid_until is not None and valid_until > request.valid_until:
        raise invalid(
            "valid_until",
            "BEYOND_REQUESTED",
            _("An approval can shorten the requested period, not extend it."),
        )
    with transaction.atomic(), change_context(actor=actor, source=source):
        request.status = AccessRequestStatus.APPROVED
        request.valid_until = valid_until
        request.decided_by = actor if getattr(actor, "pk", None) else None
        request.decided_at = timezone.now()
        request.decision_note = _clean_text("note", note, NOTE_MAX, required=False)
        request.save(
            update_fields=["status", "valid_until", "decided_by", "decided_at", "decision_note"]
        )
        _audit_request("registry.access_request.approved", actor, request)
    return request


def reject_access_request(
    *, actor: Any, request: AccessRequest, note: str, source: str = "ui"
) -> AccessRequest:
    """A steward rejects a pending request with a note (required). Writes
    ``registry.access_request.rejected``; ``Conflict`` (``REQUEST_STATE``) unless pending."""
    _check_decide(actor, request)
    if request.status != AccessRequestStatus.PENDING:
        raise _state_conflict(request)
    text = _clean_text("note", note, NOTE_MAX, required=True)
    with transaction.atomic(), change_context(actor=actor, source=source):
        request.status = AccessRequestStatus.REJECTED
        request.decided_by = actor if getattr(actor, "pk", None) else None
        request.decided_at = timezone.now()
        request.decision_note = text
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        _audit_request("registry.access_request.rejected", actor, request)
    return request


def revoke_access_request(
    *, actor: Any, request: AccessRequest, note: str = "", source: str = "ui"
) -> AccessRequest:
    """A steward withdraws an approval; the client stops reading the dataset at once. Writes
    ``registry.access_request.revoked``; ``Conflict`` (``REQUEST_STATE``) unless approved."""
    _check_decide(actor, request)
    if request.status != AccessRequestStatus.APPROVED:
        raise _state_conflict(request)
    with transaction.atomic(), change_context(actor=actor, source=source):
        request.status = AccessRequestStatus.REVOKED
        request.revoked_by = actor if getattr(actor, "pk", None) else None
        request.revoked_at = timezone.now()
        request.revoke_note = _clean_text("note", note, NOTE_MAX, required=False)
        request.save(update_fields=["status", "revoked_by", "revoked_at", "revoke_note"])
        _audit_request("registry.access_request.revoked", actor, request)
    return request


# --- access log --------------------------------------------------------------------------------


def record_access_log_export(*, actor: Any, filters: dict[str, Any], row_count: int) -> None:
    """Write ``registry.access_log.exported`` for a CSV export of the access log (exports of
    logs about personal data are audited like any other export)."""
    # Filed under the actor's own org, so the auditors of that org see who exported.
    home = getattr(actor, "changelog_org_path", None)
    with transaction.atomic():
        record_audit(
            "registry.access_log.exported",
            actor=actor,
            org_path=home() if callable(home) else "",
            extra={"filters": filters, "rows": row_count},
        )
