"""``shuyuan create_lrs_client NAME [--org CODE] [--scope S ...] [--key K --secret S]``.

Issue an xAPI LRS credential from the command line (for operators and set-up scripts); the web
page at /learning/lrs-clients/ does the same for administrators. Without ``--org`` the client
is limited to the root of the org tree (the whole region). Prints the key and the secret once.
With ``--key`` of an existing client, does nothing and says so (idempotent set-up).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.core.context import system_actor
from shuyuan.core.errors import ShuyuanError
from shuyuan.core.models import Org

from ...actions.clients import create_lrs_client
from ...choices import LrsScope
from ...models import LrsClient


class Command(BaseCommand):
    help = "Issue an xAPI LRS credential (key and secret) limited to an org's subtree."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="What the client is, e.g. the learning tool's name.")
        parser.add_argument(
            "--org", help="School code, division code or id of an org; default: the root."
        )
        parser.add_argument(
            "--scope",
            action="append",
            choices=LrsScope.values,
            help="xAPI OAuth scope (repeatable); default: all.",
        )
        parser.add_argument("--key", help="Use this key instead of a random one.")
        parser.add_argument("--secret", help="Use this secret instead of a random one.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("key") and LrsClient.objects.filter(key=options["key"]).exists():
            self.stdout.write("A client with key {} exists already.".format(options["key"]))
            return
        org = self._org(options.get("org"))
        try:
            client, secret = create_lrs_client(
                actor=system_actor(),
                name=options["name"],
                org=org,
                scopes=options.get("scope"),
                key=options.get("key"),
                secret=options.get("secret"),
                source="system",
            )
        except ShuyuanError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"key: {client.key}")
        self.stdout.write(f"secret: {secret}")
        self.stdout.write(f"org: {org.name}")

    def _org(self, value: str | None) -> Org:
        org: Org | None
        if not value:
            org = Org.objects.filter(parent__isnull=True).order_by("pk").first()
        elif value.isdigit():
            org = Org.objects.filter(pk=int(value)).first()
        else:
            org = (
                Org.objects.filter(school_code=value).first()
                or Org.objects.filter(division_code=value).order_by("pk").first()
            )
        if not isinstance(org, Org):
            raise CommandError("No such org: {}".format(value or "(root)"))
        return org
