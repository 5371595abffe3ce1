"""Portal pages of the knowledge graph, and the tagging page of a resource.

- ``/resources/graph/``: subjects with their point counts; import and export for editors;
- ``/resources/graph/<subject>/``: the subject's points by stage and grade, filtered by name
  (htmx: ``#results``); ``export.zip`` (CSV) and ``case.json`` (CASE 1.0) download it;
- ``/resources/graph/points/<pk>/``: one point with its chapters, prerequisites, dependents and
  related points, an SVG of its neighbourhood (two steps, drawn here on the server, layered by
  prerequisite depth), and the listed resources tagged with it; editors get the edit forms;
- ``/resources/graph/import/``: upload CSV files, a zip or a CASE package (every bad row is
  listed; nothing is stored then);
- ``/resources/<pk>/tags/``: a resource's tags, suggestions with scores to accept, manual add
  by code or name, removal.

Thin views: reads through ``queries.graph``, writes through ``actions.graph``. Everybody signed
in reads the graph; an edit by someone who may not edit is a 403 (the row is visible, so a 404
would be a lie), an invisible resource a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core.errors import InvalidInput, PermissionDenied, ShuyuanError
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from ..actions import graph as actions
from ..choices import GRADES, EdgeKind, Stage
from ..graph import case, csvio
from ..graph.suggest import suggest_for_resource
from ..models import KnowledgePoint, Subject
from ..queries import graph as queries

#: Points of a subject shown on its page (a search narrows them).
POINTS_SHOWN = 500
RESOURCES_SHOWN = 50
SUGGESTIONS = 8
SEARCH_RESULTS = 20
UPLOAD_MAX = csvio.MAX_BYTES


def _require_editor(user: Any) -> None:
    if not actions.can_edit(user):
        raise PermissionDenied()


# --- forms -------------------------------------------------------------------------------------


class PointForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=64)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    aliases = forms.CharField(
        label=gettext_lazy("Aliases"),
        required=False,
        help_text=gettext_lazy("Other names, separated by |."),
    )
    stage = forms.ChoiceField(label=gettext_lazy("Stage"), choices=Stage.choices)
    grade = forms.ChoiceField(
        label=gettext_lazy("Grade"), choices=[("", "—"), *GRADES], required=False
    )
    description = forms.CharField(
        label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    chapters: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Chapters"), queryset=None, required=False
    )

    def __init__(self, *args: Any, subject: Subject, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["chapters"]
        field.queryset = queries.list_chapters(user, subject=subject)

    @staticmethod
    def initial_for(point: KnowledgePoint) -> dict[str, Any]:
        return {
            "code": point.code,
            "name": point.name,
            "aliases": "|".join(point.aliases or []),
            "stage": point.stage,
            "grade": point.grade,
            "description": point.description,
            "chapters": list(point.chapters.values_list("pk", flat=True)),
        }


EDGE_DIRECTIONS = (
    ("before", gettext_lazy("is a prerequisite of this point")),
    ("after", gettext_lazy("builds on this point (this point is its prerequisite)")),
    ("related", gettext_lazy("is related to this point")),
)


class EdgeForm(forms.Form):
    other = forms.CharField(
        label=gettext_lazy("Other knowledge point"),
        max_length=100,
        help_text=gettext_lazy("Its code or exact name."),
    )
    direction = forms.ChoiceField(label=gettext_lazy("Relation"), choices=EDGE_DIRECTIONS)


class ImportForm(forms.Form):
    points = forms.FileField(label=gettext_lazy("Knowledge points (CSV)"), required=False)
    edges = forms.FileField(label=gettext_lazy("Edges (CSV)"), required=False)
    package = forms.FileField(
        label=gettext_lazy("Or: a zip of points.csv and edges.csv, or a CASE 1.0 package (JSON)"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        files = [f for f in (data.get("points"), data.get("edges"), data.get("package")) if f]
        if not files:
            raise forms.ValidationError(_("Choose a file to import."))
        if data.get("package") and (data.get("points") or data.get("edges")):
            raise forms.ValidationError(_("Upload either the CSV files or one package."))
        if any((f.size or 0) > UPLOAD_MAX for f in files):
            raise forms.ValidationError(_("The file is too large."))
        return data


class TagSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Find a knowledge point"), max_length=100, required=False
    )


# --- the neighbourhood drawing -----------------------------------------------------------------

NODE_W = 150
NODE_H = 36
GAP_X = 24
LAYER_H = 90
PAD = 20
LABEL_CHARS = 9


@dataclass
class SvgNode:
    pk: int
    x: float
    y: float
    label: str
    title: str
    layer: int
    css: str
    url: str

    @property
    def cx(self) -> float:
        return self.x + NODE_W / 2

    @property
    def text_y(self) -> float:
        return self.y + NODE_H / 2 + 5


@dataclass
class SvgEdge:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str


def neighbourhood_svg(hood: queries.Neighbourhood) -> dict[str, Any]:
    """Positions for the SVG: prerequisites above (the farthest on top), the point in the
    middle row with its related points beside it, dependents below."""
    centre = hood.point.pk
    layers: dict[int, list[int]] = {0: [centre, *sorted(hood.related)]}
    for pk, d in hood.prerequisites.items():
        layers.setdefault(-d, []).append(pk)
    for pk, d in hood.dependents.items():
        if pk not in hood.prerequisites:
            layers.setdefault(d, []).append(pk)
    order = sorted(layers)
    widest = max(len(v) for v in layers.values())
    width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X
    nodes: dict[int, SvgNode] = {}
    for row, layer in enumerate(order):
        members = layers[layer]
        if layer != 0:
            members.sort(key=lambda pk: hood.points[pk].code)
        span = len(members) * NODE_W + (len(members) - 1) * GAP_X
        left = (width - span) / 2
        for i, pk in enumerate(members):
            point = hood.points[pk]
            name = point.name
            label = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
            css = "kp-node"
            if pk == centre:
                css += " kp-centre"
            elif layer == 0:
                css += " kp-related"
            elif layer < 0:
                css += " kp-before"
            else:
                css += " kp-after"
            if point.subject_id != hood.point.subject_id:
                css += " kp-other-subject"
            nodes[pk] = SvgNode(
                pk,
                left + i * (NODE_W + GAP_X),
                PAD + row * LAYER_H,
                label,
                f"{name} ({point.code})",
                layer,
                css,
                reverse("resources:graph_point", args=[pk]),
            )
    edges = []
    for source, target, kind in hood.edges:
        a, b = nodes.get(source), nodes.get(target)
        if a is None or b is None:
            continue
        if kind == EdgeKind.PREREQUISITE:
            # From the bottom of the earlier point to the top of the later one.
            down = a.y <= b.y
            edges.append(
                SvgEdge(
                    a.cx,
                    a.y + (NODE_H if down else 0),
                    b.cx,
                    b.y - 4 if down else b.y + NODE_H + 4,
                    "kp-edge kp-edge-prerequisite",
                )
            )
        else:
            edges.append(
                SvgEdge(a.cx, a.y + NODE_H / 2, b.cx, b.y + NODE_H / 2, "kp-edge kp-edge-related")
            )
    height = PAD * 2 + len(order) * LAYER_H - (LAYER_H - NODE_H)
    return {
        "width": width,
        "height": height,
        "nodes": list(nodes.values()),
        "edges": edges,
        "node_w": NODE_W,
        "node_h": NODE_H,
    }


# --- graph pages -------------------------------------------------------------------------------


@login_required
@http_errors
def graph_index(request: HttpRequest) -> HttpResponse:
    """Subjects with how many knowledge points each has."""
    context = {
        "subjects": list(queries.list_subjects(request.user)),
        "can_edit": actions.can_edit(request.user),
    }
    return render_page(request, "resources/graph/index.html", context)


def _grouped(points: list[KnowledgePoint]) -> list[dict[str, Any]]:
    groups = []
    for (stage, grade), rows in groupby(points, key=lambda p: (p.stage, p.grade)):
        groups.append({"stage": Stage(stage).label, "grade": grade, "points": list(rows)})
    return groups


@login_required
@http_errors
def graph_subject(request: HttpRequest, code: str) -> HttpResponse:
    """A subject's points grouped by stage and grade; ``q`` filters by name, code or alias."""
    subject = queries.access_subject(request.user, code)
    q = request.GET.get("q", "").strip()[:100]
    qs = queries.list_points(request.user, subject=subject, q=q)
    total = qs.count()
    points = list(qs[:POINTS_SHOWN])
    context = {
        "subject": subject,
        "q": q,
        "groups": _grouped(points),
        "total": total,
        "truncated": total > len(points),
        "can_edit": actions.can_edit(request.user),
    }
    return render_page(request, "resources/graph/subject.html", context, partial="results")


def _point_context(
    request: HttpRequest,
    point: KnowledgePoint,
    *,
    edge_form: EdgeForm | None = None,
) -> dict[str, Any]:
    user: Any = request.user
    hood = queries.neighbours(point.pk, depth=2)
    can_edit = actions.can_edit(user)
    edges = {
        (e.source_id, e.target_id, e.kind): e
        for e in queries.list_edges(user).filter(
            source_id__in=[point.pk, *hood.points], target_id__in=[point.pk, *hood.points]
        )
    }

    def edge_to(other: int, before: bool) -> Any:
        key = (other, point.pk) if before else (point.pk, other)
        return edges.get((*key, EdgeKind.PREREQUISITE))

    def related_edge(other: int) -> Any:
        a, b = sorted((point.pk, other))
        return edges.get((a, b, EdgeKind.RELATED))

    direct_before = [
        (p, edge_to(p.pk, True))
        for p in hood.listed([k for k, d in hood.prerequisites.items() if d == 1])
    ]
    direct_after = [
        (p, edge_to(p.pk, False))
        for p in hood.listed([k for k, d in hood.dependents.items() if d == 1])
    ]
    context: dict[str, Any] = {
        "point": point,
        "chapters": list(point.chapters.select_related("edition").order_by("edition", "order")),
        "before": direct_before,
        "after": direct_after,
        "before_far": hood.listed(
            [k for k, d in hood.prerequisites.items() if d > 1], hood.prerequisites
        ),
        "after_far": hood.listed([k for k, d in hood.dependents.items() if d > 1], hood.dependents),
        "related": [(p, related_edge(p.pk)) for p in hood.listed(hood.related)],
        "svg": neighbourhood_svg(hood),
        "resources": list(queries.point_resources(user, point)[:RESOURCES_SHOWN]),
        "can_edit": can_edit,
    }
    if can_edit:
        context["edge_form"] = edge_form or EdgeForm()
    return context


@login_required
@http_errors
def graph_point(request: HttpRequest, pk: int) -> HttpResponse:
    """One knowledge point, its neighbourhood and the resources tagged with it."""
    point = queries.access_point(request.user, pk)
    return render_page(request, "resources/graph/point.html", _point_context(request, point))


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def graph_point_create(request: HttpRequest, code: str) -> HttpResponse:
    """A new point of the subject (invalid: 422 with #point-form)."""
    user: Any = request.user
    subject = queries.access_subject(user, code)
    _require_editor(user)
    form = PointForm(request.POST if request.method == "POST" else None, subject=subject, user=user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            point = actions.create_point(
                actor=user,
                code=data["code"],
                name=data["name"],
                subject=subject,
                stage=data["stage"],
                grade=data["grade"],
                aliases=csvio.split_list(data["aliases"]),
                description=data["description"],
                chapters=list(data["chapters"]),
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The knowledge point was added."))
            return see_other(request, reverse("resources:graph_point", args=[point.pk]))
    context = {"form": form, "subject": subject, "point": None}
    status = 422 if form.is_bound else 200
    return render_page(
        request, "resources/graph/point_form.html", context, partial="point-form", status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def graph_point_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a point (invalid: 422 with #point-form)."""
    user: Any = request.user
    point = queries.access_point(user, pk)
    _require_editor(user)
    form = PointForm(
        request.POST if request.method == "POST" else None,
        subject=point.subject,
        user=user,
        initial=PointForm.initial_for(point),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_point(
                actor=user,
                point=point,
                code=data["code"],
                name=data["name"],
                stage=data["stage"],
                grade=data["grade"],
                aliases=csvio.split_list(data["aliases"]),
                description=data["description"],
                chapters=list(data["chapters"]),
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
            point = queries.access_point(user, pk)
        else:
            messages.success(request, _("The knowledge point was saved."))
            return see_other(request, reverse("resources:graph_point", args=[point.pk]))
    context = {"form": form, "subject": point.subject, "point": point}
    status = 422 if form.is_bound else 200
    return render_page(
        request, "resources/graph/point_form.html", context, partial="point-form", status=status
    )


@login_required
@require_POST
@http_errors
def graph_point_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a point and its edges (refused while resources are tagged with it)."""
    user: Any = request.user
    point = queries.access_point(user, pk)
    try:
        actions.delete_point(actor=user, point=point)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
        return see_other(request, reverse("resources:graph_point", args=[pk]))
    messages.success(request, _("The knowledge point was deleted."))
    return see_other(request, reverse("resources:graph_subject", args=[point.subject.code]))


@login_required
@require_POST
@http_errors
def graph_edge_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Link the point to another (a cycle is refused, naming it: 422 with #edge-form)."""
    user: Any = request.user
    point = queries.access_point(user, pk)
    _require_editor(user)
    form = EdgeForm(request.POST)
    if form.is_valid():
        other = queries.find_point(user, form.cleaned_data["other"])
        direction = form.cleaned_data["direction"]
        if other is None:
            form.add_error("other", _("No knowledge point has this code or name."))
        else:
            source, target = (other, point) if direction == "before" else (point, other)
            kind = EdgeKind.RELATED if direction == "related" else EdgeKind.PREREQUISITE
            try:
                actions.add_edge(actor=user, source_point=source, target_point=target, kind=kind)
            except FORM_ERRORS as exc:
                exc.errors = [
                    type(e)("other" if e.field == "target" else e.field, e.code, e.message)
                    for e in exc.errors
                ]
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("The link was added."))
                return see_other(request, reverse("resources:graph_point", args=[pk]))
    context = _point_context(request, point, edge_form=form)
    return render_page(
        request, "resources/graph/point.html", context, partial="edge-form", status=422
    )


@login_required
@require_POST
@http_errors
def graph_edge_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove an edge; back to the point named by ``next_point`` (or the edge's source)."""
    user: Any = request.user
    edge = queries.access_edge(user, pk)
    actions.remove_edge(actor=user, edge=edge)
    messages.success(request, _("The link was removed."))
    back = request.POST.get("next_point", "")
    target = (
        int(back)
        if back.isdigit() and int(back) in {edge.source_id, edge.target_id}
        else edge.source_id
    )
    return see_other(request, reverse("resources:graph_point", args=[target]))


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def graph_import(request: HttpRequest) -> HttpResponse:
    """Upload a graph (CSV files, a zip, or CASE JSON); every problem is listed (422)."""
    user: Any = request.user
    _require_editor(user)
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[Any] = []
    summary = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            package = data.get("package")
            if package is not None:
                raw = package.read()
                if package.name.lower().endswith(".json") or raw.lstrip()[:1] == b"{":
                    plan = case.read_package(raw)
                else:
                    plan = csvio.read_bundle(bundle=raw)
            else:
                plan = csvio.read_bundle(
                    points=data["points"].read() if data.get("points") else None,
                    edges=data["edges"].read() if data.get("edges") else None,
                )
            summary = actions.apply_import(actor=user, plan=plan)
        except InvalidInput as exc:
            form.add_error(None, exc.message)
            problems = exc.errors
        else:
            messages.success(
                request,
                _(
                    "Imported: %(created)d points created, %(updated)d updated, %(edges)d edges "
                    "added."
                )
                % {
                    "created": summary.points_created,
                    "updated": summary.points_updated,
                    "edges": summary.edges_created,
                },
            )
            return see_other(request, reverse("resources:graph_index"))
    context = {"form": form, "problems": problems}
    status = 422 if form.is_bound else 200
    return render_page(request, "resources/graph/import.html", context, status=status)


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_csv_bytes(user: Any, subject: Subject) -> bytes:
    """The CSV export zip of a subject (also used by the API)."""
    points = queries.list_points(user, subject=subject).prefetch_related("chapters")
    edges = queries.list_edges(user, subject=subject)
    return csvio.bundle_zip(csvio.points_csv(points), csvio.edges_csv(edges))


def export_case_bytes(user: Any, subject: Subject, base_uri: str = "") -> bytes:
    """The CASE 1.0 package of a subject (edges whose both ends are in it)."""
    points = list(queries.list_points(user, subject=subject))
    ids = {p.pk for p in points}
    edges = [
        e
        for e in queries.list_edges(user, subject=subject)
        if e.source_id in ids and e.target_id in ids
    ]
    return case.dumps(case.export_package(subject, points, edges, base_uri=base_uri))


@login_required
@http_errors
def graph_export_csv(request: HttpRequest, code: str) -> HttpResponse:
    """``<subject>-graph.zip``: points.csv and edges.csv."""
    subject = queries.access_subject(request.user, code)
    return _download(
        export_csv_bytes(request.user, subject), "application/zip", f"{subject.code}-graph.zip"
    )


@login_required
@http_errors
def graph_export_case(request: HttpRequest, code: str) -> HttpResponse:
    """``<subject>-case.json``: the CASE 1.0 CFPackage."""
    subject = queries.access_subject(request.user, code)
    return _download(
        export_case_bytes(request.user, subject),
        "application/json; charset=utf-8",
        f"{subject.code}-case.json",
    )


# --- tagging -----------------------------------------------------------------------------------


def _tags_context(request: HttpRequest, resource: Any) -> dict[str, Any]:
    user: Any = request.user
    can_tag = queries.can_tag(user, resource)
    form = TagSearchForm(request.GET or None)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    tags = list(queries.resource_tags(user, resource))
    tagged = {t.knowledge_point_id for t in tags}
    context: dict[str, Any] = {
        "resource": resource,
        "tags": tags,
        "can_tag": can_tag,
        "form": form,
        "q": q,
    }
    if can_tag:
        context["suggestions"] = suggest_for_resource(resource, limit=SUGGESTIONS)
        if q:
            context["matches"] = [
                p for p in queries.list_points(user, q=q)[:SEARCH_RESULTS] if p.pk not in tagged
            ]
    return context


@login_required
@http_errors
def graph_tags(request: HttpRequest, pk: int) -> HttpResponse:
    """A resource's knowledge-point tags; taggers also see suggestions and a search."""
    resource = queries.access_resource(request.user, pk)
    return render_page(
        request, "resources/graph/tags.html", _tags_context(request, resource), partial="tag-search"
    )


@login_required
@require_POST
@http_errors
def graph_tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Tag the resource with ``knowledge_point`` (an id) or ``point`` (a code or exact name);
    ``score`` marks an accepted suggestion."""
    user: Any = request.user
    resource = queries.access_resource(user, pk)
    raw_id = request.POST.get("knowledge_point", "")
    point = None
    if raw_id.isdigit():
        point = queries.access_point(user, int(raw_id))
    else:
        point = queries.find_point(user, request.POST.get("point", ""))
    back = reverse("resources:graph_tags", args=[resource.pk])
    if point is None:
        messages.error(request, _("No knowledge point has this code or name."))
        return see_other(request, back)
    score_text = request.POST.get("score", "")
    try:
        score = float(score_text) if score_text else None
        actions.tag_resource(
            actor=user,
            resource=resource,
            knowledge_point=point,
            source="suggested" if score is not None else "manual",
            score=score,
        )
    except ValueError:
        messages.error(request, _("The score is not a number."))
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Tagged with %(point)s.") % {"point": point.name})
    return see_other(request, back)


@login_required
@require_POST
@http_errors
def graph_tag_remove(request: HttpRequest, pk: int, kp: int) -> HttpResponse:
    """Remove the tag of point ``kp`` from the resource."""
    user: Any = request.user
    resource = queries.access_resource(user, pk)
    point = queries.access_point(user, kp)
    try:
        actions.untag_resource(actor=user, resource=resource, knowledge_point=point)
    except ShuyuanError as exc:
        if isinstance(exc, PermissionDenied):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The tag was removed."))
    return see_other(request, reverse("resources:graph_tags", args=[resource.pk]))


urlpatterns: list[URLPattern] = [
    path("graph/", graph_index, name="graph_index"),
    path("graph/import/", graph_import, name="graph_import"),
    path("graph/points/<int:pk>/", graph_point, name="graph_point"),
    path("graph/points/<int:pk>/edit/", graph_point_edit, name="graph_point_edit"),
    path("graph/points/<int:pk>/delete/", graph_point_delete, name="graph_point_delete"),
    path("graph/points/<int:pk>/edges/", graph_edge_add, name="graph_edge_add"),
    path("graph/edges/<int:pk>/delete/", graph_edge_remove, name="graph_edge_remove"),
    path("graph/<slug:code>/", graph_subject, name="graph_subject"),
    path("graph/<slug:code>/points/new/", graph_point_create, name="graph_point_create"),
    path("graph/<slug:code>/export.zip", graph_export_csv, name="graph_export_csv"),
    path("graph/<slug:code>/case.json", graph_export_case, name="graph_export_case"),
    path("<int:pk>/tags/", graph_tags, name="graph_tags"),
    path("<int:pk>/tags/add/", graph_tag_add, name="graph_tag_add"),
    path("<int:pk>/tags/<int:kp>/remove/", graph_tag_remove, name="graph_tag_remove"),
]
