"""``shuyuan load_graph [FILE ...] [--edges FILE] [--actor USERNAME]``: load the knowledge graph.

Without files it loads the seed in ``resources/data/``: subjects (``graph_subjects.csv``),
textbook editions (``graph_editions.csv``), chapters (``graph_chapters.csv``), then the junior
secondary maths and physics points (``graph_seed.csv``) and their edges
(``graph_seed_edges.csv``). With a file it imports that: a points CSV (``--edges`` adds an edges
CSV), a zip of ``points.csv``/``edges.csv``, or a CASE 1.0 package (``.json``). The format is
described in ``resources.graph.csvio`` and ``resources.graph.case``.

Loading is idempotent (rows are matched by code or CASE identifier; nothing is deleted), and
each file is all-or-nothing: a bad row stops the load and lists every problem. The changes are
attributed to the system actor unless ``--actor`` names a graph editor.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.core.context import system_actor
from shuyuan.core.errors import ShuyuanError

from ...actions.graph import apply_import, load_vocabulary
from ...graph import case, csvio

DATA = Path(__file__).resolve().parents[2] / "data"


def _rows(path: Path) -> list[dict[str, str]]:
    text = csvio.decode(path.read_bytes(), path.name)
    return [
        {k.strip(): (v or "").strip() for k, v in row.items() if k}
        for row in csv.DictReader(io.StringIO(text, newline=""))
    ]


class Command(BaseCommand):
    help = "Load the knowledge-graph seed, or import a graph CSV, zip or CASE package."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", help="Points CSV, zip or CASE JSON.")
        parser.add_argument("--edges", help="Edges CSV to import with a points CSV.")
        parser.add_argument("--actor", help="Account the changes are attributed to.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor: Any = system_actor()
        if options.get("actor"):
            actor = get_user_model().objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(f"No account {options['actor']!r}.")
        try:
            if not options["files"]:
                self._seed(actor)
            else:
                for name in options["files"]:
                    self._import(actor, Path(name), options.get("edges"))
        except ShuyuanError as exc:
            details = "\n".join(f"  {e.field}: {e.code} {e.message}" for e in exc.errors)
            raise CommandError(f"{exc.code}: {exc.message}\n{details}".rstrip()) from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc

    def _seed(self, actor: Any) -> None:
        created = load_vocabulary(
            actor=actor,
            subjects=_rows(DATA / "graph_subjects.csv"),
            editions=_rows(DATA / "graph_editions.csv"),
            chapters=_rows(DATA / "graph_chapters.csv"),
            source="cli",
        )
        self.stdout.write(
            "Vocabulary: {subjects} subjects, {editions} editions, {chapters} chapters "
            "created.".format(**created)
        )
        plan = csvio.read_bundle(
            points=(DATA / "graph_seed.csv").read_bytes(),
            edges=(DATA / "graph_seed_edges.csv").read_bytes(),
        )
        self._report(apply_import(actor=actor, plan=plan, source="cli").as_dict())

    def _import(self, actor: Any, path: Path, edges: str | None) -> None:
        data = path.read_bytes()
        if path.suffix.lower() == ".json":
            plan = case.read_package(data)
        elif path.suffix.lower() == ".zip":
            plan = csvio.read_bundle(bundle=data)
        else:
            plan = csvio.read_bundle(points=data, edges=Path(edges).read_bytes() if edges else None)
        self._report(apply_import(actor=actor, plan=plan, source="cli").as_dict())

    def _report(self, summary: dict[str, int]) -> None:
        self.stdout.write(
            "Points: {points_created} created, {points_updated} updated, {points_unchanged} "
            "unchanged. Edges: {edges_created} created, {edges_existing} already there.".format(
                **summary
            )
        )
