"""Helpers of the graph and tagging tests: points, edges and resources made directly."""

from __future__ import annotations

from typing import Any

from shuyuan.core.context import change_context, system_actor
from shuyuan.resources.actions import graph as actions
from shuyuan.resources.choices import ResourceStatus, ResourceType, Stage
from shuyuan.resources.models import KnowledgePoint, Resource, ResourceVersion


def point(subject: Any, code: str, name: str, *, aliases=(), grade: str = "08") -> KnowledgePoint:
    return actions.create_point(
        actor=system_actor(),
        code=code,
        name=name,
        subject=subject,
        stage=Stage.JUNIOR,
        grade=grade,
        aliases=list(aliases),
    )


def prereq(a: KnowledgePoint, b: KnowledgePoint, kind: str = "prerequisite") -> Any:
    return actions.add_edge(actor=system_actor(), source_point=a, target_point=b, kind=kind)


def make_resource(
    owner: Any,
    subject: Any,
    *,
    title: str = "A lesson",
    description: str = "",
    text: str = "",
    listed: bool = False,
) -> Resource:
    with change_context(actor=system_actor(), source="system"):
        resource = Resource(
            org=owner.home_org,
            provider_kind="teacher",
            provider_name=owner.real_name,
            created_by=owner,
        )
        resource.save(force_insert=True)
        version = ResourceVersion(
            resource=resource,
            number=1,
            title=title,
            description=description,
            subject=subject,
            stage=Stage.JUNIOR,
            grade="08",
            resource_type=ResourceType.DOCUMENT,
            licence="CC BY 4.0",
            extracted_text=text,
            created_by=owner,
        )
        version.save(force_insert=True)
        if listed:
            resource.status = ResourceStatus.LISTED
            resource.listed_version = version
            resource.save()
    return resource
