"""Who may see LRS rows in the portal: the only place the learning app interprets roles.

=====================  ================================  ==================================
rows                   view                              change
=====================  ================================  ==================================
statements             one's own (actor is one's         (stored by the LRS and the
                       account agent); the students of   platform's event writers only)
                       the classes one teaches; one's
                       children; admins of the subtree
                       the statement was stored in
LRS clients            admins of the client's subtree    the same admins
documents              platform administrators           (written through /xapi/ only)
favourites, notes      the owner only (nobody else,      the owner
                       not even administrators)
lesson plans (+ their  the teacher; admins of the        the teacher, while teaching there
resources)             class's subtree
assignments (+ their   the setter; teachers of the       the setter, while teaching there;
resources)             class's school and its head       ``complete``: students of the class
                       teacher; students of the class;
                       parents of a child in it; admins
submissions            the student; the class's          the student
                       teachers; the student's parents;
                       admins of the class's subtree
=====================  ================================  ==================================

Exams and diagnosis (``models.exams``, ``models.diagnosis``):

=====================  ================================  ==================================
items (+ tags,         teachers of a school see its      the author, while teaching in the
versions, statistics)  bank and the banks of the orgs    item's org; admins of the item's
                       above it (a region's bank);       subtree
                       admins of the item's subtree
papers (+ questions)   the author; teachers of the       the author, while teaching there
                       paper's school; admins
assessments            the publisher; teachers of the    the publisher, while teaching
                       class's school; students of the   there; ``sit``: students of the
                       class; parents of a child in it;  class
                       admins of the class's subtree
attempts (+ responses, the student; teachers of the      ``change``: the student (answers,
answer log, focus      class's school; the student's     submit); ``mark``: teachers of the
events)                parents; admins of the subtree    class's school
mastery, practice      the student; teachers of the      (written by diagnosis runs and
answers                student; parents; admins of the   practice only)
                       student's school
pushes                 the student; the teacher who      ``change``: the teacher who pushed;
                       pushed; teachers of the class;    ``complete``: the student
                       parents; admins
diagnosis runs,        anyone who teaches or             (written by diagnosis runs only)
parameters             administers
=====================  ================================  ==================================

Students never read items through ``Item`` rules: they see questions only through their own
attempt (without the answer key) and practice pages.

"The classes one teaches" (``taught_class_ids``) are the classes one is head teacher of, the
classes one set an assignment, prepared a lesson or published an exam for within one's
teaching scope, and the
registry's teaching classes (enrolments as ``teacher``; their students' platform accounts).
A teacher's scope (``teaching_paths``) is the school a ``teacher`` role is held at, or the
class of a ``head_teacher`` role, so a teacher of School A never reaches School B's students.
"One's children" are the ``child`` of one's ``parent`` roles and the students the registry
records one as guardian of (``Guardianship``).

Learning tools reach the LRS through ``/xapi/`` with an ``LrsClient`` credential; what they
read is limited by the client's org in ``queries`` (``Caller.org_path``), not by these rules.
"""

from __future__ import annotations

import operator
from functools import reduce
from types import SimpleNamespace
from typing import Any

from django.db.models import Q

from shuyuan.core.models import Org, OrgKind
from shuyuan.core.scoping import ALL, register_permission, register_scope_rule
from shuyuan.identity.models import Role as R  # noqa: N817  # short alias keeps rules readable
from shuyuan.identity.models import RoleAssignment, User
from shuyuan.identity.queries import role_paths
from shuyuan.registry.choices import EnrollmentRole, RecordStatus
from shuyuan.registry.models import Enrollment, Person

from . import models as m
from .xapi.agents import account_agent_key

ADMIN_ROLES = frozenset({R.REGION_ADMIN, R.SCHOOL_ADMIN})
TEACH_ROLES = frozenset({R.TEACHER, R.HEAD_TEACHER})
STUDENT_ROLES = frozenset({R.STUDENT})


def _prefix(field: str, paths: list[str]) -> Q | None:
    if not paths:
        return None
    return reduce(operator.or_, (Q(**{f"{field}__startswith": p}) for p in paths))


def _any(*conditions: Q | None) -> Q | None:
    present = [c for c in conditions if c is not None]
    return reduce(operator.or_, present) if present else None


# --- who teaches whom, whose child is whom ------------------------------------------------------


def teaching_paths(user: Any) -> list[str]:
    """Org subtrees in which ``user`` teaches: schools of ``teacher`` roles, classes of
    ``head_teacher`` roles."""
    return role_paths(user, TEACH_ROLES)


def is_teacher(user: Any) -> bool:
    """True if ``user`` teaches somewhere (may prepare lessons and set assignments)."""
    return bool(teaching_paths(user))


def is_parent(user: Any) -> bool:
    """True if ``user`` holds a parent role or is a guardian in the registry."""
    return bool(child_ids(user))


def taught_class_ids(user: Any) -> list[int]:
    """Class orgs ``user`` teaches (see the module docstring); one query, none for
    non-teachers."""
    paths = teaching_paths(user)
    if not paths:
        return []
    head = [
        a.org_id
        for a in user.role_assignments_cached()
        if a.role == R.HEAD_TEACHER and a.org_id is not None
    ]
    own = m.Assignment.objects.filter(set_by=user.pk).values("class_org_id")
    planned = m.LessonPlan.objects.filter(teacher=user.pk).values("class_org_id")
    examined = m.Assessment.objects.filter(published_by=user.pk).values("class_org_id")
    inside = _prefix("path", paths)
    found = Org.objects.filter(
        inside,
        Q(pk__in=head) | Q(pk__in=own) | Q(pk__in=planned) | Q(pk__in=examined),
        kind=OrgKind.CLASS,
    ).values_list("pk", flat=True)
    return sorted(found)


def _registry_students(user: Any, paths: list[str]) -> Any:
    """Accounts of active students of the registry classes ``user`` teaches, in ``paths``."""
    taught = Enrollment.objects.filter(
        role=EnrollmentRole.TEACHER, status=RecordStatus.ACTIVE, person__account=user.pk
    ).values("roster_class_id")
    condition = Q(
        enrollments__role=EnrollmentRole.STUDENT,
        enrollments__status=RecordStatus.ACTIVE,
        enrollments__roster_class__in=taught,
    )
    inside = _prefix("enrollments__school__path", paths)
    if inside is not None:
        condition &= inside
    return Person.objects.filter(condition, account__isnull=False).values("account_id")


def _taught_students(user: Any) -> Q | None:
    """A condition on accounts: students of the classes ``user`` teaches."""
    paths = teaching_paths(user)
    if not paths:
        return None
    classes = taught_class_ids(user)
    in_classes = RoleAssignment.objects.filter(role=R.STUDENT, org_id__in=classes).values("user_id")
    return Q(pk__in=in_classes) | Q(pk__in=_registry_students(user, paths))


def taught_student_ids(user: Any) -> list[int]:
    """Accounts of the students of the classes ``user`` teaches."""
    condition = _taught_students(user)
    if condition is None:
        return []
    return sorted(User.objects.filter(condition).values_list("pk", flat=True))


def child_ids(user: Any) -> list[int]:
    """Accounts of ``user``'s children: parent roles and registry guardianships."""
    cached: list[int] | None = getattr(user, "_learning_child_ids", None)
    if cached is not None:
        return cached
    children = {
        a.child_id
        for a in user.role_assignments_cached()
        if a.role == R.PARENT and a.child_id is not None
    }
    wards = Person.objects.filter(
        guardians__guardian__account=user.pk,
        guardians__status=RecordStatus.ACTIVE,
        account__isnull=False,
    ).values_list("account_id", flat=True)
    children |= set(wards)
    result = sorted(children)
    user._learning_child_ids = result
    return result


def agent_keys(usernames: list[str]) -> list[str]:
    """``Statement.actor_key`` of each account name."""
    return [account_agent_key(SimpleNamespace(username=name)) for name in usernames]


def statement_rule(user: Any, action: str) -> Any:
    if action != "view":
        return None
    if user.is_platform_admin:
        return ALL
    children = child_ids(user)
    condition = _any(_taught_students(user), Q(pk__in=children) if children else None)
    others: list[str] = []
    if condition is not None:
        others = list(User.objects.filter(condition).values_list("username", flat=True))
    keys = [account_agent_key(user), *agent_keys(others)]
    own = Q(actor_key=keys[0]) if len(keys) == 1 else Q(actor_key__in=keys)
    admins = _prefix("org_path", role_paths(user, ADMIN_ROLES))
    return own | admins if admins is not None else own


# --- spaces ---------------------------------------------------------------------------------------


def personal_rule(user: Any, action: str) -> Any:
    """Favourites and notes: the owner alone, whatever roles anyone holds."""
    return Q(account=user.pk) if action in {"view", "change"} else None


def _plan_condition(user: Any, action: str, prefix: str = "") -> Any:
    own = Q(**{f"{prefix}teacher": user.pk})
    if action == "view":
        if user.is_platform_admin:
            return ALL
        return _any(own, _prefix(f"{prefix}class_org__path", role_paths(user, ADMIN_ROLES)))
    if action == "change":
        teaching = _prefix(f"{prefix}class_org__path", teaching_paths(user))
        return own & teaching if teaching is not None else None
    return None


def lesson_plan_rule(user: Any, action: str) -> Any:
    return _plan_condition(user, action)


def lesson_plan_resource_rule(user: Any, action: str) -> Any:
    return _plan_condition(user, action, "lesson_plan__")


def _class_member_condition(user: Any, field: str) -> Q | None:
    """Rows whose class (``field`` is its path) ``user`` is a student of or has a child in."""
    student = _prefix(field, role_paths(user, STUDENT_ROLES))
    parent = _prefix(field, role_paths(user, frozenset({R.PARENT})))
    children = child_ids(user)
    kin = None
    if children:
        classes = RoleAssignment.objects.filter(role=R.STUDENT, user_id__in=children).values(
            "org_id"
        )
        kin = Q(**{field.replace("__path", "__in"): classes})
    return _any(student, parent, kin)


def _assignment_condition(user: Any, action: str, prefix: str = "") -> Any:
    path = f"{prefix}class_org__path"
    own = Q(**{f"{prefix}set_by": user.pk})
    if action == "view":
        if user.is_platform_admin:
            return ALL
        return _any(
            own,
            _prefix(path, teaching_paths(user)),
            _prefix(path, role_paths(user, ADMIN_ROLES)),
            _class_member_condition(user, path),
        )
    if action == "change":
        teaching = _prefix(path, teaching_paths(user))
        return own & teaching if teaching is not None else None
    if action == "complete":
        return _prefix(path, role_paths(user, STUDENT_ROLES))
    return None


def assignment_rule(user: Any, action: str) -> Any:
    return _assignment_condition(user, action)


def assignment_resource_rule(user: Any, action: str) -> Any:
    return _assignment_condition(user, action, "assignment__")


def submission_rule(user: Any, action: str) -> Any:
    own = Q(student=user.pk)
    if action == "change":
        return own
    if action != "view":
        return None
    if user.is_platform_admin:
        return ALL
    path = "assignment__class_org__path"
    children = child_ids(user)
    return _any(
        own,
        Q(assignment__set_by=user.pk),
        _prefix(path, teaching_paths(user)),
        _prefix(path, role_paths(user, ADMIN_ROLES)),
        Q(student__in=children) if children else None,
    )


# --- exams and diagnosis ------------------------------------------------------------------------


def _ancestor_paths(paths: list[str]) -> list[str]:
    """Every org path that is ``paths`` or above one of them."""
    found: set[str] = set()
    for path in paths:
        parts = [p for p in path.split("/") if p]
        for n in range(1, len(parts) + 1):
            found.add("/".join(parts[:n]) + "/")
    return sorted(found)


def _admin_condition(user: Any, field: str) -> Q | None:
    return _prefix(field, role_paths(user, ADMIN_ROLES))


def _item_condition(user: Any, action: str, prefix: str = "") -> Any:
    path = f"{prefix}org__path"
    if user.is_platform_admin:
        return ALL
    teaching = teaching_paths(user)
    admins = _admin_condition(user, path)
    if action == "view":
        banks = _ancestor_paths(teaching)
        return _any(Q(**{f"{path}__in": banks}) if banks else None, _prefix(path, teaching), admins)
    if action == "change":
        inside = _prefix(path, teaching)
        own = Q(**{f"{prefix}created_by": user.pk}) & inside if inside is not None else None
        return _any(own, admins)
    return None


def item_rule(user: Any, action: str) -> Any:
    return _item_condition(user, action)


def item_part_rule(user: Any, action: str) -> Any:
    return _item_condition(user, action, "item__")


def _paper_condition(user: Any, action: str, prefix: str = "") -> Any:
    path = f"{prefix}org__path"
    own = Q(**{f"{prefix}created_by": user.pk})
    if action == "view":
        if user.is_platform_admin:
            return ALL
        return _any(own, _prefix(path, teaching_paths(user)), _admin_condition(user, path))
    if action == "change":
        teaching = _prefix(path, teaching_paths(user))
        return own & teaching if teaching is not None else None
    return None


def paper_rule(user: Any, action: str) -> Any:
    return _paper_condition(user, action)


def paper_item_rule(user: Any, action: str) -> Any:
    return _paper_condition(user, action, "paper__")


def assessment_rule(user: Any, action: str) -> Any:
    path = "class_org__path"
    own = Q(published_by=user.pk)
    if action == "view":
        if user.is_platform_admin:
            return ALL
        return _any(
            own,
            _prefix(path, teaching_paths(user)),
            _admin_condition(user, path),
            _class_member_condition(user, path),
        )
    if action == "change":
        teaching = _prefix(path, teaching_paths(user))
        return own & teaching if teaching is not None else None
    if action == "sit":
        return _prefix(path, role_paths(user, STUDENT_ROLES))
    return None


def _attempt_condition(user: Any, action: str, prefix: str = "") -> Any:
    path = f"{prefix}assessment__class_org__path"
    own = Q(**{f"{prefix}student": user.pk})
    if action == "change":
        return own
    if action == "mark":
        return _prefix(path, teaching_paths(user))
    if action != "view":
        return None
    if user.is_platform_admin:
        return ALL
    children = child_ids(user)
    return _any(
        own,
        _prefix(path, teaching_paths(user)),
        _admin_condition(user, path),
        Q(**{f"{prefix}student__in": children}) if children else None,
    )


def attempt_rule(user: Any, action: str) -> Any:
    return _attempt_condition(user, action)


def attempt_part_rule(user: Any, action: str) -> Any:
    return _attempt_condition(user, action, "attempt__")


def _student_condition(user: Any, field: str = "student") -> Any:
    """Rows about a student that ``user`` may read: their own, their students', children's,
    and those of students in an administered subtree."""
    if user.is_platform_admin:
        return ALL
    children = child_ids(user)
    taught = _taught_students(user)
    admin_paths = role_paths(user, ADMIN_ROLES)
    administered = None
    if admin_paths:
        administered = Q(
            **{
                f"{field}__in": RoleAssignment.objects.filter(
                    _prefix("org__path", admin_paths), role=R.STUDENT
                ).values("user_id")
            }
        )
    return _any(
        Q(**{field: user.pk}),
        Q(**{f"{field}__in": User.objects.filter(taught).values("pk")}) if taught else None,
        Q(**{f"{field}__in": children}) if children else None,
        administered,
    )


def mastery_rule(user: Any, action: str) -> Any:
    return _student_condition(user) if action == "view" else None


def practice_rule(user: Any, action: str) -> Any:
    if action == "change":
        return Q(student=user.pk)
    return _student_condition(user) if action == "view" else None


def push_rule(user: Any, action: str) -> Any:
    path = "class_org__path"
    if action == "complete":
        return Q(student=user.pk)
    if action == "change":
        teaching = _prefix(path, teaching_paths(user))
        return Q(pushed_by=user.pk) & teaching if teaching is not None else None
    if action != "view":
        return None
    if user.is_platform_admin:
        return ALL
    children = child_ids(user)
    return _any(
        Q(student=user.pk),
        Q(pushed_by=user.pk),
        _prefix(path, teaching_paths(user)),
        _admin_condition(user, path),
        Q(student__in=children) if children else None,
    )


def diagnosis_rule(user: Any, action: str) -> Any:
    """Runs and fitted parameters: readable by anyone who teaches or administers."""
    if action != "view":
        return None
    if user.is_platform_admin or teaching_paths(user) or role_paths(user, ADMIN_ROLES):
        return ALL
    return None


def item_statistic_rule(user: Any, action: str) -> Any:
    return _item_condition(user, action, "item__") if action == "view" else None


def client_rule(user: Any, action: str) -> Any:
    if action not in {"view", "change"}:
        return None
    if user.is_platform_admin:
        return ALL
    return _prefix("org__path", role_paths(user, ADMIN_ROLES))


def document_rule(user: Any, action: str) -> Any:
    return ALL if action == "view" and user.is_platform_admin else None


def can_manage_clients(user: Any) -> bool:
    """True if ``user`` may issue LRS credentials somewhere."""
    return bool(getattr(user, "is_platform_admin", False) or role_paths(user, ADMIN_ROLES))


def register() -> None:
    register_scope_rule(m.Statement, statement_rule)
    register_scope_rule(m.LrsClient, client_rule)
    register_scope_rule(m.Document, document_rule)
    register_scope_rule(m.Favourite, personal_rule)
    register_scope_rule(m.Note, personal_rule)
    register_scope_rule(m.LessonPlan, lesson_plan_rule)
    register_scope_rule(m.LessonPlanResource, lesson_plan_resource_rule)
    register_scope_rule(m.Assignment, assignment_rule)
    register_scope_rule(m.AssignmentResource, assignment_resource_rule)
    register_scope_rule(m.AssignmentSubmission, submission_rule)
    register_scope_rule(m.Item, item_rule)
    register_scope_rule(m.ItemTag, item_part_rule)
    register_scope_rule(m.ItemVersion, item_part_rule)
    register_scope_rule(m.ItemStatistic, item_statistic_rule)
    register_scope_rule(m.Paper, paper_rule)
    register_scope_rule(m.PaperItem, paper_item_rule)
    register_scope_rule(m.Assessment, assessment_rule)
    register_scope_rule(m.Attempt, attempt_rule)
    register_scope_rule(m.Response, attempt_part_rule)
    register_scope_rule(m.ResponseLog, attempt_part_rule)
    register_scope_rule(m.FocusEvent, attempt_part_rule)
    register_scope_rule(m.Mastery, mastery_rule)
    register_scope_rule(m.PracticeAnswer, practice_rule)
    register_scope_rule(m.Push, push_rule)
    register_scope_rule(m.DiagnosisRun, diagnosis_rule)
    register_scope_rule(m.SkillParameters, diagnosis_rule)
    register_permission("learning.teach", is_teacher)
