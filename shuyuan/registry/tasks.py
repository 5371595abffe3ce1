"""Background tasks of the registry (``django.tasks``; the database backend in production,
inline in tests)."""

from __future__ import annotations

from django_tasks import task

from .importing.engine import run_batch
from .queries.imports import batch_for_task


@task(queue_name="bulk")
def import_roster_batch(batch_id: int) -> str:
    """Run (or resume) the import of batch ``batch_id``; returns its final status. Safe to rerun:
    a finished batch is left alone and a resumed one continues after its checkpoint."""
    batch = batch_for_task(batch_id)
    if batch is None:
        return "missing"
    return str(run_batch(batch).status)
