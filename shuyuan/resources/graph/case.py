"""1EdTech CASE 1.0 packages (``CFPackage``) of a subject's knowledge graph.

Export: one ``CFDocument`` per subject, a ``CFItem`` per knowledge point and a
``CFAssociation`` per edge (plus ``isChildOf`` from each item to the document, as CASE
frameworks list their top-level items):

============================  ==========================================================
CASE                          knowledge graph
============================  ==========================================================
``CFDocument.subject`` /      the subject's name; ``subjectURI[0].uri`` is
``subjectURI``                ``urn:shuyuan:subject:<code>`` (the import reads the code)
``CFItem.identifier``         ``KnowledgePoint.identifier`` (kept across export/import)
``fullStatement``             ``name``
``humanCodingScheme``         ``code``
``CFItemType``                ``Knowledge Point``
``educationLevel``            the grade (``["08"]``), or every grade of the stage when the
                              point has no grade (a junior point: ``["07", "08", "09"]``)
``conceptKeywords``           ``aliases``
``notes``                     ``description``
``precedes``                  a prerequisite edge: the origin precedes (must be learnt
                              before) the destination
``isRelatedTo``               a related-to edge
============================  ==========================================================

Import matches items by ``identifier`` (a known one updates that point, its code included), then
by ``humanCodingScheme`` (the stored point keeps its identifier), and creates the rest with the
package's identifier; it adds the ``precedes`` / ``isRelatedTo`` associations that are missing.
Other association types are counted as skipped; chapters are not part of CASE and stay as they
are. Like the CSV import it is all-or-nothing and reports every bad item.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.errors import FieldError, invalid

from ..choices import GRADE_STAGE, EdgeKind
from ..models import KnowledgeEdge, KnowledgePoint, Subject
from .csvio import MAX_BYTES, check_point_values
from .plan import EdgeSpec, ImportPlan, PointSpec

ITEM_TYPE = "Knowledge Point"
SUBJECT_URN = "urn:shuyuan:subject:"
ITEM_URN = "urn:uuid:"
#: Namespace of the identifiers derived for documents and associations (stable across exports).
NAMESPACE = uuid.UUID("6c1b1f8e-0f3c-4a55-9a0e-2f6f3f1d6c11")
ASSOCIATION_KIND: dict[str, str] = {
    "precedes": EdgeKind.PREREQUISITE,
    "isRelatedTo": EdgeKind.RELATED,
}
KIND_ASSOCIATION: dict[str, str] = {v: k for k, v in ASSOCIATION_KIND.items()}
STAGE_GRADES: dict[str, list[str]] = {}
for _grade, _stage in sorted(GRADE_STAGE.items()):
    STAGE_GRADES.setdefault(str(_stage), []).append(_grade)


def _stamp(value: dt.datetime | None = None) -> str:
    return (value or timezone.now()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def document_identifier(subject: Subject) -> str:
    return str(uuid.uuid5(NAMESPACE, f"subject:{subject.code}"))


def _link(title: str, identifier: str, uri: str) -> dict[str, str]:
    return {"title": title, "identifier": identifier, "uri": uri}


def export_package(
    subject: Subject,
    points: Iterable[KnowledgePoint],
    edges: Iterable[KnowledgeEdge],
    *,
    base_uri: str = "",
) -> dict[str, Any]:
    """The ``CFPackage`` (a JSON-ready dict) of ``subject``'s ``points`` and the ``edges``
    between them (select ``source`` and ``target``)."""
    now = _stamp()
    doc_id = document_identifier(subject)
    doc_uri = f"{base_uri}{ITEM_URN}{doc_id}"
    doc_link = _link(subject.name, doc_id, doc_uri)
    subject_link = _link(
        subject.name, str(uuid.uuid5(NAMESPACE, subject.code)), SUBJECT_URN + subject.code
    )
    items = []
    associations = []
    for point in points:
        item_id = str(point.identifier)
        uri = f"{base_uri}{ITEM_URN}{item_id}"
        item: dict[str, Any] = {
            "identifier": item_id,
            "uri": uri,
            "CFDocumentURI": doc_link,
            "fullStatement": point.name,
            "humanCodingScheme": point.code,
            "CFItemType": ITEM_TYPE,
            "educationLevel": [point.grade] if point.grade else STAGE_GRADES.get(point.stage, []),
            "language": "zh",
            "lastChangeDateTime": now,
        }
        if point.aliases:
            item["conceptKeywords"] = list(point.aliases)
        if point.description:
            item["notes"] = point.description
        items.append(item)
        child_id = str(uuid.uuid5(NAMESPACE, f"child:{item_id}"))
        associations.append(
            {
                "identifier": child_id,
                "uri": f"{base_uri}{ITEM_URN}{child_id}",
                "associationType": "isChildOf",
                "CFDocumentURI": doc_link,
                "originNodeURI": _link(point.name, item_id, uri),
                "destinationNodeURI": doc_link,
                "lastChangeDateTime": now,
            }
        )
    for edge in edges:
        origin, destination = edge.source, edge.target
        assoc_id = str(
            uuid.uuid5(NAMESPACE, f"edge:{origin.identifier}:{edge.kind}:{destination.identifier}")
        )
        associations.append(
            {
                "identifier": assoc_id,
                "uri": f"{base_uri}{ITEM_URN}{assoc_id}",
                "associationType": KIND_ASSOCIATION[edge.kind],
                "CFDocumentURI": doc_link,
                "originNodeURI": _link(
                    origin.name, str(origin.identifier), f"{base_uri}{ITEM_URN}{origin.identifier}"
                ),
                "destinationNodeURI": _link(
                    destination.name,
                    str(destination.identifier),
                    f"{base_uri}{ITEM_URN}{destination.identifier}",
                ),
                "lastChangeDateTime": now,
            }
        )
    return {
        "CFDocument": {
            "identifier": doc_id,
            "uri": doc_uri,
            "creator": "Shuyuan",
            "title": subject.name,
            "lastChangeDateTime": now,
            "language": "zh",
            "adoptionStatus": "Draft",
            "subject": [subject.name],
            "subjectURI": [subject_link],
            "CFPackageURI": doc_link,
        },
        "CFItems": items,
        "CFAssociations": associations,
    }


def dumps(package: dict[str, Any]) -> bytes:
    return json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")


def _error(field: str, code: str, reason: str) -> FieldError:
    return FieldError(field, code, f"{field}: {reason}")


def _subject_of(document: Any, plan: ImportPlan) -> Subject | None:
    subjects: dict[str, Subject] = {s.code: s for s in Subject.objects.all()}
    by_name = {s.name: s for s in subjects.values()}
    for link in document.get("subjectURI") or []:
        uri = str((link or {}).get("uri", "")) if isinstance(link, dict) else ""
        if uri.startswith(SUBJECT_URN) and uri[len(SUBJECT_URN) :] in subjects:
            return subjects[uri[len(SUBJECT_URN) :]]
    for name in document.get("subject") or []:
        if isinstance(name, str) and (name in by_name or name in subjects):
            return by_name.get(name) or subjects[name]
    plan.errors.append(
        _error(
            "CFDocument.subject",
            "UNKNOWN_SUBJECT",
            _("no known subject (give a subject name or code, or a subjectURI %(urn)s<code>)")
            % {"urn": SUBJECT_URN},
        )
    )
    return None


def _stage_and_grade(levels: Any) -> tuple[str, str] | None:
    if not isinstance(levels, list) or not levels:
        return None
    grades = [str(v).strip() for v in levels]
    grades = [f"0{g}" if g.isdigit() and len(g) == 1 else g for g in grades]
    stages = {GRADE_STAGE.get(g) for g in grades}
    if None in stages or len(stages) != 1:
        return None
    stage = str(stages.pop())
    return stage, grades[0] if len(grades) == 1 else ""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_package(data: bytes) -> ImportPlan:
    """Parse a ``CFPackage`` (UTF-8 JSON) into an import plan keyed by identifier."""
    if len(data) > MAX_BYTES:
        raise invalid("file", "FILE_TOO_LARGE", _("The file is too large."))
    try:
        package = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid("file", "CASE_INVALID", _("The file is not UTF-8 JSON.")) from exc
    if not isinstance(package, dict) or not isinstance(package.get("CFDocument"), dict):
        raise invalid(
            "file", "CASE_INVALID", _("A CASE package is a JSON object with a CFDocument.")
        )
    plan = ImportPlan(key="identifier")
    subject = _subject_of(package["CFDocument"], plan)
    items = package.get("CFItems") or []
    associations = package.get("CFAssociations") or []
    if not isinstance(items, list) or not isinstance(associations, list):
        raise invalid("file", "CASE_INVALID", _("CFItems and CFAssociations must be JSON arrays."))
    for n, item in enumerate(items):
        field = f"CFItems[{n}]"
        if not isinstance(item, dict):
            plan.errors.append(_error(field, "CASE_INVALID", _("an item is a JSON object")))
            continue
        errors: list[FieldError] = []
        try:
            identifier = uuid.UUID(str(item.get("identifier", "")))
        except ValueError:
            errors.append(_error(f"{field}.identifier", "INVALID_IDENTIFIER", _("not a UUID")))
            identifier = None
        level = _stage_and_grade(item.get("educationLevel"))
        if level is None:
            errors.append(
                _error(
                    f"{field}.educationLevel",
                    "INVALID_GRADE",
                    _("give one grade (01 to 12) or the grades of one stage"),
                )
            )
        stage, grade = level or ("", "")
        name = _text(item.get("fullStatement"))
        code = _text(item.get("humanCodingScheme"))
        aliases = [
            a.strip()
            for a in item.get("conceptKeywords") or []
            if isinstance(a, str) and a.strip() and a.strip() != name
        ]
        description = _text(item.get("notes"))
        if level is not None:
            errors.extend(
                check_point_values(
                    prefix="CFItems",
                    row=n,
                    code=code,
                    name=name,
                    stage=stage,
                    grade=grade,
                    aliases=aliases,
                    description=description,
                )
            )
        if errors or subject is None or identifier is None:
            plan.errors.extend(errors)
            continue
        plan.points.append(
            PointSpec(
                field=field,
                label=field,
                code=code,
                name=name,
                subject=subject,
                stage=stage,
                grade=grade,
                aliases=list(dict.fromkeys(aliases)),
                description=description,
                chapters=None,
                identifier=identifier,
            )
        )
    for n, assoc in enumerate(associations):
        field = f"CFAssociations[{n}]"
        if not isinstance(assoc, dict):
            plan.errors.append(_error(field, "CASE_INVALID", _("an association is a JSON object")))
            continue
        kind = ASSOCIATION_KIND.get(str(assoc.get("associationType", "")))
        if kind is None:
            plan.skipped += 1
            continue
        ends = []
        for end in ("originNodeURI", "destinationNodeURI"):
            link = assoc.get(end)
            ident = link.get("identifier") if isinstance(link, dict) else None
            try:
                ends.append(str(uuid.UUID(str(ident))))
            except ValueError:
                plan.errors.append(_error(f"{field}.{end}", "INVALID_IDENTIFIER", _("not a UUID")))
        if len(ends) == 2:
            plan.edges.append(
                EdgeSpec(field=field, label=field, source=ends[0], target=ends[1], kind=kind)
            )
    return plan
