"""Background tasks of the evaluation area: the retirement scan (``flag_resources`` runs the
same action from the command line, e.g. from a daily timer)."""

from __future__ import annotations

from django_tasks import task

from shuyuan.core.context import system_actor

from .actions.evaluation import flag_for_retirement


@task(queue_name="index")
def flag_resources_for_retirement() -> dict[str, int]:
    """Flag listed resources for retirement and clear stale flags; returns the counts."""
    report = flag_for_retirement(actor=system_actor())
    return {
        "scanned": report.scanned,
        "flagged": sum(len(ids) for ids in report.flagged.values()),
        "cleared": len(report.cleared),
    }
