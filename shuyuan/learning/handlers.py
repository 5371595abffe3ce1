"""Receivers of lower apps' signals: the platform's own events become xAPI statements.

Each receiver only enqueues a task after the sender's transaction commits, so recording the
statement never slows down or breaks the request that caused it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from shuyuan.resources.signals import resource_used


@receiver(resource_used, dispatch_uid="learning.record_resource_use")
def _record_resource_use(sender: Any, *, event_id: int, **kwargs: Any) -> None:
    from .tasks import record_resource_use

    transaction.on_commit(lambda: record_resource_use.enqueue(event_id))
