"""Background tasks of the learning app (``django.tasks``; inline in tests)."""

from __future__ import annotations

from django_tasks import task

from shuyuan.resources.queries.evaluation import usage_event_for_task

from .actions.events import record_platform_event
from .xapi.platform import ACTIVITY_TYPE_RESOURCE, USAGE_VERBS, resource_activity_id


@task()
def record_resource_use(event_id: int) -> str:
    """Store the xAPI statement of resource use ``event_id`` (a ``UsageEvent``).

    The statement id is derived from the event, so a rerun stores nothing twice. Returns the
    statement id, or ``missing`` when the event is gone.
    """
    event = usage_event_for_task(event_id)
    if event is None:
        return "missing"
    verb_id, display = USAGE_VERBS[event.kind]
    return record_platform_event(
        user=event.user,
        verb_id=verb_id,
        verb_display=display,
        object_id=resource_activity_id(event.resource_id),
        object_name=str(event.resource),
        object_type=ACTIVITY_TYPE_RESOURCE,
        timestamp=event.at,
        source_key=f"resources.usage:{event.pk}",
    )
