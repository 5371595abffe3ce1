"""``shuyuan load_resource_demo``: the resource service's part of the demo region.

Loads the seed knowledge graph and sensitive-word list, makes the demo reviewers
(``reviewer``: submission and update review; ``reviewer2``: listing and update review) reviewers
of the whole region, and creates a few hundred synthetic listed resources so search has
something to find. Idempotent: each step is skipped when its data is already there. Development
mode only (the synthetic resources are listed without review).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.models import Org, OrgKind
from shuyuan.identity.models import User

from ...choices import ReviewStage
from ...models import Resource, ReviewerAssignment, SensitiveWordList

DEMO_REVIEWERS = {
    "reviewer": [ReviewStage.SUBMISSION, ReviewStage.UPDATE],
    "reviewer2": [ReviewStage.LISTING, ReviewStage.UPDATE],
}


class Command(BaseCommand):
    help = "Load the resource service's demo data (graph, word list, reviewers, resources)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--resources", type=int, default=400, help="Synthetic listed resources to create."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEVELOPMENT:
            raise CommandError("Demo data is for development mode only.")
        region = Org.objects.filter(kind=OrgKind.REGION).order_by("pk").first()
        if region is None:
            raise CommandError("Load the demo region first (shuyuan demo).")
        verbosity = options["verbosity"]
        call_command("load_graph", verbosity=verbosity)
        if not SensitiveWordList.objects.exists():
            call_command("load_sensitive_words", verbosity=verbosity)
        with change_context(actor=system_actor(), source="system"):
            for username, stages in DEMO_REVIEWERS.items():
                user = User.objects.filter(username=username).first()
                if user is None or ReviewerAssignment.objects.filter(reviewer=user).exists():
                    continue
                ReviewerAssignment(reviewer=user, org=region, stages=list(stages)).save(
                    force_insert=True
                )
        if options["resources"] and not Resource.objects.exists():
            owner = User.objects.filter(username="teacher").first()
            school = owner.home_org if owner is not None else None
            call_command(
                "make_resources",
                options["resources"],
                org=str((school or region).pk),
                user=owner.username if owner is not None else None,
                verbosity=verbosity,
            )
        self.stdout.write("The resource service's demo data is loaded.")
