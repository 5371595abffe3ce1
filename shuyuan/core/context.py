"""Who is changing what, and why: the change context every change-logged write runs inside.

Actions open ``change_context(actor=..., source=...)``; the request middleware adds the request
id, client IP and user agent. Change-logged models refuse to save outside a change context, so
a forgotten change-log entry is an error rather than a silent gap (STYLE.md §6).
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

SOURCES = ("ui", "api", "import", "task", "system", "cli", "migration")


@dataclass(frozen=True)
class RequestInfo:
    """Facts about the HTTP request (or job) a change happens in."""

    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


@dataclass(frozen=True)
class ChangeContext:
    """The actor and source a change is attributed to."""

    actor_id: int | None
    actor_name: str
    source: str
    request_id: str
    allow_bulk: bool = False


_NO_REQUEST = RequestInfo()
_request: contextvars.ContextVar[RequestInfo] = contextvars.ContextVar(
    "shuyuan_request",
    default=_NO_REQUEST,  # RequestInfo is a frozen dataclass
)
_change: contextvars.ContextVar[ChangeContext | None] = contextvars.ContextVar(
    "shuyuan_change", default=None
)


class ChangeContextError(RuntimeError):
    """A change-logged model was written outside ``change_context`` (a programming error)."""


def current_request() -> RequestInfo:
    return _request.get()


@contextlib.contextmanager
def request_context(info: RequestInfo) -> Iterator[RequestInfo]:
    token = _request.set(info)
    try:
        yield info
    finally:
        _request.reset(token)


def actor_identity(actor: Any) -> tuple[int | None, str]:
    """Return ``(id, display name)`` for an actor: a user, or ``None`` for the system."""
    if actor is None:
        return None, "system"
    if getattr(actor, "is_system_actor", False):
        return None, "system"
    name = getattr(actor, "username", "") or str(actor)
    return getattr(actor, "pk", None), name


@contextlib.contextmanager
def change_context(*, actor: Any, source: str) -> Iterator[ChangeContext]:
    """Attribute every change-logged write inside the block to ``actor`` and ``source``."""
    if source not in SOURCES:
        raise ValueError(f"Unknown change source {source!r}.")
    actor_id, actor_name = actor_identity(actor)
    request_id = current_request().request_id or uuid.uuid4().hex
    ctx = ChangeContext(actor_id, actor_name, source, request_id)
    token = _change.set(ctx)
    try:
        yield ctx
    finally:
        _change.reset(token)


@contextlib.contextmanager
def bulk_writes() -> Iterator[None]:
    """Allow queryset-level writes inside an action that records them itself."""
    ctx = require_change_context()
    token = _change.set(replace(ctx, allow_bulk=True))
    try:
        yield
    finally:
        _change.reset(token)


def get_change_context() -> ChangeContext | None:
    return _change.get()


def require_change_context() -> ChangeContext:
    ctx = _change.get()
    if ctx is None:
        raise ChangeContextError(
            "Change-logged models can only be written inside change_context(actor=, source=)."
        )
    return ctx


class SystemActor:
    """The actor named in the change log for migrations, commands and schedules."""

    is_system_actor = True
    pk = None
    username = "system"
    is_authenticated = False

    def __str__(self) -> str:
        return "system"


def system_actor() -> SystemActor:
    return SystemActor()
