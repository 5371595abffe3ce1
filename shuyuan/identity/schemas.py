"""Ninja schemas of the identity app: accounts, role assignments, the caller's own account.

Personal data: account output carries only the masked ID and mobile numbers
(``id_number_masked``, ``mobile_masked``), never the plaintext, the ciphertext or the blind
index. The plaintext is returned only by the audited reveal operation (``PiiRevealOut``).
"""

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from shuyuan.core.schemas import DbId, InSchema, OrgRefOut

from .models import Role, RoleAssignment, User

PiiField = Literal["id_number", "mobile"]


# --- accounts ----------------------------------------------------------------------------------


class AccountOut(Schema):
    """One person's account (一人一号), with personal numbers masked."""

    id: int
    username: str
    real_name: str
    email: str
    home_org: OrgRefOut | None
    id_number_masked: str = Field(description="e.g. 4101**********1234; empty if none")
    mobile_masked: str = Field(description="e.g. 138****5678; empty if none")
    is_active: bool
    must_change_password: bool
    has_mfa: bool
    date_joined: dt.datetime


class AccountPageOut(Schema):
    count: int
    items: list[AccountOut]


class AccountFilter(Schema):
    """Filters of the account list."""

    q: str = Field(
        "",
        max_length=64,
        description="Account name prefix, real name, or an exact mobile or ID number.",
    )
    role: Role | None = Field(None, description="Only accounts holding this role.")
    org_id: DbId | None = Field(None, description="Only accounts with a role in this subtree.")
    is_active: bool | None = None


class AccountIn(InSchema):
    """A new account. Without ``password`` it cannot sign in until an admin resets it; with one,
    the password must be changed at first sign-in."""

    username: str = Field(max_length=64, description="3 to 64 letters, digits, . _ -")
    real_name: str = Field(max_length=64)
    home_org_id: DbId | None = Field(None, description="Empty only for platform admins.")
    id_number: str | None = Field(None, max_length=32, description="Resident ID (GB 11643).")
    mobile: str | None = Field(None, max_length=20)
    email: str = Field("", max_length=254)
    password: str | None = Field(None, max_length=128)


class AccountPatch(InSchema):
    """Changes to an account; omitted fields stay as they are, ``null`` clears an ID number or
    mobile."""

    real_name: str | None = Field(None, max_length=64)
    id_number: str | None = Field(None, max_length=32)
    mobile: str | None = Field(None, max_length=20)
    email: str | None = Field(None, max_length=254)
    is_active: bool | None = None
    home_org_id: DbId | None = None


class TemporaryPasswordOut(Schema):
    """A temporary password, shown this once; its holder must change it at next sign-in."""

    password: str


class PiiRevealIn(InSchema):
    """Which personal number to reveal."""

    field: PiiField


class PiiRevealOut(Schema):
    """The plaintext of one personal number (the reveal is audit-logged)."""

    field: PiiField
    value: str


# --- role assignments --------------------------------------------------------------------------


class RoleAssignmentOut(Schema):
    """One role held by one account on one org subtree (a parent's names the child)."""

    id: int
    user_id: int
    username: str
    role: Role
    org: OrgRefOut | None
    child_id: int | None
    granted_at: dt.datetime

    @staticmethod
    def resolve_username(obj: RoleAssignment) -> str:
        return obj.user.username


class RoleAssignmentPageOut(Schema):
    count: int
    items: list[RoleAssignmentOut]


class RoleAssignmentFilter(Schema):
    """Filters of the role-assignment list."""

    user_id: DbId | None = None
    role: Role | None = None
    org_id: DbId | None = Field(None, description="Only assignments in this subtree.")


class RoleAssignmentIn(InSchema):
    """A role to grant. A parent's role names ``child_id`` and defaults to the child's class."""

    user_id: DbId
    role: Role
    org_id: DbId | None = Field(None, description="Empty only for platform-wide roles.")
    child_id: DbId | None = None


# --- the caller --------------------------------------------------------------------------------


class MyRoleOut(Schema):
    """One of the caller's own roles."""

    id: int
    role: Role
    org: OrgRefOut | None
    child_id: int | None
    granted_at: dt.datetime


class MeOut(AccountOut):
    """The caller's own account and roles."""

    roles: list[MyRoleOut]

    @staticmethod
    def resolve_roles(obj: User) -> list[RoleAssignment]:
        return list(obj.role_assignments_cached())
