"""Import writes: register a source system, start an import batch, resume an interrupted one.

``start_import`` stores the upload (Django storage), computes its SM3 digest while streaming it,
creates the ``ImportBatch`` (status ``pending``) and enqueues ``tasks.import_roster_batch``
once the transaction commits; the task runs ``importing.engine.run_batch``. ``resume_import``
re-enqueues an interrupted batch (or a running one whose worker stopped sending heartbeats).

Permission: the ``registry.import`` permission, and ``change`` rights on the batch's org and on
the source's owning org (an org or source the actor cannot see is a 404, ``NotFound``).
"""

from __future__ import annotations

import re
from typing import IO, Any

from cryptography.hazmat.primitives import hashes
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shuyuan.core.context import change_context
from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, invalid
from shuyuan.core.models import Org
from shuyuan.core.scoping import can, has_permission

from ..choices import BatchFormat, BatchMode, BatchStatus, SourceKind
from ..importing.engine import is_stale
from ..models import ImportBatch, SourceSystem

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9.\-_/@]{0,16}$")
READ_SIZE = 1024 * 1024


def _check_can_import(actor: Any, org: Org, source: SourceSystem) -> None:
    if getattr(actor, "is_system_actor", False):
        # The command line (an operator with shell access); the batch names no account.
        _check_source(org, source)
        return
    if not has_permission(actor, "registry.import"):
        raise PermissionDenied()
    if not Org.objects.visible_to(actor).filter(pk=org.pk).exists():
        raise NotFound(_("Organisation not found."), code="ORG_NOT_FOUND")
    if not SourceSystem.objects.visible_to(actor).filter(pk=source.pk).exists():
        raise NotFound(_("Source system not found."), code="SOURCE_NOT_FOUND")
    if not can(actor, "change", org):
        raise PermissionDenied()
    _check_source(org, source)


def _check_source(org: Org, source: SourceSystem) -> None:
    if not source.is_active:
        raise invalid("source", "SOURCE_INACTIVE", _("This source system is deactivated."))
    # The source must belong to the batch org's tree: either side may be the wider one.
    if not (org.path.startswith(source.org.path) or source.org.path.startswith(org.path)):
        raise invalid(
            "source",
            "SOURCE_OUT_OF_SCOPE",
            _("This source system belongs to an organisation outside the chosen organisation."),
        )


def _guess_format(file_name: str) -> str:
    return BatchFormat.XLSX if file_name.lower().endswith(".xlsx") else BatchFormat.ONEROSTER_CSV


def _digest(fh: IO[bytes]) -> tuple[str, int]:
    digest = hashes.Hash(hashes.SM3())
    size = 0
    fh.seek(0)
    while block := fh.read(READ_SIZE):
        digest.update(block)
        size += len(block)
    fh.seek(0)
    return digest.finalize().hex(), size


def _enqueue(batch_id: int) -> None:
    from ..tasks import import_roster_batch

    import_roster_batch.enqueue(batch_id)


def start_import(
    *,
    actor: Any,
    source: SourceSystem,
    org: Org,
    uploaded_file: IO[bytes] | File[bytes],
    file_name: str,
    mode_hint: str | None = None,
    run: bool = True,
) -> ImportBatch:
    """Store ``uploaded_file`` and create a pending batch for ``org`` from ``source``.

    ``mode_hint`` (``bulk``/``delta``) is only shown until the file's manifest is read. With
    ``run`` (the default) the import task is enqueued on commit; the CLI passes ``run=False``
    and runs the engine itself. Raises ``PermissionDenied``, ``NotFound`` or ``InvalidInput``
    (``FILE_EMPTY``, ``FILE_NAME_INVALID``).
    """
    _check_can_import(actor, org, source)
    name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
    if not name or "\x00" in name:
        raise invalid("file", "FILE_NAME_INVALID", _("The file needs a name."))
    if mode_hint and mode_hint not in BatchMode.values:
        raise invalid("mode", "MODE_INVALID", _("The mode must be bulk or delta."))
    fh: Any = uploaded_file.file if isinstance(uploaded_file, File) else uploaded_file
    digest, size = _digest(fh)
    if size == 0:
        raise invalid("file", "FILE_EMPTY", _("The file is empty."))
    with transaction.atomic():
        batch = ImportBatch(
            source=source,
            org=org,
            format=_guess_format(name),
            mode=mode_hint or "",
            file_name=name,
            file_size=size,
            digest=digest,
            status=BatchStatus.PENDING,
            actor=actor if getattr(actor, "pk", None) else None,
        )
        batch.file.save(name, File(fh, name=name), save=False)
        batch.save(force_insert=True)
        if run:
            batch_id = batch.pk
            transaction.on_commit(lambda: _enqueue(batch_id))
    return batch


def resume_import(*, actor: Any, batch: ImportBatch, run: bool = True) -> ImportBatch:
    """Continue an interrupted batch (or a running one that stopped sending heartbeats) from
    its checkpoint. Raises ``Conflict`` (``BATCH_NOT_RESUMABLE``) for any other state."""
    _check_can_import(actor, batch.org, batch.source)
    if not (batch.status == BatchStatus.INTERRUPTED or is_stale(batch)):
        raise Conflict(_("Only an interrupted import can be resumed."), code="BATCH_NOT_RESUMABLE")
    with transaction.atomic():
        updated = ImportBatch.objects.filter(pk=batch.pk, status=batch.status).update(
            status=BatchStatus.PENDING, error="", error_code=""
        )
        if not updated:
            raise Conflict(_("The import changed state; reload the page."), code="BATCH_CHANGED")
        batch.status = BatchStatus.PENDING
        if run:
            batch_id = batch.pk
            transaction.on_commit(lambda: _enqueue(batch_id))
    return batch


def register_source(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    org: Org,
    id_prefix: str = "",
    source: str = "ui",
) -> SourceSystem:
    """Register a source system owned by ``org`` (change-logged). Needs ``change`` rights on
    sources in ``org``'s subtree (region administrators). Raises ``InvalidInput``
    (``SOURCE_CODE_INVALID``, ``SOURCE_PREFIX_INVALID``, ``SOURCE_KIND_INVALID``), ``Conflict``
    (``SOURCE_EXISTS``) or ``PermissionDenied``."""
    if not Org.objects.visible_to(actor).filter(pk=org.pk).exists():
        raise NotFound(_("Organisation not found."), code="ORG_NOT_FOUND")
    probe = SourceSystem(org=org)
    if not _may_change_source(actor, probe):
        raise PermissionDenied()
    code = (code or "").strip().lower()
    name = " ".join((name or "").split())
    errors = []
    if not CODE_RE.fullmatch(code):
        errors.append(
            invalid(
                "code",
                "SOURCE_CODE_INVALID",
                _("Use 1-32 lower-case letters, digits, - or _."),
            )
        )
    if not name or len(name) > 120:
        errors.append(invalid("name", "SOURCE_NAME_INVALID", _("Give a name of 1-120 characters.")))
    if kind not in SourceKind.values:
        errors.append(invalid("kind", "SOURCE_KIND_INVALID", _("Choose a kind of source.")))
    if not PREFIX_RE.fullmatch(id_prefix or ""):
        errors.append(
            invalid(
                "id_prefix",
                "SOURCE_PREFIX_INVALID",
                _("Use at most 16 letters, digits and . - _ / @."),
            )
        )
    if errors:
        raise InvalidInput(_("Correct the marked fields."), errors=[e.errors[0] for e in errors])
    if (
        SourceSystem.objects.filter(code=code).exists()
        or SourceSystem.objects.filter(id_prefix=id_prefix).exists()
    ):
        raise Conflict(
            _("A source with this code or sourcedId prefix already exists."),
            code="SOURCE_EXISTS",
        )
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            created = SourceSystem(code=code, name=name, kind=kind, id_prefix=id_prefix, org=org)
            created.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(
            _("A source with this code or sourcedId prefix already exists."),
            code="SOURCE_EXISTS",
        ) from exc
    return created


def _may_change_source(actor: Any, probe: SourceSystem) -> bool:
    """The source scope rule (``permissions.source_rule``) applied to an unsaved source."""
    from shuyuan.core.scoping import ALL

    from ..permissions import source_rule

    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    rule = source_rule(actor, "change")
    if rule is None:
        return False
    if rule is ALL:
        return True
    return Org.objects.filter(pk=probe.org_id).filter(_rename(rule)).exists()


def _rename(rule: Any) -> Any:
    from django.db.models import Q

    if isinstance(rule, Q):
        clone = Q()
        clone.connector = rule.connector
        clone.negated = rule.negated
        clone.children = [
            _rename(c) if isinstance(c, Q) else (c[0].removeprefix("org__"), c[1])  # type: ignore[index]  # a (lookup, value) pair
            for c in rule.children
        ]
        return clone
    return rule
