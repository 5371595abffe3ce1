"""Domain errors with stable codes. The API turns them into structured JSON, the UI into forms."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field."""

    field: str
    code: str
    message: str


class ShuyuanError(Exception):
    """Base of every domain error: a stable ``code``, a translated ``message``, HTTP status."""

    code = "ERROR"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.errors = list(errors or [])
        if field and not self.errors:
            self.errors.append(FieldError(field, self.code, message))

    @property
    def field(self) -> str | None:
        return self.errors[0].field if self.errors else None


class InvalidInput(ShuyuanError):
    """Input broke a rule; ``errors`` names each field."""

    code = "INVALID_INPUT"
    status = 422


class PermissionDenied(ShuyuanError):
    code = "PERMISSION_DENIED"
    status = 403

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        super().__init__(message or _("You do not have permission to do this."), **kwargs)  # type: ignore[arg-type]  # kwargs are the base keywords


class NotFound(ShuyuanError):
    code = "NOT_FOUND"
    status = 404


class Conflict(ShuyuanError):
    code = "CONFLICT"
    status = 409


def invalid(field: str, code: str, message: str) -> InvalidInput:
    """Shorthand for an ``InvalidInput`` about one field."""
    return InvalidInput(message, code=code, field=field)
