"""Writes of the learning spaces: favourites and notes (the owner's), lesson plans and
assignments (a teacher's, change-logged), and a student's completion of an assignment.

Who may do what is in ``learning.permissions``: favourites and notes are the owner's alone; a
teacher prepares lessons and sets assignments only for classes inside their teaching scope
(the school of a ``teacher`` role, the class of a ``head_teacher`` role) and changes only their
own; a student completes only open assignments of their own classes. Completing stores an xAPI
``completed`` statement about the assignment after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.context import change_context
from shuyuan.core.errors import Conflict, PermissionDenied, invalid
from shuyuan.core.models import Org
from shuyuan.resources.models import Resource

from ..models import (
    Assignment,
    AssignmentResource,
    AssignmentStatus,
    AssignmentSubmission,
    Favourite,
    LessonPlan,
    LessonPlanResource,
    Note,
)
from ..models.spaces import (
    INSTRUCTIONS_MAX,
    NOTE_BODY_MAX,
    NOTE_TITLE_MAX,
    PLAN_NOTES_MAX,
    PLAN_TITLE_MAX,
)
from ..queries import spaces as queries
from ..xapi.platform import VERB_COMPLETED
from .checks import check_class as _check_class
from .checks import checked_text as _text
from .events import record_platform_event

#: Most resources one lesson plan or assignment holds.
ITEMS_MAX = 50


def _listed(actor: Any, resource: Resource) -> Resource:
    """``resource`` if it is listed and ``actor`` may see it, else ``NotFound``."""
    return queries.access_listed_resource(actor, resource.pk)


# --- favourites -------------------------------------------------------------------------------


def add_favourite(*, actor: Any, resource: Resource) -> Favourite:
    """Keep a listed resource in ``actor``'s space (a second call returns the same row)."""
    resource = _listed(actor, resource)
    with transaction.atomic():
        favourite, _created = Favourite.objects.get_or_create(account=actor, resource=resource)
    return favourite


def remove_favourite(*, actor: Any, favourite: Favourite) -> None:
    """Remove one of ``actor``'s favourites (anyone else's is ``NotFound``)."""
    favourite = queries.access_favourite(actor, favourite.pk)
    with transaction.atomic():
        favourite.delete()


# --- notes ------------------------------------------------------------------------------------


def create_note(
    *, actor: Any, title: str, body: str = "", resource: Resource | None = None
) -> Note:
    """A new plain-text note in ``actor``'s space, optionally about a listed resource.

    Raises ``InvalidInput`` for an empty title or text over the limits.
    """
    title = _text("title", title, NOTE_TITLE_MAX, required=True)
    body = _text("body", body, NOTE_BODY_MAX)
    if resource is not None:
        resource = _listed(actor, resource)
    with transaction.atomic():
        return Note.objects.create(account=actor, title=title, body=body, resource=resource)


def update_note(*, actor: Any, note: Note, title: str, body: str = "") -> Note:
    """Change the title and text of one of ``actor``'s notes."""
    note = queries.access_note(actor, note.pk, "change")
    note.title = _text("title", title, NOTE_TITLE_MAX, required=True)
    note.body = _text("body", body, NOTE_BODY_MAX)
    note.updated_at = timezone.now()
    with transaction.atomic():
        note.save(update_fields=["title", "body", "updated_at"])
    return note


def delete_note(*, actor: Any, note: Note) -> None:
    """Delete one of ``actor``'s notes."""
    note = queries.access_note(actor, note.pk, "change")
    with transaction.atomic():
        note.delete()


# --- lesson plans -----------------------------------------------------------------------------


def create_lesson_plan(
    *,
    actor: Any,
    class_org: Org,
    title: str,
    notes: str = "",
    taught_on: dt.date | None = None,
    resources: Sequence[Resource] = (),
    source: str = "ui",
) -> LessonPlan:
    """A new lesson plan of ``actor`` for ``class_org``, with ``resources`` in order.

    Raises ``PermissionDenied`` unless ``actor`` teaches in the class's scope; ``InvalidInput``
    for a missing title, text over the limits, or too many resources.
    """
    title = _text("title", title, PLAN_TITLE_MAX, required=True)
    notes = _text("notes", notes, PLAN_NOTES_MAX)
    _check_class(actor, class_org)
    chosen = _unique_listed(actor, resources)
    with transaction.atomic(), change_context(actor=actor, source=source):
        plan = LessonPlan(
            teacher=actor, class_org=class_org, title=title, notes=notes, taught_on=taught_on
        )
        plan.save(force_insert=True)
        for position, resource in enumerate(chosen):
            LessonPlanResource(lesson_plan=plan, resource=resource, position=position).save(
                force_insert=True
            )
    return plan


def update_lesson_plan(
    *,
    actor: Any,
    plan: LessonPlan,
    title: str,
    notes: str = "",
    taught_on: dt.date | None = None,
    source: str = "ui",
) -> LessonPlan:
    """Change a lesson plan's title, notes and date (its teacher only)."""
    plan = queries.access_lesson_plan(actor, plan.pk, "change")
    plan.title = _text("title", title, PLAN_TITLE_MAX, required=True)
    plan.notes = _text("notes", notes, PLAN_NOTES_MAX)
    plan.taught_on = taught_on
    plan.updated_at = timezone.now()
    with transaction.atomic(), change_context(actor=actor, source=source):
        plan.save(update_fields=["title", "notes", "taught_on", "updated_at"])
    return plan


def _unique_listed(actor: Any, resources: Sequence[Resource]) -> list[Resource]:
    seen: dict[int, Resource] = {}
    for resource in resources:
        if resource.pk not in seen:
            seen[resource.pk] = _listed(actor, resource)
    if len(seen) > ITEMS_MAX:
        raise invalid(
            "resources",
            "TOO_MANY",
            _("At most %(limit)d resources are allowed.") % {"limit": ITEMS_MAX},
        )
    return list(seen.values())


def add_plan_resource(
    *, actor: Any, plan: LessonPlan, resource: Resource, source: str = "ui"
) -> LessonPlanResource:
    """Append a listed resource to a lesson plan (``Conflict`` if it is already there)."""
    plan = queries.access_lesson_plan(actor, plan.pk, "change")
    resource = _listed(actor, resource)
    with transaction.atomic(), change_context(actor=actor, source=source):
        items = LessonPlanResource.objects.filter(lesson_plan=plan)
        if items.filter(resource=resource).exists():
            raise Conflict(_("This resource is already in the lesson plan."), code="DUPLICATE")
        if items.count() >= ITEMS_MAX:
            raise invalid(
                "resource",
                "TOO_MANY",
                _("At most %(limit)d resources are allowed.") % {"limit": ITEMS_MAX},
            )
        last = items.aggregate(last=Max("position"))["last"]
        item = LessonPlanResource(
            lesson_plan=plan, resource=resource, position=0 if last is None else last + 1
        )
        item.save(force_insert=True)
        plan.updated_at = timezone.now()
        plan.save(update_fields=["updated_at"])
    return item


def remove_plan_resource(
    *, actor: Any, plan: LessonPlan, item: LessonPlanResource, source: str = "ui"
) -> None:
    """Take a resource out of a lesson plan."""
    plan = queries.access_lesson_plan(actor, plan.pk, "change")
    item = queries.access_plan_item(actor, plan, item.pk)
    with transaction.atomic(), change_context(actor=actor, source=source):
        item.delete()


def move_plan_resource(
    *, actor: Any, plan: LessonPlan, item: LessonPlanResource, up: bool, source: str = "ui"
) -> None:
    """Swap a resource with the one before (``up``) or after it in the lesson plan."""
    plan = queries.access_lesson_plan(actor, plan.pk, "change")
    item = queries.access_plan_item(actor, plan, item.pk)
    items = list(LessonPlanResource.objects.filter(lesson_plan=plan).order_by("position", "pk"))
    index = next(i for i, other in enumerate(items) if other.pk == item.pk)
    target = index - 1 if up else index + 1
    if not 0 <= target < len(items):
        return
    items[index], items[target] = items[target], items[index]
    with transaction.atomic(), change_context(actor=actor, source=source):
        for position, row in enumerate(items):
            if row.position != position:
                row.position = position
                row.save(update_fields=["position"])


# --- assignments ------------------------------------------------------------------------------


def set_assignment(
    *,
    actor: Any,
    class_org: Org,
    title: str,
    instructions: str = "",
    due_at: dt.datetime | None = None,
    resources: Sequence[Resource] = (),
    lesson_plan: LessonPlan | None = None,
    source: str = "ui",
) -> Assignment:
    """Set an assignment for ``class_org``. With ``lesson_plan`` (one of ``actor``'s), its
    resources come first, followed by ``resources``.

    Raises ``PermissionDenied`` unless ``actor`` teaches in the class's scope, ``InvalidInput``
    for a missing title, text over the limits, a due time in the past or too many resources.
    """
    title = _text("title", title, PLAN_TITLE_MAX, required=True)
    instructions = _text("instructions", instructions, INSTRUCTIONS_MAX)
    if due_at is not None and due_at < timezone.now():
        raise invalid("due_at", "IN_THE_PAST", _("The due time must be in the future."))
    _check_class(actor, class_org)
    chosen: list[Resource] = []
    if lesson_plan is not None:
        lesson_plan = queries.access_lesson_plan(actor, lesson_plan.pk, "change")
        chosen = [item.resource for item in queries.plan_items(actor, lesson_plan)]
    chosen = _unique_listed(actor, [*chosen, *resources])
    with transaction.atomic(), change_context(actor=actor, source=source):
        assignment = Assignment(
            set_by=actor,
            class_org=class_org,
            lesson_plan=lesson_plan,
            title=title,
            instructions=instructions,
            due_at=due_at,
        )
        assignment.save(force_insert=True)
        for position, resource in enumerate(chosen):
            AssignmentResource(assignment=assignment, resource=resource, position=position).save(
                force_insert=True
            )
    return assignment


def set_assignment_status(
    *, actor: Any, assignment: Assignment, status: str, source: str = "ui"
) -> Assignment:
    """Close an assignment (students can no longer mark it done) or open it again."""
    if status not in AssignmentStatus.values:
        raise invalid("status", "INVALID_CHOICE", _("Unknown status."))
    assignment = queries.access_assignment(actor, assignment.pk)
    if not queries.can_manage_assignment(actor, assignment):
        raise PermissionDenied()
    if assignment.status != status:
        assignment.status = status
        with transaction.atomic(), change_context(actor=actor, source=source):
            assignment.save(update_fields=["status"])
    return assignment


def complete_assignment(*, actor: Any, assignment: Assignment) -> AssignmentSubmission:
    """Mark an open assignment of ``actor``'s class as done (once), and store the xAPI
    statement "``actor`` completed <assignment>" after commit.

    ``NotFound`` if ``actor`` cannot see it; ``PermissionDenied`` if ``actor`` is not a student
    of the class; ``Conflict`` if it is closed or already done.
    """
    assignment = queries.access_assignment(actor, assignment.pk)
    if not Assignment.objects.visible_to(actor, "complete").filter(pk=assignment.pk).exists():
        raise PermissionDenied(_("Only the students of the class complete this assignment."))
    if assignment.status != AssignmentStatus.OPEN:
        raise Conflict(_("This assignment is closed."), code="ASSIGNMENT_CLOSED")
    try:
        with transaction.atomic():
            submission = AssignmentSubmission.objects.create(assignment=assignment, student=actor)
    except IntegrityError:
        raise Conflict(
            _("You have already completed this assignment."), code="ALREADY_DONE"
        ) from None
    transaction.on_commit(lambda: _record_completion(actor, assignment, submission))
    return submission


def _record_completion(
    actor: Any, assignment: Assignment, submission: AssignmentSubmission
) -> None:
    record_platform_event(
        user=actor,
        verb_id=VERB_COMPLETED,
        verb_display="completed",
        object_id=queries.assignment_iri(assignment),
        object_name=assignment.title,
        object_type=queries.ACTIVITY_TYPE_ASSIGNMENT,
        timestamp=submission.completed_at,
        source_key=f"learning.submission:{submission.pk}",
        result={"completion": True},
    )
