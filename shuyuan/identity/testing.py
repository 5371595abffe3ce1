"""Pytest fixtures of identity: users with roles and logged-in clients."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.models import Org
from shuyuan.core.synthetic import make_id_number

from .actions.accounts import id_number_index, mobile_index
from .models import RoleAssignment, User
from .pii import pii_cipher

_serial = itertools.count(1)

MakeUser = Callable[..., Any]


@pytest.fixture
def make_user(db: Any) -> MakeUser:
    """``make_user(role=None, org=None, child=None, password=..., **fields)`` → a saved user.

    Creates the account and role directly as the system actor (bypassing permission checks, which
    the tests of the actions cover). ``home_org`` defaults to ``org``.
    """

    def factory(
        role: str | None = None,
        org: Org | None = None,
        *,
        child: Any = None,
        password: str = "Correct-Horse-9",  # noqa: S107  # test password
        username: str | None = None,
        id_number: str | None = None,
        mobile: str | None = None,
        **fields: Any,
    ) -> Any:
        n = next(_serial)
        user = User(
            username=username or f"user{n}",
            real_name=fields.pop("real_name", f"Test User {n}"),
            home_org=fields.pop("home_org", org),
            **fields,
        )
        user.set_password(password)
        if id_number is None:
            birth = dt.date(2000, 1, 1) + dt.timedelta(days=n // 400)
            id_number = make_id_number("410102", birth, (n % 400) * 2 + 1, "M")
        cipher = pii_cipher()
        if id_number:
            user.id_number_cipher = cipher.encrypt(id_number)
            user.id_number_index = id_number_index(id_number)
            user.id_number_masked = id_number[:4] + "*" * 10 + id_number[-4:]
        if mobile:
            user.mobile_cipher = cipher.encrypt(mobile)
            user.mobile_index = mobile_index(mobile)
            user.mobile_masked = mobile[:3] + "****" + mobile[-4:]
        with change_context(actor=system_actor(), source="system"):
            user.save(force_insert=True)
            if role:
                RoleAssignment(user=user, role=role, org=org, child=child).save(force_insert=True)
        user.clear_role_cache()
        return user

    return factory


@pytest.fixture
def client_for() -> Callable[[Any], Client]:
    """A Django test client logged in as ``user`` (session auth, no MFA step)."""

    def factory(user: Any) -> Client:
        client = Client()
        client.force_login(user, backend="shuyuan.identity.backends.IdentifierBackend")
        return client

    return factory
