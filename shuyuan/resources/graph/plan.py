"""What an import wants to write, parsed from a file but not yet checked against the database.

``csvio`` and ``case`` turn a file into ``PointSpec``s and ``EdgeSpec``s plus ``FieldError``s
for the rows they could not read; ``actions.graph.apply_import`` checks the rest (unknown codes,
duplicates, cycles) and writes everything or nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from shuyuan.core.errors import FieldError

from ..models import Chapter, Subject


@dataclass
class PointSpec:
    """One knowledge point to create or update. ``field`` prefixes error fields
    (``points[5]``); ``chapters`` None leaves the point's chapters as they are."""

    field: str
    label: str
    code: str
    name: str
    subject: Subject
    stage: str
    grade: str = ""
    aliases: list[str] = dataclasses.field(default_factory=list)
    description: str = ""
    chapters: list[Chapter] | None = None
    identifier: uuid.UUID | None = None


@dataclass
class EdgeSpec:
    """One edge to add; ``source`` and ``target`` are point codes (CSV) or CASE identifiers."""

    field: str
    label: str
    source: str
    target: str
    kind: str


@dataclass
class ImportPlan:
    """Everything one file asks for, and the rows that could not be read."""

    points: list[PointSpec] = dataclasses.field(default_factory=list)
    edges: list[EdgeSpec] = dataclasses.field(default_factory=list)
    errors: list[FieldError] = dataclasses.field(default_factory=list)
    #: ``code`` for CSV files, ``identifier`` for CASE packages.
    key: str = "code"
    #: Associations of a CASE package the graph does not model (``isChildOf``, ``exemplar``...).
    skipped: int = 0


@dataclass
class ImportSummary:
    """What an import did."""

    points_created: int = 0
    points_updated: int = 0
    points_unchanged: int = 0
    edges_created: int = 0
    edges_existing: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)
