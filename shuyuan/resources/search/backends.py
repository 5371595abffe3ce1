"""Database-specific search (one module for this concern, STYLE.md): one interface, two engines.

``SearchBackend`` stores ``SearchDocument`` rows and answers queries made of
``tokenize.Clause`` objects. ``backend()`` picks the engine by ``connection.vendor``:

* ``SqliteBackend``: FTS5 table ``resources_search_fts`` (external content, kept in step by
  triggers, see migration ``0002_search``); ``bm25()`` with column weights.
* ``PostgresBackend``: generated ``tsvector`` column with a GIN index; ``ts_rank_cd`` with
  weights per field.

Filters are index terms (``facet_tokens``: ``s<subject id>``, ``st<stage>``, ``g<grade>``,
``t<type>``, ``k<knowledge point id>``) stored in the document's ``facets``: on SQLite a column
of the FTS5 table, on PostgreSQL the ``facet_vector`` column that shares the GIN index with
``search_vector``. Either way the database intersects the filter terms with the text terms
inside the full-text index instead of checking rows one by one.

Ranking: the newest ``CANDIDATES`` matching documents (after the filters) are scored as
text score × ``boost`` (quality and use, stored on the document) × ``EXACT_BONUS`` when the
document is tagged with a knowledge point whose whole name (or alias) is the query or one of
its words (``tokenize.exact_terms``; the documents' exact terms are stored with the filter
terms), so 勾股定理 ranks the resources of that point above those of 勾股定理的逆定理. The cost of
a query is bounded whatever the number of matches; ``total`` is then at most ``CANDIDATES``
and ``exact`` tells whether it is the true count (the same cap applies to counting the
documents of an empty query). Queries are built only from quoted tokens
(``tokenize.parse_query``), never from the user's text, so no input reaches the query
language of either database unescaped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from ..models.search import SearchDocument
from .tokenize import Clause

#: Most matching documents that are ranked (and counted) per query.
CANDIDATES = 2000
#: Multiplier of the score of a document tagged with a knowledge point named as the query.
EXACT_BONUS = 2.0
#: bm25 weights of the FTS5 columns (title, body, pinyin, knowledge points, filter tokens).
SQLITE_WEIGHTS = (10.0, 1.0, 4.0, 6.0, 0.0)
#: The FTS5 columns free text is matched in (never the filter tokens).
TEXT_COLUMNS = "{title_tokens body_tokens pinyin kp_tokens}"
#: ts_rank_cd weights {D body, C pinyin, B knowledge points, A title}.
POSTGRES_WEIGHTS = "{0.1, 0.4, 0.6, 1.0}"

DOC_TABLE = SearchDocument._meta.db_table
FTS_TABLE = "resources_search_fts"
TAG_TABLE = "resources_resourcetag"
ANALYZED_TABLES = (
    "resources_resource",
    "resources_resourceversion",
    TAG_TABLE,
    DOC_TABLE,
)
#: Columns of a document row, in the order ``index`` takes them.
DOC_COLUMNS = (
    "resource_id",
    "title_tokens",
    "body_tokens",
    "pinyin",
    "kp_tokens",
    "facets",
    "subject_id",
    "stage",
    "grade",
    "resource_type",
    "boost",
    "indexed_at",
)


def facet_tokens(
    subject_id: int | None,
    stage: str,
    grade: str,
    resource_type: str,
    knowledge_point_ids: Sequence[int] = (),
) -> list[str]:
    """The index terms of a document's filter values (letters and digits only)."""
    tokens = []
    if subject_id is not None:
        tokens.append(f"s{subject_id}")
    if stage:
        tokens.append(f"st{stage}")
    if grade:
        tokens.append(f"g{grade}")
    if resource_type:
        tokens.append("t" + resource_type.replace("_", ""))
    tokens.extend(f"k{kp}" for kp in knowledge_point_ids)
    return [t for t in tokens if t.isalnum()]


@dataclass(frozen=True)
class Filters:
    """Filter values already resolved to stored values (ids, choice values)."""

    subject_id: int | None = None
    stage: str = ""
    grade: str = ""
    resource_type: str = ""
    knowledge_point_id: int | None = None

    def tokens(self) -> list[str]:
        """The filter values as index terms (see ``facet_tokens``)."""
        return facet_tokens(
            self.subject_id,
            self.stage,
            self.grade,
            self.resource_type,
            [self.knowledge_point_id] if self.knowledge_point_id is not None else [],
        )

    def tsquery(self) -> str:
        """The ``to_tsquery('simple', ...)`` text requiring every filter term (``""``: none)."""
        return " & ".join(_tsquery_term(t, False) for t in self.tokens())

    def sql(self, alias: str, id_column: str) -> tuple[str, list[Any]]:
        """``AND ...`` conditions on the document table ``alias`` and their parameters."""
        parts: list[str] = []
        params: list[Any] = []
        if self.subject_id is not None:
            parts.append(f"{alias}.subject_id = %s")
            params.append(self.subject_id)
        for column, value in (
            ("stage", self.stage),
            ("grade", self.grade),
            ("resource_type", self.resource_type),
        ):
            if value:
                parts.append(f"{alias}.{column} = %s")
                params.append(value)
        if self.knowledge_point_id is not None:
            parts.append(
                f"{id_column} IN (SELECT resource_id FROM {TAG_TABLE} "  # noqa: S608  # constant names
                "WHERE knowledge_point_id = %s)"
            )
            params.append(self.knowledge_point_id)
        return "".join(f" AND {p}" for p in parts), params


@dataclass(frozen=True)
class RawHit:
    resource_id: int
    score: float


@dataclass(frozen=True)
class RawResult:
    total: int
    hits: list[RawHit]
    exact: bool = True


class SearchBackend(ABC):
    """Stores documents and answers queries; subclasses hold the database-specific SQL."""

    vendor = ""

    def index(self, rows: Sequence[Sequence[Any]]) -> int:
        """Insert or replace documents (tuples in ``DOC_COLUMNS`` order); returns the count."""
        if not rows:
            return 0
        self.delete([row[0] for row in rows])
        from shuyuan.registry.importing.bulk import insert_rows

        return insert_rows(SearchDocument, DOC_COLUMNS, rows)

    def delete(self, ids: Sequence[int]) -> int:
        """Remove the documents of ``ids`` (absent ones are ignored)."""
        if not ids:
            return 0
        return int(SearchDocument.objects.filter(resource_id__in=list(ids)).delete()[0])

    def clear(self) -> None:
        """Remove every document."""
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {DOC_TABLE}")  # noqa: S608  # constant name

    @abstractmethod
    def rebuild(self) -> None:
        """Rebuild and compact the full-text structures from the document table."""

    def analyze(self) -> None:
        """Refresh the planner statistics of the tables search reads (after bulk loads:
        without them SQLite picks the status index over the primary key when it loads the
        resources of a page)."""
        with connection.cursor() as cursor:
            for table in ANALYZED_TABLES:
                cursor.execute(f"ANALYZE {table}")

    @abstractmethod
    def match(
        self,
        clauses: list[Clause],
        filters: Filters,
        *,
        any_clause: bool = False,
        exact: Sequence[str] = (),
    ) -> RawResult:
        """Every candidate (at most ``CANDIDATES``) matching ``clauses``, best first;
        documents holding one of the ``exact`` terms get ``EXACT_BONUS``."""

    def search(
        self,
        clauses: list[Clause],
        filters: Filters,
        limit: int,
        offset: int = 0,
        *,
        any_clause: bool = False,
        exact: Sequence[str] = (),
    ) -> RawResult:
        """``limit`` hits from ``offset``; no clauses lists the filtered documents by boost.
        ``any_clause`` makes the clauses alternatives instead of all required; ``exact`` are
        the query's exact-match terms (``tokenize.exact_terms``)."""
        if not clauses:
            return self.browse(filters, limit, offset)
        result = self.match(clauses, filters, any_clause=any_clause, exact=exact)
        return RawResult(result.total, result.hits[offset : offset + limit], result.exact)

    def browse(self, filters: Filters, limit: int, offset: int, *, count: bool = True) -> RawResult:
        """The filtered documents by boost (an empty query)."""
        where, params = filters.sql("d", "d.resource_id")
        total = 0
        with connection.cursor() as cursor:
            if count:
                cursor.execute(
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM {DOC_TABLE} d WHERE 1 = 1{where} "  # noqa: S608  # built from constants
                    "LIMIT %s) AS capped",
                    [*params, CANDIDATES],
                )
                total = int(cursor.fetchone()[0])
            cursor.execute(
                f"SELECT d.resource_id, d.boost FROM {DOC_TABLE} d WHERE 1 = 1{where} "  # noqa: S608  # built from constants
                "ORDER BY d.boost DESC, d.resource_id DESC LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            hits = [RawHit(int(rid), float(boost)) for rid, boost in cursor.fetchall()]
        return RawResult(total, hits, exact=not count or total < CANDIDATES)


def _ranked(rows: Sequence[tuple[Any, ...]], bonus: set[int] | None = None) -> RawResult:
    bonus = bonus or set()
    hits = [
        RawHit(int(rid), float(score) * (EXACT_BONUS if rid in bonus else 1.0))
        for rid, score in rows
    ]
    hits.sort(key=lambda h: (-h.score, -h.resource_id))
    return RawResult(len(hits), hits, exact=len(hits) < CANDIDATES)


def _fts5_term(token: str, prefix: bool) -> str:
    quoted = '"' + token.replace('"', '""') + '"'
    return quoted + "*" if prefix else quoted


def fts5_expression(clauses: list[Clause], *, any_clause: bool = False) -> str:
    """The FTS5 MATCH expression of ``clauses`` (every token quoted)."""
    parts = []
    for clause in clauses:
        alternatives = [
            "(" + " AND ".join(_fts5_term(t, clause.prefix) for t in alt) + ")"
            for alt in clause.alternatives
        ]
        parts.append("(" + " OR ".join(alternatives) + ")")
    return (" OR " if any_clause else " AND ").join(parts)


def _tsquery_term(token: str, prefix: bool) -> str:
    quoted = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if prefix else quoted


def tsquery_expression(clauses: list[Clause], *, any_clause: bool = False) -> str:
    """The ``to_tsquery('simple', ...)`` text of ``clauses`` (every token quoted)."""
    parts = []
    for clause in clauses:
        alternatives = [
            "(" + " & ".join(_tsquery_term(t, clause.prefix) for t in alt) + ")"
            for alt in clause.alternatives
        ]
        parts.append("(" + " | ".join(alternatives) + ")")
    return (" | " if any_clause else " & ").join(parts)


class SqliteBackend(SearchBackend):
    vendor = "sqlite"

    def rebuild(self) -> None:
        with connection.cursor() as cursor:
            for command in ("rebuild", "optimize"):
                cursor.execute(
                    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES (%s)",  # noqa: S608  # constant name
                    [command],
                )

    def match(
        self,
        clauses: list[Clause],
        filters: Filters,
        *,
        any_clause: bool = False,
        exact: Sequence[str] = (),
    ) -> RawResult:
        expression = self._expression(clauses, filters, any_clause=any_clause)
        weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
        # Filters are index terms of the FTS5 table, so FTS5 intersects them with the text;
        # matches are walked newest first and only the boost is read from the document row
        # (measured: reading the boosts afterwards, even only those that can reach the page,
        # is slower than this join).
        sql = (
            f"SELECT {FTS_TABLE}.rowid, -bm25({FTS_TABLE}, {weights}) * d.boost "  # noqa: S608  # built from constants
            f"FROM {FTS_TABLE} CROSS JOIN {DOC_TABLE} d ON d.resource_id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s "
            f"ORDER BY {FTS_TABLE}.rowid DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [expression, CANDIDATES])
            rows = cursor.fetchall()
            bonus: set[int] = set()
            if exact and rows:
                # The candidates holding an exact term are among the newest CANDIDATES
                # documents matching both, so one more (intersected) match finds them all.
                terms = " OR ".join(_fts5_term(t, False) for t in exact)
                cursor.execute(
                    f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "  # noqa: S608  # constant name
                    "ORDER BY rowid DESC LIMIT %s",
                    [f"({expression}) AND facets : ({terms})", CANDIDATES],
                )
                bonus = {int(r[0]) for r in cursor.fetchall()}
            return _ranked(rows, bonus)

    @staticmethod
    def _expression(clauses: list[Clause], filters: Filters, *, any_clause: bool = False) -> str:
        parts = []
        if clauses:
            parts.append(f"{TEXT_COLUMNS} : ({fts5_expression(clauses, any_clause=any_clause)})")
        parts.extend(f"facets : {_fts5_term(t, False)}" for t in filters.tokens())
        return " AND ".join(parts)

    def browse(self, filters: Filters, limit: int, offset: int, *, count: bool = True) -> RawResult:
        if not filters.tokens() or not count:
            return super().browse(filters, limit, offset, count=count)
        # The page comes from the (filter, boost) b-tree indexes; the (capped) count from
        # FTS5, which intersects the filter terms instead of visiting every row of the first
        # filter.
        result = super().browse(filters, limit, offset, count=False)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT rowid FROM {FTS_TABLE} "  # noqa: S608  # constant name
                f"WHERE {FTS_TABLE} MATCH %s LIMIT %s)",
                [self._expression([], filters), CANDIDATES],
            )
            total = int(cursor.fetchone()[0])
        return RawResult(total, result.hits, exact=total < CANDIDATES)


class PostgresBackend(SearchBackend):
    vendor = "postgresql"

    def rebuild(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("REINDEX INDEX resources_search_vector")
            cursor.execute(f"ANALYZE {DOC_TABLE}")

    def match(
        self,
        clauses: list[Clause],
        filters: Filters,
        *,
        any_clause: bool = False,
        exact: Sequence[str] = (),
    ) -> RawResult:
        expression = tsquery_expression(clauses, any_clause=any_clause)
        facets = filters.tsquery()
        # The filter terms are a second column of the same GIN index, so PostgreSQL
        # intersects them with the text terms in one index scan; only the candidates' vectors
        # are read and ranked. The exact-term test reads the small facet vector only.
        where = " AND d.facet_vector @@ to_tsquery('simple'::regconfig, %s)" if facets else ""
        params: list[Any] = [expression]
        bonus = "1.0"
        if exact:
            params.append(" | ".join(_tsquery_term(t, False) for t in exact))
            bonus = (
                "CASE WHEN c.facet_vector @@ to_tsquery('simple'::regconfig, %s) "
                f"THEN {EXACT_BONUS} ELSE 1.0 END"
            )
        sql = (
            "WITH q AS (SELECT to_tsquery('simple'::regconfig, %s) AS query), "  # noqa: S608  # built from constants
            "c AS (SELECT d.resource_id, d.boost, d.search_vector, d.facet_vector "
            f"FROM {DOC_TABLE} d, q WHERE d.search_vector @@ q.query{where} "
            "ORDER BY d.resource_id DESC LIMIT %s) "
            f"SELECT c.resource_id, ts_rank_cd('{POSTGRES_WEIGHTS}'::float4[], c.search_vector, "
            f"q.query) * c.boost * {bonus} FROM c, q"
        )
        # Parameters in the order of their placeholders: query, facets, limit, exact.
        params = [expression, *([facets] if facets else []), CANDIDATES, *params[1:]]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return _ranked(cursor.fetchall())

    def browse(self, filters: Filters, limit: int, offset: int, *, count: bool = True) -> RawResult:
        facets = filters.tsquery()
        if not facets or not count:
            return super().browse(filters, limit, offset, count=count)
        # The page from the (filter, boost) b-tree indexes; the capped count from the GIN
        # index, which intersects the filter terms.
        result = super().browse(filters, limit, offset, count=False)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM {DOC_TABLE} d "  # noqa: S608  # constant name
                "WHERE d.facet_vector @@ to_tsquery('simple'::regconfig, %s) LIMIT %s) AS capped",
                [facets, CANDIDATES],
            )
            total = int(cursor.fetchone()[0])
        return RawResult(total, result.hits, exact=total < CANDIDATES)


def backend() -> SearchBackend:
    """The engine for the default database."""
    if connection.vendor == "postgresql":
        return PostgresBackend()
    if connection.vendor == "sqlite":
        return SqliteBackend()
    raise RuntimeError(f"No search backend for database {connection.vendor!r}.")
