"""The search index: ``SearchDocument`` and, per database, its full-text structures.

* SQLite: the FTS5 table ``resources_search_fts`` over the document table (external content:
  the four text fields and the filter tokens) and the triggers that keep it in step with
  inserts, updates and deletes.
* PostgreSQL: the generated ``search_vector`` column (``simple`` configuration, weights A title,
  B knowledge points, C pinyin, D body) and ``facet_vector`` (the filter and exact-match
  terms), with one two-column GIN index over both.

A later migration that makes Django rebuild ``resources_searchdocument`` on SQLite (most field
changes) drops the triggers with the old table: it must run ``create_fulltext`` again.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

SQLITE_CREATE = [
    """CREATE VIRTUAL TABLE resources_search_fts USING fts5(
        title_tokens, body_tokens, pinyin, kp_tokens, facets,
        content='resources_searchdocument', content_rowid='resource_id',
        tokenize='unicode61 remove_diacritics 0', prefix='2 3'
    )""",
    """CREATE TRIGGER resources_search_ai AFTER INSERT ON resources_searchdocument BEGIN
        INSERT INTO resources_search_fts(
            rowid, title_tokens, body_tokens, pinyin, kp_tokens, facets)
        VALUES (new.resource_id, new.title_tokens, new.body_tokens, new.pinyin, new.kp_tokens,
                new.facets);
    END""",
    """CREATE TRIGGER resources_search_ad AFTER DELETE ON resources_searchdocument BEGIN
        INSERT INTO resources_search_fts(
            resources_search_fts, rowid, title_tokens, body_tokens, pinyin, kp_tokens, facets)
        VALUES ('delete', old.resource_id, old.title_tokens, old.body_tokens, old.pinyin,
                old.kp_tokens, old.facets);
    END""",
    """CREATE TRIGGER resources_search_au
    AFTER UPDATE OF title_tokens, body_tokens, pinyin, kp_tokens, facets ON resources_searchdocument
    BEGIN
        INSERT INTO resources_search_fts(
            resources_search_fts, rowid, title_tokens, body_tokens, pinyin, kp_tokens, facets)
        VALUES ('delete', old.resource_id, old.title_tokens, old.body_tokens, old.pinyin,
                old.kp_tokens, old.facets);
        INSERT INTO resources_search_fts(
            rowid, title_tokens, body_tokens, pinyin, kp_tokens, facets)
        VALUES (new.resource_id, new.title_tokens, new.body_tokens, new.pinyin, new.kp_tokens,
                new.facets);
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS resources_search_au",
    "DROP TRIGGER IF EXISTS resources_search_ad",
    "DROP TRIGGER IF EXISTS resources_search_ai",
    "DROP TABLE IF EXISTS resources_search_fts",
]
POSTGRES_CREATE = [
    """ALTER TABLE resources_searchdocument ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, title_tokens), 'A')
        || setweight(to_tsvector('simple'::regconfig, kp_tokens), 'B')
        || setweight(to_tsvector('simple'::regconfig, pinyin), 'C')
        || setweight(to_tsvector('simple'::regconfig, body_tokens), 'D')
    ) STORED""",
    """ALTER TABLE resources_searchdocument ADD COLUMN facet_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, facets)) STORED""",
    """CREATE INDEX resources_search_vector ON resources_searchdocument
    USING gin (search_vector, facet_vector)""",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS resources_search_vector",
    "ALTER TABLE resources_searchdocument DROP COLUMN IF EXISTS facet_vector",
    "ALTER TABLE resources_searchdocument DROP COLUMN IF EXISTS search_vector",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement)


def create_fulltext(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_CREATE)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_CREATE)


def drop_fulltext(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "resource",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="resources.resource",
                        verbose_name="resource",
                    ),
                ),
                (
                    "subject",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="resources.subject",
                        verbose_name="subject",
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        choices=[
                            ("primary", "Primary school"),
                            ("junior", "Junior secondary"),
                            ("senior", "Senior secondary"),
                            ("vocational", "Vocational"),
                        ],
                        max_length=16,
                        verbose_name="stage",
                    ),
                ),
                (
                    "grade",
                    models.CharField(
                        blank=True,
                        choices=[(f"{n:02d}", f"{n:02d}") for n in range(1, 13)],
                        max_length=2,
                        verbose_name="grade",
                    ),
                ),
                (
                    "resource_type",
                    models.CharField(
                        choices=[
                            ("video", "Video"),
                            ("document", "Document"),
                            ("courseware", "Courseware"),
                            ("exercise_set", "Exercise set"),
                            ("micro_lesson", "Micro-lesson"),
                            ("virtual_lab", "Virtual-lab link"),
                        ],
                        max_length=16,
                        verbose_name="type",
                    ),
                ),
                (
                    "boost",
                    models.FloatField(
                        default=1.0,
                        help_text="Multiplies the text score (quality and use).",
                        verbose_name="boost",
                    ),
                ),
                (
                    "indexed_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="indexed at"
                    ),
                ),
                (
                    "facets",
                    models.TextField(
                        blank=True,
                        help_text="Filter values as index terms.",
                        verbose_name="filter tokens",
                    ),
                ),
                ("title_tokens", models.TextField(blank=True, verbose_name="title tokens")),
                ("body_tokens", models.TextField(blank=True, verbose_name="body tokens")),
                ("pinyin", models.TextField(blank=True, verbose_name="pinyin")),
                (
                    "kp_tokens",
                    models.TextField(blank=True, verbose_name="knowledge-point tokens"),
                ),
            ],
            options={
                "verbose_name": "search document",
                "verbose_name_plural": "search documents",
                "indexes": [
                    models.Index(fields=["-boost"], name="res_search_boost"),
                    models.Index(fields=["subject", "-boost"], name="res_search_subject"),
                    models.Index(fields=["resource_type", "-boost"], name="res_search_type"),
                    models.Index(fields=["grade", "-boost"], name="res_search_grade"),
                    models.Index(fields=["stage", "-boost"], name="res_search_stage"),
                ],
            },
        ),
        migrations.RunPython(create_fulltext, drop_fulltext, elidable=False),
    ]
