"""Writes of intelligent diagnosis (智能诊断): a diagnosis run fits Bayesian Knowledge Tracing on
every marked answer and rebuilds the derived tables.

Evidence
    Every marked ``Response`` (``score`` set) of an attempt that was submitted or marked, once
    for each knowledge point its item is tagged to: the score fraction is ``score / points``
    and the answer counts as correct when the fraction is at least
    ``LEARNING_DIAGNOSIS_CORRECT_FRACTION`` (0.6). Answers are ordered by the attempt's
    submission time, then the question's position. Every ``PracticeAnswer`` too, ordered by
    when it was given. The rows are streamed (``values_list().iterator()``), never loaded as
    model instances, so a run copes with millions of answers.

What a run writes (one transaction, replacing the previous results)
    ``SkillParameters`` per knowledge point, ``Mastery`` per (student, point) with the counts
    of answers and correct answers and the time of the last one, and ``ItemStatistic`` per
    item over its exam responses: facility (mean fraction) and discrimination (Pearson
    correlation of the item's fraction with the fraction of the rest of the attempt; ``None``
    below five answers or without variance).

Concurrency
    A second run is refused (``Conflict`` ``RUN_IN_PROGRESS``) while another one is running and
    was started less than ``RUN_STALE_AFTER`` ago (an older one is taken as crashed); on
    PostgreSQL the writing transaction also holds an advisory lock, so two runs never
    interleave their writes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import math
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import Conflict, PermissionDenied

from .. import conf
from ..exams import bkt
from ..models import (
    AttemptStatus,
    DiagnosisRun,
    DiagnosisRunStatus,
    ItemStatistic,
    ItemTag,
    Mastery,
    PracticeAnswer,
    Response,
    SkillParameters,
)
from ..queries import diagnosis as diagnosis_queries

logger = logging.getLogger(__name__)

#: A running run older than this is taken as crashed and does not block a new one.
RUN_STALE_AFTER = dt.timedelta(hours=1)
#: Rows per INSERT when the results are written.
BATCH_SIZE = 5000
#: Rows per fetch when the evidence is streamed.
CHUNK_SIZE = 5000
#: Fewest answers an item needs before its discrimination is computed.
DISCRIMINATION_MIN_N = 5
#: The PostgreSQL advisory lock key of diagnosis runs (an arbitrary constant).
ADVISORY_LOCK_KEY = 0x5359_4447  # "SYDG"
#: Positions past this share the last slot of an attempt's order (order = ms * 1000 + position).
POSITION_SLOTS = 1000


def correct_fraction() -> float:
    """The score fraction from which an answer counts as correct (a setting, 0.6 by default)."""
    return float(conf.get("LEARNING_DIAGNOSIS_CORRECT_FRACTION"))


def _order(moment: dt.datetime | None, position: int = 0) -> int:
    """An integer that sorts one student's answers in time (milliseconds, then position);
    small enough to stay exact in a float64 (pyBKT may convert it)."""
    millis = int(moment.timestamp() * 1000) if moment is not None else 0
    return millis * POSITION_SLOTS + min(max(position, 0), POSITION_SLOTS - 1)


@dataclasses.dataclass
class _PointCount:
    n_answers: int = 0
    n_correct: int = 0
    last: dt.datetime | None = None


@dataclasses.dataclass
class _ItemSums:
    """Running sums of one item: fractions (x) and rest-of-attempt fractions (y)."""

    n: int = 0
    total: float = 0.0
    pairs: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0

    def add(self, x: float, y: float | None) -> None:
        self.n += 1
        self.total += x
        if y is None:
            return
        self.pairs += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.syy += y * y
        self.sxy += x * y

    @property
    def facility(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def discrimination(self) -> float | None:
        if self.pairs < DISCRIMINATION_MIN_N:
            return None
        n = self.pairs
        var_x = self.sxx - self.sx * self.sx / n
        var_y = self.syy - self.sy * self.sy / n
        if var_x <= 1e-12 or var_y <= 1e-12:
            return None
        r = (self.sxy - self.sx * self.sy / n) / math.sqrt(var_x * var_y)
        return max(-1.0, min(1.0, r))


@dataclasses.dataclass
class _Evidence:
    """Accumulators filled while the answers stream into the fit."""

    threshold: float
    tags: dict[int, list[int]]
    attempt_totals: dict[int, tuple[float, float]]
    counts: dict[tuple[int, int], _PointCount] = dataclasses.field(default_factory=dict)
    items: dict[int, _ItemSums] = dataclasses.field(default_factory=dict)
    n_answers: int = 0

    def _count(self, student: int, point: int, correct: bool, moment: dt.datetime | None) -> None:
        count = self.counts.get((student, point))
        if count is None:
            count = self.counts[(student, point)] = _PointCount()
        count.n_answers += 1
        count.n_correct += int(correct)
        if moment is not None and (count.last is None or moment > count.last):
            count.last = moment

    def rows(self) -> Iterator[bkt.AnswerRow]:
        """Every answer as ``AnswerRow``s (one per tagged point), exam responses first, then
        practice answers; the counts and item sums are filled on the way."""
        yield from self._responses()
        yield from self._practice()

    def _responses(self) -> Iterator[bkt.AnswerRow]:
        rows = (
            _marked_responses()
            .values_list(
                "attempt_id",
                "attempt__student_id",
                "paper_item__item_version__item_id",
                "score",
                "paper_item__points",
                "attempt__submitted_at",
                "attempt__started_at",
                "paper_item__position",
            )
            .iterator(chunk_size=CHUNK_SIZE)
        )
        for attempt, student, item, score, points, submitted, started, position in rows:
            self.n_answers += 1
            full = float(points or 0)
            fraction = min(1.0, max(0.0, float(score) / full)) if full > 0 else 0.0
            total_score, total_points = self.attempt_totals.get(attempt, (0.0, 0.0))
            rest_points = total_points - full
            rest = (total_score - float(score)) / rest_points if rest_points > 0 else None
            sums = self.items.get(item)
            if sums is None:
                sums = self.items[item] = _ItemSums()
            sums.add(fraction, rest)
            correct = fraction >= self.threshold
            moment = submitted or started
            order = _order(moment, position)
            for point in self.tags.get(item, ()):
                self._count(student, point, correct, moment)
                yield bkt.AnswerRow(student, point, correct, order)

    def _practice(self) -> Iterator[bkt.AnswerRow]:
        rows = PracticeAnswer.objects.values_list(
            "student_id", "item_version__item_id", "fraction", "answered_at"
        ).iterator(chunk_size=CHUNK_SIZE)
        for student, item, fraction, answered_at in rows:
            self.n_answers += 1
            correct = float(fraction) >= self.threshold
            order = _order(answered_at)
            for point in self.tags.get(item, ()):
                self._count(student, point, correct, answered_at)
                yield bkt.AnswerRow(student, point, correct, order)


def _marked_responses() -> Any:
    return Response.objects.filter(
        score__isnull=False,
        attempt__status__in=[AttemptStatus.SUBMITTED, AttemptStatus.MARKED],
    )


def _load_tags() -> dict[int, list[int]]:
    tags: dict[int, list[int]] = {}
    for item, point in ItemTag.objects.values_list("item_id", "knowledge_point_id").iterator(
        chunk_size=CHUNK_SIZE
    ):
        tags.setdefault(item, []).append(point)
    return tags


def _attempt_totals() -> dict[int, tuple[float, float]]:
    """Marked score and points of every attempt (one grouped query)."""
    rows = (
        _marked_responses()
        .order_by()
        .values("attempt_id")
        .annotate(score_sum=Sum("score"), points_sum=Sum("paper_item__points"))
        .values_list("attempt_id", "score_sum", "points_sum")
    )
    return {
        attempt: (float(score or 0), float(points or 0))
        for attempt, score, points in rows.iterator(chunk_size=CHUNK_SIZE)
    }


# --- running --------------------------------------------------------------------------------------


def _running_elsewhere(run: DiagnosisRun | None) -> bool:
    """True if another run started less than ``RUN_STALE_AFTER`` ago is still running (for a
    given ``run``: one requested before it)."""
    qs = DiagnosisRun.objects.filter(
        status=DiagnosisRunStatus.RUNNING, started_at__gte=timezone.now() - RUN_STALE_AFTER
    )
    if run is not None:
        qs = qs.exclude(pk=run.pk).filter(pk__lt=run.pk)
    return bool(qs.exists())


def _in_progress() -> Conflict:
    return Conflict(_("A diagnosis run is already in progress."), code="RUN_IN_PROGRESS")


def _lock_runs() -> None:
    """Serialise runs' writes (PostgreSQL advisory lock until the transaction ends)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


def request_diagnosis(*, actor: Any, source: str = "ui") -> DiagnosisRun:
    """Start a diagnosis run in the background (teachers and administrators).

    Creates a ``RUNNING`` run, records the audit event ``learning.diagnosis.requested`` and
    enqueues ``run_diagnosis_task`` after commit. ``PermissionDenied`` for anyone else;
    ``Conflict`` ``RUN_IN_PROGRESS`` while another run is running.
    """
    if not diagnosis_queries.can_run(actor):
        raise PermissionDenied(_("Only teachers and administrators run a diagnosis."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        _lock_runs()
        if _running_elsewhere(None):
            raise _in_progress()
        run = DiagnosisRun.objects.create(requested_by=actor)
        record_audit("learning.diagnosis.requested", actor=actor, subject=run)
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from ..tasks import run_diagnosis_task  # the tasks module imports actions

    run_diagnosis_task.enqueue(run_id)


def run_diagnosis(
    *, actor: Any = None, run: DiagnosisRun | None = None, source: str = "task"
) -> DiagnosisRun:
    """Fit knowledge tracing on every marked answer and rebuild ``SkillParameters``,
    ``Mastery`` and ``ItemStatistic`` (see the module docstring).

    With ``run`` (a ``RUNNING`` run from ``request_diagnosis``) that run is completed;
    without, a new one is created. ``Conflict`` ``RUN_IN_PROGRESS`` if another run is in
    progress (a given ``run`` is then marked failed). Any other error marks the run
    ``FAILED`` with the error text and is raised again.
    """
    actor = actor if actor is not None else system_actor()
    if run is None:
        with transaction.atomic():
            _lock_runs()
            if _running_elsewhere(None):
                raise _in_progress()
            run = DiagnosisRun.objects.create(
                requested_by=actor if getattr(actor, "pk", None) else None
            )
    elif _running_elsewhere(run):
        _fail(run, _("Another diagnosis run was in progress."))
        raise _in_progress()
    try:
        _run(actor, run, source)
    except Exception as exc:
        _fail(run, f"{type(exc).__name__}: {exc}")
        raise
    return run


def _fail(run: DiagnosisRun, error: str) -> None:
    run.status = DiagnosisRunStatus.FAILED
    run.error = error[:10_000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def _bulk_create(model: Any, objs: Iterable[Any]) -> None:
    """Insert ``objs`` ``BATCH_SIZE`` at a time without building the whole list first."""
    iterator = iter(objs)
    while batch := list(itertools.islice(iterator, BATCH_SIZE)):
        model.objects.bulk_create(batch, batch_size=BATCH_SIZE)


def _run(actor: Any, run: DiagnosisRun, source: str) -> None:
    evidence = _Evidence(
        threshold=correct_fraction(), tags=_load_tags(), attempt_totals=_attempt_totals()
    )
    result = bkt.fit(evidence.rows())
    with transaction.atomic(), change_context(actor=actor, source=source):
        _lock_runs()
        SkillParameters.objects.all().delete()
        SkillParameters.objects.bulk_create(
            [
                SkillParameters(
                    knowledge_point_id=point,
                    run=run,
                    prior=p.prior,
                    learn=p.learn,
                    guess=p.guess,
                    slip=p.slip,
                    n_responses=p.n,
                )
                for point, p in result.params.items()
            ],
            batch_size=BATCH_SIZE,
        )
        Mastery.objects.all().delete()
        _bulk_create(
            Mastery,
            (
                Mastery(
                    student_id=student,
                    knowledge_point_id=point,
                    probability=result.mastery[(student, point)],
                    n_answers=count.n_answers,
                    n_correct=count.n_correct,
                    last_answered_at=count.last,
                    run=run,
                )
                for (student, point), count in evidence.counts.items()
                if (student, point) in result.mastery
            ),
        )
        ItemStatistic.objects.all().delete()
        ItemStatistic.objects.bulk_create(
            [
                ItemStatistic(
                    item_id=item,
                    run=run,
                    n_responses=sums.n,
                    facility=sums.facility,
                    discrimination=sums.discrimination,
                )
                for item, sums in evidence.items.items()
            ],
            batch_size=BATCH_SIZE,
        )
        run.status = DiagnosisRunStatus.DONE
        run.engine = result.engine[:64]
        run.n_responses = evidence.n_answers
        run.n_students = len({student for student, _point in evidence.counts})
        run.n_points = len(result.params)
        run.fit_seconds = result.fit_seconds
        run.finished_at = timezone.now()
        run.error = ""
        run.save(
            update_fields=[
                "status",
                "engine",
                "n_responses",
                "n_students",
                "n_points",
                "fit_seconds",
                "finished_at",
                "error",
            ]
        )
    logger.info(
        "diagnosis run %s: %s answers, %s students, %s points, fit %.2fs",
        run.pk,
        run.n_responses,
        run.n_students,
        run.n_points,
        run.fit_seconds,
    )
