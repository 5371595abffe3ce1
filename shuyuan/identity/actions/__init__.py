"""Every write use case of the identity app (STYLE.md §7), split by aggregate."""

from .accounts import (
    create_user,
    generate_password,
    grant_role,
    id_number_index,
    mfa_required_for,
    mobile_index,
    reset_password,
    reveal_pii,
    revoke_role,
    set_role_policy,
    update_user,
)
from .auth import change_password
from .tokens import authenticate_token, create_api_token, revoke_api_token

__all__ = [
    "authenticate_token",
    "change_password",
    "create_api_token",
    "create_user",
    "generate_password",
    "grant_role",
    "id_number_index",
    "mfa_required_for",
    "mobile_index",
    "reset_password",
    "reveal_pii",
    "revoke_api_token",
    "revoke_role",
    "set_role_policy",
    "update_user",
]
