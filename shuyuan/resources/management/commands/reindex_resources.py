"""``shuyuan reindex_resources``: rebuild the search index of listed resources."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed

from ...models import Resource
from ...search.index import CHUNK, reindex_all


class Command(BaseCommand):
    help = "Rebuild the search index: index every listed resource, drop the others."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=int, default=CHUNK, help="Resources per batch.")

    def handle(self, *args: Any, **options: Any) -> None:
        total = Resource.objects.listed().count()
        with tqdm(total=total, unit="res", disable=options["verbosity"] == 0) as bar:
            written = reindex_all(chunk=max(1, options["chunk"]), progress=bar.update)
        self.stdout.write(f"Indexed {written} listed resources.")
