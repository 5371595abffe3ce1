"""Writes of a student's sitting of an exam (在线考试): start or resume an attempt, save answers
from one or more devices, log focus and connection events, submit (by the student or by the
deadline), and record the answers in the LRS.

Invariants
    * A student has at most one attempt in progress per assessment (the partial unique
      constraint ``learning_attempt_one_open``): two devices that start at once share it.
    * Every answer that arrives is appended to ``ResponseLog`` in its own transaction before
      anything is checked, so an answer refused later (deadline passed, lost race, tampered
      input) is never lost.
    * Two devices save with optimistic concurrency: a save names the revision it was based on;
      a save based on an older revision is ``stale`` (not applied) and answers the current one.
    * Saves and submission lock the attempt row, so nothing is saved after submission has
      marked the responses.
    * Submission is idempotent: the second submit returns the attempt unchanged.

``Attempt`` and its rows are working state (not change-logged); the writes still run inside
``change_context`` like every action.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import Conflict, invalid

from ..exams import content
from ..models import (
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptStatus,
    FocusEvent,
    FocusEventKind,
    ItemKind,
    PaperItem,
    Response,
    ResponseLog,
    SubmittedBy,
)
from ..queries import sitting as queries
from ..xapi.platform import (
    ACTIVITY_TYPE_INTERACTION,
    VERB_ANSWERED,
    assessment_activity_id,
    extension_id,
    item_activity_id,
)
from . import marking
from .events import record_platform_event

CENT = Decimal("0.01")
#: Most focus events one call logs.
EVENTS_MAX = 100
#: How far in the future a device's clock may put an event.
CLOCK_SKEW = dt.timedelta(minutes=1)
DEVICE_MAX = 64


@dataclass(frozen=True)
class SaveResult:
    """What a save did: ``saved`` (``revision`` is the new one) or ``stale`` (another device
    saved first: ``answer`` and ``revision`` are the current ones, the device shows them)."""

    status: str  # "saved" | "stale"
    revision: int
    answer: Any
    saved_at: dt.datetime


# --- starting -----------------------------------------------------------------------------------


def start_attempt(*, actor: Any, assessment: Assessment, source: str = "ui") -> Attempt:
    """Start ``actor``'s next attempt of ``assessment``, or resume the one in progress (on any
    device).

    ``NotFound`` unless ``actor`` is a student of the class; ``Conflict`` ``NOT_OPEN`` before
    the window, ``CLOSED`` after it (or when cancelled), ``NO_ATTEMPTS_LEFT`` when every
    allowed attempt is used. A new attempt gets its deadline (the window's end or the time
    limit, whichever is first), its own question and option order when the assessment
    shuffles, and an empty response per question.
    """
    assessment = queries.access_assessment_to_sit(actor, assessment.pk)
    close_expired_attempts(assessment=assessment, student=actor)
    now = timezone.now()
    if assessment.status != AssessmentStatus.PUBLISHED or now >= assessment.closes_at:
        raise Conflict(_("This exam is closed."), code="CLOSED")
    if now < assessment.opens_at:
        raise Conflict(_("This exam is not open yet."), code="NOT_OPEN")
    with transaction.atomic(), change_context(actor=actor, source=source):
        mine = Attempt.objects.filter(assessment=assessment, student=actor.pk)
        current: Attempt | None = mine.filter(status=AttemptStatus.IN_PROGRESS).first()
        if current is not None:
            return current
        used = mine.aggregate(last=Max("number"))["last"] or 0
        if used >= assessment.max_attempts:
            raise Conflict(
                _("You have used every attempt allowed for this exam."), code="NO_ATTEMPTS_LEFT"
            )
        return _insert_attempt(actor, assessment, used + 1, now)


def _deadline(assessment: Assessment, now: dt.datetime) -> dt.datetime:
    if assessment.duration_minutes:
        return min(assessment.closes_at, now + dt.timedelta(minutes=assessment.duration_minutes))
    return assessment.closes_at


def _insert_attempt(actor: Any, assessment: Assessment, number: int, now: dt.datetime) -> Attempt:
    """Insert attempt ``number`` with its empty responses; if another device inserted the
    attempt in progress first, return that one."""
    paper_items = list(
        PaperItem.objects.filter(paper_id=assessment.paper_id)
        .select_related("item_version", "item_version__item")
        .order_by("position", "pk")
    )
    rng = random.Random(secrets.randbits(64))  # noqa: S311  # shuffling, not cryptography
    item_order: list[int] = []
    option_order: dict[str, list[str]] = {}
    if assessment.shuffle_items:
        item_order = [p.pk for p in paper_items]
        rng.shuffle(item_order)
    if assessment.shuffle_options:
        for paper_item in paper_items:
            version = paper_item.item_version
            order = content.shuffled_option_ids(version.item.kind, version.content, rng)
            if order is not None:
                option_order[str(paper_item.pk)] = order
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                assessment=assessment,
                student=actor,
                number=number,
                started_at=now,
                deadline=_deadline(assessment, now),
                item_order=item_order,
                option_order=option_order,
                max_score=sum((p.points for p in paper_items), Decimal(0)),
            )
            Response.objects.bulk_create(
                Response(attempt=attempt, paper_item=p, answer=None, revision=0, saved_at=now)
                for p in paper_items
            )
    except IntegrityError:
        current: Attempt | None = Attempt.objects.filter(
            assessment=assessment, student=actor.pk, status=AttemptStatus.IN_PROGRESS
        ).first()
        if current is None:
            raise Conflict(
                _("Another device is starting this exam. Try again."), code="BUSY"
            ) from None
        return current
    return attempt


# --- answering ----------------------------------------------------------------------------------


def _revision(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise invalid("revision", "BAD_REVISION", _("The revision must be a whole number."))
    return int(value)


def _device(value: Any) -> str:
    text = "".join(ch for ch in str(value or "") if ch.isprintable())
    return text.strip()[:DEVICE_MAX]


def save_answer(
    *,
    actor: Any,
    attempt: Attempt,
    paper_item_id: Any,
    answer: Any,
    base_revision: Any,
    device: Any = "",
    source: str = "ui",
) -> SaveResult:
    """Save ``actor``'s ``answer`` to question ``paper_item_id`` of ``attempt``, based on
    revision ``base_revision`` of the saved answer.

    The answer is first appended to the answer log (``accepted`` False until it is applied);
    that row survives any error below. ``NotFound`` unless the attempt is ``actor``'s;
    ``Conflict`` ``ATTEMPT_SUBMITTED`` after submission, ``DEADLINE_PASSED`` after the
    deadline and its grace; ``InvalidInput`` ``UNKNOWN_ITEM`` (field ``paper_item``) for a
    question not on the paper, ``UNKNOWN_OPTION`` / ``BAD_ANSWER`` (field ``answer``) for an
    answer that does not fit the question, ``BAD_REVISION``. Returns ``stale`` (nothing
    saved) when another device saved since ``base_revision``.
    """
    now = timezone.now()
    attempt = queries.access_attempt(actor, attempt.pk, "change")
    device = _device(device)
    base = base_revision if isinstance(base_revision, int) and 0 <= base_revision < 2**31 else 0
    log = None
    if queries.paper_item_exists(paper_item_id):
        with transaction.atomic(), change_context(actor=actor, source=source):
            log = ResponseLog.objects.create(
                attempt=attempt,
                paper_item_id=paper_item_id,
                answer=answer,
                base_revision=base,
                accepted=False,
                device=device,
                received_at=now,
            )
    paper_item = queries.paper_item_of(attempt, paper_item_id)
    if paper_item is None:
        raise invalid("paper_item", "UNKNOWN_ITEM", _("This question is not on the exam."))
    base = _revision(base_revision)
    version = paper_item.item_version
    normalised = content.validate_answer(version.item.kind, version.content, answer)
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked = Attempt.objects.select_for_update().get(pk=attempt.pk)
        _check_open(locked, now)
        response = (
            Response.objects.select_for_update()
            .filter(attempt=locked, paper_item=paper_item)
            .first()
        )
        if response is None:  # a question added after the attempt started
            response = Response.objects.create(
                attempt=locked, paper_item=paper_item, answer=None, revision=0, saved_at=now
            )
        if base != response.revision:
            if response.answer != normalised:
                return SaveResult("stale", response.revision, response.answer, response.saved_at)
            # The same answer arrived again (a retry after a lost reply): nothing to change.
        else:
            response.answer = normalised
            response.revision += 1
            response.saved_at = now
            response.save(update_fields=["answer", "revision", "saved_at"])
        if log is not None:
            ResponseLog.objects.filter(pk=log.pk).update(accepted=True)
    return SaveResult("saved", response.revision, response.answer, response.saved_at)


def _check_open(attempt: Attempt, now: dt.datetime) -> None:
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Conflict(_("This attempt has been submitted."), code="ATTEMPT_SUBMITTED")
    if now > attempt.deadline + queries.grace():
        raise Conflict(_("The time for this exam is over."), code="DEADLINE_PASSED")


def log_focus_events(
    *, actor: Any, attempt: Attempt, events: list[dict[str, Any]], source: str = "ui"
) -> int:
    """Log what ``actor``'s browser saw during ``attempt`` (focus lost and back, tab hidden,
    connection lost and back): each event ``{"kind": FocusEventKind, "at": ISO time}``, at
    most 100 per call, none more than a minute in the future. Returns how many were logged.

    Events sent late (queued while offline) are accepted after submission too.
    ``InvalidInput`` names the first bad event (``events[3].kind``); nothing is logged then.
    """
    attempt = queries.access_attempt(actor, attempt.pk, "change")
    if not isinstance(events, list):
        raise invalid("events", "BAD_EVENTS", _("Send a list of events."))
    if len(events) > EVENTS_MAX:
        raise invalid(
            "events",
            "TOO_MANY",
            _("At most %(limit)d events are allowed.") % {"limit": EVENTS_MAX},
        )
    now = timezone.now()
    rows = []
    for n, event in enumerate(events):
        if not isinstance(event, dict):
            raise invalid(f"events[{n}]", "BAD_EVENTS", _("Send a list of events."))
        kind = event.get("kind")
        if kind not in FocusEventKind.values:
            raise invalid(f"events[{n}].kind", "UNKNOWN_EVENT", _("Unknown event."))
        at = parse_datetime(event["at"]) if isinstance(event.get("at"), str) else None
        if at is None or at.tzinfo is None:
            raise invalid(f"events[{n}].at", "BAD_TIME", _("Give the time with its time zone."))
        if at > now + CLOCK_SKEW:
            raise invalid(f"events[{n}].at", "FUTURE_TIME", _("This time is in the future."))
        rows.append(FocusEvent(attempt=attempt, kind=kind, occurred_at=at, received_at=now))
    with transaction.atomic(), change_context(actor=actor, source=source):
        FocusEvent.objects.bulk_create(rows)
    return len(rows)


# --- submitting ---------------------------------------------------------------------------------


def submit_attempt(*, actor: Any, attempt: Attempt, source: str = "ui") -> Attempt:
    """Submit ``actor``'s attempt: objective answers are marked at once, the attempt's score
    recomputed, and the answers recorded in the LRS after commit. A second submit (another
    device, a double click) returns the attempt unchanged. ``NotFound`` unless the attempt is
    ``actor``'s.
    """
    attempt = queries.access_attempt(actor, attempt.pk, "change")
    by = SubmittedBy.DEADLINE if queries.is_expired(attempt) else SubmittedBy.STUDENT
    return _submit(attempt.pk, by=by, actor=actor, source=source)


def _submit(pk: int, *, by: str, actor: Any, source: str) -> Attempt:
    with transaction.atomic(), change_context(actor=actor, source=source):
        attempt: Attempt = Attempt.objects.select_for_update().get(pk=pk)
        if attempt.status != AttemptStatus.IN_PROGRESS:
            return attempt
        now = timezone.now()
        _auto_mark(attempt, now)
        attempt.status = AttemptStatus.SUBMITTED
        attempt.submitted_at = now
        attempt.submitted_by = by
        attempt.save(update_fields=["status", "submitted_at", "submitted_by"])
        marking.score_attempt(attempt)
        transaction.on_commit(lambda: _enqueue_record(pk))
    return attempt


def _auto_mark(attempt: Attempt, now: dt.datetime) -> None:
    """Mark every objective response: the question's points x the fraction right."""
    responses = list(
        Response.objects.filter(attempt=attempt).select_related(
            "paper_item", "paper_item__item_version", "paper_item__item_version__item"
        )
    )
    changed = []
    for response in responses:
        version = response.paper_item.item_version
        kind = version.item.kind
        if kind not in ItemKind.objective():
            continue
        fraction = content.mark(kind, version.content, response.answer) or 0.0
        score = Decimal(response.paper_item.points) * Decimal(str(fraction))
        response.score = score.quantize(CENT, rounding=ROUND_HALF_UP)
        response.auto_marked = True
        response.marked_at = now
        changed.append(response)
    Response.objects.bulk_update(changed, ["score", "auto_marked", "marked_at"])


def _enqueue_record(attempt_id: int) -> None:
    from ..tasks import record_attempt_answers  # tasks.py imports the actions

    record_attempt_answers.enqueue(attempt_id)


def close_expired_attempts(
    now: dt.datetime | None = None,
    *,
    assessment: Assessment | None = None,
    student: Any = None,
) -> int:
    """Submit, as "time ran out", every attempt in progress whose deadline and grace have
    passed (optionally only of ``assessment`` and/or ``student``). Returns how many.

    Not an actor action: the system submits (the command ``close_expired_attempts``, or lazily
    when a student or teacher opens the attempt or the assessment).
    """
    moment = now or timezone.now()
    expired = Attempt.objects.filter(
        status=AttemptStatus.IN_PROGRESS, deadline__lt=moment - queries.grace()
    )
    if assessment is not None:
        expired = expired.filter(assessment=assessment.pk)
    if student is not None:
        expired = expired.filter(student=student.pk)
    closed = 0
    actor = system_actor()
    for pk in list(expired.values_list("pk", flat=True)):
        attempt = _submit(pk, by=SubmittedBy.DEADLINE, actor=actor, source="system")
        closed += attempt.submitted_by == SubmittedBy.DEADLINE
    return closed


# --- recording ----------------------------------------------------------------------------------


def record_attempt_statements(attempt: Attempt) -> list[str]:
    """Store one xAPI ``answered`` statement per response of a submitted ``attempt`` (the
    item as a ``cmi.interaction`` activity, the response text, success and scaled score for
    objective items, the assessment and attempt number as context extensions). Statement
    ids derive from the responses, so a rerun stores nothing twice. Returns the ids."""
    if attempt.status == AttemptStatus.IN_PROGRESS:
        return []
    assessment_iri = assessment_activity_id(attempt.assessment_id)
    extensions = {
        extension_id("assessment"): assessment_iri,
        extension_id("attempt"): attempt.number,
    }
    ids = []
    for response in queries.ordered_responses(attempt):
        version = response.paper_item.item_version
        kind = version.item.kind
        result: dict[str, Any] = {
            "response": content.answer_text(kind, version.content, response.answer)
            if response.answer is not None
            else ""
        }
        points = Decimal(response.paper_item.points)
        if kind in ItemKind.objective() and response.score is not None and points > 0:
            scaled = float(min(Decimal(1), max(Decimal(0), response.score / points)))
            result["success"] = response.score >= points
            result["score"] = {
                "scaled": round(scaled, 4),
                "raw": float(response.score),
                "min": 0,
                "max": float(points),
            }
        ids.append(
            record_platform_event(
                user=attempt.student,
                verb_id=VERB_ANSWERED,
                verb_display="answered",
                object_id=item_activity_id(version.item.identifier),
                object_name=version.stem[:200],
                object_type=ACTIVITY_TYPE_INTERACTION,
                timestamp=response.saved_at if response.revision else attempt.submitted_at,
                source_key=f"learning.response:{response.pk}",
                result=result,
                context_extensions=extensions,
            )
        )
    return ids
