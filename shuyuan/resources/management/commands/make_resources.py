"""``shuyuan make_resources N --org ORG --user USERNAME [--seed S]``: create N synthetic listed
resources for demos and benchmarks (see ``resources.synthetic``: they bypass review)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed

from shuyuan.core.models import Org

from ...synthetic import CHUNK, make_resources


class Command(BaseCommand):
    help = (
        "Create N synthetic listed resources (demo/bench data, listed WITHOUT review) with "
        "Chinese titles and descriptions, tagged and indexed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("n", type=int, help="How many resources.")
        parser.add_argument("--org", help="Owning org id (default: the root org).")
        parser.add_argument("--user", help="Submitting account (default: a platform admin).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (deterministic).")
        parser.add_argument("--chunk", type=int, default=CHUNK, help="Rows per transaction.")
        parser.add_argument("--workers", type=int, default=1, help="Segmentation processes.")
        parser.add_argument(
            "--create-knowledge-points",
            action="store_true",
            help="Add the vocabulary's missing knowledge points to the graph (for tags).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["n"]
        if n < 1:
            raise CommandError("N must be at least 1.")
        if options["org"]:
            org = (
                Org.objects.filter(pk=options["org"]).first() if options["org"].isdigit() else None
            )
        else:
            org = Org.objects.filter(parent__isnull=True).order_by("pk").first()
        if org is None:
            raise CommandError("No such org (create the region first, e.g. shuyuan demo).")
        users = get_user_model().objects.filter(is_active=True)
        if options["user"]:
            user = users.filter(username=options["user"]).first()
        else:
            user = next((u for u in users.order_by("pk")[:200] if u.is_platform_admin), None)
        if user is None:
            raise CommandError("No such active account (give --user).")
        with tqdm(total=n, unit="res", disable=options["verbosity"] == 0) as bar:
            report = make_resources(
                n,
                org=org,
                created_by=user,
                seed=options["seed"],
                chunk=options["chunk"],
                workers=options["workers"],
                create_knowledge_points=options["create_knowledge_points"],
                progress=bar.update,
            )
        self.stdout.write(
            f"Created {report.created} synthetic resources (ids {report.first_id}"
            f"-{report.last_id}), {report.tagged} tagged, {report.indexed} indexed."
        )
