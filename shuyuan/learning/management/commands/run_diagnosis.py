"""``shuyuan run_diagnosis``.

Fit Bayesian Knowledge Tracing on every marked exam and practice answer and rebuild every
student's mastery, the per-point parameters and the item statistics (``actions.diagnosis``).
Run it nightly from the scheduler; it refuses to start while another run is in progress
(``RUN_IN_PROGRESS``) and records a failed run with its error.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shuyuan.core.errors import Conflict

from ...actions.diagnosis import run_diagnosis


class Command(BaseCommand):
    help = "Run the knowledge-tracing diagnosis on every marked answer."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = run_diagnosis(source="cli")
        except Conflict as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Diagnosis run {run.pk}: {run.n_responses} answers, {run.n_students} students, "
            f"{run.n_points} knowledge points, fit in {run.fit_seconds:.2f}s ({run.engine})."
        )
