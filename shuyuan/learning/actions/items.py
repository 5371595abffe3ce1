"""Writes of the item bank (题库): create, revise, retire and restore items, and import a
QTI 3.0 content package.

An item belongs to a bank: a school's (an org inside the actor's teaching scope) or a higher
org's that the actor administers. Its content lives in immutable ``ItemVersion`` rows; revising
the stem, content or explanation adds version ``n + 1`` and moves ``Item.current_version``, so
papers that used an older version keep it. Difficulty and knowledge-point tags are plain
change-logged updates of the item. Who may change which item is in ``learning.permissions``
(the author while teaching in the item's org; administrators of its subtree).

Importing is all-or-nothing: the package is parsed and every item checked (content, knowledge
point codes, identifiers already stored) before anything is written, in one transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.context import change_context
from shuyuan.core.errors import Conflict, InvalidInput, PermissionDenied, invalid
from shuyuan.core.models import Org
from shuyuan.resources.models import KnowledgePoint, Subject

from ..exams import content as item_content
from ..exams import qti
from ..models import Difficulty, Item, ItemKind, ItemStatus, ItemTag, ItemVersion
from ..models.exams import EXPLANATION_MAX, STEM_MAX
from ..queries import items as queries
from .checks import checked_text as _text

#: Most knowledge points one item is tagged with.
POINTS_MAX = 20
#: Most items one QTI package may hold.
IMPORT_MAX = 1000
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
#: Identifiers of imported items that are not UUIDs map to stable UUIDs in this namespace, so
#: importing the same package again revises the same items.
QTI_NAMESPACE = uuid.UUID("6f1c3f0e-9a51-5b6e-8a43-2d0c8f8f4a11")


@dataclass(frozen=True)
class ImportReport:
    """What an import did: the items it created and the items it revised."""

    created: list[Item] = field(default_factory=list)
    updated: list[Item] = field(default_factory=list)


# --- checks ---------------------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in ItemKind.values:
        raise invalid("kind", "INVALID_CHOICE", _("Choose a kind of question."))
    return kind


def _check_difficulty(difficulty: Any) -> int:
    try:
        value = int(difficulty)
    except (TypeError, ValueError):
        value = 0
    if value not in Difficulty.values:
        raise invalid("difficulty", "INVALID_CHOICE", _("Choose a difficulty."))
    return value


def _check_bank(actor: Any, org: Org) -> None:
    if not queries.can_create_in(actor, org):
        raise PermissionDenied(_("You cannot add questions to this bank."))


def _check_points(points: Iterable[KnowledgePoint]) -> list[KnowledgePoint]:
    """``points`` without repeats, each one stored (``InvalidInput`` otherwise)."""
    unique: dict[int, KnowledgePoint] = {}
    for point in points:
        if point.pk is None:
            raise invalid(
                "knowledge_points", "UNKNOWN_KNOWLEDGE_POINT", _("Unknown knowledge point.")
            )
        unique.setdefault(point.pk, point)
    if len(unique) > POINTS_MAX:
        raise invalid(
            "knowledge_points",
            "TOO_MANY",
            _("At most %(limit)d knowledge points are allowed.") % {"limit": POINTS_MAX},
        )
    if unique:
        stored = set(KnowledgePoint.objects.filter(pk__in=unique).values_list("pk", flat=True))
        missing = [p for pk, p in unique.items() if pk not in stored]
        if missing:
            raise invalid(
                "knowledge_points",
                "UNKNOWN_KNOWLEDGE_POINT",
                _("Unknown knowledge point: %(code)s.") % {"code": missing[0].code},
            )
    return list(unique.values())


@dataclass(frozen=True)
class _Checked:
    """An item's fields after validation."""

    kind: str
    difficulty: int
    stem: str
    content: dict[str, Any]
    explanation: str


def _check_fields(
    kind: str, difficulty: Any, stem: str, content: Any, explanation: str
) -> _Checked:
    kind = _check_kind(kind)
    level = _check_difficulty(difficulty)
    stem = _text("stem", stem, STEM_MAX, required=True)
    explanation = _text("explanation", explanation, EXPLANATION_MAX)
    normalised = item_content.validate_content(kind, stem, content)
    return _Checked(kind, level, stem, normalised, explanation)


# --- rows (inside the caller's transaction and change context) -----------------------------------


def _insert(
    actor: Any,
    org: Org,
    subject: Subject | None,
    fields: _Checked,
    points: Sequence[KnowledgePoint],
    identifier: uuid.UUID | None = None,
) -> Item:
    now = timezone.now()
    item = Item(
        org=org,
        subject=subject,
        kind=fields.kind,
        difficulty=fields.difficulty,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    if identifier is not None:
        item.identifier = identifier
    item.save(force_insert=True)
    version = ItemVersion(
        item=item,
        number=1,
        stem=fields.stem,
        content=fields.content,
        explanation=fields.explanation,
        created_by=actor,
        created_at=now,
    )
    version.save(force_insert=True)
    item.current_version = version
    item.save(update_fields=["current_version"])
    for point in points:
        ItemTag(item=item, knowledge_point=point).save(force_insert=True)
    return item


def _update(
    actor: Any, item: Item, fields: _Checked, points: Sequence[KnowledgePoint] | None
) -> bool:
    """Apply ``fields`` (and ``points`` unless None) to ``item``, which the caller has locked.
    True if anything changed."""
    changed: list[str] = []
    current = item.current_version
    if current is None or (
        current.stem != fields.stem
        or current.content != fields.content
        or current.explanation != fields.explanation
    ):
        last = ItemVersion.objects.filter(item=item).aggregate(last=Max("number"))["last"] or 0
        version = ItemVersion(
            item=item,
            number=last + 1,
            stem=fields.stem,
            content=fields.content,
            explanation=fields.explanation,
            created_by=actor,
        )
        try:
            with transaction.atomic():
                version.save(force_insert=True)
        except IntegrityError:
            raise Conflict(
                _("Someone else saved this question at the same moment. Reload it and try again."),
                code="ITEM_CHANGED",
            ) from None
        item.current_version = version
        changed.append("current_version")
    if item.difficulty != fields.difficulty:
        item.difficulty = fields.difficulty
        changed.append("difficulty")
    tags_changed = False
    if points is not None:
        wanted = {p.pk: p for p in points}
        existing = list(ItemTag.objects.filter(item=item))
        for tag in existing:
            if tag.knowledge_point_id not in wanted:
                tag.delete()
                tags_changed = True
        present = {tag.knowledge_point_id for tag in existing}
        for pk, point in wanted.items():
            if pk not in present:
                ItemTag(item=item, knowledge_point=point).save(force_insert=True)
                tags_changed = True
    if changed or tags_changed:
        item.updated_at = timezone.now()
        item.save(update_fields=[*changed, "updated_at"])
    return bool(changed or tags_changed)


def _locked(item: Item) -> Item:
    """``item`` read again and locked for the rest of the transaction."""
    locked: Item = (
        Item.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=item.pk)
    )
    return locked


# --- public actions -------------------------------------------------------------------------------


def create_item(
    *,
    actor: Any,
    org: Org,
    subject: Subject | None,
    kind: str,
    difficulty: int,
    stem: str,
    content: Any,
    explanation: str = "",
    knowledge_points: Iterable[KnowledgePoint] = (),
    source: str = "ui",
) -> Item:
    """A new item (version 1) in ``org``'s bank, tagged with ``knowledge_points``.

    Raises ``PermissionDenied`` unless ``org`` is inside ``actor``'s teaching scope or an org
    they administer; ``InvalidInput`` (naming the field, e.g. ``content.options[2].text``) for
    a bad kind, difficulty, stem, content or explanation, or unknown knowledge points.
    """
    _check_bank(actor, org)
    fields = _check_fields(kind, difficulty, stem, content, explanation)
    points = _check_points(knowledge_points)
    with transaction.atomic(), change_context(actor=actor, source=source):
        return _insert(actor, org, subject, fields, points)


def revise_item(
    *,
    actor: Any,
    item: Item,
    stem: str,
    content: Any,
    explanation: str,
    difficulty: int,
    knowledge_points: Iterable[KnowledgePoint],
    base_version: int | None = None,
    source: str = "ui",
) -> Item:
    """Edit an item: a new version when the stem, content or explanation changed; difficulty
    and tags are updated in place. Nothing is written when nothing changed.

    ``base_version`` is the version number the editor started from; if another version was
    saved since, ``Conflict`` (``ITEM_CHANGED``) instead of overwriting it silently.
    ``NotFound`` if ``actor`` cannot see the item, ``PermissionDenied`` if they cannot change
    it, ``InvalidInput`` as ``create_item``.
    """
    item = queries.access_item(actor, item.pk)
    if not queries.can_change_item(actor, item):
        raise PermissionDenied(_("You cannot change this question."))
    fields = _check_fields(item.kind, difficulty, stem, content, explanation)
    points = _check_points(knowledge_points)
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked = _locked(item)
        current = locked.current_version
        if base_version is not None and current is not None and current.number != base_version:
            raise Conflict(
                _(
                    "This question was changed (now version %(number)d) since you opened it. "
                    "Reload it and make your changes again."
                )
                % {"number": current.number},
                code="ITEM_CHANGED",
            )
        _update(actor, locked, fields, points)
    return locked


def _set_status(actor: Any, item: Item, status: str, source: str) -> Item:
    item = queries.access_item(actor, item.pk)
    if not queries.can_change_item(actor, item):
        raise PermissionDenied(_("You cannot change this question."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked = _locked(item)
        if locked.status != status:
            locked.status = status
            locked.updated_at = timezone.now()
            locked.save(update_fields=["status", "updated_at"])
    return locked


def retire_item(*, actor: Any, item: Item, source: str = "ui") -> Item:
    """Take an item out of use: it no longer appears in the bank's active list or in new
    papers; papers that hold it keep it. Retiring a retired item does nothing."""
    return _set_status(actor, item, ItemStatus.RETIRED, source)


def restore_item(*, actor: Any, item: Item, source: str = "ui") -> Item:
    """Put a retired item back into use."""
    return _set_status(actor, item, ItemStatus.ACTIVE, source)


# --- QTI import -----------------------------------------------------------------------------------


def identifier_uuid(identifier: str) -> uuid.UUID:
    """The ``Item.identifier`` of a QTI identifier: the UUID it contains (our own exports),
    else a stable UUID derived from it."""
    found = _UUID.search(identifier)
    if found:
        return uuid.UUID(found.group(0))
    return uuid.uuid5(QTI_NAMESPACE, identifier)


def _about(identifier: str, error: InvalidInput) -> InvalidInput:
    """``error`` restated as a problem of the uploaded file, naming the item."""
    detail = (
        "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in error.errors)
        or error.message
    )
    return invalid(
        "file",
        error.code,
        _("Question %(identifier)s: %(detail)s") % {"identifier": identifier, "detail": detail},
    )


def import_qti(
    *, actor: Any, org: Org, data: bytes, filename: str, source: str = "ui"
) -> ImportReport:
    """Import a QTI 3.0 content package (or one item XML) into ``org``'s bank.

    All or nothing: every item is parsed and checked first; then, in one transaction, new
    identifiers become new items and identifiers already stored in a bank ``actor`` may change
    are revised (a new version if their content differs). Raises ``InvalidInput`` (field
    ``file``) for a malformed package (code ``MALFORMED_QTI``, naming file and element), an
    unknown knowledge-point code (naming the question and the code), bad content, or an
    identifier stored in a bank ``actor`` may not change; ``PermissionDenied`` for ``org``.
    """
    _check_bank(actor, org)
    parsed = qti.parse_package(data, filename=filename)
    if not parsed:
        raise invalid("file", "EMPTY_PACKAGE", _("The file holds no questions."))
    if len(parsed) > IMPORT_MAX:
        raise invalid(
            "file",
            "TOO_MANY_ITEMS",
            _("At most %(limit)d questions can be imported at once.") % {"limit": IMPORT_MAX},
        )
    codes = {code for entry in parsed for code in entry.knowledge_points}
    by_code = {p.code: p for p in KnowledgePoint.objects.filter(code__in=codes)}
    rows: list[tuple[uuid.UUID, _Checked, list[KnowledgePoint]]] = []
    seen: set[uuid.UUID] = set()
    for entry in parsed:
        key = identifier_uuid(entry.identifier)
        if key in seen:
            raise invalid(
                "file",
                "DUPLICATE_IDENTIFIER",
                _("Question %(identifier)s appears twice in the file.")
                % {"identifier": entry.identifier},
            )
        seen.add(key)
        for code in entry.knowledge_points:
            if code not in by_code:
                raise invalid(
                    "file",
                    "UNKNOWN_KNOWLEDGE_POINT",
                    _("Question %(identifier)s: no knowledge point has the code %(code)s.")
                    % {"identifier": entry.identifier, "code": code},
                )
        try:
            fields = _check_fields(
                entry.kind, entry.difficulty, entry.stem, entry.content, entry.explanation
            )
            points = _check_points(by_code[code] for code in entry.knowledge_points)
        except InvalidInput as exc:
            raise _about(entry.identifier, exc) from None
        rows.append((key, fields, points))

    stored = {item.identifier: item for item in Item.objects.filter(identifier__in=seen)}
    changeable: set[int] = set(
        Item.objects.visible_to(actor, "change")
        .filter(pk__in=[i.pk for i in stored.values()])
        .values_list("pk", flat=True)
    )
    for (key, fields, _points), entry in zip(rows, parsed, strict=True):
        existing = stored.get(key)
        if existing is None:
            continue
        if existing.pk not in changeable:
            raise invalid(
                "file",
                "ITEM_NOT_CHANGEABLE",
                _("Question %(identifier)s is already in a bank you cannot change.")
                % {"identifier": entry.identifier},
            )
        if existing.kind != fields.kind:
            raise invalid(
                "file",
                "KIND_MISMATCH",
                _("Question %(identifier)s is stored as another kind of question.")
                % {"identifier": entry.identifier},
            )

    report = ImportReport()
    with transaction.atomic(), change_context(actor=actor, source=source):
        for key, fields, points in rows:
            existing = stored.get(key)
            if existing is None:
                subject = points[0].subject if points else None
                report.created.append(_insert(actor, org, subject, fields, points, key))
            else:
                locked = _locked(existing)
                _update(actor, locked, fields, points)
                report.updated.append(locked)
    return report
