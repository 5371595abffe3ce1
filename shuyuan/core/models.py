"""Platform machinery shared by every app: the org tree, the change log and the audit log.

Org tree
    ``Org`` rows form one tree per deployment: region (province-level) > city > county > school >
    grade > class. Regions, cities and counties carry GB/T 2260 administrative division codes;
    schools carry the GB 32100 unified social credit code and a platform-assigned school code
    (一校一码). ``path`` is a materialised path of random keys (``"k1/k2/k3/"``) so a subtree is
    one ``path__startswith`` filter; moving an org rewrites its subtree's paths in one action.

Change log
    Every write to a change-logged model (``ChangeLoggedModel``) appends a ``ChangeRecord``:
    who, when, source, the field-level before/after diff. Each record's SM3 hash covers its
    content and the previous record's hash, so any edit, deletion or reordering of stored
    records is detected by ``verify_changelog``. ``ChainHead`` is the single row that
    serialises appenders. Records hold the actor as a plain id plus name, never a foreign key.

Audit log
    ``AuditEvent`` records security-relevant events that are not row edits: logins, failures,
    lockouts, MFA changes, PII reveals, permission denials. Append-only.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal
from typing import Any, ClassVar

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import crypto
from .context import ChangeContextError, get_change_context, require_change_context
from .scoping import ScopedQuerySet

GENESIS_HASH = "0" * 64


# --- change log --------------------------------------------------------------------------------


class ChangeAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    BULK = "bulk", _("Bulk change")


class ChainHead(models.Model):
    """The head of the change-log chain: last sequence number and hash (one row, pk=1)."""

    seq = models.PositiveBigIntegerField(_("sequence number"), default=0)
    hash = models.CharField(_("hash"), max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("change-log chain head")
        verbose_name_plural = _("change-log chain heads")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class ChangeRecordQuerySet(ScopedQuerySet):
    pass


class ChangeRecord(models.Model):
    """One entry of the hash-chained change log (append-only; see module docstring)."""

    seq = models.PositiveBigIntegerField(_("sequence number"), unique=True)
    created_at = models.DateTimeField(_("time"))
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_name = models.CharField(_("actor name"), max_length=150)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=32)
    action = models.CharField(_("action"), max_length=16, choices=ChangeAction.choices)
    target_type = models.CharField(_("target type"), max_length=100, db_index=True)
    target_id = models.CharField(_("target id"), max_length=64, db_index=True)
    target_repr = models.CharField(_("target"), max_length=200)
    org_path = models.CharField(_("org path"), max_length=255, blank=True, db_index=True)
    parent_type = models.CharField(_("parent type"), max_length=100, blank=True, default="")
    parent_id = models.CharField(_("parent id"), max_length=64, blank=True, default="")
    changes = models.JSONField(_("changes"), default=dict)
    message = models.CharField(_("message"), max_length=255, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    objects = ChangeRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("change record")
        verbose_name_plural = _("change records")
        ordering: ClassVar = ["-seq"]
        indexes: ClassVar = [
            models.Index(fields=["target_type", "target_id", "seq"]),
            models.Index(fields=["parent_type", "parent_id", "seq"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ChangeContextError("Change records are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ChangeContextError("Change records are append-only.")

    def hashed_content(self) -> dict[str, Any]:
        """The fields the hash covers, in a canonical, database-independent form.

        The timeline parent is covered only when set, so records written before it existed keep
        their hashes.
        """
        content: dict[str, Any] = {
            "seq": self.seq,
            "created_at": self.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "request_id": self.request_id,
            "source": self.source,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_repr": self.target_repr,
            "org_path": self.org_path,
            "changes": self.changes,
            "message": self.message,
            "prev_hash": self.prev_hash,
        }
        if self.parent_type or self.parent_id:
            content["parent_type"] = self.parent_type
            content["parent_id"] = self.parent_id
        return content

    def compute_hash(self) -> str:
        canonical = json.dumps(
            self.hashed_content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return crypto.sm3(canonical.encode("utf-8")).hex()


def append_change(
    *,
    action: str,
    target_type: str,
    target_id: str,
    target_repr: str,
    changes: dict[str, Any],
    org_path: str = "",
    message: str = "",
    parent: tuple[str, str] | None = None,
) -> ChangeRecord:
    """Append one chained record in the current change context and transaction.

    Locks the chain head row, so concurrent writers append one after another; the caller's
    transaction holds the lock until it commits, keeping the chain order equal to commit order.
    """
    ctx = require_change_context()
    if not transaction.get_connection().in_atomic_block:
        raise ChangeContextError("Change records must be appended inside a transaction.")
    head, _created = ChainHead.objects.select_for_update().get_or_create(pk=1)
    record = ChangeRecord(
        seq=head.seq + 1,
        created_at=timezone.now(),
        actor_id=ctx.actor_id,
        actor_name=ctx.actor_name[:150],
        request_id=ctx.request_id[:64],
        source=ctx.source,
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:64],
        target_repr=target_repr[:200],
        org_path=org_path[:255],
        parent_type=parent[0][:100] if parent else "",
        parent_id=str(parent[1])[:64] if parent else "",
        changes=changes,
        message=message[:255],
        prev_hash=head.hash,
    )
    # Round-trip through JSON so the hash covers exactly what the database will give back.
    record.changes = json.loads(json.dumps(changes, ensure_ascii=False))
    record.hash = record.compute_hash()
    record.save(force_insert=True)
    head.seq = record.seq
    head.hash = record.hash
    head.save(update_fields=["seq", "hash"])
    return record


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "sm3:" + crypto.sm3(bytes(value)).hex()[:16]
    return str(value)


REDACTED = "[redacted]"


class ChangeLoggedQuerySet(ScopedQuerySet):
    """Blocks queryset-level writes that would bypass the change log."""

    def _check_bulk(self, operation: str) -> None:
        ctx = get_change_context()
        if ctx is None or not ctx.allow_bulk:
            raise ChangeContextError(
                f"{operation}() on a change-logged model is only allowed inside bulk_writes() in "
                "an action that records the change itself."
            )

    def update(self, **kwargs: Any) -> int:
        self._check_bulk("update")
        return super().update(**kwargs)

    def delete(self) -> Any:
        self._check_bulk("delete")
        return super().delete()

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        self._check_bulk("bulk_create")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        self._check_bulk("bulk_update")
        return super().bulk_update(objs, *args, **kwargs)


class ChangeLoggedModel(models.Model):
    """A model whose every create, update and delete appends a chained ``ChangeRecord``.

    ``changelog_redacted`` fields are recorded as changed without their values (secrets,
    ciphertext). ``changelog_operational`` fields (last login, failure counters) are state, not
    facts: saving only those needs no change context and writes no record.
    """

    changelog_redacted: ClassVar[frozenset[str]] = frozenset()
    changelog_operational: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> Any:
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._changelog_snapshot = instance.changelog_snapshot()
        return instance

    def changelog_snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = {}
        deferred = self.get_deferred_fields()  # once: it walks every field itself
        for field in self._meta.concrete_fields:
            if field.attname in deferred:
                continue
            value = getattr(self, field.attname)
            snapshot[field.attname] = _jsonable(value)
        return snapshot

    def changelog_org_path(self) -> str:
        """The org path a change belongs to, so scoped auditors can read it. Override."""
        return ""

    def changelog_parent(self) -> tuple[str, str] | None:
        """The record whose timeline this change also belongs to (e.g. a role's account)."""
        return None

    def creation_diff(self) -> dict[str, Any]:
        """The diff a create records (for actions that write bulk records themselves)."""
        return self._diff({}, self.changelog_snapshot())

    def _diff(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        diff: dict[str, Any] = {}
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            if old == new:
                continue
            if name in self.changelog_redacted:
                diff[name] = [REDACTED if old is not None else None, REDACTED]
            else:
                diff[name] = [old, new]
        return diff

    def save(self, *args: Any, **kwargs: Any) -> None:  # noqa: DJ012  # beside the diff it uses
        update_fields = kwargs.get("update_fields")
        if (
            update_fields is not None
            and not self._state.adding
            and set(update_fields) <= self.changelog_operational
        ):
            super().save(*args, **kwargs)
            return
        require_change_context()
        adding = self._state.adding
        before = {} if adding else getattr(self, "_changelog_snapshot", {})
        with transaction.atomic():
            super().save(*args, **kwargs)
            after = self.changelog_snapshot()
            diff = self._diff(before, after)
            for name in self.changelog_operational:
                diff.pop(name, None)
            if adding or diff:
                append_change(
                    action=ChangeAction.CREATE if adding else ChangeAction.UPDATE,
                    target_type=self._meta.label_lower,
                    target_id=str(self.pk),
                    target_repr=str(self),
                    changes=diff,
                    org_path=self.changelog_org_path(),
                    parent=self.changelog_parent(),
                )
        self._changelog_snapshot = after

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        require_change_context()
        before = self.changelog_snapshot()
        pk, label, text, org_path = (
            self.pk,
            self._meta.label_lower,
            str(self),
            self.changelog_org_path(),
        )
        parent = self.changelog_parent()
        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            append_change(
                action=ChangeAction.DELETE,
                target_type=label,
                target_id=str(pk),
                target_repr=text,
                changes={
                    k: [v, None] for k, v in before.items() if k not in self.changelog_redacted
                },
                org_path=org_path,
                parent=parent,
            )
        return result


# --- org tree ----------------------------------------------------------------------------------


class OrgKind(models.TextChoices):
    REGION = "region", _("Region")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    SCHOOL = "school", _("School")
    GRADE = "grade", _("Grade")
    CLASS = "class", _("Class")


#: Which kinds may sit directly under which. Schools may hang off any administrative level
#: (province- and city-run schools exist); counties may sit under a region for municipalities.
ALLOWED_PARENTS: dict[str, tuple[str | None, ...]] = {
    OrgKind.REGION: (None,),
    OrgKind.CITY: (OrgKind.REGION,),
    OrgKind.COUNTY: (OrgKind.CITY, OrgKind.REGION),
    OrgKind.SCHOOL: (OrgKind.COUNTY, OrgKind.CITY, OrgKind.REGION),
    OrgKind.GRADE: (OrgKind.SCHOOL,),
    OrgKind.CLASS: (OrgKind.GRADE,),
}

ADMINISTRATIVE_KINDS = (OrgKind.REGION, OrgKind.CITY, OrgKind.COUNTY)


def new_path_key() -> str:
    """A short random key for one path segment (collisions are caught by the unique path)."""
    return secrets.token_hex(5)


class OrgQuerySet(ChangeLoggedQuerySet):
    def subtree(self, path: str) -> OrgQuerySet:
        return self.filter(path__startswith=path)


class Org(ChangeLoggedModel):
    """A node of the org tree: an administrative region, a school, a grade or a class."""

    kind = models.CharField(_("kind"), max_length=16, choices=OrgKind.choices)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    division_code = models.CharField(
        _("administrative division code"), max_length=6, blank=True, db_index=True
    )
    school_code = models.CharField(
        _("school code"), max_length=20, null=True, blank=True, unique=True
    )
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, null=True, blank=True, unique=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = OrgQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering: ClassVar = ["path"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["division_code"],
                condition=models.Q(kind__in=["region", "city", "county"]),
                name="org_unique_division_code",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def changelog_org_path(self) -> str:
        return self.path

    @property
    def is_administrative(self) -> bool:
        return self.kind in ADMINISTRATIVE_KINDS

    def ancestors(self) -> OrgQuerySet:
        """This org's ancestors, root first (one query)."""
        parts = self.path.rstrip("/").split("/")[:-1]
        prefixes = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
        return Org.objects.filter(path__in=prefixes).order_by("depth")

    def school(self) -> Org | None:
        """The school this org is or belongs to."""
        if self.kind == OrgKind.SCHOOL:
            return self
        if self.kind in ADMINISTRATIVE_KINDS:
            return None
        return self.ancestors().filter(kind=OrgKind.SCHOOL).first()


# --- audit log ---------------------------------------------------------------------------------


class AuditEventQuerySet(ScopedQuerySet):
    pass


class AuditEvent(models.Model):
    """A security-relevant event that is not a row edit (append-only).

    ``code`` is ``<app>.<noun>.<past_verb>``, e.g. ``identity.login.failed``.
    """

    code = models.CharField(_("code"), max_length=64, db_index=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    org_path = models.CharField(_("org path"), max_length=255, blank=True, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=100, blank=True)
    subject_id = models.CharField(_("subject id"), max_length=64, blank=True)
    subject_repr = models.CharField(
        pgettext_lazy("audit event", "subject"), max_length=200, blank=True
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    extra = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.code} {self.subject_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ChangeContextError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ChangeContextError("Audit events are append-only.")
