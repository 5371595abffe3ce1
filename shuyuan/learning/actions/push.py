"""Writes of adaptive push (精准推送): a teacher pushes a resource or a practice item to students
of a class for a weak knowledge point; a student completes a push, or answers a practice item
(marked at once; evidence for the next diagnosis run).

Who may do what (``learning.permissions``): a teacher pushes only to students of a class they
teach (``taught_class_ids``); a push is completed only by its student; a student answers only
objective items pushed to them or in their practice bank (``queries.push.practice_bank``).
Pushing the same open resource or item to a student twice is skipped (the partial unique
constraints). A practice answer whose score fraction reaches
``LEARNING_DIAGNOSIS_CORRECT_FRACTION`` completes its push, and stores the xAPI statement
"answered" after the transaction commits (source key ``learning.practice:<pk>``).

``suggestions`` (a read) is re-exported here from ``queries.push`` for callers that think of
push as one area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.context import change_context
from shuyuan.core.errors import NotFound, PermissionDenied, invalid
from shuyuan.core.models import Org, OrgKind
from shuyuan.resources.models import KnowledgePoint, Resource

from .. import permissions
from ..exams import content
from ..models import Item, PracticeAnswer, Push, PushStatus
from ..queries import push as queries
from ..queries.push import Suggestion, suggestions
from ..xapi.platform import ACTIVITY_TYPE_INTERACTION, VERB_ANSWERED, item_activity_id
from .diagnosis import correct_fraction
from .events import record_platform_event

__all__ = [
    "Suggestion",
    "answer_practice",
    "complete_push",
    "push_to_students",
    "suggestions",
]

#: Most students one push reaches.
STUDENTS_MAX = 200


def _check_teaches(actor: Any, class_org: Org) -> None:
    if class_org.kind != OrgKind.CLASS:
        raise invalid("class_org", "NOT_A_CLASS", _("Choose a class."))
    if class_org.pk not in permissions.taught_class_ids(actor):
        raise PermissionDenied(_("You do not teach this class."), code="NOT_YOUR_CLASS")


def push_to_students(
    *,
    actor: Any,
    class_org: Org,
    students: Sequence[Any],
    knowledge_point: KnowledgePoint,
    resource: Resource | None = None,
    item: Item | None = None,
    source: str = "ui",
) -> list[Push]:
    """Push ``resource`` or ``item`` (exactly one) for ``knowledge_point`` to ``students`` of
    ``class_org`` and return the new pushes; a student who already has it open is skipped.

    ``PermissionDenied`` unless ``actor`` teaches the class; ``InvalidInput`` for no target or
    two (``ONE_TARGET``), no students (``REQUIRED``), too many, or a student not in the class
    (``NOT_IN_CLASS``), or a subjective item (``NOT_OBJECTIVE``); ``NotFound`` for a
    resource or item ``actor`` may not see.
    """
    if (resource is None) == (item is None):
        raise invalid("target", "ONE_TARGET", _("Choose one resource or one practice item."))
    _check_teaches(actor, class_org)
    ids = sorted({int(s.pk) for s in students})
    if not ids:
        raise invalid("students", "REQUIRED", _("Choose at least one student."))
    if len(ids) > STUDENTS_MAX:
        raise invalid(
            "students",
            "TOO_MANY",
            _("At most %(limit)d students at once.") % {"limit": STUDENTS_MAX},
        )
    members = queries.students_in_class(class_org, ids)
    if len(members) != len(ids):
        raise invalid("students", "NOT_IN_CLASS", _("Choose students of this class."))
    point = queries.access_point(actor, knowledge_point.pk)
    if resource is not None:
        resource = queries.listed_resource(actor, resource.pk)
    if item is not None:
        if not item.is_objective:
            raise invalid("item", "NOT_OBJECTIVE", _("Only automatically marked questions."))
        item = queries.teacher_item(actor, item.pk)
    created: list[Push] = []
    with transaction.atomic(), change_context(actor=actor, source=source):
        open_ = Push.objects.filter(student__in=ids, status=PushStatus.NEW)
        open_ = open_.filter(resource=resource) if resource is not None else open_.filter(item=item)
        already = set(open_.values_list("student_id", flat=True))
        for student in members:
            if student.pk in already:
                continue
            push = Push(
                student=student,
                class_org=class_org,
                knowledge_point=point,
                resource=resource,
                item=item,
                pushed_by=actor,
            )
            try:
                with transaction.atomic():
                    push.save(force_insert=True)
            except IntegrityError:
                continue  # pushed by someone else meanwhile: the constraint keeps one
            created.append(push)
    return created


def complete_push(*, actor: Any, push: Push, source: str = "ui") -> Push:
    """Mark one of ``actor``'s pushes done (done already: unchanged). Anyone else's push is
    ``NotFound``."""
    push = queries.access_push(actor, push.pk, "complete")
    if push.status == PushStatus.DONE:
        return push
    push.status = PushStatus.DONE
    push.done_at = timezone.now()
    with transaction.atomic(), change_context(actor=actor, source=source):
        push.save(update_fields=["status", "done_at"])
    return push


def answer_practice(
    *, actor: Any, item: Item, answer: Any, push: Push | None = None, source: str = "ui"
) -> PracticeAnswer:
    """Answer a practice item: validate and mark the answer against the item's current
    version, store it, complete the push when the answer is right, and record the xAPI
    statement after commit.

    ``NotFound`` unless the item was pushed to ``actor`` or is in their practice bank (or the
    push is not theirs); ``InvalidInput``: a subjective item (``NOT_OBJECTIVE``), a push of
    another item (``WRONG_ITEM``), no answer (``REQUIRED``) or a malformed one (the content
    rules' codes, e.g. ``UNKNOWN_OPTION``, ``BAD_ANSWER``).
    """
    if not item.is_objective:
        raise invalid("item", "NOT_OBJECTIVE", _("Only automatically marked questions."))
    if push is not None:
        push = queries.access_push(actor, push.pk, "complete")
        if push.item_id != item.pk:
            raise invalid("push", "WRONG_ITEM", _("This push is about another question."))
    elif not queries.may_practise(actor, item):
        raise NotFound(_("Question not found."), code="ITEM_NOT_FOUND")
    version = item.current_version
    if version is None:
        raise NotFound(_("Question not found."), code="ITEM_NOT_FOUND")
    normalised = content.validate_answer(item.kind, version.content, answer)
    if normalised is None or normalised in ("", [], {}):
        raise invalid("answer", "REQUIRED", _("Give an answer."))
    fraction = float(content.mark(item.kind, version.content, normalised) or 0.0)
    right = fraction >= correct_fraction()
    if push is None:
        push = queries.open_push_for(actor, item)
    with transaction.atomic(), change_context(actor=actor, source=source):
        practice = PracticeAnswer.objects.create(
            student=actor, item_version=version, push=push, answer=normalised, fraction=fraction
        )
        if right and push is not None and push.status == PushStatus.NEW:
            push.status = PushStatus.DONE
            push.done_at = practice.answered_at
            push.save(update_fields=["status", "done_at"])
    response = content.answer_text(item.kind, version.content, normalised)
    transaction.on_commit(
        lambda: _record_answer(actor, item, version.stem, practice, right, response)
    )
    return practice


def _record_answer(
    actor: Any, item: Item, stem: str, practice: PracticeAnswer, right: bool, response: str
) -> None:
    record_platform_event(
        user=actor,
        verb_id=VERB_ANSWERED,
        verb_display="answered",
        object_id=item_activity_id(item.identifier),
        object_name=stem[:200],
        object_type=ACTIVITY_TYPE_INTERACTION,
        timestamp=practice.answered_at,
        source_key=f"learning.practice:{practice.pk}",
        result={
            "score": {"scaled": round(practice.fraction, 4)},
            "success": right,
            "completion": True,
            "response": response[:1000],
        },
    )
