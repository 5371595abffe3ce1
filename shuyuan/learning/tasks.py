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


@task()
def record_attempt_answers(attempt_id: int) -> int:
    """Store one xAPI ``answered`` statement per response of submitted attempt ``attempt_id``.

    Statement ids derive from the responses, so a rerun stores nothing twice. Returns how many
    statements the attempt has (0 when it is gone or still in progress).
    """
    from .actions.sitting import record_attempt_statements  # sitting imports tasks
    from .queries.sitting import attempt_for_task

    attempt = attempt_for_task(attempt_id)
    if attempt is None:
        return 0
    return len(record_attempt_statements(attempt))


@task(queue_name="bulk")
def run_diagnosis_task(run_id: int) -> str:
    """Complete diagnosis run ``run_id`` (requested from the portal): fit knowledge tracing and
    rebuild mastery, parameters and item statistics. Returns the run's status, or ``missing``
    when the run is gone or no longer running."""
    from .actions.diagnosis import run_diagnosis  # the action enqueues this task
    from .models import DiagnosisRunStatus  # kept next to its action
    from .queries.diagnosis import run_for_task  # kept next to its action

    run = run_for_task(run_id)
    if run is None or run.status != DiagnosisRunStatus.RUNNING:
        return "missing"
    return str(run_diagnosis(run=run).status)
