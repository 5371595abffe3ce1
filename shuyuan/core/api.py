"""REST API of the core app, mounted at ``/api/v1/core/``: the org tree, the change log and the
audit log.

Handlers are thin: they read through ``queries`` (so an invisible row is a 404) and write through
``actions`` (which check ``change`` rights, so a visible row the caller may not change is a
403). Row-independent permissions (reading and verifying the change log, reading the audit log)
are asked of ``core.scoping.has_permission``; ``identity`` registers who holds them, so this
module needs no import of ``identity``.
"""

from ninja import Query, Router, Status

from . import actions, queries
from .changelog import verify_changelog
from .errors import PermissionDenied
from .models import Org
from .schemas import (
    ApiRequest,
    AuditEventFilter,
    AuditEventPageOut,
    ChainVerificationOut,
    ChangeRecordFilter,
    ChangeRecordPageOut,
    DbId,
    OrgFilter,
    OrgIn,
    OrgMoveIn,
    OrgOut,
    OrgPageOut,
    OrgPatch,
    PageQuery,
    api_field_names,
    error_responses,
    paginate,
)
from .scoping import has_permission

SOURCE = "api"

#: Field names the actions use, and what the API calls them.
ORG_FIELDS = {"parent": "parent_id"}

orgs = Router(tags=["Organisations"])
changelog = Router(tags=["Change log"])
audit = Router(tags=["Audit log"])

router = Router()
router.add_router("/orgs", orgs)
router.add_router("/changelog", changelog)
router.add_router("/audit-events", audit)


def referenced_org(request: ApiRequest, pk: int, field: str) -> Org:
    """The org ``pk`` named by body or query field ``field``; an invisible one is a 404 that
    names the field (other apps' APIs use this too)."""
    with api_field_names(field=field):
        return queries.access_org(request.auth, pk)


def require_permission(request: ApiRequest, permission: str) -> None:
    """Raise ``PermissionDenied`` unless the caller holds the row-independent ``permission``."""
    if not has_permission(request.auth, permission):
        raise PermissionDenied()


# --- org tree ----------------------------------------------------------------------------------


@orgs.get(
    "",
    response={200: OrgPageOut, **error_responses(404, 422)},
    operation_id="core_org_list",
    summary="List organisations",
)
def list_orgs(request: ApiRequest, filters: Query[OrgFilter], page: Query[PageQuery]) -> OrgPageOut:
    """Orgs the caller may see, in tree order; search by name or code, filter by kind or parent
    (an invisible parent is a 404 naming ``parent``)."""
    parent = referenced_org(request, filters.parent, "parent") if filters.parent else None
    qs = queries.list_orgs(request.auth, q=filters.q, kind=filters.kind or "", parent=parent)
    return paginate(qs, page, OrgPageOut)


@orgs.get(
    "/{id}",
    response={200: OrgOut, **error_responses(404, 422)},
    operation_id="core_org_get",
    summary="Get an organisation",
)
def get_org(request: ApiRequest, id: DbId) -> OrgOut:
    """One org; an org the caller may not see is a 404."""
    return OrgOut.from_orm(queries.access_org(request.auth, id))


@orgs.post(
    "",
    response={201: OrgOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="core_org_create",
    summary="Create an organisation",
)
def create_org(request: ApiRequest, payload: OrgIn) -> Status[OrgOut]:
    """Create an org under ``parent_id`` (which needs the right to manage it). Codes are
    validated (``DIVISION_CODE_*``, ``CREDIT_CODE_*``); a code in use is a 409."""
    parent = referenced_org(request, payload.parent_id, "parent_id") if payload.parent_id else None
    with api_field_names(ORG_FIELDS):
        org = actions.create_org(
            actor=request.auth,
            kind=payload.kind,
            name=payload.name,
            parent=parent,
            division_code=payload.division_code,
            credit_code=payload.credit_code,
            source=SOURCE,
        )
    return Status(201, OrgOut.from_orm(org))


@orgs.patch(
    "/{id}",
    response={200: OrgOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="core_org_update",
    summary="Update an organisation",
)
def update_org(request: ApiRequest, id: DbId, payload: OrgPatch) -> OrgOut:
    """Rename an org, correct its codes or (de)activate it; omitted fields are left alone. The
    change log keeps every earlier value."""
    org = queries.access_org(request.auth, id)
    changes = payload.model_dump(exclude_unset=True)
    org = actions.update_org(actor=request.auth, org=org, source=SOURCE, **changes)
    return OrgOut.from_orm(org)


@orgs.post(
    "/{id}/move",
    response={200: OrgOut, **error_responses(403, 404, 422, body=True)},
    operation_id="core_org_move",
    summary="Move an organisation",
)
def move_org(request: ApiRequest, id: DbId, payload: OrgMoveIn) -> OrgOut:
    """Move an org and its subtree under ``parent_id``. Moving an org under itself or one of its
    descendants is a 422 ``ORG_CYCLE``."""
    org = queries.access_org(request.auth, id)
    new_parent = referenced_org(request, payload.parent_id, "parent_id")
    with api_field_names(ORG_FIELDS):
        org = actions.move_org(actor=request.auth, org=org, new_parent=new_parent, source=SOURCE)
    return OrgOut.from_orm(org)


@orgs.get(
    "/{id}/history",
    response={200: ChangeRecordPageOut, **error_responses(404, 422)},
    operation_id="core_org_history",
    summary="List an organisation's change records",
)
def org_history(
    request: ApiRequest,
    id: DbId,
    page: Query[PageQuery],
) -> ChangeRecordPageOut:
    """Renames, moves and code changes of one org, newest first (only the records the caller may
    read: the change log is for admins and auditors)."""
    org = queries.access_org(request.auth, id)
    return paginate(queries.org_history(request.auth, org), page, ChangeRecordPageOut)


# --- change log --------------------------------------------------------------------------------


@changelog.get(
    "",
    response={200: ChangeRecordPageOut, **error_responses(403, 422)},
    operation_id="core_change_record_list",
    summary="List change records",
)
def list_change_records(
    request: ApiRequest, filters: Query[ChangeRecordFilter], page: Query[PageQuery]
) -> ChangeRecordPageOut:
    """Change records in the caller's scope, newest first. Needs the change-log permission
    (platform and region admins, school admins, auditors); otherwise 403."""
    require_permission(request, "core.view_changelog")
    qs = queries.list_change_records(
        request.auth,
        target_type=filters.target_type,
        target_id=filters.target_id,
        actor=filters.actor,
    )
    return paginate(qs, page, ChangeRecordPageOut)


@changelog.get(
    "/verify",
    response={200: ChainVerificationOut, **error_responses(403)},
    operation_id="core_changelog_verify",
    summary="Verify the change-log hash chain",
)
def verify(request: ApiRequest) -> ChainVerificationOut:
    """Recompute every record's hash and check the links; name the first entry that breaks.

    Reads the whole chain, so only platform-wide roles may (platform admins, region-level
    auditors and security officers); anyone else gets 403 ``PERMISSION_DENIED``.
    """
    require_permission(request, "core.verify_changelog")
    result = verify_changelog()
    return ChainVerificationOut(
        ok=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        reason=result.reason,
    )


# --- audit log ---------------------------------------------------------------------------------


@audit.get(
    "",
    response={200: AuditEventPageOut, **error_responses(403, 422)},
    operation_id="core_audit_event_list",
    summary="List audit events",
)
def list_audit_events(
    request: ApiRequest, filters: Query[AuditEventFilter], page: Query[PageQuery]
) -> AuditEventPageOut:
    """Security events in the caller's scope, newest first. Needs the audit-log permission
    (security officers, auditors, platform and region admins); otherwise 403."""
    require_permission(request, "core.view_audit_events")
    qs = queries.list_audit_events(request.auth, code=filters.code, actor=filters.actor)
    return paginate(qs, page, AuditEventPageOut)
