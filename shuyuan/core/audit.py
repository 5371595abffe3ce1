"""Writing audit events (security-relevant events that are not row edits)."""

from __future__ import annotations

from typing import Any

from django.db import models

from .context import actor_identity, current_request
from .models import AuditEvent


def record_audit(
    code: str,
    *,
    actor: Any,
    subject: models.Model | None = None,
    subject_repr: str = "",
    org_path: str = "",
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an ``AuditEvent`` with the current request's IP, user agent and request id.

    Call inside the action's transaction so the event commits (or rolls back) with the change.
    """
    actor_id, actor_name = actor_identity(actor)
    request = current_request()
    return AuditEvent.objects.create(
        code=code,
        actor_id=actor_id,
        actor_name=actor_name[:150],
        org_path=org_path[:255],
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        subject_repr=(subject_repr or (str(subject) if subject is not None else ""))[:200],
        ip=request.ip,
        user_agent=request.user_agent[:255],
        request_id=request.request_id[:64],
        extra=extra or {},
    )
