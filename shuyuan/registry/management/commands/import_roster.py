"""``shuyuan import_roster FILE --source CODE --org ORG``: import a OneRoster zip or an XLSX
template from the command line, with a progress bar; ``--resume BATCH_ID`` continues an
interrupted batch. Runs in this process (no worker needed); Ctrl-C leaves the batch interrupted
and resumable. Exit status 1 when the file is refused (``BundleError``: code and message)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shuyuan.core.context import system_actor
from shuyuan.core.errors import ShuyuanError
from shuyuan.core.models import Org

from ...actions.imports import resume_import, start_import
from ...choices import BatchStatus
from ...importing.engine import CHUNK_SIZE, run_batch
from ...importing.types import FILE_ORDER
from ...models import ImportBatch
from ...queries.imports import batch_finding_counts, batch_for_task, source_by_code


def _org(value: str) -> Org:
    """An org by id, school code, credit code or division code."""
    org: Org | None = None
    if value.isdigit():
        org = Org.objects.filter(pk=int(value)).first()
    if org is None:
        org = (
            Org.objects.filter(school_code=value).first()
            or Org.objects.filter(credit_code=value).first()
            or Org.objects.filter(division_code=value, kind__in=("region", "city", "county"))
            .order_by("depth")
            .first()
        )
    if org is None:
        raise CommandError(
            f"No organisation {value!r} (give an id, school, credit or division code)."
        )
    return org


def _actor(username: str | None) -> Any:
    if not username:
        return system_actor()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No account {username!r}.")
    return user


class Command(BaseCommand):
    help = "Import a OneRoster 1.2 CSV bundle (zip) or an XLSX template into the registry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="The zip or xlsx file.")
        parser.add_argument("--source", help="Code of the registered source system.")
        parser.add_argument("--org", help="Org id or code the batch is for (its subtree).")
        parser.add_argument("--actor", help="Account the change log names (default: system).")
        parser.add_argument("--resume", type=int, help="Resume the interrupted batch with this id.")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = _actor(options["actor"])
        try:
            if options["resume"]:
                batch = batch_for_task(options["resume"])
                if batch is None:
                    raise CommandError(f"No import batch {options['resume']}.")
                resume_import(actor=actor, batch=batch, run=False)
            else:
                if not (options["file"] and options["source"] and options["org"]):
                    raise CommandError("Give FILE, --source and --org (or --resume BATCH_ID).")
                source = source_by_code(options["source"])
                if source is None:
                    raise CommandError(f"No source system {options['source']!r}.")
                org = _org(options["org"])
                path = options["file"]
                with open(path, "rb") as fh:
                    batch = start_import(
                        actor=actor,
                        source=source,
                        org=org,
                        uploaded_file=fh,
                        file_name=path,
                        run=False,
                    )
        except ShuyuanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Import batch {batch.pk}: {batch.file_name}")
        self._run(batch, options)

    def _run(self, batch: ImportBatch, options: dict[str, Any]) -> None:
        bar = None
        if not options["no_progress"]:
            from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed

            bar = tqdm(total=0, unit="rows", unit_scale=True, file=self.stderr._out)

        def progress(b: ImportBatch, table: str, _done: int, _total: int) -> None:
            if bar is None:
                return
            bar.total = b.rows_total
            bar.set_description(table)
            bar.update(b.rows_done - bar.n)

        try:
            run_batch(batch, progress=progress, chunk_size=options["chunk_size"])
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            self.stderr.write(f"Interrupted. Resume with: import_roster --resume {batch.pk}")
            raise SystemExit(130) from None
        if bar is not None:
            bar.close()
        batch.refresh_from_db()
        self._report(batch)
        if batch.status == BatchStatus.FAILED:
            raise CommandError(f"{batch.error_code}: {batch.error}")
        if batch.status != BatchStatus.SUCCEEDED:
            raise CommandError(
                f"The import stopped ({batch.error}). "
                f"Resume with: import_roster --resume {batch.pk}"
            )

    def _report(self, batch: ImportBatch) -> None:
        out = self.stdout
        out.write(f"Batch {batch.pk}: {batch.status} ({batch.rows_done}/{batch.rows_total} rows)")
        for table in FILE_ORDER:
            counts = (batch.counts or {}).get(table)
            if isinstance(counts, dict) and "rows" in counts:
                out.write(
                    f"  {table:<18} rows {counts['rows']:>9}  created {counts['created']:>9}  "
                    f"updated {counts['updated']:>7}  unchanged {counts['unchanged']:>9}  "
                    f"rejected {counts['rejected']:>7}"
                )
        deleted = (batch.counts or {}).get("tobedeleted") or {}
        if deleted:
            out.write(f"  marked tobedeleted: {deleted}")
        findings = batch_finding_counts(batch)
        if findings:
            out.write("Findings:")
            for entry in findings:
                out.write(f"  {entry['code']:<28} {entry['severity']:<8} {entry['n']:>9}")
        if batch.scores:
            scores = ", ".join(
                f"{k} {v:.3f}" for k, v in batch.scores.items() if isinstance(v, float)
            )
            out.write(f"Scores: {scores}")
