"""Writes of the knowledge graph: knowledge points, edges, imports, and tagging resources.

Who may edit the graph is ``resources.permissions.can_edit_graph`` (the permission
``resources.edit_graph``; the graph models' ``change`` scope gives the same answer): platform
admins, region admins and resource reviewers. Everybody signed in may read it, so a student who
tries to edit gets ``PermissionDenied`` (403), not a 404. The system actor (commands, the seed)
may edit too. Tagging a resource needs ``change`` (the submitter, admins of its org) or
``review`` (its reviewers) on it; an invisible resource is a 404.

Prerequisite edges form a DAG. ``add_edge`` refuses an edge ``source → target`` when ``target``
already reaches ``source`` (``PREREQUISITE_CYCLE``, naming the path); imports check all their
edges together with the stored ones and name every cycle.

Concurrency: checking for a cycle and inserting the edge must not interleave with another
insert, or two edges that are each fine alone (``a → b`` while ``b → a`` is being added) could
both commit and close a cycle. A cycle may run through any subjects (prerequisites can cross
subjects), so locking the two end points or their subject is not enough: ``_lock_graph`` takes
a row lock on every ``Subject`` row (``SELECT … FOR UPDATE``, in pk order so writers never
deadlock) before the edges are read, and holds it to commit. A second writer waits there and
then reads the first one's committed edge (PostgreSQL's READ COMMITTED takes a new snapshot per
statement), so its re-check sees the cycle. On SQLite ``FOR UPDATE`` is a no-op, but the
settings open every transaction ``IMMEDIATE``, which already serialises writers. Graph edits
are rare, so serialising them costs nothing noticeable.

Audit codes: ``resources.graph.imported`` (an import, with its counts).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context
from shuyuan.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    invalid,
)
from shuyuan.core.scoping import has_permission

from .. import signals
from ..choices import GRADE_STAGE, GRADES, EdgeKind, Stage, TagSource
from ..graph import cycles
from ..graph.plan import EdgeSpec, ImportPlan, ImportSummary, PointSpec
from ..models import (
    Chapter,
    KnowledgeEdge,
    KnowledgePoint,
    Resource,
    ResourceTag,
    Subject,
    TextbookEdition,
)

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
NAME_MAX = 100
ALIAS_MAX = 100
ALIASES_MAX = 20
DESCRIPTION_MAX = 5000
GRADE_VALUES = frozenset(g for g, _label in GRADES)


# --- permission --------------------------------------------------------------------------------


def can_edit(actor: Any) -> bool:
    """True if ``actor`` may edit the graph (the system actor always may)."""
    if getattr(actor, "is_system_actor", False):
        return True
    return has_permission(actor, "resources.edit_graph")


def _require_editor(actor: Any) -> None:
    if not can_edit(actor):
        raise PermissionDenied(_("Only graph editors may change the knowledge graph."))


def _lock_graph() -> None:
    """Serialise graph writers (see the module docstring); call inside the transaction."""
    list(Subject.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


# --- knowledge points --------------------------------------------------------------------------


def _clean_point(
    *,
    code: str,
    name: str,
    stage: str,
    grade: str,
    aliases: Iterable[str],
    description: str,
) -> tuple[str, str, str, str, list[str], str]:
    code = (code or "").strip()
    name = (name or "").strip()
    stage = (stage or "").strip()
    grade = (grade or "").strip()
    if grade.isdigit() and len(grade) == 1:
        grade = f"0{grade}"
    clean_aliases = list(
        dict.fromkeys(a.strip() for a in aliases or [] if a and a.strip() and a.strip() != name)
    )
    description = (description or "").strip()
    errors: list[FieldError] = []
    if not CODE_RE.fullmatch(code):
        errors.append(
            FieldError(
                "code",
                "INVALID_CODE",
                _("A code has 1 to 64 letters, digits, hyphens or underscores."),
            )
        )
    if not name:
        errors.append(FieldError("name", "REQUIRED", _("This field is required.")))
    elif len(name) > NAME_MAX:
        errors.append(
            FieldError(
                "name",
                "TOO_LONG",
                _("At most %(limit)d characters are allowed.") % {"limit": NAME_MAX},
            )
        )
    if stage not in Stage.values:
        errors.append(FieldError("stage", "INVALID_STAGE", _("Choose a stage.")))
    if grade and grade not in GRADE_VALUES:
        errors.append(FieldError("grade", "INVALID_GRADE", _("A grade is 01 to 12.")))
    elif grade and stage in Stage.values and GRADE_STAGE[grade] != stage:
        errors.append(
            FieldError(
                "grade",
                "GRADE_NOT_IN_STAGE",
                _("Grade %(grade)s does not belong to the chosen stage.") % {"grade": grade},
            )
        )
    if len(clean_aliases) > ALIASES_MAX or any(len(a) > ALIAS_MAX for a in clean_aliases):
        errors.append(
            FieldError(
                "aliases",
                "TOO_LONG",
                _("At most %(n)d aliases of at most %(limit)d characters each.")
                % {"n": ALIASES_MAX, "limit": ALIAS_MAX},
            )
        )
    if len(description) > DESCRIPTION_MAX:
        errors.append(
            FieldError(
                "description",
                "TOO_LONG",
                _("At most %(limit)d characters are allowed.") % {"limit": DESCRIPTION_MAX},
            )
        )
    if errors:
        raise InvalidInput(errors[0].message, errors=errors)
    return code, name, stage, grade, clean_aliases, description


def _check_chapters(chapters: Sequence[Chapter] | None, subject: Subject) -> None:
    for chapter in chapters or []:
        if chapter.subject_id != subject.pk:
            raise invalid(
                "chapters",
                "CHAPTER_SUBJECT",
                _("Chapter %(chapter)s belongs to another subject.") % {"chapter": chapter},
            )


def _code_conflict() -> Conflict:
    return Conflict(
        _("Another knowledge point already has this code."), code="POINT_CODE_EXISTS", field="code"
    )


def create_point(
    *,
    actor: Any,
    code: str,
    name: str,
    subject: Subject | None,
    stage: str,
    grade: str = "",
    aliases: Iterable[str] = (),
    description: str = "",
    chapters: Sequence[Chapter] | None = None,
    source: str = "ui",
) -> KnowledgePoint:
    """Create a knowledge point. Raises ``PermissionDenied``, ``InvalidInput`` (naming each
    field) or ``Conflict`` ``POINT_CODE_EXISTS``."""
    _require_editor(actor)
    if subject is None:
        raise invalid("subject", "REQUIRED", _("Choose the subject."))
    code, name, stage, grade, aliases, description = _clean_point(
        code=code, name=name, stage=stage, grade=grade, aliases=aliases, description=description
    )
    _check_chapters(chapters, subject)
    if KnowledgePoint.objects.filter(code=code).exists():
        raise _code_conflict()
    point = KnowledgePoint(
        code=code,
        name=name,
        subject=subject,
        stage=stage,
        grade=grade,
        aliases=aliases,
        description=description,
    )
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            point.save(force_insert=True)
            if chapters:
                point.chapters.set(chapters)
    except IntegrityError as exc:
        raise _code_conflict() from exc
    return point


def update_point(
    *,
    actor: Any,
    point: KnowledgePoint,
    code: str | None = None,
    name: str | None = None,
    stage: str | None = None,
    grade: str | None = None,
    aliases: Iterable[str] | None = None,
    description: str | None = None,
    chapters: Sequence[Chapter] | None = None,
    source: str = "ui",
) -> KnowledgePoint:
    """Change a point's fields; ``None`` leaves a field as it is. The subject cannot change
    (its edges and tags were made for it): create a new point instead."""
    _require_editor(actor)
    code, name, stage, grade, clean_aliases, description = _clean_point(
        code=point.code if code is None else code,
        name=point.name if name is None else name,
        stage=point.stage if stage is None else stage,
        grade=point.grade if grade is None else grade,
        aliases=point.aliases if aliases is None else aliases,
        description=point.description if description is None else description,
    )
    _check_chapters(chapters, point.subject)
    if KnowledgePoint.objects.filter(code=code).exclude(pk=point.pk).exists():
        raise _code_conflict()
    point.code, point.name, point.stage, point.grade = code, name, stage, grade
    point.aliases, point.description = clean_aliases, description
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            point.save()
            if chapters is not None:
                point.chapters.set(chapters)
    except IntegrityError as exc:
        raise _code_conflict() from exc
    return point


def delete_point(*, actor: Any, point: KnowledgePoint, source: str = "ui") -> None:
    """Delete a point and its edges (each edge deletion is change-logged). A point that tags
    resources is refused (``POINT_IN_USE``): untag them first."""
    _require_editor(actor)
    with transaction.atomic(), change_context(actor=actor, source=source):
        _lock_graph()
        if ResourceTag.objects.filter(knowledge_point=point).exists():
            raise Conflict(
                _("Resources are tagged with this knowledge point; remove the tags first."),
                code="POINT_IN_USE",
            )
        for edge in KnowledgeEdge.objects.filter(Q(source=point) | Q(target=point)):
            edge.delete()
        point.chapters.clear()
        point.delete()


# --- edges -------------------------------------------------------------------------------------


def prerequisite_graph() -> dict[int, list[int]]:
    """``{source id: [target ids]}`` of every prerequisite edge (all subjects: they may cross)."""
    pairs = KnowledgeEdge.objects.filter(kind=EdgeKind.PREREQUISITE).values_list(
        "source_id", "target_id"
    )
    return cycles.adjacency(pairs)


def _names(ids: Iterable[int], extra: dict[int, str] | None = None) -> list[str]:
    ids = list(ids)
    names = dict(KnowledgePoint.objects.filter(pk__in=ids).values_list("pk", "name"))
    names.update(extra or {})
    return [names.get(i, f"#{i}") for i in ids]


def cycle_error(path_names: list[str], field: str = "target") -> InvalidInput:
    """The ``PREREQUISITE_CYCLE`` error naming the cycle ``a → b → … → a``."""
    path = " → ".join(path_names)
    return InvalidInput(
        _("This prerequisite would close a cycle: %(path)s.") % {"path": path},
        code="PREREQUISITE_CYCLE",
        field=field,
    )


def add_edge(
    *,
    actor: Any,
    source_point: KnowledgePoint,
    target_point: KnowledgePoint,
    kind: str,
    source: str = "ui",
) -> KnowledgeEdge:
    """Add ``source_point`` → ``target_point`` of ``kind``.

    A related-to edge is stored once, from the lower pk to the higher. Refused: a self edge
    (``SELF_EDGE``), an edge that exists (``EDGE_EXISTS``, 409), a prerequisite that closes a
    cycle (``PREREQUISITE_CYCLE``, naming the path). The check runs under the graph lock.
    """
    _require_editor(actor)
    if kind not in EdgeKind.values:
        raise invalid("kind", "INVALID_KIND", _("Choose prerequisite or related."))
    if source_point.pk == target_point.pk:
        raise invalid("target", "SELF_EDGE", _("A knowledge point cannot be linked to itself."))
    a, b = source_point, target_point
    if kind == EdgeKind.RELATED and a.pk > b.pk:
        a, b = b, a
    exists = Conflict(_("This edge already exists."), code="EDGE_EXISTS", field="target")
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            _lock_graph()
            if KnowledgeEdge.objects.filter(source=a, target=b, kind=kind).exists():
                raise exists
            if kind == EdgeKind.PREREQUISITE:
                path = cycles.cycle_if_added(prerequisite_graph(), a.pk, b.pk)
                if path is not None:
                    raise cycle_error(_names(path))
            edge = KnowledgeEdge(source=a, target=b, kind=kind)
            edge.save(force_insert=True)
    except IntegrityError as exc:
        raise exists from exc
    return edge


def remove_edge(*, actor: Any, edge: KnowledgeEdge, source: str = "ui") -> None:
    """Delete an edge."""
    _require_editor(actor)
    with transaction.atomic(), change_context(actor=actor, source=source):
        edge.delete()


# --- vocabularies: subjects, editions, chapters ------------------------------------------------


def _upsert(model: Any, lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, bool]:
    row = model.objects.filter(**lookup).first()
    if row is None:
        row = model(**lookup, **values)
        row.save(force_insert=True)
        return row, True
    changed = [
        k
        for k, v in values.items()
        if getattr(row, k if not hasattr(v, "pk") else f"{k}_id")
        != (v.pk if hasattr(v, "pk") else v)
    ]
    if changed:
        for k, v in values.items():
            setattr(row, k, v)
        row.save()
    return row, False


def load_vocabulary(
    *,
    actor: Any,
    subjects: Iterable[dict[str, str]] = (),
    editions: Iterable[dict[str, str]] = (),
    chapters: Iterable[dict[str, str]] = (),
    source: str = "cli",
) -> dict[str, int]:
    """Create or update subjects (``code, name, order``), editions (``code, name,
    publisher``) and chapters (``code, edition, subject, grade, title, order, parent``) from
    rows (e.g. the seed CSVs); all or nothing. Returns how many rows were created per kind."""
    _require_editor(actor)
    created = {"subjects": 0, "editions": 0, "chapters": 0}
    errors: list[FieldError] = []
    with transaction.atomic(), change_context(actor=actor, source=source):
        for n, row in enumerate(subjects, start=2):
            if not CODE_RE.fullmatch(row.get("code", "")) or not row.get("name"):
                errors.append(
                    FieldError(
                        f"subjects[{n}]",
                        "INVALID_ROW",
                        _("Row %(row)d: a code and a name are required.") % {"row": n},
                    )
                )
                continue
            _row, new = _upsert(
                Subject,
                {"code": row["code"]},
                {"name": row["name"], "order": int(row.get("order") or 0)},
            )
            created["subjects"] += new
        for n, row in enumerate(editions, start=2):
            if not CODE_RE.fullmatch(row.get("code", "")) or not row.get("name"):
                errors.append(
                    FieldError(
                        f"editions[{n}]",
                        "INVALID_ROW",
                        _("Row %(row)d: a code and a name are required.") % {"row": n},
                    )
                )
                continue
            _row, new = _upsert(
                TextbookEdition,
                {"code": row["code"]},
                {"name": row["name"], "publisher": row.get("publisher", "")},
            )
            created["editions"] += new
        subject_map = {s.code: s for s in Subject.objects.all()}
        edition_map = {e.code: e for e in TextbookEdition.objects.all()}
        for n, row in enumerate(chapters, start=2):
            subject = subject_map.get(row.get("subject", ""))
            edition = edition_map.get(row.get("edition", ""))
            grade = row.get("grade", "")
            parent = (
                Chapter.objects.filter(code=row["parent"]).first() if row.get("parent") else None
            )
            if (
                subject is None
                or edition is None
                or grade not in GRADE_VALUES
                or not CODE_RE.fullmatch(row.get("code", ""))
                or not row.get("title")
                or (row.get("parent") and parent is None)
            ):
                errors.append(
                    FieldError(
                        f"chapters[{n}]",
                        "INVALID_ROW",
                        _(
                            "Row %(row)d: needs a code, a title, a known edition, subject, "
                            "grade and parent."
                        )
                        % {"row": n},
                    )
                )
                continue
            _row, new = _upsert(
                Chapter,
                {"code": row["code"]},
                {
                    "edition": edition,
                    "subject": subject,
                    "grade": grade,
                    "title": row["title"],
                    "order": int(row.get("order") or 0),
                    "parent": parent,
                },
            )
            created["chapters"] += new
        if errors:
            raise InvalidInput(errors[0].message, errors=errors)
    return created


# --- imports -----------------------------------------------------------------------------------


def _point_changed(point: KnowledgePoint, spec: PointSpec) -> bool:
    return (
        point.code != spec.code
        or point.name != spec.name
        or point.stage != spec.stage
        or point.grade != spec.grade
        or list(point.aliases or []) != spec.aliases
        or point.description != spec.description
    )


def _plan_key(plan: ImportPlan, spec: PointSpec) -> str:
    return str(spec.identifier) if plan.key == "identifier" else spec.code


def _order(node: Any) -> tuple[int, str]:
    """Sort key of a node that is a stored pk or a ``("new", key)`` pair."""
    return (0, f"{node:020d}") if isinstance(node, int) else (1, str(node[1]))


def apply_import(*, actor: Any, plan: ImportPlan, source: str = "import") -> ImportSummary:
    """Check ``plan`` against the stored graph and write it, all or nothing.

    Checked besides what the parser found: codes and identifiers used twice in the file, a code
    that belongs to another stored point, a stored point of another subject, edges to unknown
    points, self edges, duplicate edges in the file, and every prerequisite cycle among the
    stored and the imported edges (each named). Any problem raises ``InvalidInput`` listing them
    all and nothing is stored.
    """
    _require_editor(actor)
    errors = list(plan.errors)
    summary = ImportSummary(skipped=plan.skipped)
    with transaction.atomic(), change_context(actor=actor, source=source):
        _lock_graph()
        # Points: match stored ones and find clashes.
        by_code = {
            p.code: p for p in KnowledgePoint.objects.filter(code__in=[s.code for s in plan.points])
        }
        by_ident = {
            p.identifier: p
            for p in KnowledgePoint.objects.filter(
                identifier__in=[s.identifier for s in plan.points if s.identifier]
            )
        }
        seen_codes: dict[str, PointSpec] = {}
        seen_idents: dict[uuid.UUID, PointSpec] = {}
        matches: list[tuple[PointSpec, KnowledgePoint | None]] = []
        for spec in plan.points:
            problem = None
            if spec.code in seen_codes:
                problem = (
                    "code",
                    "DUPLICATE_CODE",
                    _("code %(code)s is used again (first in %(first)s)")
                    % {"code": spec.code, "first": seen_codes[spec.code].label},
                )
            elif spec.identifier and spec.identifier in seen_idents:
                problem = (
                    "identifier",
                    "DUPLICATE_IDENTIFIER",
                    _("identifier %(id)s is used again (first in %(first)s)")
                    % {"id": spec.identifier, "first": seen_idents[spec.identifier].label},
                )
            seen_codes.setdefault(spec.code, spec)
            if spec.identifier:
                seen_idents.setdefault(spec.identifier, spec)
            stored = by_ident.get(spec.identifier) if spec.identifier else None
            if stored is None:
                stored = by_code.get(spec.code)
            elif spec.code in by_code and by_code[spec.code].pk != stored.pk and problem is None:
                problem = (
                    "code",
                    "POINT_CODE_EXISTS",
                    _("code %(code)s belongs to another knowledge point") % {"code": spec.code},
                )
            if stored is not None and stored.subject_id != spec.subject.pk and problem is None:
                problem = (
                    "subject",
                    "SUBJECT_MISMATCH",
                    _("knowledge point %(code)s is stored under another subject")
                    % {"code": stored.code},
                )
            if problem is not None:
                column, code, reason = problem
                errors.append(FieldError(f"{spec.field}.{column}", code, f"{spec.label}: {reason}"))
            matches.append((spec, stored))
        # Edges: resolve ends to stored points or to points of this file.
        key_to_spec = {_plan_key(plan, s): s for s in plan.points}
        stored_keys = [
            e for edge in plan.edges for e in (edge.source, edge.target) if e not in key_to_spec
        ]
        if plan.key == "identifier":
            valid = []
            for k in stored_keys:
                try:
                    valid.append(uuid.UUID(k))
                except ValueError:
                    continue
            stored_by_key = {
                str(p.identifier): p for p in KnowledgePoint.objects.filter(identifier__in=valid)
            }
        else:
            stored_by_key = {p.code: p for p in KnowledgePoint.objects.filter(code__in=stored_keys)}
        # Node ids: stored pks, or ("new", key) for points this file creates.
        spec_node: dict[str, Any] = {}
        node_names: dict[Any, str] = {}
        for spec, stored in matches:
            k = _plan_key(plan, spec)
            spec_node[k] = stored.pk if stored is not None else ("new", k)
            node_names[spec_node[k]] = spec.name
        resolved: list[tuple[EdgeSpec, Any, Any]] = []
        for edge in plan.edges:
            ends = []
            for column, key in (("source", edge.source), ("target", edge.target)):
                if key in spec_node:
                    ends.append(spec_node[key])
                elif key in stored_by_key:
                    ends.append(stored_by_key[key].pk)
                    node_names[stored_by_key[key].pk] = stored_by_key[key].name
                else:
                    errors.append(
                        FieldError(
                            f"{edge.field}.{column}",
                            "UNKNOWN_POINT",
                            _("%(where)s: no knowledge point %(key)s")
                            % {"where": edge.label, "key": key},
                        )
                    )
            if len(ends) != 2:
                continue
            if ends[0] == ends[1]:
                errors.append(
                    FieldError(
                        f"{edge.field}.target",
                        "SELF_EDGE",
                        _("%(where)s: a knowledge point cannot be linked to itself")
                        % {"where": edge.label},
                    )
                )
                continue
            resolved.append((edge, ends[0], ends[1]))
        stored_edges = set(KnowledgeEdge.objects.values_list("source_id", "target_id", "kind"))
        file_edges: dict[tuple[Any, Any, str], EdgeSpec] = {}
        new_edges: list[tuple[EdgeSpec, Any, Any]] = []
        for edge, a, b in resolved:
            if edge.kind == EdgeKind.RELATED and _order(a) > _order(b):
                a, b = b, a
            triple = (a, b, edge.kind)
            if triple in file_edges:
                errors.append(
                    FieldError(
                        f"{edge.field}.target",
                        "DUPLICATE_EDGE",
                        _("%(where)s: the same edge as %(first)s")
                        % {"where": edge.label, "first": file_edges[triple].label},
                    )
                )
                continue
            file_edges[triple] = edge
            if triple in stored_edges:
                summary.edges_existing += 1
                continue
            new_edges.append((edge, a, b))
        # Cycles among stored and new prerequisite edges.
        graph: dict[Any, list[Any]] = prerequisite_graph()
        edge_of: dict[tuple[Any, Any], EdgeSpec] = {}
        for edge, a, b in new_edges:
            if edge.kind == EdgeKind.PREREQUISITE:
                graph.setdefault(a, []).append(b)
                edge_of[(a, b)] = edge
        for cycle in cycles.find_cycles(graph):
            names = [node_names.get(n) or _names([n])[0] for n in cycle]
            rows = [edge_of[(x, y)] for x, y in itertools.pairwise(cycle) if (x, y) in edge_of]
            first = rows[0] if rows else None
            errors.append(
                FieldError(
                    f"{first.field}.target" if first else "edges",
                    "PREREQUISITE_CYCLE",
                    _("%(where)s: prerequisite cycle %(path)s")
                    % {
                        "where": ", ".join(r.label for r in rows) or _("stored edges"),
                        "path": " → ".join(names),
                    },
                )
            )
        if errors:
            raise InvalidInput(
                _("The import was refused: %(n)d problem(s); nothing was stored.")
                % {"n": len(errors)},
                errors=errors,
            )
        # Write.
        created_pk: dict[Any, int] = {}
        for spec, stored in matches:
            k = _plan_key(plan, spec)
            if stored is None:
                point = KnowledgePoint(
                    code=spec.code,
                    name=spec.name,
                    subject=spec.subject,
                    stage=spec.stage,
                    grade=spec.grade,
                    aliases=spec.aliases,
                    description=spec.description,
                )
                if spec.identifier:
                    point.identifier = spec.identifier
                point.save(force_insert=True)
                created_pk[("new", k)] = point.pk
                summary.points_created += 1
            else:
                point = stored
                chapters_changed = spec.chapters is not None and {
                    c.pk for c in spec.chapters
                } != set(point.chapters.values_list("pk", flat=True))
                if _point_changed(point, spec):
                    point.code, point.name = spec.code, spec.name
                    point.stage, point.grade = spec.stage, spec.grade
                    point.aliases, point.description = spec.aliases, spec.description
                    point.save()
                    summary.points_updated += 1
                elif chapters_changed:
                    summary.points_updated += 1
                else:
                    summary.points_unchanged += 1
                if not chapters_changed:
                    continue
            if spec.chapters is not None:
                point.chapters.set(spec.chapters)
        for edge, a, b in new_edges:
            src = created_pk.get(a, a)
            dst = created_pk.get(b, b)
            if edge.kind == EdgeKind.RELATED and src > dst:
                src, dst = dst, src
            KnowledgeEdge(source_id=src, target_id=dst, kind=edge.kind).save(force_insert=True)
            summary.edges_created += 1
        record_audit(
            "resources.graph.imported", actor=actor, subject_repr=plan.key, extra=summary.as_dict()
        )
    return summary


# --- tagging -----------------------------------------------------------------------------------


def taggable_resources(actor: Any) -> Any:
    """Resources ``actor`` may tag: those they may change or review."""
    return Resource.objects.visible_to(actor, "change") | Resource.objects.visible_to(
        actor, "review"
    )


def _check_taggable(actor: Any, resource: Resource) -> None:
    if taggable_resources(actor).filter(pk=resource.pk).exists():
        return
    if Resource.objects.visible_to(actor).filter(pk=resource.pk).exists():
        raise PermissionDenied(_("You may not tag this resource."))
    raise NotFound(_("No such resource."))


def tag_resource(
    *,
    actor: Any,
    resource: Resource,
    knowledge_point: KnowledgePoint,
    source: str = "manual",
    score: float | None = None,
    change_source: str = "ui",
) -> ResourceTag:
    """Tag ``resource`` with ``knowledge_point`` (``source``: ``manual`` or ``suggested`` with
    the suggestion's ``score``). Tagging twice is a 409 ``TAG_EXISTS``. Search is told through
    ``signals.resource_changed``."""
    _check_taggable(actor, resource)
    if source not in TagSource.values:
        raise invalid("source", "INVALID_CHOICE", _("Choose manual or suggested."))
    if score is not None and not 0.0 <= float(score) <= 1.0:
        raise invalid("score", "OUT_OF_RANGE", _("A score is between 0 and 1."))
    exists = Conflict(
        _("The resource is already tagged with this knowledge point."),
        code="TAG_EXISTS",
        field="knowledge_point",
    )
    if ResourceTag.objects.filter(resource=resource, knowledge_point=knowledge_point).exists():
        raise exists
    tag = ResourceTag(
        resource=resource,
        knowledge_point=knowledge_point,
        source=source,
        score=None if score is None else round(float(score), 4),
        created_by=actor,
    )
    try:
        with transaction.atomic(), change_context(actor=actor, source=change_source):
            tag.save(force_insert=True)
            signals.resource_changed.send(sender=Resource, resource_id=resource.pk)
    except IntegrityError as exc:
        raise exists from exc
    return tag


def untag_resource(
    *, actor: Any, resource: Resource, knowledge_point: KnowledgePoint, change_source: str = "ui"
) -> None:
    """Remove the tag of ``knowledge_point`` from ``resource`` (a missing tag is a 404)."""
    _check_taggable(actor, resource)
    tag = ResourceTag.objects.filter(resource=resource, knowledge_point=knowledge_point).first()
    if tag is None:
        raise NotFound(_("The resource is not tagged with this knowledge point."))
    with transaction.atomic(), change_context(actor=actor, source=change_source):
        tag.delete()
        signals.resource_changed.send(sender=Resource, resource_id=resource.pk)
