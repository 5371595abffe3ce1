"""Reads of the item bank (题库): the items a teacher may see (their schools' banks and the
banks above them), one item with its versions and tags, the orgs a user may add items to, and
the QTI export of a set of items. Always through ``visible_to``; invisible rows are
``NotFound``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org, OrgKind
from shuyuan.core.scoping import can
from shuyuan.identity.queries import role_paths
from shuyuan.resources.models import KnowledgePoint, Subject
from shuyuan.resources.queries import graph as graph_queries

from .. import permissions
from ..exams import qti
from ..models import Item, ItemStatistic, ItemStatus, ItemTag, ItemVersion

#: Orgs a platform administrator may keep a bank in.
BANK_KINDS = (OrgKind.REGION, OrgKind.CITY, OrgKind.COUNTY, OrgKind.SCHOOL)
ITEM_RELATED = ("current_version", "org", "subject")


def _tags() -> Prefetch[Any]:
    return Prefetch(
        "tags",
        queryset=ItemTag.objects.select_related("knowledge_point").order_by(
            "knowledge_point__code"
        ),
    )


def can_use_bank(user: Any) -> bool:
    """True if ``user`` may open the item bank: teachers, administrators."""
    return bool(
        getattr(user, "is_platform_admin", False)
        or permissions.teaching_paths(user)
        or role_paths(user, permissions.ADMIN_ROLES)
    )


def bank_orgs_for(user: Any) -> QuerySet[Org]:
    """Orgs ``user`` may add items to: the schools of their ``teacher`` roles, the classes of
    their ``head_teacher`` roles, and the orgs they administer (in tree order)."""
    orgs: QuerySet[Org] = Org.objects.visible_to(user)
    if getattr(user, "is_platform_admin", False):
        return orgs.filter(kind__in=BANK_KINDS).order_by("path")
    paths = [*permissions.teaching_paths(user), *role_paths(user, permissions.ADMIN_ROLES)]
    if not paths:
        return Org.objects.none()
    return orgs.filter(path__in=paths).order_by("path")


def can_create_in(user: Any, org: Org) -> bool:
    """True if ``user`` may add items to ``org``'s bank: an org inside their teaching scope or
    one they administer (platform administrators: any)."""
    if getattr(user, "is_platform_admin", False):
        return True
    paths = [*permissions.teaching_paths(user), *role_paths(user, permissions.ADMIN_ROLES)]
    return any(org.path.startswith(p) for p in paths)


def access_bank_org(user: Any, pk: int) -> Org:
    """The org ``pk`` if ``user`` may add items to its bank, else ``NotFound``."""
    org = bank_orgs_for(user).filter(pk=pk).first()
    if org is None:
        raise NotFound(_("No such question bank."), code="BANK_NOT_FOUND")
    return org


def list_items(
    user: Any,
    *,
    q: str = "",
    kind: str | None = None,
    difficulty: int | None = None,
    knowledge_point: KnowledgePoint | int | None = None,
    subject: Subject | int | None = None,
    status: str | None = ItemStatus.ACTIVE,
) -> QuerySet[Item]:
    """Items ``user`` may see, most recently changed first, with their current version, org,
    subject and tags. ``q`` searches the current stem (case-insensitive); ``status=None``
    lists every status."""
    qs: QuerySet[Item] = (
        Item.objects.visible_to(user).select_related(*ITEM_RELATED).prefetch_related(_tags())
    )
    q = q.strip()
    if q:
        qs = qs.filter(current_version__stem__icontains=q)
    if kind:
        qs = qs.filter(kind=kind)
    if difficulty:
        qs = qs.filter(difficulty=difficulty)
    if knowledge_point is not None:
        point_id = knowledge_point if isinstance(knowledge_point, int) else knowledge_point.pk
        qs = qs.filter(pk__in=ItemTag.objects.filter(knowledge_point=point_id).values("item_id"))
    if subject is not None:
        qs = qs.filter(subject=subject)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at", "-pk")


def access_item(user: Any, pk: int, action: str = "view") -> Item:
    """Item ``pk`` if ``user`` may ``action`` it (with current version, org, subject, tags),
    else ``NotFound``."""
    found: Item | None = (
        Item.objects.visible_to(user, action)
        .select_related(*ITEM_RELATED, "created_by")
        .prefetch_related(_tags())
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Question not found."), code="ITEM_NOT_FOUND")
    return found


def can_change_item(user: Any, item: Item) -> bool:
    """True if ``user`` may revise, retire or restore ``item``."""
    return can(user, "change", item)


def item_versions(user: Any, item: Item) -> QuerySet[ItemVersion]:
    """Every version of ``item``, newest first, with its author."""
    return (
        ItemVersion.objects.visible_to(user)
        .filter(item=item.pk)
        .select_related("created_by")
        .order_by("-number")
    )


def item_statistic(user: Any, item: Item) -> ItemStatistic | None:
    """The classical statistics of ``item`` from the last diagnosis run, if any."""
    found: ItemStatistic | None = (
        ItemStatistic.objects.visible_to(user).filter(item=item.pk).select_related("run").first()
    )
    return found


def items_by_ids(user: Any, ids: Iterable[int]) -> QuerySet[Item]:
    """The items among ``ids`` that ``user`` may see (any status)."""
    return list_items(user, status=None).filter(pk__in=list(ids))


def find_points(user: Any, texts: Sequence[str]) -> tuple[list[KnowledgePoint], list[str]]:
    """Knowledge points by code (else exact name), in the order given, and the texts that
    match none (one query)."""
    wanted = [t.strip() for t in texts if t.strip()]
    if not wanted:
        return [], []
    rows: list[KnowledgePoint] = list(
        KnowledgePoint.objects.visible_to(user)
        .filter(Q(code__in=wanted) | Q(name__in=wanted))
        .select_related("subject")
        .order_by("code")
    )
    by_code = {p.code: p for p in rows}
    by_name: dict[str, KnowledgePoint] = {}
    for point in rows:
        by_name.setdefault(point.name, point)
    found: list[KnowledgePoint] = []
    missing: list[str] = []
    for text in wanted:
        match = by_code.get(text) or by_name.get(text)
        if match is None:
            missing.append(text)
        elif match not in found:
            found.append(match)
    return found, missing


def search_points(user: Any, q: str, limit: int = 10) -> list[KnowledgePoint]:
    """Knowledge points whose name, code or alias contains ``q`` (resources' search)."""
    if not q.strip():
        return []
    return list(graph_queries.list_points(user, q=q)[:limit])


def list_subjects(user: Any) -> QuerySet[Subject]:
    """Subjects to file items under, in display order."""
    return Subject.objects.visible_to(user)


def _title(stem: str) -> str:
    line = stem.strip().splitlines()[0] if stem.strip() else ""
    return line if len(line) <= 60 else line[:59] + "…"


def qti_items(user: Any, items: Iterable[Item]) -> list[qti.QtiItem]:
    """``items`` that ``user`` may see as ``QtiItem`` of their current versions."""
    ids = [item.pk for item in items]
    rows = items_by_ids(user, ids)
    found = {item.pk: item for item in rows}
    result: list[qti.QtiItem] = []
    for pk in ids:
        item = found.get(pk)
        if item is None or item.current_version is None:
            continue
        version = item.current_version
        result.append(
            qti.QtiItem(
                identifier=str(item.identifier),
                kind=item.kind,
                stem=version.stem,
                content=version.content,
                difficulty=item.difficulty,
                knowledge_points=[tag.knowledge_point.code for tag in item.tags.all()],
                explanation=version.explanation,
                title=_title(version.stem),
            )
        )
    return result


def export_qti(user: Any, items: Iterable[Item]) -> bytes:
    """A QTI 3.0 content package (zip) of the current versions of ``items`` ``user`` may see,
    tagged with their knowledge-point codes."""
    return qti.export_package(qti_items(user, items))
