"""Write use cases for the org tree. Every action: permission check, validation, one transaction,
a change record per row written."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from . import validators
from .context import bulk_writes, change_context
from .errors import Conflict, PermissionDenied, invalid
from .models import (
    ADMINISTRATIVE_KINDS,
    ALLOWED_PARENTS,
    ChangeAction,
    Org,
    OrgKind,
    append_change,
    new_path_key,
)
from .scoping import can

_DIVISION_LEVEL: dict[str, str] = {
    OrgKind.REGION: "province",
    OrgKind.CITY: "city",
    OrgKind.COUNTY: "county",
}

MAX_DEPTH = 12


def _check_can_manage(actor: Any, org: Org | None) -> None:
    """Managing a root needs rights over every org; managing under ``org`` needs 'change' on it."""
    if org is None:
        if not getattr(actor, "is_platform_admin", False):
            raise PermissionDenied(_("Only a platform administrator can create a region."))
        return
    if not can(actor, "change", org):
        raise PermissionDenied(_("You cannot manage organisations under %(org)s.") % {"org": org})


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise invalid("name", "REQUIRED", _("A name is required."))
    if len(name) > 120:
        raise invalid("name", "TOO_LONG", _("The name must be at most 120 characters."))
    return name


def _check_parent(kind: str, parent: Org | None) -> None:
    allowed = ALLOWED_PARENTS.get(kind)
    if allowed is None:
        raise invalid("kind", "INVALID_CHOICE", _("Unknown organisation kind."))
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in allowed:
        if parent_kind is None:
            message = _("A %(kind)s cannot be placed at the top level.") % {
                "kind": OrgKind(kind).label
            }
        else:
            message = _("A %(kind)s cannot be placed under a %(parent)s.") % {
                "kind": OrgKind(kind).label,
                "parent": OrgKind(parent_kind).label,
            }
        raise invalid("parent", "ORG_PARENT_KIND", message)


def _nearest_division(parent: Org | None) -> str:
    org = parent
    while org is not None:
        if org.division_code:
            return org.division_code
        org = org.parent
    return ""


def _clean_division_code(kind: str, code: str, parent: Org | None) -> str:
    if kind not in ADMINISTRATIVE_KINDS:
        if code:
            raise invalid(
                "division_code",
                "NOT_APPLICABLE",
                _("Only regions, cities and counties carry a division code."),
            )
        return ""
    try:
        info = validators.validate_division_code(code, level=_DIVISION_LEVEL[kind])
    except validators.IdentifierError as exc:
        raise invalid("division_code", exc.code, exc.message) from exc
    parent_code = _nearest_division(parent)
    if parent_code and not validators.division_within(info.code, parent_code):
        raise invalid(
            "division_code",
            "DIVISION_CODE_OUTSIDE_PARENT",
            _("Division code %(code)s does not lie within the parent's code %(parent)s.")
            % {"code": info.code, "parent": parent_code},
        )
    return info.code


def _clean_credit_code(kind: str, code: str | None) -> str | None:
    if kind != OrgKind.SCHOOL:
        if code:
            raise invalid(
                "credit_code",
                "NOT_APPLICABLE",
                _("Only schools carry a unified social credit code."),
            )
        return None
    if not code:
        raise invalid(
            "credit_code", "REQUIRED", _("A school needs its unified social credit code.")
        )
    try:
        return validators.validate_credit_code(code)
    except validators.IdentifierError as exc:
        raise invalid("credit_code", exc.code, exc.message) from exc


def _assign_school_code(parent: Org) -> str:
    """一校一码: ``S`` + the nearest division code + a 4-digit serial, unique on the platform."""
    prefix = "S" + (_nearest_division(parent) or "000000")
    last = (
        Org.objects.filter(school_code__startswith=prefix)
        .order_by("-school_code")
        .values_list("school_code", flat=True)
        .first()
    )
    serial = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{serial:04d}"


def _unique_violation(exc: IntegrityError) -> Conflict:
    text = str(exc).lower()
    for field, code, message in (
        ("credit_code", "DUPLICATE_CREDIT_CODE", _("Another school already has this credit code.")),
        ("division_code", "DUPLICATE_DIVISION_CODE", _("Another org already has this code.")),
        ("school_code", "DUPLICATE_SCHOOL_CODE", _("Another school already has this code.")),
    ):
        if field in text or ("org_unique_division_code" in text and field == "division_code"):
            return Conflict(message, code=code, field=field)
    return Conflict(_("This organisation conflicts with an existing one."), code="CONFLICT")


def create_org(
    *,
    actor: Any,
    kind: str,
    name: str,
    parent: Org | None = None,
    division_code: str = "",
    credit_code: str | None = None,
    source: str = "ui",
) -> Org:
    """Create an org under ``parent``. Schools get a platform school code (一校一码).

    Raises ``PermissionDenied`` unless ``actor`` may change ``parent`` (or is a platform admin,
    for a region), ``InvalidInput`` naming the field for a bad kind, parent, name or code, and
    ``Conflict`` for a code already in use.
    """
    _check_can_manage(actor, parent)
    if kind not in OrgKind.values:
        raise invalid("kind", "INVALID_CHOICE", _("Unknown organisation kind."))
    _check_parent(kind, parent)
    name = _clean_name(name)
    division_code = _clean_division_code(kind, (division_code or "").strip(), parent)
    credit_code = _clean_credit_code(kind, credit_code)
    if parent is not None and parent.depth + 1 > MAX_DEPTH:
        raise invalid("parent", "ORG_TOO_DEEP", _("The org tree is too deep here."))
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            org = Org(
                kind=kind,
                name=name,
                parent=parent,
                path=(parent.path if parent else "") + new_path_key() + "/",
                depth=(parent.depth + 1) if parent else 0,
                division_code=division_code,
                credit_code=credit_code,
            )
            if kind == OrgKind.SCHOOL and parent is not None:
                org.school_code = _assign_school_code(parent)
            org.save(force_insert=True)
    except IntegrityError as exc:
        raise _unique_violation(exc) from exc
    return org


def update_org(
    *,
    actor: Any,
    org: Org,
    name: str | None = None,
    division_code: str | None = None,
    credit_code: str | None = None,
    is_active: bool | None = None,
    source: str = "ui",
) -> Org:
    """Rename an org or correct its codes; the change log keeps every earlier value."""
    _check_can_manage(actor, org)
    fields: list[str] = []
    if name is not None:
        org.name = _clean_name(name)
        fields.append("name")
    if division_code is not None and division_code != org.division_code:
        org.division_code = _clean_division_code(org.kind, division_code.strip(), org.parent)
        fields.append("division_code")
    if credit_code is not None and credit_code != org.credit_code:
        org.credit_code = _clean_credit_code(org.kind, credit_code)
        fields.append("credit_code")
    if is_active is not None:
        org.is_active = is_active
        fields.append("is_active")
    if not fields:
        return org
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            org.save(update_fields=fields)
    except IntegrityError as exc:
        org.refresh_from_db()
        raise _unique_violation(exc) from exc
    return org


def move_org(*, actor: Any, org: Org, new_parent: Org, source: str = "ui") -> Org:
    """Move ``org`` and its subtree under ``new_parent``.

    Refuses a move that would make an org its own ancestor (``ORG_CYCLE``) or break the kind
    rules. The moved org gets one change record for its new parent and path, and the subtree's
    path rewrite is recorded as one bulk record.
    """
    _check_can_manage(actor, org)
    _check_can_manage(actor, new_parent)
    if new_parent.pk == org.pk or new_parent.path.startswith(org.path):
        raise invalid(
            "parent",
            "ORG_CYCLE",
            _("%(org)s cannot be moved under itself or one of its descendants.") % {"org": org},
        )
    if org.parent_id == new_parent.pk:
        return org
    _check_parent(org.kind, new_parent)
    if org.is_administrative:
        _clean_division_code(org.kind, org.division_code, new_parent)
    old_path = org.path
    new_path = new_parent.path + old_path.rstrip("/").rsplit("/", 1)[-1] + "/"
    depth_shift = new_parent.depth + 1 - org.depth
    subtree_depth = (
        Org.objects.subtree(old_path).order_by("-depth").values_list("depth", flat=True).first()
    ) or org.depth
    if subtree_depth + depth_shift > MAX_DEPTH:
        raise invalid("parent", "ORG_TOO_DEEP", _("The org tree would become too deep."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        # Lock the moved subtree so a concurrent move cannot interleave with this one.
        descendants = list(
            Org.objects.select_for_update()
            .subtree(old_path)
            .exclude(pk=org.pk)
            .values_list("pk", flat=True)
        )
        org.parent = new_parent
        org.path = new_path
        org.depth = new_parent.depth + 1
        org.save(update_fields=["parent", "path", "depth"])
        if descendants:
            with bulk_writes():
                Org.objects.filter(pk__in=descendants).update(
                    path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
                    depth=F("depth") + depth_shift,
                )
            append_change(
                action=ChangeAction.BULK,
                target_type=Org._meta.label_lower,
                target_id=str(org.pk),
                target_repr=str(org),
                changes={"path_prefix": [old_path, new_path], "count": [None, len(descendants)]},
                org_path=new_path,
                message="subtree moved",
            )
    return org
