"""Reads of the learning spaces: the personal space, the teacher's and the class's spaces, and
the parent's minimised view of a child. Always through ``visible_to``; invisible rows are
``NotFound``.

The timeline is read from the LRS: statements whose actor is the account's agent, newest
first, parsed into ``TimelineEntry`` rows (verb, object name and IRI, result, stored).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org, OrgKind
from shuyuan.identity.models import Role, RoleAssignment, User
from shuyuan.identity.queries import role_paths
from shuyuan.resources.choices import ResourceStatus
from shuyuan.resources.models import Resource
from shuyuan.resources.queries import evaluation as resource_queries
from shuyuan.resources.queries import resources as my_resource_queries

from .. import conf, permissions
from ..models import (
    Assignment,
    AssignmentResource,
    AssignmentStatus,
    AssignmentSubmission,
    Favourite,
    LessonPlan,
    LessonPlanResource,
    Note,
    Statement,
)
from ..xapi.agents import account_agent_key
from ..xapi.keys import verb_key
from ..xapi.platform import VERB_COMPLETED

VERB_PASSED = "http://adlnet.gov/expapi/verbs/passed"
ACTIVITY_TYPE_ASSIGNMENT = "http://adlnet.gov/expapi/activities/assessment"
TIMELINE_MAX = 100
WEEKS_SHOWN = 8
RESOURCE_RELATED = ("listed_version", "listed_version__subject")


# --- personal space -----------------------------------------------------------------------------


def list_favourites(user: Any) -> QuerySet[Favourite]:
    """``user``'s favourites of resources still listed, newest first, resource joined."""
    return (
        Favourite.objects.visible_to(user)
        .filter(resource__status=ResourceStatus.LISTED, resource__listed_version__isnull=False)
        .select_related("resource", *(f"resource__{name}" for name in RESOURCE_RELATED))
        .order_by("-created_at", "-pk")
    )


def access_favourite(user: Any, pk: int) -> Favourite:
    """``user``'s own favourite ``pk``; anyone else's is ``NotFound``."""
    found: Favourite | None = Favourite.objects.visible_to(user, "change").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Favourite not found."), code="FAVOURITE_NOT_FOUND")
    return found


def favourite_resource_ids(user: Any, resource_ids: Iterable[int]) -> set[int]:
    """Which of ``resource_ids`` ``user`` has favourited (one query)."""
    ids = list(resource_ids)
    if not ids:
        return set()
    return set(
        Favourite.objects.visible_to(user)
        .filter(resource_id__in=ids)
        .values_list("resource_id", flat=True)
    )


def list_notes(user: Any) -> QuerySet[Note]:
    """``user``'s own notes, most recently edited first (the resource's title joined)."""
    return (
        Note.objects.visible_to(user)
        .select_related("resource", "resource__listed_version")
        .order_by("-updated_at", "-pk")
    )


def access_note(user: Any, pk: int, action: str = "view") -> Note:
    """``user``'s own note ``pk``; anyone else's is ``NotFound``."""
    found: Note | None = (
        Note.objects.visible_to(user, action).select_related("resource").filter(pk=pk).first()
    )
    if found is None:
        raise NotFound(_("Note not found."), code="NOTE_NOT_FOUND")
    return found


def access_listed_resource(user: Any, pk: int) -> Resource:
    """A listed resource ``user`` may see (resources' own query), else ``NotFound``."""
    return resource_queries.access_listed_resource(user, pk)


def resources_by_ids(user: Any, ids: Iterable[int]) -> list[Resource]:
    """The listed resources among ``ids`` that ``user`` may see, in the order given."""
    wanted = [int(i) for i in ids]
    found = {
        r.pk: r
        for r in resource_queries.listed_resources(user)
        .filter(pk__in=wanted)
        .select_related(*RESOURCE_RELATED)
    }
    return [found[i] for i in wanted if i in found]


def my_submitted_resources(user: Any, limit: int = 10) -> list[Resource]:
    """Resources ``user`` provided (their own submissions), newest first."""
    return list(my_resource_queries.list_my_resources(user)[:limit])


# --- the timeline (LRS) -------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One statement as the spaces show it."""

    statement_id: str
    stored: dt.datetime
    verb_id: str
    verb: str
    object_id: str
    object_name: str
    success: bool | None = None
    completion: bool | None = None
    score: float | None = None


def _language_map(value: Any) -> str:
    """The best entry of an xAPI language map for the current language."""
    if not isinstance(value, dict) or not value:
        return ""
    language = (translation.get_language() or "en").lower()
    preferred = ["zh-cn", "zh-hans", "zh"] if language.startswith("zh") else ["en-us", "en"]
    lowered = {str(k).lower(): v for k, v in value.items()}
    for key in [*preferred, "und"]:
        if isinstance(lowered.get(key), str):
            return str(lowered[key])
    first = next(iter(value.values()))
    return first if isinstance(first, str) else ""


def parse_statement(row: Statement) -> TimelineEntry:
    """A ``TimelineEntry`` from a stored statement's JSON (robust to missing parts)."""
    try:
        data = json.loads(row.data)
    except (TypeError, ValueError):
        data = {}
    verb = data.get("verb") or {}
    obj = data.get("object") or {}
    verb_id = str(verb.get("id", ""))
    definition = obj.get("definition") or {}
    object_id = str(obj.get("id", ""))
    name = _language_map(definition.get("name")) or object_id
    result = data.get("result") or {}
    score = (result.get("score") or {}).get("scaled") if isinstance(result, dict) else None
    return TimelineEntry(
        statement_id=str(row.statement_id),
        stored=row.stored,
        verb_id=verb_id,
        verb=_language_map(verb.get("display")) or verb_id.rsplit("/", 1)[-1],
        object_id=object_id,
        object_name=name,
        success=result.get("success") if isinstance(result.get("success"), bool) else None,
        completion=(
            result.get("completion") if isinstance(result.get("completion"), bool) else None
        ),
        score=float(score) if isinstance(score, int | float) else None,
    )


def _agent_statements(user: Any, subject: Any) -> QuerySet[Statement]:
    return Statement.objects.visible_to(user).filter(
        actor_key=account_agent_key(subject), voided=False, is_voiding=False
    )


def list_timeline(
    user: Any,
    *,
    for_user: Any = None,
    limit: int = 50,
    before: dt.datetime | None = None,
) -> list[TimelineEntry]:
    """The learning timeline of ``for_user`` (``user`` by default) as ``user`` may read it:
    statements whose actor is that account's agent, newest first, ``limit`` at most (capped at
    ``TIMELINE_MAX``), stored before ``before`` when given. One query."""
    subject = for_user if for_user is not None else user
    qs = _agent_statements(user, subject).only("statement_id", "stored", "data")
    if before is not None:
        qs = qs.filter(stored__lt=before)
    rows = qs.order_by("-stored", "-id")[: max(1, min(limit, TIMELINE_MAX))]
    return [parse_statement(row) for row in rows]


# --- teaching ----------------------------------------------------------------------------------


def teaching_classes(user: Any) -> QuerySet[Org]:
    """Class orgs ``user`` may prepare lessons and set assignments for (in tree order)."""
    paths = permissions.teaching_paths(user)
    if not paths:
        return Org.objects.none()
    condition = Q()
    for number, path in enumerate(paths):
        condition = (
            Q(path__startswith=path) if number == 0 else condition | Q(path__startswith=path)
        )
    return Org.objects.filter(condition, kind=OrgKind.CLASS, is_active=True).order_by("path")


def taught_classes(user: Any) -> QuerySet[Org]:
    """The classes ``user`` teaches (head teacher, set work for, registry) with parents joined."""
    return (
        Org.objects.filter(pk__in=permissions.taught_class_ids(user))
        .select_related("parent", "parent__parent")
        .order_by("path")
    )


def list_lesson_plans(user: Any) -> QuerySet[LessonPlan]:
    """Lesson plans ``user`` wrote, most recently edited first, with resource counts."""
    return (
        LessonPlan.objects.visible_to(user)
        .filter(teacher=user.pk)
        .select_related("class_org")
        .annotate(resource_count=Count("items"))
        .order_by("-updated_at", "-pk")
    )


def access_lesson_plan(user: Any, pk: int, action: str = "view") -> LessonPlan:
    """Lesson plan ``pk`` if ``user`` may ``action`` it; else ``NotFound``."""
    found: LessonPlan | None = (
        LessonPlan.objects.visible_to(user, action)
        .select_related("class_org", "teacher")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Lesson plan not found."), code="LESSON_PLAN_NOT_FOUND")
    return found


def plan_items(user: Any, plan: LessonPlan) -> list[LessonPlanResource]:
    """The plan's resources in order, titles joined (one query)."""
    return list(
        LessonPlanResource.objects.visible_to(user)
        .filter(lesson_plan=plan)
        .select_related("resource", *(f"resource__{name}" for name in RESOURCE_RELATED))
        .order_by("position", "pk")
    )


def access_plan_item(user: Any, plan: LessonPlan, pk: int) -> LessonPlanResource:
    found: LessonPlanResource | None = (
        LessonPlanResource.objects.visible_to(user, "change")
        .filter(lesson_plan=plan, pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Resource not found."), code="PLAN_ITEM_NOT_FOUND")
    return found


def can_change_plan(user: Any, plan: LessonPlan) -> bool:
    return bool(
        plan.teacher_id == user.pk
        and LessonPlan.objects.visible_to(user, "change").filter(pk=plan.pk).exists()
    )


def plans_to_assign(user: Any) -> QuerySet[LessonPlan]:
    """``user``'s own lesson plans that an assignment may take its resources from."""
    return (
        LessonPlan.objects.visible_to(user, "change")
        .filter(teacher=user.pk)
        .order_by("-updated_at", "-pk")
    )


def plan_assignments(user: Any, plan: LessonPlan) -> QuerySet[Assignment]:
    """Assignments set from ``plan`` that ``user`` may see, newest first."""
    return Assignment.objects.visible_to(user).filter(lesson_plan=plan).order_by("-created_at")


def list_assignments_set(user: Any) -> QuerySet[Assignment]:
    """Assignments ``user`` set, newest first, with how many students completed each."""
    return (
        Assignment.objects.visible_to(user)
        .filter(set_by=user.pk)
        .select_related("class_org")
        .annotate(done_count=Count("submissions"))
        .order_by("-created_at", "-pk")
    )


def access_assignment(user: Any, pk: int, action: str = "view") -> Assignment:
    """Assignment ``pk`` if ``user`` may ``action`` it; else ``NotFound``."""
    found: Assignment | None = (
        Assignment.objects.visible_to(user, action)
        .select_related("class_org", "set_by", "lesson_plan")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Assignment not found."), code="ASSIGNMENT_NOT_FOUND")
    return found


def assignment_items(user: Any, assignment: Assignment) -> list[AssignmentResource]:
    """The assignment's resources in order, titles joined (one query)."""
    return list(
        AssignmentResource.objects.visible_to(user)
        .filter(assignment=assignment)
        .select_related("resource", *(f"resource__{name}" for name in RESOURCE_RELATED))
        .order_by("position", "pk")
    )


def can_manage_assignment(user: Any, assignment: Assignment) -> bool:
    return Assignment.objects.visible_to(user, "change").filter(pk=assignment.pk).exists()


def can_complete(user: Any, assignment: Assignment) -> bool:
    """True if ``user`` is a student of the assignment's class."""
    return Assignment.objects.visible_to(user, "complete").filter(pk=assignment.pk).exists()


def my_submission(user: Any, assignment: Assignment) -> AssignmentSubmission | None:
    """``user``'s own completion of ``assignment``, if any."""
    found: AssignmentSubmission | None = (
        AssignmentSubmission.objects.visible_to(user)
        .filter(assignment=assignment, student=user.pk)
        .first()
    )
    return found


def class_students(user: Any, class_org: Org) -> QuerySet[User]:
    """Accounts holding a student role at ``class_org`` that ``user`` may see, by name."""
    students = RoleAssignment.objects.filter(role=Role.STUDENT, org=class_org).values("user_id")
    found: QuerySet[User] = (
        User.objects.visible_to(user)
        .filter(pk__in=students, is_active=True)
        .only("pk", "username", "real_name")
        .order_by("username")
    )
    return found


@dataclass
class RosterRow:
    """One student of a class with what the teacher sees of them."""

    student: User
    completed_at: dt.datetime | None = None
    activity_count: int = 0


def assignment_roster(user: Any, assignment: Assignment) -> list[RosterRow]:
    """Every student of the assignment's class with when they completed it (or not), and
    their number of LRS statements in the last week. Three queries whatever the class size."""
    students = list(class_students(user, assignment.class_org))
    done: dict[int, dt.datetime] = dict(
        AssignmentSubmission.objects.visible_to(user)
        .filter(assignment=assignment)
        .values_list("student_id", "completed_at")
    )
    counts = recent_activity_counts(user, students)
    return [RosterRow(s, done.get(s.pk), counts.get(account_agent_key(s), 0)) for s in students]


def recent_activity_counts(user: Any, students: list[User], days: int = 7) -> dict[str, int]:
    """Statements per agent key of ``students`` over the last ``days`` that ``user`` may read
    (one query)."""
    if not students:
        return {}
    keys = [account_agent_key(s) for s in students]
    since = timezone.now() - dt.timedelta(days=days)
    return dict(
        Statement.objects.visible_to(user)
        .filter(actor_key__in=keys, stored__gte=since, voided=False)
        .values_list("actor_key")
        .annotate(n=Count("id"))
        .values_list("actor_key", "n")
    )


def access_class(user: Any, pk: int) -> Org:
    """A class space ``user`` may open: its teachers (teaching scope), its students, admins of
    its subtree. Anyone else gets ``NotFound``."""
    org: Org | None = Org.objects.select_related("parent", "parent__parent").filter(pk=pk).first()
    if org is None or org.kind != OrgKind.CLASS:
        raise NotFound(_("Class not found."), code="CLASS_NOT_FOUND")
    if not class_role(user, org):
        raise NotFound(_("Class not found."), code="CLASS_NOT_FOUND")
    return org


def class_role(user: Any, org: Org) -> str:
    """How ``user`` takes part in class ``org``: "teacher", "student", "admin" or ""."""
    if permissions.teaching_paths(user) and any(
        org.path.startswith(p) for p in permissions.teaching_paths(user)
    ):
        return "teacher"
    if any(org.path.startswith(p) for p in role_paths(user, permissions.STUDENT_ROLES)):
        return "student"
    if getattr(user, "is_platform_admin", False) or any(
        org.path.startswith(p) for p in role_paths(user, permissions.ADMIN_ROLES)
    ):
        return "admin"
    return ""


def class_assignments(user: Any, org: Org) -> QuerySet[Assignment]:
    """Assignments of class ``org`` that ``user`` may see, newest first, with done counts."""
    return (
        Assignment.objects.visible_to(user)
        .filter(class_org=org)
        .select_related("set_by")
        .annotate(done_count=Count("submissions"))
        .order_by("-created_at", "-pk")
    )


# --- the student's assignments ------------------------------------------------------------------


def my_assignments(user: Any, *, open_only: bool = False) -> QuerySet[Assignment]:
    """Assignments of the classes ``user`` is a student of, due first; ``done`` tells whether
    ``user`` marked each complete. One query."""
    qs: QuerySet[Assignment] = (
        Assignment.objects.visible_to(user, "complete")
        .select_related("class_org", "set_by")
        .annotate(
            done=Exists(
                AssignmentSubmission.objects.filter(assignment=OuterRef("pk"), student=user.pk)
            )
        )
    )
    if open_only:
        qs = qs.filter(status=AssignmentStatus.OPEN)
    return qs.order_by("status", "due_at", "-created_at", "-pk")


def with_items(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """``qs`` with each assignment's resources prefetched in order (one more query)."""
    items = AssignmentResource.objects.select_related(
        "resource", "resource__listed_version"
    ).order_by("position", "pk")
    return qs.prefetch_related(Prefetch("items", queryset=items, to_attr="ordered_items"))


# --- parents ------------------------------------------------------------------------------------


def my_children(user: Any) -> list[User]:
    """``user``'s children (parent roles and registry guardianships), by name."""
    ids = permissions.child_ids(user)
    if not ids:
        return []
    return list(
        User.objects.filter(pk__in=ids).only("pk", "username", "real_name").order_by("username")
    )


def access_child(user: Any, pk: int) -> User:
    """Child ``pk`` of ``user``; any other account is ``NotFound``."""
    if pk not in permissions.child_ids(user):
        raise NotFound(_("Child not found."), code="CHILD_NOT_FOUND")
    child: User | None = (
        User.objects.filter(pk=pk, is_active=True).only("pk", "username", "real_name").first()
    )
    if child is None:
        raise NotFound(_("Child not found."), code="CHILD_NOT_FOUND")
    return child


@dataclass(frozen=True)
class WeekCount:
    week: dt.date
    count: int


@dataclass(frozen=True)
class Completion:
    """A completed activity: its name and when (no score, no result detail)."""

    name: str
    stored: dt.datetime


@dataclass(frozen=True)
class AssignmentStatusRow:
    title: str
    due_at: dt.datetime | None
    done: bool
    closed: bool


@dataclass
class ChildSummary:
    """What a parent sees of a child: counts per week, recent completions, assignment status."""

    child: User
    weeks: list[WeekCount] = field(default_factory=list)
    total: int = 0
    completions: list[Completion] = field(default_factory=list)
    assignments: list[AssignmentStatusRow] = field(default_factory=list)

    @property
    def max_week(self) -> int:
        return max((w.count for w in self.weeks), default=0)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def child_summary(user: Any, child: User, *, recent: int = 10) -> ChildSummary:
    """The minimised view of ``child``'s activity for parent ``user`` (``child`` must come
    from ``access_child``): statements per week over ``WEEKS_SHOWN`` weeks, the names of the
    latest completed activities, and the child's assignments done or not. Never notes,
    favourites, scores, answers, or anyone else's data. Four queries."""
    summary = ChildSummary(child=child)
    this_week = _week_start(timezone.localdate())
    first = this_week - dt.timedelta(weeks=WEEKS_SHOWN - 1)
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    statements = _agent_statements(user, child)
    per_week: dict[dt.date, int] = {}
    for week, n in (
        statements.filter(stored__gte=since)
        .annotate(week=TruncWeek("stored"))
        .values_list("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
    ):
        day = timezone.localtime(week).date() if isinstance(week, dt.datetime) else week
        per_week[_week_start(day)] = per_week.get(_week_start(day), 0) + n
    summary.weeks = [
        WeekCount(first + dt.timedelta(weeks=i), per_week.get(first + dt.timedelta(weeks=i), 0))
        for i in range(WEEKS_SHOWN)
    ]
    summary.total = sum(w.count for w in summary.weeks)
    done_keys = [verb_key(VERB_COMPLETED), verb_key(VERB_PASSED)]
    rows = (
        statements.filter(verb_key__in=done_keys)
        .only("statement_id", "stored", "data")
        .order_by("-stored", "-id")[:recent]
    )
    summary.completions = [
        Completion(entry.object_name, entry.stored) for entry in map(parse_statement, rows)
    ]
    summary.assignments = child_assignments(user, child)
    return summary


def child_assignments(user: Any, child: User) -> list[AssignmentStatusRow]:
    """Assignments of ``child``'s classes with whether the child completed each (titles and
    due times only). Two queries."""
    classes = RoleAssignment.objects.filter(role=Role.STUDENT, user=child).values("org_id")
    qs: QuerySet[Assignment] = (
        Assignment.objects.visible_to(user)
        .filter(class_org__in=classes)
        .annotate(
            done=Exists(
                AssignmentSubmission.objects.visible_to(user).filter(
                    assignment=OuterRef("pk"), student=child.pk
                )
            )
        )
        .only("title", "due_at", "status")
        .order_by("-created_at", "-pk")[:20]
    )
    return [
        AssignmentStatusRow(
            a.title, a.due_at, bool(getattr(a, "done", False)), a.status == AssignmentStatus.CLOSED
        )
        for a in qs
    ]


def agent_of(username: str) -> str:
    """The ``Statement.actor_key`` of an account name (for tests and commands)."""
    return account_agent_key(SimpleNamespace(username=username))


def assignment_iri(assignment: Assignment) -> str:
    """The xAPI activity IRI of an assignment: ``<homePage>learning/assignments/<id>``."""
    base = str(conf.get("LEARNING_XAPI_ACCOUNT_HOMEPAGE"))
    base = base if base.endswith("/") else base + "/"
    return f"{base}learning/assignments/{assignment.pk}"
