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
"""

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
    "Assignment",
    "AssignmentResource",
    "AssignmentStatus",
    "AssignmentSubmission",
    "Attachment",
    "Document",
    "Favourite",
    "LessonPlan",
    "LessonPlanResource",
    "LrsClient",
    "LrsToken",
    "Note",
    "Statement",
    "StatementActivity",
    "StatementAgent",
]
