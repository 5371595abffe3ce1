"""Background tasks of the resources app (``django.tasks``; the database backend in production,
inline in tests)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django_tasks import task

from .audit.run import audit_version as run_audit
from .models import ResourceVersion


@task()
def audit_version(version_id: int, actor_id: int | None = None) -> str:
    """Audit version ``version_id`` and put it into review (``actor_id``: who submitted it).

    Returns ``in_review``, ``skipped`` (no longer a draft: withdrawn, or audited already by an
    earlier run) or ``missing``. Safe to rerun."""
    version = ResourceVersion.objects.filter(pk=version_id).first()
    if version is None:
        return "missing"
    actor = None
    if actor_id is not None:
        actor = get_user_model().objects.filter(pk=actor_id, is_active=True).first()
    done = run_audit(version, actor=actor)
    return "in_review" if done is not None else "skipped"
