"""Who may see and change resources: the only place the resources app interprets roles.

=====================  ===============================  ====================================
rows                   view                             change / other actions
=====================  ===============================  ====================================
knowledge graph        every signed-in account          platform; region admins; reviewers
resources              listed ones: every signed-in     ``change``: the submitter; admins of
                       account. Any status: the         the owning org's subtree.
                       submitter, admins of the         ``review``: reviewers of the subtree.
                       owning org's subtree, reviewers  ``moderate`` (comments, retirement):
                       of that subtree                  admins and reviewers of the subtree
versions, tags         the listed version: everyone     as the resource
                       who sees the resource; every
                       version: submitter, admins,
                       reviewers
audit findings,        submitter, admins, reviewers     (written by actions only)
review tasks
reviewer assignments   the reviewer; admins of the      admins of the subtree
                       subtree
ratings                published comments on visible    the rater; ``moderate`` as above
                       resources; one's own; moderators
expert evaluations     everyone who sees the resource   the expert (a reviewer)
usage events           one's own; admins of the subtree (written by actions only)
certificates           every signed-in account (the     (issued by actions only)
                       public page uses
                       ``queries.verify_certificate``)
=====================  ===============================  ====================================

Submitting needs a role that provides resources (``resources.submit``); companies, libraries
and museums submit through an account with such a role at the org that answers for them.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.db.models import F, Q

from shuyuan.core.scoping import ALL, register_permission, register_scope_rule
from shuyuan.identity.models import Role as R  # noqa: N817  # short alias keeps rules readable
from shuyuan.identity.queries import role_paths

from . import models as m
from .choices import ModerationStatus, ResourceStatus

ADMIN_ROLES = frozenset({R.REGION_ADMIN, R.SCHOOL_ADMIN})
REVIEW_ROLES = frozenset({R.RESOURCE_REVIEWER})
STAFF_ROLES = ADMIN_ROLES | REVIEW_ROLES
SUBMIT_ROLES = frozenset({R.REGION_ADMIN, R.SCHOOL_ADMIN, R.TEACHER, R.HEAD_TEACHER})
GRAPH_EDIT_ROLES = frozenset({R.REGION_ADMIN, R.RESOURCE_REVIEWER})


def _prefix(field: str, paths: list[str]) -> Q | None:
    if not paths:
        return None
    return reduce(operator.or_, (Q(**{f"{field}__startswith": p}) for p in paths))


def _any(*conditions: Q | None) -> Q | None:
    present = [c for c in conditions if c is not None]
    return reduce(operator.or_, present) if present else None


def _resource_condition(user: Any, action: str, prefix: str = "") -> Any:
    """The rule for resources, reused by rows that hang off one (``prefix`` = "resource__")."""
    if user.is_platform_admin:
        return ALL
    org = f"{prefix}org__path"
    mine = Q(**{f"{prefix}created_by": user.pk})
    admins = _prefix(org, role_paths(user, ADMIN_ROLES))
    reviewers = _prefix(org, role_paths(user, REVIEW_ROLES))
    if action == "view":
        listed = Q(**{f"{prefix}status": ResourceStatus.LISTED})
        return _any(listed, mine, admins, reviewers)
    if action == "staff_view":
        return _any(mine, admins, reviewers)
    if action == "change":
        return _any(mine, admins)
    if action == "review":
        return reviewers
    if action == "moderate":
        return _any(admins, reviewers)
    return None


def resource_rule(user: Any, action: str) -> Any:
    return _resource_condition(user, action)


def version_rule(user: Any, action: str) -> Any:
    if action == "view":
        staff = _resource_condition(user, "staff_view", "resource__")
        if staff is ALL:
            return ALL
        listed = Q(resource__status=ResourceStatus.LISTED, resource__listed_version=F("pk"))
        return _any(listed, staff)
    return _resource_condition(user, action, "resource__")


def tag_rule(user: Any, action: str) -> Any:
    return _resource_condition(user, action, "resource__")


def version_child_rule(user: Any, action: str) -> Any:
    """Audit findings and review tasks: only the people who handle the version."""
    if action == "view":
        return _resource_condition(user, "staff_view", "version__resource__")
    return _resource_condition(user, action, "version__resource__")


def graph_rule(user: Any, action: str) -> Any:
    if action == "view":
        return ALL
    if action == "change" and can_edit_graph(user):
        return ALL
    return None


def assignment_rule(user: Any, action: str) -> Any:
    if user.is_platform_admin:
        return ALL if action in {"view", "change"} else None
    admins = _prefix("org__path", role_paths(user, ADMIN_ROLES))
    if action == "view":
        return _any(Q(reviewer=user.pk), admins)
    if action == "change":
        return admins
    return None


def rating_rule(user: Any, action: str) -> Any:
    moderators = _resource_condition(user, "moderate", "resource__")
    if moderators is ALL:
        return ALL
    own = Q(user=user.pk)
    if action == "view":
        published = Q(
            comment_status=ModerationStatus.APPROVED, resource__status=ResourceStatus.LISTED
        )
        return _any(own, published, moderators)
    if action == "change":
        return own
    if action == "moderate":
        return moderators
    return None


def expert_rule(user: Any, action: str) -> Any:
    if action == "view":
        return _resource_condition(user, "view", "resource__")
    if action == "change":
        return ALL if user.is_platform_admin else Q(expert=user.pk)
    return None


def usage_rule(user: Any, action: str) -> Any:
    if user.is_platform_admin:
        return ALL if action == "view" else None
    if action == "view":
        return _any(Q(user=user.pk), _prefix("resource__org__path", role_paths(user, ADMIN_ROLES)))
    return None


def certificate_rule(user: Any, action: str) -> Any:
    return ALL if action == "view" else None


def can_submit(user: Any) -> bool:
    return bool(user.is_platform_admin) or bool(role_paths(user, SUBMIT_ROLES))


def can_edit_graph(user: Any) -> bool:
    return bool(user.is_platform_admin) or bool(role_paths(user, GRAPH_EDIT_ROLES))


def can_review(user: Any) -> bool:
    return bool(user.is_platform_admin) or bool(role_paths(user, REVIEW_ROLES))


def can_manage_word_list(user: Any) -> bool:
    """The sensitive-word list is region-wide: platform admins and region admins edit it."""
    return bool(user.is_platform_admin) or bool(role_paths(user, frozenset({R.REGION_ADMIN})))


def word_list_rule(user: Any, action: str) -> Any:
    if action in {"view", "change"} and can_manage_word_list(user):
        return ALL
    return None


def register() -> None:
    """Connect the rules to core's scoped querysets (called from ``ResourcesConfig.ready``)."""
    for model in (m.Subject, m.TextbookEdition, m.Chapter, m.KnowledgePoint, m.KnowledgeEdge):
        register_scope_rule(model, graph_rule)
    register_scope_rule(m.Resource, resource_rule)
    register_scope_rule(m.ResourceVersion, version_rule)
    register_scope_rule(m.ResourceTag, tag_rule)
    register_scope_rule(m.AuditFinding, version_child_rule)
    register_scope_rule(m.ReviewTask, version_child_rule)
    register_scope_rule(m.ReviewerAssignment, assignment_rule)
    register_scope_rule(m.SensitiveWordList, word_list_rule)
    register_scope_rule(m.Rating, rating_rule)
    register_scope_rule(m.ExpertEvaluation, expert_rule)
    register_scope_rule(m.UsageEvent, usage_rule)
    register_scope_rule(m.Certificate, certificate_rule)
    register_permission("resources.submit", can_submit)
    register_permission("resources.edit_graph", can_edit_graph)
    register_permission("resources.review", can_review)
    register_permission("resources.manage_word_list", can_manage_word_list)
