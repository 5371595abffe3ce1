"""``manage.py make_roster OUT.zip``: write a synthetic region's OneRoster bundle (and truth)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.registry.synthetic import write_region


class Command(BaseCommand):
    help = (
        "Write a synthetic region (districts, schools, classes, teachers, students, guardians) "
        "as a OneRoster 1.2 CSV bundle with injected defects; --truth lists the expected "
        "findings (file,row,column,code,kind)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="The zip to write.")
        parser.add_argument("--students", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--defects", type=float, default=0.01, help="Share of students with a defect."
        )
        parser.add_argument("--division", default="410100", help="GB/T 2260 city code.")
        parser.add_argument("--truth", default="", help="Where to write the truth CSV.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            stats = write_region(
                options["out"],
                students=options["students"],
                seed=options["seed"],
                defect_rate=options["defects"],
                division=options["division"],
                truth_path=options["truth"] or None,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        counts = ", ".join(f"{name} {count:,}" for name, count in stats.counts.items())
        self.stdout.write(f"{stats.path}: {stats.rows:,} rows ({counts}) in {seconds:.1f} s")
        self.stdout.write(
            f"{stats.schools:,} schools, {stats.classes:,} classes, {stats.teachers:,} teachers"
        )
        defects = ", ".join(f"{code} {n}" for code, n in stats.defects.items()) or "none"
        self.stdout.write(f"defects: {defects}")
        if stats.truth_path:
            self.stdout.write(f"truth: {stats.truth_path}")
