"""``manage.py load_learning_demo``: the learning spaces' part of the demo region.

Gives the demo accounts something to see: ``student`` keeps favourites and notes and has a
learning timeline; ``teacher`` has a lesson plan with resources for the student's class and an
assignment set from it, which the student and the ``parent``'s child have completed; the
child has a timeline too. Statements are the platform's own (``record_platform_event`` with
fixed source keys). Idempotent: a second run adds nothing. Development mode only; needs the
demo region and listed resources (``load_resource_demo``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shuyuan.core.errors import Conflict, NotFound, PermissionDenied
from shuyuan.identity.models import Role, RoleAssignment, User
from shuyuan.resources.models import Resource

from ...actions import spaces as actions
from ...actions.events import record_platform_event
from ...models import Assignment, LessonPlan, Note
from ...xapi.platform import USAGE_VERBS, resource_activity_id

PLAN_TITLE = "Pythagorean theorem: proof by areas"
ASSIGNMENT_TITLE = "Watch the lesson and finish the three exercises"
NOTES = [
    ("Pythagorean theorem", "a² + b² = c²: the legs squared add up to the hypotenuse squared."),
    ("Questions for class", "Why does the proof by rearranging areas work for every triangle?"),
]


class Command(BaseCommand):
    help = "Load the learning spaces' demo data (favourites, notes, a lesson, an assignment)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEVELOPMENT:
            raise CommandError("Demo data is for development mode only.")
        users = {u.username: u for u in User.objects.filter(username__in=["student", "teacher"])}
        student, teacher = users.get("student"), users.get("teacher")
        if student is None or teacher is None:
            raise CommandError("Load the demo region first (shuyuan demo).")
        resources = list(
            Resource.objects.listed().select_related("listed_version").order_by("pk")[:6]
        )
        if len(resources) < 3:
            raise CommandError("Load the resource demo first (load_resource_demo).")
        role = RoleAssignment.objects.filter(user=student, role=Role.STUDENT).first()
        klass = role.org if role is not None else None
        if klass is None:
            raise CommandError("The demo student has no class.")
        self._personal(student, resources)
        assignment = self._teaching(teacher, klass, resources)
        child_role = RoleAssignment.objects.filter(role=Role.PARENT, child__isnull=False).first()
        for learner in {student, *([child_role.child] if child_role and child_role.child else [])}:
            self._activity(learner, resources)
            if assignment is not None:
                # Already done, or a child in another class: nothing to do.
                with contextlib.suppress(Conflict, NotFound, PermissionDenied):
                    actions.complete_assignment(actor=learner, assignment=assignment)
        if options["verbosity"]:
            self.stdout.write("Learning demo loaded.")

    def _personal(self, student: User, resources: list[Resource]) -> None:
        for resource in resources[:3]:
            actions.add_favourite(actor=student, resource=resource)
        if not Note.objects.filter(account=student).exists():
            for (title, body), resource in zip(NOTES, resources, strict=False):
                actions.create_note(actor=student, title=title, body=body, resource=resource)

    def _teaching(self, teacher: User, klass: Any, resources: list[Resource]) -> Any:
        plan = LessonPlan.objects.filter(teacher=teacher, title=PLAN_TITLE).first()
        if plan is None:
            plan = actions.create_lesson_plan(
                actor=teacher,
                class_org=klass,
                title=PLAN_TITLE,
                notes="1. Review right triangles.\n2. Proof by areas.\n3. Three exercises.",
                taught_on=timezone.localdate(),
                resources=resources[:3],
                source="system",
            )
        assignment = Assignment.objects.filter(set_by=teacher, title=ASSIGNMENT_TITLE).first()
        if assignment is None:
            assignment = actions.set_assignment(
                actor=teacher,
                class_org=klass,
                title=ASSIGNMENT_TITLE,
                instructions="Watch the micro-lesson, then do exercises 1 to 3.",
                due_at=timezone.now() + dt.timedelta(days=7),
                lesson_plan=plan,
                source="system",
            )
        return assignment

    def _activity(self, learner: User, resources: list[Resource]) -> None:
        now = timezone.now()
        for n, resource in enumerate(resources):
            for kind, days in (("view", 3 * n + 1), ("complete", 3 * n)):
                if kind == "complete" and n % 2:
                    continue
                verb_id, display = USAGE_VERBS[kind]
                record_platform_event(
                    user=learner,
                    verb_id=verb_id,
                    verb_display=display,
                    object_id=resource_activity_id(resource.pk),
                    object_name=resource.listed_version.title if resource.listed_version else "",
                    timestamp=now - dt.timedelta(days=days, hours=n),
                    source_key=f"learning.demo:{learner.username}:{kind}:{resource.pk}",
                )
