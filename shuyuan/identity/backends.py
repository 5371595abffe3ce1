"""Password sign-in by account name, mainland mobile number or resident ID number.

One person has one account and may know it by any of three identifiers. The mobile
and ID numbers are never stored in plaintext, so they are found through their keyed SM3 blind
index (``actions.mobile_index`` / ``actions.id_number_index``) after normalisation: full-width
digits, spaces and a lower-case check character ``x`` all find the same account.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.http import HttpRequest

from shuyuan.core import validators
from shuyuan.core.context import change_context

from .actions.accounts import id_number_index, mobile_index
from .models import User

#: Longest identifier input looked at (an account name is at most 64 characters; a mobile
#: number written with "+86" and separators is well under this).
MAX_IDENTIFIER_LENGTH = 128


def resolve_identifier(identifier: Any) -> User | None:
    """The account (active or not) that ``identifier`` names, or ``None``.

    An 11-digit mainland mobile number (optionally ``+86``/``0086`` and separators) is looked
    up by its blind index, an 18-character resident ID number likewise, anything else as an
    account name. Account names cannot be all digits, so the kinds hardly overlap; where a
    name could also read as a number (``138-1234-5678``) and no account has that number, the
    name is tried as well.
    """
    if not isinstance(identifier, str) or len(identifier) > MAX_IDENTIFIER_LENGTH:
        return None
    normalized = validators.normalize_identifier(identifier)
    if not normalized:
        return None
    try:
        mobile = validators.validate_mobile(normalized)
    except validators.IdentifierError:
        pass
    else:
        found: User | None = User.objects.filter(mobile_index=mobile_index(mobile)).first()
        if found is not None:
            return found
    if len(normalized) == 18:
        try:
            info = validators.validate_id_number(normalized)
        except validators.IdentifierError:
            pass
        else:
            found = User.objects.filter(id_number_index=id_number_index(info.number)).first()
            if found is not None:
                return found
    # Account names are case-sensitive and kept as typed (only surrounding spaces dropped).
    by_name: User | None = User.objects.filter(username=identifier.strip()).first()
    return by_name


def run_dummy_hasher(password: str) -> None:
    """Hash ``password`` once and throw the result away.

    Called when no usable account matches, so an unknown identifier takes as long to reject as
    a wrong password and response times do not reveal which accounts exist.
    """
    User().set_password(password)


def verify_password(user: User, password: str) -> bool:
    """Check ``password`` against ``user``'s hash; upgrade an outdated hash in the change log.

    Django re-hashes a password whose hasher or parameters are outdated; that rewrite of a
    change-logged field runs inside a change context attributed to the account itself.
    """

    def upgrade(raw: str) -> None:
        user.set_password(raw)
        with transaction.atomic(), change_context(actor=user, source="ui"):
            user.save(update_fields=["password"])

    return check_password(password, user.password, upgrade)


class IdentifierBackend(ModelBackend):
    """Django authentication backend over ``resolve_identifier``; inactive accounts never pass.

    Lockout, throttling and audit events are the job of ``actions.auth.attempt_login``; this
    backend only answers "is this the password of this active account".
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        """The active account named by ``username`` (any identifier) if ``password`` fits."""
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = resolve_identifier(username)
        if user is None or not self.user_can_authenticate(user):
            run_dummy_hasher(password)
            return None
        if verify_password(user, password):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The active account with primary key ``user_id`` (for the session), else ``None``."""
        user: User | None = User.objects.filter(pk=user_id, is_active=True).first()
        return user if user is not None and self.user_can_authenticate(user) else None
