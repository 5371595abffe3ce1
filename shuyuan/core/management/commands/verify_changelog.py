"""``manage.py verify_changelog``: walk the hash chain and name the first entry that breaks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shuyuan.core.changelog import verify_changelog


class Command(BaseCommand):
    help = "Verify the SM3 hash chain of the change log; exit 1 naming the first bad entry."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_changelog()
        if not result.ok:
            raise CommandError(
                f"Change log broken at entry #{result.first_bad_seq}: {result.reason} "
                f"({result.checked} entries verified before it)"
            )
        self.stdout.write(self.style.SUCCESS(f"Change log intact: {result.checked} entries."))
