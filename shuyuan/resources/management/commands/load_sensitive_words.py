"""``shuyuan load_sensitive_words [FILE] [--no-activate] [--note NOTE]``: load a word list (one
word a line, optional ``|warn``; default: the seed list ``resources/data/sensitive_words_seed.txt``)
as a new version of the sensitive-word list, as the system actor, and make it the active one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.core.context import system_actor
from shuyuan.core.errors import ShuyuanError

from ...actions.words import create_word_list

SEED = Path(__file__).resolve().parents[2] / "data" / "sensitive_words_seed.txt"


class Command(BaseCommand):
    help = "Load a sensitive-word list file as a new (active) version of the list."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default=str(SEED), help="UTF-8 text file.")
        parser.add_argument("--note", default="", help="What this version is (shown in the list).")
        parser.add_argument(
            "--no-activate", action="store_true", help="Save the version without activating it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            word_list = create_word_list(
                actor=system_actor(),
                words_text=text,
                note=options["note"] or f"Loaded from {path.name}",
                activate=not options["no_activate"],
                source="cli",
            )
        except ShuyuanError as exc:
            details = "; ".join(f"{e.field}: {e.code} {e.message}" for e in exc.errors)
            raise CommandError(f"{exc.code}: {exc.message} {details}".strip()) from exc
        state = "active" if word_list.active else "inactive"
        self.stdout.write(
            f"Saved sensitive-word list v{word_list.version} "
            f"({word_list.word_count} words, {state})."
        )
