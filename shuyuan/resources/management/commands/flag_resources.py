"""``manage.py flag_resources``: flag listed resources for retirement (expired licence, sustained
low quality) and clear flags that no longer apply; ``--verify-certificates`` also walks the
certificate chain and fails if it is broken."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.core.context import system_actor

from ...actions.evaluation import flag_for_retirement
from ...queries.certificates import verify_chain


class Command(BaseCommand):
    help = "Flag listed resources for retirement and clear flags that no longer apply."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--verify-certificates",
            action="store_true",
            help="Also verify the inclusion-certificate hash chain.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = flag_for_retirement(actor=system_actor())
        for reason, ids in sorted(report.flagged.items()):
            self.stdout.write(f"flagged {reason}: {len(ids)} ({', '.join(map(str, ids[:20]))})")
        self.stdout.write(
            f"scanned {report.scanned}, flagged {sum(map(len, report.flagged.values()))}, "
            f"cleared {len(report.cleared)}"
        )
        if options["verify_certificates"]:
            chain = verify_chain()
            if not chain.ok:
                raise CommandError(
                    f"certificate chain broken at {chain.broken_number} "
                    f"(sequence {chain.broken_sequence}): {chain.reason}"
                )
            self.stdout.write(f"certificate chain verified: {chain.checked} certificates")
