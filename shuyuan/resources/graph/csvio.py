"""The knowledge graph's CSV format: two files, knowledge points and edges.

``points.csv`` (one row per knowledge point; the header names the columns, in any order)::

    code,name,aliases,subject,stage,grade,description,chapters

- ``code``: the point's stable code (letters, digits, ``-`` and ``_``; at most 64), unique;
- ``name``: its name (at most 100 characters); ``aliases``: other names, ``|``-separated;
- ``subject``: a subject code (``math``, ``physics``...); ``stage``: ``primary``, ``junior``,
  ``senior`` or ``vocational``; ``grade``: empty or ``01``..``12`` (``7`` is read as ``07``),
  which must belong to the stage;
- ``description``: free text; ``chapters``: chapter codes, ``|``-separated. An empty cell
  clears the point's chapters; a file without the ``chapters`` column leaves them alone.

``edges.csv``::

    source,target,kind

``kind`` is ``prerequisite`` (``source`` must be learnt before ``target``) or ``related``
(symmetric; stored once). ``source`` and ``target`` are point codes, of this file set or
already stored.

Both files are UTF-8 (with or without a BOM) or, failing that, GB 18030 (what Excel in a Chinese
locale saves). Row numbers in errors are the file's line numbers (the header is row 1). An import
is all-or-nothing: points are created or updated by code and edges added when missing (nothing is
deleted, so loading the same files twice changes nothing); any bad row, unknown code, duplicate or
prerequisite cycle stores nothing and reports every problem. A zip holding ``points.csv`` and/or
``edges.csv`` is accepted too, and is what the export writes.

Cells that start with ``=``, ``+``, ``-`` or ``@`` are written with a leading apostrophe so a
spreadsheet does not run them as formulas; the reader removes it again.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from shuyuan.core.errors import FieldError, InvalidInput, invalid

from ..choices import GRADE_STAGE, GRADES, EdgeKind, Stage
from ..models import Chapter, KnowledgeEdge, KnowledgePoint, Subject
from .plan import EdgeSpec, ImportPlan, PointSpec

POINT_COLUMNS = ("code", "name", "aliases", "subject", "stage", "grade", "description", "chapters")
POINT_REQUIRED = ("code", "name", "subject", "stage")
EDGE_COLUMNS = ("source", "target", "kind")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
NAME_MAX = 100
DESCRIPTION_MAX = 5000
ALIAS_MAX = 100
MAX_ROWS = 50_000
MAX_BYTES = 20 * 1024 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@")
GRADE_VALUES = frozenset(g for g, _label in GRADES)


def decode(data: bytes, file_label: str) -> str:
    """``data`` as text: UTF-8 (BOM stripped), else GB 18030, else ``ENCODING_INVALID``."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise invalid(
        file_label,
        "ENCODING_INVALID",
        _("%(file)s is neither UTF-8 nor GB 18030 text.") % {"file": file_label},
    )


def _unescape(value: str) -> str:
    value = value.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _escape(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def read_table(
    data: bytes, file_label: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and ``(line number, {column: value})`` rows of one CSV file; a missing
    required column, an unknown column or a file that is not CSV raises ``InvalidInput``."""
    if len(data) > MAX_BYTES:
        raise invalid(file_label, "FILE_TOO_LARGE", _("The file is too large."))
    text = decode(data, file_label)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise invalid(file_label, "CSV_INVALID", str(exc)) from exc
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h not in columns]
    problems = []
    if missing:
        problems.append(
            FieldError(
                file_label,
                "COLUMN_MISSING",
                _("%(file)s lacks the column(s): %(columns)s.")
                % {"file": file_label, "columns": ", ".join(missing)},
            )
        )
    if unknown:
        problems.append(
            FieldError(
                file_label,
                "COLUMN_UNKNOWN",
                _("%(file)s has unknown column(s): %(columns)s (expected %(expected)s).")
                % {
                    "file": file_label,
                    "columns": ", ".join(unknown),
                    "expected": ", ".join(columns),
                },
            )
        )
    if problems:
        raise InvalidInput(problems[0].message, errors=problems)
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise invalid(
                    file_label,
                    "TOO_MANY_ROWS",
                    _("A file may hold at most %(n)d rows.") % {"n": MAX_ROWS},
                )
            cells = cells + [""] * (len(header) - len(cells))
            row = {h: _unescape(c) for h, c in zip(header, cells, strict=False)}
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                row["__extra__"] = "1"
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise invalid(
            file_label,
            "CSV_INVALID",
            _("%(file)s, row %(row)d: %(reason)s")
            % {"file": file_label, "row": reader.line_num, "reason": str(exc)},
        ) from exc
    return header, rows


def row_error(prefix: str, row: int, column: str, code: str, reason: str) -> FieldError:
    """An error about one cell: ``points[5].grade`` with "Row 5, column grade: ..."."""
    return FieldError(
        f"{prefix}[{row}].{column}",
        code,
        _("%(file)s row %(row)d, column %(column)s: %(reason)s")
        % {"file": prefix, "row": row, "column": column, "reason": reason},
    )


def split_list(value: str) -> list[str]:
    """``a|b| c`` → ``["a", "b", "c"]`` (empties and repeats dropped, order kept)."""
    return list(dict.fromkeys(v.strip() for v in value.split("|") if v.strip()))


def normalise_grade(value: str) -> str:
    value = value.strip()
    if value.isdigit() and len(value) == 1:
        return f"0{value}"
    return value


def check_point_values(
    *,
    prefix: str,
    row: int,
    code: str,
    name: str,
    stage: str,
    grade: str,
    aliases: list[str],
    description: str,
) -> list[FieldError]:
    """Errors of a point's own values (shared with the CASE reader)."""
    errors: list[FieldError] = []
    if not CODE_RE.fullmatch(code):
        errors.append(
            row_error(
                prefix,
                row,
                "code",
                "INVALID_CODE",
                _("a code has 1 to 64 letters, digits, hyphens or underscores"),
            )
        )
    if not name:
        errors.append(row_error(prefix, row, "name", "REQUIRED", _("the name is required")))
    elif len(name) > NAME_MAX:
        errors.append(
            row_error(
                prefix, row, "name", "TOO_LONG", _("at most %(n)d characters") % {"n": NAME_MAX}
            )
        )
    if stage not in Stage.values:
        errors.append(
            row_error(
                prefix,
                row,
                "stage",
                "INVALID_STAGE",
                _("unknown stage %(value)r (use %(choices)s)")
                % {"value": stage, "choices": ", ".join(Stage.values)},
            )
        )
    if grade and grade not in GRADE_VALUES:
        errors.append(
            row_error(
                prefix,
                row,
                "grade",
                "INVALID_GRADE",
                _("unknown grade %(value)r (use 01 to 12)") % {"value": grade},
            )
        )
    elif grade and stage in Stage.values and GRADE_STAGE.get(grade, stage) != stage:
        errors.append(
            row_error(
                prefix,
                row,
                "grade",
                "GRADE_NOT_IN_STAGE",
                _("grade %(grade)s does not belong to stage %(stage)s")
                % {"grade": grade, "stage": stage},
            )
        )
    if any(len(a) > ALIAS_MAX for a in aliases):
        errors.append(
            row_error(
                prefix,
                row,
                "aliases",
                "TOO_LONG",
                _("an alias has at most %(n)d characters") % {"n": ALIAS_MAX},
            )
        )
    if len(description) > DESCRIPTION_MAX:
        errors.append(
            row_error(
                prefix,
                row,
                "description",
                "TOO_LONG",
                _("at most %(n)d characters") % {"n": DESCRIPTION_MAX},
            )
        )
    return errors


def parse_points(data: bytes, plan: ImportPlan) -> None:
    """Read ``points.csv`` into ``plan`` (points and row errors)."""
    header, rows = read_table(data, "points", POINT_COLUMNS, POINT_REQUIRED)
    subjects = {s.code: s for s in Subject.objects.all()}
    chapter_codes: set[str] = set()
    for _row, values in rows:
        chapter_codes.update(split_list(values.get("chapters", "")))
    chapters = {c.code: c for c in Chapter.objects.filter(code__in=chapter_codes)}
    for row, values in rows:
        code = values.get("code", "")
        name = values.get("name", "")
        aliases = [a for a in split_list(values.get("aliases", "")) if a != name]
        stage = values.get("stage", "").lower()
        grade = normalise_grade(values.get("grade", ""))
        description = values.get("description", "")
        errors = check_point_values(
            prefix="points",
            row=row,
            code=code,
            name=name,
            stage=stage,
            grade=grade,
            aliases=aliases,
            description=description,
        )
        if values.get("__extra__"):
            errors.append(
                row_error(
                    "points", row, "*", "ROW_SHAPE", _("the row has more cells than the header")
                )
            )
        subject = subjects.get(values.get("subject", ""))
        if subject is None:
            errors.append(
                row_error(
                    "points",
                    row,
                    "subject",
                    "UNKNOWN_SUBJECT",
                    _("unknown subject code %(value)r") % {"value": values.get("subject", "")},
                )
            )
        chosen: list[Chapter] | None = None
        if "chapters" in header:
            chosen = []
            for chapter_code in split_list(values.get("chapters", "")):
                chapter = chapters.get(chapter_code)
                if chapter is None:
                    errors.append(
                        row_error(
                            "points",
                            row,
                            "chapters",
                            "UNKNOWN_CHAPTER",
                            _("unknown chapter code %(value)r") % {"value": chapter_code},
                        )
                    )
                elif subject is not None and chapter.subject_id != subject.pk:
                    errors.append(
                        row_error(
                            "points",
                            row,
                            "chapters",
                            "CHAPTER_SUBJECT",
                            _("chapter %(value)s belongs to another subject")
                            % {"value": chapter_code},
                        )
                    )
                else:
                    chosen.append(chapter)
        if errors or subject is None:
            plan.errors.extend(errors)
            continue
        plan.points.append(
            PointSpec(
                field=f"points[{row}]",
                label=_("points row %(row)d") % {"row": row},
                code=code,
                name=name,
                subject=subject,
                stage=stage,
                grade=grade,
                aliases=aliases,
                description=description,
                chapters=chosen,
            )
        )


def parse_edges(data: bytes, plan: ImportPlan) -> None:
    """Read ``edges.csv`` into ``plan`` (edges and row errors)."""
    _header, rows = read_table(data, "edges", EDGE_COLUMNS, EDGE_COLUMNS)
    for row, values in rows:
        errors = [
            row_error("edges", row, column, "REQUIRED", _("a point code is required"))
            for column in ("source", "target")
            if not values.get(column)
        ]
        kind = values.get("kind", "").lower()
        if kind not in EdgeKind.values:
            errors.append(
                row_error(
                    "edges",
                    row,
                    "kind",
                    "INVALID_KIND",
                    _("unknown kind %(value)r (use %(choices)s)")
                    % {"value": kind, "choices": ", ".join(EdgeKind.values)},
                )
            )
        if errors:
            plan.errors.extend(errors)
            continue
        plan.edges.append(
            EdgeSpec(
                field=f"edges[{row}]",
                label=_("edges row %(row)d") % {"row": row},
                source=values["source"],
                target=values["target"],
                kind=kind,
            )
        )


def read_bundle(
    *, points: bytes | None = None, edges: bytes | None = None, bundle: bytes | None = None
) -> ImportPlan:
    """Parse the files of a CSV import: ``points`` and/or ``edges``, or a zip ``bundle``
    holding ``points.csv`` and/or ``edges.csv``."""
    if bundle is not None:
        points, edges = unzip(bundle)
    if points is None and edges is None:
        raise invalid("file", "REQUIRED", _("Upload a points file, an edges file or both."))
    plan = ImportPlan(key="code")
    if points is not None:
        parse_points(points, plan)
    if edges is not None:
        parse_edges(edges, plan)
    return plan


def unzip(data: bytes) -> tuple[bytes | None, bytes | None]:
    """``points.csv`` and ``edges.csv`` of a zip (either may be missing, not both)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise invalid("file", "ZIP_INVALID", _("The file is not a zip archive.")) from exc
    found: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist():
            base = info.filename.rsplit("/", 1)[-1].lower()
            if base not in {"points.csv", "edges.csv"}:
                continue
            if info.file_size > MAX_BYTES:
                raise invalid("file", "FILE_TOO_LARGE", _("The file is too large."))
            found[base] = archive.read(info)
    if not found:
        raise invalid("file", "ZIP_EMPTY", _("The zip holds neither points.csv nor edges.csv."))
    return found.get("points.csv"), found.get("edges.csv")


# --- export ------------------------------------------------------------------------------------


def _csv_bytes(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([_escape(str(v)) for v in row])
    # A BOM so Excel opens the UTF-8 file with the right encoding.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def points_csv(points: Iterable[KnowledgePoint]) -> bytes:
    """``points.csv`` of ``points`` (prefetch ``chapters`` and select ``subject``)."""
    rows = (
        (
            p.code,
            p.name,
            "|".join(p.aliases or []),
            p.subject.code,
            p.stage,
            p.grade,
            p.description,
            "|".join(sorted(c.code for c in p.chapters.all())),
        )
        for p in points
    )
    return _csv_bytes(POINT_COLUMNS, rows)


def edges_csv(edges: Iterable[KnowledgeEdge]) -> bytes:
    """``edges.csv`` of ``edges`` (select ``source`` and ``target``)."""
    return _csv_bytes(EDGE_COLUMNS, ((e.source.code, e.target.code, e.kind) for e in edges))


def bundle_zip(points: bytes, edges: bytes) -> bytes:
    """The export zip: ``points.csv`` and ``edges.csv``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("points.csv", points)
        archive.writestr("edges.csv", edges)
    return out.getvalue()
