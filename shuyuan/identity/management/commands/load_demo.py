"""``manage.py load_demo``: create the demo region and print the demo logins."""

from __future__ import annotations

from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.identity.demo import DemoLogin, demo_logins, load_demo


def format_logins(logins: list[DemoLogin]) -> str:
    lines = [f"{'account':<12} {'role':<18} {'password':<18} TOTP secret (current code)"]
    for login in logins:
        totp = ""
        if login.totp_secret:
            totp = f"{login.totp_secret} ({pyotp.TOTP(login.totp_secret).now()})"
        lines.append(f"{login.username:<12} {login.role:<18} {login.password:<18} {totp}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Load the demo region (20 schools, ~10,000 students) and print one login per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students-per-class", type=int, default=42)
        parser.add_argument("--classes-per-grade", type=int, default=4)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEVELOPMENT:
            raise CommandError("Demo data and its printed passwords are for development mode only.")
        if not options["logins"]:
            summary = load_demo(
                students_per_class=options["students_per_class"],
                classes_per_grade=options["classes_per_grade"],
                seed=options["seed"],
                progress=lambda msg: self.stdout.write(f"  {msg}"),
            )
            if summary.already_loaded:
                self.stdout.write("The demo region is already loaded; nothing changed.")
            else:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Loaded {summary.orgs} orgs, {summary.students} students, "
                        f"{summary.teachers} teachers, {summary.parents} parents."
                    )
                )
        self.stdout.write(format_logins(demo_logins()))
        self.stdout.write(
            "TOTP codes change every 30 s: add the secret to an authenticator app, or run "
            "`SHUYUAN_ENV=development .venv/bin/shuyuan load_demo --logins` for the current codes."
        )
