"""``shuyuan close_expired_attempts``.

Submit, as "time ran out", every exam attempt still in progress whose deadline and grace
(``LEARNING_EXAM_GRACE_SECONDS``) have passed; their objective answers are marked and recorded
like any submission. Run it every few minutes from the scheduler; it is idempotent. Pages also
close expired attempts lazily when a student or teacher opens them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...actions.sitting import close_expired_attempts


class Command(BaseCommand):
    help = "Submit the exam attempts whose time has run out."

    def handle(self, *args: Any, **options: Any) -> None:
        closed = close_expired_attempts()
        self.stdout.write(f"Closed {closed} expired attempt(s).")
