"""Resources API: the knowledge graph and resource tags (see docs/apps/resources.md).

Subjects, editions and chapters; knowledge points (list, get, create, update, delete); a
point's neighbourhood (prerequisites recursively with their distance); edges (add, remove:
a cycle is a 422 ``PREREQUISITE_CYCLE`` naming the path, a duplicate a 409 ``EDGE_EXISTS``);
import (CSV files, a zip or a CASE 1.0 package; all or nothing, every bad row listed in
``errors``) and export (CSV zip, CASE JSON); a resource's tags and suggestions.

Everybody signed in reads the graph; writes need ``resources.edit_graph`` (403 otherwise).
Tags need ``change`` or ``review`` on the resource; an invisible resource is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.files import UploadedFile
from ninja.params.functions import File as FileParam

from shuyuan.core.errors import NotFound, PermissionDenied, invalid
from shuyuan.core.schemas import (
    ApiRequest,
    DbId,
    PageQuery,
    api_field_names,
    error_responses,
    paginate,
)

from ..actions import graph as actions
from ..graph import case, csvio
from ..graph.suggest import suggest_for_resource
from ..models import Chapter, Subject
from ..queries import graph as queries
from ..schemas_graph import (
    ChapterFilter,
    ChapterOut,
    DepthQuery,
    DistancedPointOut,
    EdgeIn,
    EdgeOut,
    EditionOut,
    ImportSummaryOut,
    NeighbourhoodOut,
    PointDetailOut,
    PointFilter,
    PointIn,
    PointPageOut,
    PointPatch,
    PointRefOut,
    SubjectOut,
    SuggestionOut,
    SuggestionQuery,
    TagIn,
    TagOut,
)

SOURCE = "api"

router = Router(tags=["resources"])


def _subject(request: ApiRequest, code: str, field: str) -> Subject:
    with api_field_names(field=field):
        return queries.access_subject(request.auth, code)


def _chapters(request: ApiRequest, codes: list[str]) -> list[Chapter]:
    found = {c.code: c for c in queries.list_chapters(request.auth).filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise invalid(
            "chapters",
            "UNKNOWN_CHAPTER",
            _("Unknown chapter code(s): %(codes)s.") % {"codes": ", ".join(missing)[:200]},
        )
    return [found[c] for c in dict.fromkeys(codes)]


# --- vocabularies ------------------------------------------------------------------------------


@router.get(
    "/graph/subjects",
    response={200: list[SubjectOut], **error_responses()},
    operation_id="resources_graph_subject_list",
    summary="List subjects",
)
def list_subjects(request: ApiRequest) -> list[SubjectOut]:
    """Every subject with its number of knowledge points, in display order."""
    return [SubjectOut.from_orm(s) for s in queries.list_subjects(request.auth)]


@router.get(
    "/graph/editions",
    response={200: list[EditionOut], **error_responses()},
    operation_id="resources_graph_edition_list",
    summary="List textbook editions",
)
def list_editions(request: ApiRequest) -> list[EditionOut]:
    """Every textbook edition (人教版 ``pep``, 北师大版 ``bnu``...)."""
    return [EditionOut.from_orm(e) for e in queries.list_editions(request.auth)]


@router.get(
    "/graph/chapters",
    response={200: list[ChapterOut], **error_responses(404, 422)},
    operation_id="resources_graph_chapter_list",
    summary="List chapters",
)
def list_chapters(request: ApiRequest, filters: Query[ChapterFilter]) -> list[ChapterOut]:
    """Chapters, optionally of one subject and/or edition (codes; an unknown one is a 404)."""
    subject = _subject(request, filters.subject, "subject") if filters.subject else None
    edition = None
    if filters.edition:
        edition = queries.list_editions(request.auth).filter(code=filters.edition).first()
        if edition is None:
            raise NotFound(_("No such textbook edition."), field="edition")
    qs = queries.list_chapters(request.auth, subject=subject, edition=edition)
    return [ChapterOut.from_orm(c) for c in qs]


# --- knowledge points --------------------------------------------------------------------------


@router.get(
    "/graph/points",
    response={200: PointPageOut, **error_responses(404, 422)},
    operation_id="resources_graph_point_list",
    summary="List knowledge points",
)
def list_points(
    request: ApiRequest, filters: Query[PointFilter], page: Query[PageQuery]
) -> PointPageOut:
    """Knowledge points by subject, stage, grade and code; ``q`` matches name, alias or code."""
    subject = _subject(request, filters.subject, "subject") if filters.subject else None
    qs = queries.list_points(
        request.auth,
        subject=subject,
        q=filters.q,
        stage=filters.stage or "",
        grade=filters.grade,
    )
    return paginate(qs, page, PointPageOut)


@router.get(
    "/graph/points/{id}",
    response={200: PointDetailOut, **error_responses(404, 422)},
    operation_id="resources_graph_point_get",
    summary="Get a knowledge point",
)
def get_point(request: ApiRequest, id: DbId) -> PointDetailOut:
    """One knowledge point with its chapter codes."""
    return PointDetailOut.from_orm(queries.access_point(request.auth, id))


@router.post(
    "/graph/points",
    response={201: PointDetailOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_graph_point_create",
    summary="Create a knowledge point",
)
def create_point(request: ApiRequest, payload: PointIn) -> Status[PointDetailOut]:
    """Create a point of ``subject`` (a code); a code in use is a 409 ``POINT_CODE_EXISTS``."""
    subject = _subject(request, payload.subject, "subject")
    point = actions.create_point(
        actor=request.auth,
        code=payload.code,
        name=payload.name,
        subject=subject,
        stage=payload.stage,
        grade=payload.grade,
        aliases=payload.aliases,
        description=payload.description,
        chapters=_chapters(request, payload.chapters),
        source=SOURCE,
    )
    return Status(201, PointDetailOut.from_orm(point))


@router.patch(
    "/graph/points/{id}",
    response={200: PointDetailOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_graph_point_update",
    summary="Update a knowledge point",
)
def update_point(request: ApiRequest, id: DbId, payload: PointPatch) -> PointDetailOut:
    """Change a point; omitted fields stay as they are."""
    point = queries.access_point(request.auth, id)
    changes: dict[str, Any] = payload.model_dump(exclude_unset=True)
    if "chapters" in changes:
        changes["chapters"] = _chapters(request, changes["chapters"] or [])
    for key in ("code", "name", "stage", "grade", "description", "aliases"):
        if key in changes and changes[key] is None:
            del changes[key]
    point = actions.update_point(actor=request.auth, point=point, source=SOURCE, **changes)
    return PointDetailOut.from_orm(queries.access_point(request.auth, point.pk))


@router.delete(
    "/graph/points/{id}",
    response={204: None, **error_responses(403, 404, 409, 422)},
    operation_id="resources_graph_point_delete",
    summary="Delete a knowledge point",
)
def delete_point(request: ApiRequest, id: DbId) -> Status[None]:
    """Delete a point and its edges; a point tagging resources is a 409 ``POINT_IN_USE``."""
    point = queries.access_point(request.auth, id)
    actions.delete_point(actor=request.auth, point=point, source=SOURCE)
    return Status(204, None)


@router.get(
    "/graph/points/{id}/neighbours",
    response={200: NeighbourhoodOut, **error_responses(404, 422)},
    operation_id="resources_graph_point_neighbourhood_get",
    summary="Get a knowledge point's neighbourhood",
)
def point_neighbours(request: ApiRequest, id: DbId, query: Query[DepthQuery]) -> NeighbourhoodOut:
    """Prerequisites (recursively up to ``depth`` steps, with their distance), dependents (the
    same way), related points, and the edges among them."""
    point = queries.access_point(request.auth, id)
    hood = queries.neighbours(point.pk, depth=query.depth)

    def distanced(distances: dict[int, int]) -> list[DistancedPointOut]:
        rows = hood.listed(list(distances), distances)
        return [
            DistancedPointOut(
                id=p.pk, code=p.code, name=p.name, subject_id=p.subject_id, distance=p.distance
            )
            for p in rows
        ]

    return NeighbourhoodOut.model_validate(
        {
            "point": point,
            "prerequisites": distanced(hood.prerequisites),
            "dependents": distanced(hood.dependents),
            "related": hood.listed(hood.related),
            "edges": [{"source_id": s, "target_id": t, "kind": k} for s, t, k in hood.edges],
        }
    )


# --- edges -------------------------------------------------------------------------------------


@router.post(
    "/graph/edges",
    response={201: EdgeOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_graph_edge_create",
    summary="Add an edge",
)
def create_edge(request: ApiRequest, payload: EdgeIn) -> Status[EdgeOut]:
    """Link two points. A prerequisite that closes a cycle is a 422 ``PREREQUISITE_CYCLE``
    naming the cycle; an existing edge (related edges either way) is a 409 ``EDGE_EXISTS``."""
    with api_field_names(field="source_id"):
        source = queries.access_point(request.auth, payload.source_id)
    with api_field_names(field="target_id"):
        target = queries.access_point(request.auth, payload.target_id)
    with api_field_names({"target": "target_id", "source": "source_id"}):
        edge = actions.add_edge(
            actor=request.auth,
            source_point=source,
            target_point=target,
            kind=payload.kind,
            source=SOURCE,
        )
    return Status(201, EdgeOut.from_orm(edge))


@router.delete(
    "/graph/edges/{id}",
    response={204: None, **error_responses(403, 404, 422)},
    operation_id="resources_graph_edge_delete",
    summary="Remove an edge",
)
def delete_edge(request: ApiRequest, id: DbId) -> Status[None]:
    """Remove an edge."""
    edge = queries.access_edge(request.auth, id)
    actions.remove_edge(actor=request.auth, edge=edge, source=SOURCE)
    return Status(204, None)


# --- import and export -------------------------------------------------------------------------


@router.post(
    "/graph/import",
    response={200: ImportSummaryOut, **error_responses(403, 422, body=True)},
    operation_id="resources_graph_import_create",
    summary="Import a knowledge graph",
)
def import_graph(
    request: ApiRequest,
    points: Annotated[UploadedFile | None, FileParam(None)] = None,
    edges: Annotated[UploadedFile | None, FileParam(None)] = None,
    file: Annotated[UploadedFile | None, FileParam(None)] = None,
) -> ImportSummaryOut:
    """Multipart: ``points`` and/or ``edges`` CSV files, or ``file``: a zip of ``points.csv``
    and ``edges.csv`` or a CASE 1.0 package (JSON). All or nothing: any problem is a 422 whose
    ``errors`` list every bad row (``points[5].grade``, ``CFItems[3].identifier``...)."""
    if not actions.can_edit(request.auth):
        raise PermissionDenied()
    uploads = [u for u in (points, edges, file) if u is not None]
    if any((u.size or 0) > csvio.MAX_BYTES for u in uploads):
        raise invalid("file", "FILE_TOO_LARGE", _("The file is too large."))
    if file is not None:
        raw = file.read()
        if (file.name or "").lower().endswith(".json") or raw.lstrip()[:1] == b"{":
            plan = case.read_package(raw)
        else:
            plan = csvio.read_bundle(bundle=raw)
    else:
        plan = csvio.read_bundle(
            points=points.read() if points is not None else None,
            edges=edges.read() if edges is not None else None,
        )
    summary = actions.apply_import(actor=request.auth, plan=plan, source=SOURCE)
    return ImportSummaryOut(**summary.as_dict())


@router.get(
    "/graph/subjects/{code}/export.zip",
    response={200: None, **error_responses(404)},
    operation_id="resources_graph_export_csv_get",
    summary="Export a subject as CSV",
)
def export_csv(request: ApiRequest, code: str) -> HttpResponse:
    """A zip of ``points.csv`` and ``edges.csv`` (the import format) for the subject."""
    from ..views.graph import export_csv_bytes

    subject = queries.access_subject(request.auth, code)
    response = HttpResponse(export_csv_bytes(request.auth, subject), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{subject.code}-graph.zip"'
    return response


@router.get(
    "/graph/subjects/{code}/case.json",
    response={200: None, **error_responses(404)},
    operation_id="resources_graph_export_case_get",
    summary="Export a subject as CASE 1.0",
)
def export_case(request: ApiRequest, code: str) -> HttpResponse:
    """The subject as a 1EdTech CASE 1.0 ``CFPackage`` (prerequisites as ``precedes``)."""
    from ..views.graph import export_case_bytes

    subject = queries.access_subject(request.auth, code)
    response = HttpResponse(
        export_case_bytes(request.auth, subject), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{subject.code}-case.json"'
    return response


# --- tags --------------------------------------------------------------------------------------


def _tag_out(tag: Any) -> TagOut:
    return TagOut(
        knowledge_point=PointRefOut.from_orm(tag.knowledge_point),
        source=tag.source,
        score=tag.score,
        created_at=tag.created_at,
    )


@router.get(
    "/{id}/tags",
    response={200: list[TagOut], **error_responses(404, 422)},
    operation_id="resources_graph_tag_list",
    summary="List a resource's knowledge-point tags",
)
def list_tags(request: ApiRequest, id: DbId) -> list[TagOut]:
    """The knowledge points a resource the caller may see is tagged with."""
    resource = queries.access_resource(request.auth, id)
    return [_tag_out(t) for t in queries.resource_tags(request.auth, resource)]


@router.post(
    "/{id}/tags",
    response={201: TagOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_graph_tag_create",
    summary="Tag a resource with a knowledge point",
)
def create_tag(request: ApiRequest, id: DbId, payload: TagIn) -> Status[TagOut]:
    """Tag the resource (needs ``change`` or ``review`` on it); an existing tag is a 409
    ``TAG_EXISTS``."""
    resource = queries.access_resource(request.auth, id)
    with api_field_names(field="knowledge_point_id"):
        point = queries.access_point(request.auth, payload.knowledge_point_id)
    with api_field_names({"knowledge_point": "knowledge_point_id"}):
        tag = actions.tag_resource(
            actor=request.auth,
            resource=resource,
            knowledge_point=point,
            source=payload.source,
            score=payload.score,
            change_source=SOURCE,
        )
    return Status(201, _tag_out(tag))


@router.delete(
    "/{id}/tags/{kp_id}",
    response={204: None, **error_responses(403, 404, 422)},
    operation_id="resources_graph_tag_delete",
    summary="Remove a knowledge-point tag",
)
def delete_tag(request: ApiRequest, id: DbId, kp_id: DbId) -> Status[None]:
    """Remove the tag of point ``kp_id`` from the resource."""
    resource = queries.access_resource(request.auth, id)
    point = queries.access_point(request.auth, kp_id)
    actions.untag_resource(
        actor=request.auth, resource=resource, knowledge_point=point, change_source=SOURCE
    )
    return Status(204, None)


@router.get(
    "/{id}/tag-suggestions",
    response={200: list[SuggestionOut], **error_responses(403, 404, 422)},
    operation_id="resources_graph_tag_suggestion_list",
    summary="Suggest knowledge points for a resource",
)
def tag_suggestions(
    request: ApiRequest, id: DbId, query: Query[SuggestionQuery]
) -> list[SuggestionOut]:
    """Knowledge points the resource's newest version mentions, best first, with a score in
    [0, 1]; points it is tagged with are left out. Only for those who may tag it."""
    resource = queries.access_resource(request.auth, id)
    if not queries.can_tag(request.auth, resource):
        raise PermissionDenied()
    return [
        SuggestionOut(knowledge_point=PointRefOut.from_orm(p), score=s)
        for p, s in suggest_for_resource(resource, limit=query.limit)
    ]
