"""Resources models (see each module's docstring): the knowledge graph, resources and their
versions and audit, the review workflow, use and evaluation, inclusion certificates."""

from .certificates import Certificate
from .evaluation import ExpertEvaluation, Rating, UsageEvent
from .graph import Chapter, KnowledgeEdge, KnowledgePoint, Subject, TextbookEdition
from .resources import (
    AuditFinding,
    Resource,
    ResourceTag,
    ResourceVersion,
    SensitiveWordList,
    version_upload_to,
)
from .review import ReviewerAssignment, ReviewTask
from .search import SearchDocument

__all__ = [
    "AuditFinding",
    "Certificate",
    "Chapter",
    "ExpertEvaluation",
    "KnowledgeEdge",
    "KnowledgePoint",
    "Rating",
    "Resource",
    "ResourceTag",
    "ResourceVersion",
    "ReviewTask",
    "ReviewerAssignment",
    "SearchDocument",
    "SensitiveWordList",
    "Subject",
    "TextbookEdition",
    "UsageEvent",
    "version_upload_to",
]
