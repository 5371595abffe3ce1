"""``manage.py load_exam_demo``: the exams' and diagnosis' part of the demo region.

Everything goes through the app's actions, as a teacher and students would:

- ``teacher`` fills the school's item bank from ``learning/data/demo_items.json`` (24 items of
  every kind on five knowledge points of the seed graph: square roots, triangles, quadratic
  radicals, the Pythagorean theorem and its converse);
- builds a paper from a blueprint and publishes it to the demo student's class; every student
  of the class sits it (simulated answers: each student has a hidden ability per knowledge
  point), the teacher marks the short answers and releases the scores;
- publishes a second paper, open for a week, that nobody has sat yet (for trying the sitting
  page);
- runs the diagnosis (pyBKT) and pushes a resource (or, when no listed resource is tagged to
  it, a practice item) for the demo student's weakest point.

Idempotent: a second run adds nothing. Development mode only; needs the demo region, the
resource demo (the seed graph and listed resources) and ``load_learning_demo``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shuyuan.identity.models import Role, RoleAssignment, User
from shuyuan.resources.models import KnowledgePoint, Resource, Subject

from ...actions import diagnosis, items, marking, papers, push, sitting
from ...exams import content as item_content
from ...models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Item,
    ItemKind,
    ItemStatus,
    Mastery,
    Response,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "demo_items.json"
DONE_TITLE = "Unit 17 quiz: the Pythagorean theorem"
OPEN_TITLE = "Square roots and radicals: practice test"
#: (knowledge point, difficulty, count, points) rows of the two blueprints.
DONE_BLUEPRINT = [
    ("math-square-root", 1, 2, 2),
    ("math-triangle", 2, 2, 2),
    ("math-pythagoras", 2, 3, 3),
    ("math-pythagoras", 3, 1, 6),
    ("math-pythagoras-converse", 2, 1, 3),
]
OPEN_BLUEPRINT = [
    ("math-square-root", 2, 2, 2),
    ("math-square-root", 3, 2, 3),
    ("math-quadratic-radical", 1, 1, 2),
    ("math-quadratic-radical", 2, 1, 2),
]


def wrong_answer(kind: str, content: dict[str, Any]) -> Any:
    """A plausible wrong answer of ``kind``."""
    key = item_content.correct_answer(kind, content)
    if kind == ItemKind.SINGLE:
        return next(o["id"] for o in content["options"] if o["id"] != key)
    if kind == ItemKind.MULTIPLE:
        return [next(o["id"] for o in content["options"] if o["id"] not in key)]
    if kind == ItemKind.TRUE_FALSE:
        return not key
    if kind == ItemKind.FILL_BLANK:
        return ["0" for _ in content["blanks"]]
    if kind == ItemKind.NUMERIC:
        return "0"
    if kind == ItemKind.MATCHING:
        rights = [r["id"] for r in content["right"]]
        return {left["id"]: rights[(i + 1) % len(rights)] for i, left in enumerate(content["left"])}
    if kind == ItemKind.ORDERING:
        return list(reversed(key))
    return "I am not sure."


class Command(BaseCommand):
    help = "Load the exams' demo data (item bank, a sat and marked exam, an open exam, diagnosis)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEVELOPMENT:
            raise CommandError("Demo data is for development mode only.")
        users = {u.username: u for u in User.objects.filter(username__in=["student", "teacher"])}
        student, teacher = users.get("student"), users.get("teacher")
        if student is None or teacher is None:
            raise CommandError("Load the demo region first (shuyuan demo).")
        role = RoleAssignment.objects.filter(user=student, role=Role.STUDENT).first()
        klass = role.org if role is not None else None
        school = klass.school() if klass is not None else None
        if klass is None or school is None:
            raise CommandError("The demo student has no class in a school.")
        if Assessment.objects.filter(title=DONE_TITLE, class_org=klass).exists():
            self.stdout.write("Exam demo already loaded.")
            return
        points = {p.code: p for p in KnowledgePoint.objects.filter(code__startswith="math-")}
        math = Subject.objects.filter(code="math").first()
        if math is None or "math-pythagoras" not in points:
            raise CommandError("Load the resource demo first (load_resource_demo).")

        bank = self._bank(teacher, school, math, points)
        classmates = list(
            User.objects.filter(
                role_assignments__role=Role.STUDENT, role_assignments__org=klass
            ).order_by("pk")
        )
        done = self._publish(teacher, school, klass, math, points, DONE_TITLE, DONE_BLUEPRINT)
        self._sit(done, classmates)
        self._mark(teacher, done)
        papers.release_scores(actor=teacher, assessment=done, source="system")
        self._publish(teacher, school, klass, math, points, OPEN_TITLE, OPEN_BLUEPRINT)
        run = diagnosis.run_diagnosis(source="system")
        pushed = self._push(teacher, klass, student)
        self.stdout.write(
            f"Exam demo: {len(bank)} items, {len(classmates)} students sat '{DONE_TITLE}', "
            f"diagnosis run {run.pk} ({run.n_responses} answers), {pushed} push(es)."
        )

    def _bank(
        self, teacher: Any, school: Any, math: Subject, points: dict[str, KnowledgePoint]
    ) -> list[Item]:
        return [
            items.create_item(
                actor=teacher,
                org=school,
                subject=math,
                kind=row["kind"],
                difficulty=row["difficulty"],
                stem=row["stem"],
                content=row["content"],
                explanation=row.get("explanation", ""),
                knowledge_points=[points[row["point"]]],
                source="system",
            )
            for row in json.loads(DATA.read_text(encoding="utf-8"))
        ]

    def _publish(
        self,
        teacher: Any,
        school: Any,
        klass: Any,
        math: Subject,
        points: dict[str, KnowledgePoint],
        title: str,
        blueprint: list[tuple[str, int, int, int]],
    ) -> Assessment:
        paper = papers.create_paper(
            actor=teacher, org=school, subject=math, title=title, source="system"
        )
        rows = [
            papers.BlueprintRow(points[code], difficulty, count, Decimal(score))
            for code, difficulty, count, score in blueprint
        ]
        papers.assemble_from_blueprint(
            actor=teacher, paper=paper, rows=rows, seed=17, source="system"
        )
        now = timezone.now()
        return papers.publish_assessment(
            actor=teacher,
            paper=paper,
            class_org=klass,
            title=title,
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=7),
            duration_minutes=40,
            max_attempts=1,
            shuffle_items=True,
            shuffle_options=True,
            source="system",
        )

    def _sit(self, assessment: Assessment, students: list[Any]) -> None:
        rng = random.Random(2026)  # noqa: S311  # simulated answers, not security
        for student in students:
            ability: dict[int | None, float] = {}
            attempt = sitting.start_attempt(actor=student, assessment=assessment, source="system")
            responses = Response.objects.filter(attempt=attempt).select_related(
                "paper_item__item_version__item"
            )
            for response in responses:
                version = response.paper_item.item_version
                kind = version.item.kind
                tag = version.item.tags.values_list("knowledge_point_id", flat=True).first()
                skill = ability.setdefault(tag, rng.uniform(0.2, 0.95))
                if kind == ItemKind.SHORT_ANSWER:
                    answer: Any = (
                        "a² + b² = c², by comparing areas." if rng.random() < skill else ""
                    )
                elif rng.random() < skill:
                    answer = item_content.correct_answer(kind, version.content)
                else:
                    answer = wrong_answer(kind, version.content)
                if answer in ("", None):
                    continue
                sitting.save_answer(
                    actor=student,
                    attempt=attempt,
                    paper_item_id=response.paper_item_id,
                    answer=answer,
                    base_revision=response.revision,
                    device="demo",
                    source="system",
                )
            sitting.submit_attempt(actor=student, attempt=attempt, source="system")

    def _mark(self, teacher: Any, assessment: Assessment) -> None:
        waiting = Response.objects.filter(
            attempt__assessment=assessment,
            attempt__status=AttemptStatus.SUBMITTED,
            marked_at__isnull=True,
        ).select_related("paper_item__item_version")
        for response in waiting:
            rubric = response.paper_item.item_version.content.get("rubric", [])
            written = bool((response.answer or "").strip())
            scores = [
                Decimal(str(c["points"])) if written and i < 2 else Decimal(0)
                for i, c in enumerate(rubric)
            ]
            marking.mark_response(
                actor=teacher,
                response=response,
                rubric_scores=scores,
                feedback="Good start: finish the last step." if written else "",
                source="system",
            )
        for attempt in Attempt.objects.filter(assessment=assessment):
            marking.score_attempt(attempt)

    def _push(self, teacher: Any, klass: Any, student: Any) -> int:
        weakest = (
            Mastery.objects.filter(student=student)
            .select_related("knowledge_point")
            .order_by("probability")
            .first()
        )
        if weakest is None:
            return 0
        point = weakest.knowledge_point
        resource = Resource.objects.listed().filter(knowledge_points=point).first()
        item = None
        if resource is None:  # no listed resource on the point: a practice item instead
            item = (
                Item.objects.filter(tags__knowledge_point=point, status=ItemStatus.ACTIVE)
                .exclude(kind=ItemKind.SHORT_ANSWER)
                .order_by("difficulty", "pk")
                .first()
            )
            if item is None:
                return 0
        made = push.push_to_students(
            actor=teacher,
            class_org=klass,
            students=[student],
            knowledge_point=point,
            resource=resource,
            item=item,
            source="system",
        )
        return len(made)
