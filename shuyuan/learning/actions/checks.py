"""Input checks shared by the learning app's actions: plain text fields and the class a
teacher acts on."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from shuyuan.core.errors import PermissionDenied, invalid
from shuyuan.core.models import Org, OrgKind

from .. import permissions

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def checked_text(field_name: str, value: str | None, limit: int, *, required: bool = False) -> str:
    """``value`` without control characters, CRLF as LF, trimmed; ``InvalidInput``
    (``REQUIRED``, ``TOO_LONG``) on ``field_name`` otherwise."""
    text = _CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()
    if required and not text:
        raise invalid(field_name, "REQUIRED", _("This field is required."))
    if len(text) > limit:
        raise invalid(
            field_name,
            "TOO_LONG",
            _("At most %(limit)d characters are allowed.") % {"limit": limit},
        )
    return text


def check_class(actor: Any, class_org: Org) -> None:
    """A teacher acts only on classes inside their teaching scope (a ``class`` org)."""
    if class_org.kind != OrgKind.CLASS:
        raise invalid("class_org", "NOT_A_CLASS", _("Choose a class."))
    if not any(class_org.path.startswith(p) for p in permissions.teaching_paths(actor)):
        raise PermissionDenied(_("You do not teach this class."))
