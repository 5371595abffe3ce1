"""Models of the learning app.

xAPI Learning Record Store (``xapi.py``)
    ``Statement`` rows are immutable learning records as received (xAPI 2.0.0 / 1.0.3), with
    the columns the spec's query parameters filter on: the actor's and the object's identity
    keys, the verb's, the registration, the statement a StatementRef points to, ``stored``.
    Keys are short digests of an Agent's objectType + inverse functional identifier, an
    activity IRI or a verb IRI (``xapi.keys``), so indexes stay small at tens of millions of
    rows. ``StatementAgent`` and ``StatementActivity`` list the other agents and activities a
    statement mentions (authority, context, SubStatement), for ``related_agents`` /
    ``related_activities`` queries.
    A statement is voided only by a voiding statement, which sets ``voided`` on its target.
    ``Attachment`` holds attachment bodies by SHA-2, shared by the statements that cite them.
    ``Activity`` is the LRS's canonical definition of an activity. ``Document`` holds the
    State, Activity Profile and Agent Profile documents, namespaced by the org of the
    credential that wrote them.
    ``LrsClient`` is a credential issued to one learning tool, limited to one org's subtree:
    it reads only statements and documents written within that subtree. ``LrsToken`` is an
    OAuth 2 bearer token issued to a client by the client-credentials grant.

Learning spaces (``spaces.py``)
    Personal, teacher, class and parent spaces built on the LRS and on resources.

Online exams (``exams.py``)
    The item bank (versioned items tagged to knowledge points), papers, assessments published
    to classes, attempts, responses and their append-only log, focus events.

Diagnosis and push (``diagnosis.py``)
    Knowledge-tracing runs, per-point parameters, per-student mastery, item statistics, and
    the resources and practice items pushed to students.
"""

from .diagnosis import (
    DiagnosisRun,
    DiagnosisRunStatus,
    ItemStatistic,
    Mastery,
    PracticeAnswer,
    Push,
    PushStatus,
    SkillParameters,
)
from .exams import (
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptStatus,
    Difficulty,
    FocusEvent,
    FocusEventKind,
    Item,
    ItemKind,
    ItemStatus,
    ItemTag,
    ItemVersion,
    Paper,
    PaperItem,
    Response,
    ResponseLog,
    SubmittedBy,
)
from .spaces import (
    Assignment,
    AssignmentResource,
    AssignmentStatus,
    AssignmentSubmission,
    Favourite,
    LessonPlan,
    LessonPlanResource,
    Note,
)
from .xapi import (
    Activity,
    Attachment,
    Document,
    LrsClient,
    LrsToken,
    Statement,
    StatementActivity,
    StatementAgent,
)

__all__ = [
    "Activity",
    "Assessment",
    "AssessmentStatus",
    "Assignment",
    "AssignmentResource",
    "AssignmentStatus",
    "AssignmentSubmission",
    "Attachment",
    "Attempt",
    "AttemptStatus",
    "DiagnosisRun",
    "DiagnosisRunStatus",
    "Difficulty",
    "Document",
    "Favourite",
    "FocusEvent",
    "FocusEventKind",
    "Item",
    "ItemKind",
    "ItemStatistic",
    "ItemStatus",
    "ItemTag",
    "ItemVersion",
    "LessonPlan",
    "LessonPlanResource",
    "LrsClient",
    "LrsToken",
    "Mastery",
    "Note",
    "Paper",
    "PaperItem",
    "PracticeAnswer",
    "Push",
    "PushStatus",
    "Response",
    "ResponseLog",
    "SkillParameters",
    "Statement",
    "StatementActivity",
    "StatementAgent",
    "SubmittedBy",
]
