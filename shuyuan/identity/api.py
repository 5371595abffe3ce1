"""REST API of the identity app, mounted at ``/api/v1/identity/``: accounts, role assignments and
the caller's own account.

Handlers are thin: reads through ``queries`` (an account or assignment the caller may not see is
a 404), writes through ``actions`` (which check ``change`` rights: a visible account the caller
may not manage is a 403). Account output is always masked; the plaintext of an ID or mobile
number comes only from ``reveal``, which the action audit-logs.
"""

from django.http import HttpResponse
from ninja import Query, Router, Status

from shuyuan.core.api import referenced_org
from shuyuan.core.models import Org
from shuyuan.core.schemas import (
    ApiRequest,
    DbId,
    PageQuery,
    api_field_names,
    error_responses,
    paginate,
)

from . import actions, queries
from .models import User
from .schemas import (
    AccountFilter,
    AccountIn,
    AccountOut,
    AccountPageOut,
    AccountPatch,
    MeOut,
    PiiRevealIn,
    PiiRevealOut,
    RoleAssignmentFilter,
    RoleAssignmentIn,
    RoleAssignmentOut,
    RoleAssignmentPageOut,
    TemporaryPasswordOut,
)

SOURCE = "api"

#: Field names the actions use, and what the API calls them.
ACCOUNT_FIELDS = {"home_org": "home_org_id"}
ROLE_FIELDS = {"org": "org_id", "child": "child_id", "user": "user_id"}

accounts = Router(tags=["Accounts"])
own = Router(tags=["Accounts"])
roles = Router(tags=["Roles"])

router = Router()
router.add_router("/accounts", accounts)
router.add_router("/me", own)
router.add_router("/role-assignments", roles)


def _org(request: ApiRequest, pk: int | None, field: str) -> Org | None:
    """The org named by ``field``, or ``None`` when the field is empty."""
    return None if pk is None else referenced_org(request, pk, field)


def _account(request: ApiRequest, pk: int, field: str) -> User:
    """The account named by ``field``; an invisible one is a 404 naming the field."""
    with api_field_names(field=field):
        return queries.access_user(request.auth, pk)


def _no_store(response: HttpResponse) -> None:
    """Responses that carry a secret or plaintext personal data must not be cached."""
    response["Cache-Control"] = "no-store"


# --- accounts ----------------------------------------------------------------------------------


@accounts.get(
    "",
    response={200: AccountPageOut, **error_responses(404, 422)},
    operation_id="identity_account_list",
    summary="List accounts",
)
def list_accounts(
    request: ApiRequest, filters: Query[AccountFilter], page: Query[PageQuery]
) -> AccountPageOut:
    """Accounts the caller may see, by account name; search by name or an exact mobile or ID
    number, filter by role held, org subtree (an invisible org is a 404 naming ``org_id``) or
    active state."""
    qs = queries.list_users(
        request.auth,
        q=filters.q,
        role=filters.role or "",
        org=_org(request, filters.org_id, "org_id"),
        is_active=filters.is_active,
    )
    return paginate(qs, page, AccountPageOut)


@accounts.get(
    "/{id}",
    response={200: AccountOut, **error_responses(404, 422)},
    operation_id="identity_account_get",
    summary="Get an account",
)
def get_account(request: ApiRequest, id: DbId) -> AccountOut:
    """One account (personal numbers masked); one the caller may not see is a 404."""
    return AccountOut.from_orm(queries.access_user(request.auth, id))


@accounts.post(
    "",
    response={201: AccountOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="identity_account_create",
    summary="Create an account",
)
def create_account(request: ApiRequest, payload: AccountIn) -> Status[AccountOut]:
    """Register a person's one account under ``home_org_id``. The ID number is checked
    (``ID_NUMBER_*`` codes); one already registered is a 409 ``DUPLICATE_ID_NUMBER``."""
    home_org = _org(request, payload.home_org_id, "home_org_id")
    with api_field_names(ACCOUNT_FIELDS):
        user = actions.create_user(
            actor=request.auth,
            username=payload.username,
            real_name=payload.real_name,
            home_org=home_org,
            id_number=payload.id_number,
            mobile=payload.mobile,
            email=payload.email,
            password=payload.password,
            source=SOURCE,
        )
    return Status(201, AccountOut.from_orm(user))


@accounts.patch(
    "/{id}",
    response={200: AccountOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="identity_account_update",
    summary="Update an account",
)
def update_account(
    request: ApiRequest,
    id: DbId,
    payload: AccountPatch,
) -> AccountOut:
    """Correct an account's real-name data or (de)activate it; omitted fields are left alone and
    ``null`` clears an ID or mobile number. Deactivating ends the account's sessions."""
    user = queries.access_user(request.auth, id)
    changes = payload.model_dump(exclude_unset=True)
    if "home_org_id" in changes:
        changes["home_org"] = _org(request, changes.pop("home_org_id"), "home_org_id")
    with api_field_names(ACCOUNT_FIELDS):
        user = actions.update_user(actor=request.auth, user=user, source=SOURCE, **changes)
    return AccountOut.from_orm(user)


@accounts.post(
    "/{id}/reset-password",
    response={200: TemporaryPasswordOut, **error_responses(403, 404, 422)},
    operation_id="identity_account_reset_password",
    summary="Reset an account's password",
)
def reset_password(
    request: ApiRequest,
    id: DbId,
    response: HttpResponse,
) -> TemporaryPasswordOut:
    """Give the account a temporary password, returned this once; its holder must change it at
    next sign-in. Unlocks the account and ends its sessions."""
    user = queries.access_user(request.auth, id)
    temporary = actions.reset_password(actor=request.auth, user=user, source=SOURCE)
    _no_store(response)
    return TemporaryPasswordOut(password=temporary)


@accounts.post(
    "/{id}/reveal",
    response={200: PiiRevealOut, **error_responses(403, 404, 422, body=True)},
    operation_id="identity_account_reveal",
    summary="Reveal an account's ID or mobile number",
)
def reveal(
    request: ApiRequest,
    id: DbId,
    payload: PiiRevealIn,
    response: HttpResponse,
) -> PiiRevealOut:
    """The plaintext ID number or mobile number (empty if none). Needs the right to reveal
    personal data (admins within their scope); every reveal, and every refusal, is audit-logged.
    """
    user = queries.access_user(request.auth, id)
    value = actions.reveal_pii(actor=request.auth, user=user, field=payload.field)
    _no_store(response)
    return PiiRevealOut(field=payload.field, value=value)


# --- the caller --------------------------------------------------------------------------------


@own.get(
    "",
    response={200: MeOut, **error_responses()},
    operation_id="identity_me_get",
    summary="Get the caller's own account",
)
def me(request: ApiRequest) -> MeOut:
    """The signed-in account (or the token's owner) with its roles."""
    return MeOut.from_orm(request.auth)


# --- role assignments --------------------------------------------------------------------------


@roles.get(
    "",
    response={200: RoleAssignmentPageOut, **error_responses(404, 422)},
    operation_id="identity_role_assignment_list",
    summary="List role assignments",
)
def list_role_assignments(
    request: ApiRequest, filters: Query[RoleAssignmentFilter], page: Query[PageQuery]
) -> RoleAssignmentPageOut:
    """Role assignments the caller may see; filter by account, role or org subtree (an invisible
    account or org is a 404 naming the field)."""
    qs = queries.list_role_assignments(
        request.auth,
        subject=_account(request, filters.user_id, "user_id") if filters.user_id else None,
        role=filters.role or "",
        org=_org(request, filters.org_id, "org_id"),
    )
    return paginate(qs, page, RoleAssignmentPageOut)


@roles.post(
    "",
    response={201: RoleAssignmentOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="identity_role_assignment_create",
    summary="Grant a role",
)
def grant_role(request: ApiRequest, payload: RoleAssignmentIn) -> Status[RoleAssignmentOut]:
    """Grant ``role`` on ``org_id`` to ``user_id``. A role on the wrong kind of org is a 422
    ``ROLE_ORG_KIND``; a role already held there is a 409 ``DUPLICATE_ROLE``."""
    user = _account(request, payload.user_id, "user_id")
    org = _org(request, payload.org_id, "org_id")
    child = _account(request, payload.child_id, "child_id") if payload.child_id else None
    with api_field_names(ROLE_FIELDS):
        assignment = actions.grant_role(
            actor=request.auth, user=user, role=payload.role, org=org, child=child, source=SOURCE
        )
    return Status(201, RoleAssignmentOut.from_orm(assignment))


@roles.delete(
    "/{id}",
    response={204: None, **error_responses(403, 404, 422)},
    operation_id="identity_role_assignment_delete",
    summary="Revoke a role",
)
def revoke_role(request: ApiRequest, id: DbId) -> Status[None]:
    """Remove a role assignment (the change log keeps it)."""
    assignment = queries.access_role_assignment(request.auth, id)
    with api_field_names(ROLE_FIELDS):
        actions.revoke_role(actor=request.auth, assignment=assignment, source=SOURCE)
    return Status(204, None)
