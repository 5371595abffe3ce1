"""The shapes passed between the readers, the rules and the engine.

Readers turn a file into ``RawRow``s (one per data row, cells keyed by header); rules turn a
``RawRow`` into a ``CleanRow`` with normalised values and ``Issue``s; the engine merges clean rows
into the registry and stores issues as ``Finding``s.

References to other records stay as the source's raw sourcedIds in ``CleanRow.refs`` (for
example ``{"org": "s1"}`` or ``{"terms": ["t1", "t2"]}``); the engine resolves them (and reports
``REF_*`` findings) because only it knows what the registry and the batch already hold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: The order in which a bundle's files are imported (dependencies first; OneRoster appendix A).
FILE_ORDER: tuple[str, ...] = (
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "demographics",
    "roles",
    "enrollments",
)


class BundleError(Exception):
    """The file as a whole cannot be imported (nothing is written). ``code`` is stable."""

    def __init__(
        self, code: str, message: str, *, file: str = "", row: int | None = None, column: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file
        self.row = row
        self.column = column


@dataclass(slots=True)
class Issue:
    """One rule's verdict on one cell or row. ``severity`` "error" rejects the row."""

    code: str
    column: str
    message: str
    dimension: str  # choices.Dimension value
    severity: str  # choices.Severity value
    value: str = ""  # the offending raw value (masked by the engine when the column is PII)


@dataclass(slots=True)
class RawRow:
    file: str  # "users.csv", or the sheet name of an XLSX template
    row: int  # line number in the file; the header is row 1, so the first data row is 2
    cells: dict[str, str]


@dataclass(slots=True)
class CleanRow:
    entity: str  # choices.EntityType value ("user" for users.csv and demographics.csv rows)
    file: str
    row: int
    sourced_id: str  # as the source sent it (the engine adds the source's prefix)
    values: dict[str, Any] = field(default_factory=dict)  # model field name -> normalised value
    refs: dict[str, Any] = field(default_factory=dict)  # reference name -> raw sourcedId(s)
    status: str | None = None  # delta only: "active" | "tobedeleted"
    date_last_modified: dt.datetime | None = None  # delta only
    issues: list[Issue] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return any(i.severity == "error" for i in self.issues)
