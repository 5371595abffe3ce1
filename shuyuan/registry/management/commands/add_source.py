"""``shuyuan add_source CODE --name NAME --kind KIND --org ORG --actor USERNAME``: register a
source system from the command line (the same action as the sources page)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.core.errors import ShuyuanError

from ...actions.imports import register_source
from ...choices import SourceKind
from .import_roster import _org


class Command(BaseCommand):
    help = "Register a source system that sends base data (needs an administrator account)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="Short code, e.g. school-mis.")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument("--kind", default=SourceKind.SCHOOL_MIS, choices=SourceKind.values)
        parser.add_argument("--org", required=True, help="Owning org: id or division code.")
        parser.add_argument("--prefix", default="", help="sourcedId prefix (namespace).")
        parser.add_argument("--actor", required=True, help="Administrator account name.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = get_user_model().objects.filter(username=options["actor"]).first()
        if actor is None:
            raise CommandError(f"No account {options['actor']!r}.")
        try:
            source = register_source(
                actor=actor,
                code=options["code"],
                name=options["name"],
                kind=options["kind"],
                org=_org(options["org"]),
                id_prefix=options["prefix"],
                source="cli",
            )
        except ShuyuanError as exc:
            details = "; ".join(f"{e.field}: {e.code} {e.message}" for e in exc.errors)
            raise CommandError(f"{exc.code}: {exc.message} {details}".strip()) from exc
        self.stdout.write(f"Registered source {source.code} (id {source.pk}).")
