"""Write use cases of data quality: deciding duplicate candidates (merge, keep apart, unmerge),
resolving or dismissing findings, the survivorship rules, and revealing a person's PII.

Every action takes a keyword-only ``actor``, checks permission (an action on a row the actor may
see but not change raises ``PermissionDenied``), runs in one transaction and records the change
log: model saves inside ``change_context(actor=actor, source="ui")`` append one chained
``ChangeRecord`` per row written. Findings are not change-logged (the importer writes them in
bulk); deciding one appends an ``AuditEvent`` instead. Semantics: docs/apps/registry-quality.md.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context
from shuyuan.core.errors import Conflict, PermissionDenied, invalid
from shuyuan.core.scoping import can, has_permission
from shuyuan.identity.pii import pii_cipher

from ..choices import (
    EntityType,
    FindingStatus,
    MatchStatus,
    RecordStatus,
    SurvivorshipStrategy,
)
from ..models import (
    Enrollment,
    FieldAuthority,
    Finding,
    Guardianship,
    MatchCandidate,
    Merge,
    Person,
    PersonRole,
    SourceSystem,
)

SOURCE = "ui"

#: A person's logical fields (the names survivorship rules and provenance use) and the model
#: attnames that hold each; the first attname tells whether the field is filled.
PERSON_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "family_name", "given_name", "name_key"),
    "sex": ("sex",),
    "birth_date": ("birth_date",),
    "ethnicity": ("ethnicity",),
    "id_number": ("id_number_index", "id_number_cipher", "id_number_masked"),
    "mobile": ("mobile_index", "mobile_cipher", "mobile_masked"),
    "email": ("email",),
    "student_number": ("student_number",),
    "username": ("username",),
    "identifier": ("identifier",),
    "primary_org": ("primary_org_id",),
    "grades": ("grades",),
    "account": ("account_id",),
}

#: Fields a survivorship rule may name, per entity type (the importer reads the same rules).
AUTHORITY_FIELDS: dict[str, tuple[str, ...]] = {
    EntityType.USER: (
        "name",
        "sex",
        "birth_date",
        "ethnicity",
        "id_number",
        "mobile",
        "email",
        "student_number",
        "username",
        "identifier",
        "primary_org",
        "grades",
    ),
    EntityType.ENROLLMENT: ("role", "primary", "begin_date", "end_date"),
    EntityType.ROLE: ("role", "role_type", "begin_date", "end_date"),
    EntityType.CLASS: ("title", "class_code", "class_type", "location", "grades", "subjects"),
    EntityType.COURSE: ("title", "course_code", "grades", "subjects"),
    EntityType.ORG: ("name", "identifier"),
    EntityType.GUARDIANSHIP: ("relation",),
}

PII_FIELDS = ("id_number", "mobile")


# --- value snapshots ---------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """A JSON value for one attribute (ciphertext as base64, dates as ISO text)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _decode(attname: str, value: Any) -> Any:
    if value is None:
        return None
    kind = _field_for(attname).get_internal_type()
    if kind == "BinaryField":
        return base64.b64decode(value)
    if kind == "DateField":
        return dt.date.fromisoformat(value)
    return value


def _field_for(attname: str) -> Any:
    return next(f for f in Person._meta.concrete_fields if f.attname == attname)


def _is_empty(value: Any) -> bool:
    return value is None or value in ("", [], {}) or value == b""


def _authoritative_fields(source_id: int) -> set[str]:
    """Person fields whose survivorship rule makes ``source_id`` authoritative."""
    return set(
        FieldAuthority.objects.filter(
            entity_type=EntityType.USER,
            strategy=SurvivorshipStrategy.AUTHORITATIVE,
            source_id=source_id,
        ).values_list("field", flat=True)
    )


# --- duplicate candidates ----------------------------------------------------------------------


def _check_decide(actor: Any, candidate: MatchCandidate) -> None:
    """Deciding needs ``change`` on the candidate and on both of its records."""
    if not can(actor, "change", candidate):
        raise PermissionDenied(_("You may not decide this duplicate candidate."))
    allowed: QuerySet[Person] = Person.objects.visible_to(actor, "change").filter(
        pk__in=[candidate.left_id, candidate.right_id]
    )
    if allowed.count() != 2:  # both records of the pair
        raise PermissionDenied(_("You may not change both records of this pair."))


def _lock_candidate(candidate: MatchCandidate) -> MatchCandidate:
    locked: MatchCandidate = (
        MatchCandidate.objects.select_for_update().select_related("org").get(pk=candidate.pk)
    )
    return locked


def _lock_people(*pks: int) -> dict[int, Person]:
    people = Person.objects.select_for_update().filter(pk__in=pks).order_by("pk")
    return {p.pk: p for p in people}


def merge_candidate(
    *, actor: Any, candidate: MatchCandidate, survivor: Person | None = None
) -> Merge:
    """Merge the pair of ``candidate``: ``survivor`` (default: the left, older record) absorbs
    the other.

    In one transaction: copies into the survivor each field it lacks and each field for which
    a survivorship rule makes the absorbed record's source authoritative (provenance follows
    the value); re-points the absorbed record's enrolments, roles and guardianships to the
    survivor (a guardianship that would duplicate one the survivor has, or bind the survivor
    to itself, is left in place and listed as skipped); marks the absorbed record
    ``tobedeleted`` and ``merged_into`` the survivor; sets the candidate ``merged``. Every row
    written is change-logged. Raises ``PermissionDenied``, ``Conflict`` (``MATCH_DECIDED``,
    ``PERSON_MERGED``) or ``InvalidInput`` (``survivor`` not of the pair).
    """
    _check_decide(actor, candidate)
    survivor_id = survivor.pk if survivor is not None else candidate.left_id
    if survivor_id not in (candidate.left_id, candidate.right_id):
        raise invalid("survivor", "NOT_IN_PAIR", _("The survivor must be one of the pair."))
    absorbed_id = candidate.right_id if survivor_id == candidate.left_id else candidate.left_id
    with transaction.atomic(), change_context(actor=actor, source=SOURCE):
        candidate = _lock_candidate(candidate)
        if candidate.status not in (MatchStatus.OPEN, MatchStatus.UNMERGED):
            raise Conflict(
                _("This duplicate candidate has already been decided."), code="MATCH_DECIDED"
            )
        people = _lock_people(survivor_id, absorbed_id)
        keep, gone = people[survivor_id], people[absorbed_id]
        if keep.merged_into_id is not None or gone.merged_into_id is not None:
            raise Conflict(
                _("One of the records has already been merged into another."),
                code="PERSON_MERGED",
            )
        before, after = _absorb_fields(keep, gone)
        merge = Merge(
            candidate=candidate,
            survivor=keep,
            absorbed=gone,
            survivor_before=before,
            survivor_after=after,
            absorbed_before={"status": gone.status},
            moved=_repoint(gone, keep),
        )
        gone.merged_into = keep
        gone.status = RecordStatus.TOBEDELETED
        gone.save(update_fields=["merged_into", "status"])
        merge.save()
        candidate.status = MatchStatus.MERGED
        candidate.decided_by = actor
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return merge


def _absorb_fields(keep: Person, gone: Person) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copy fields from ``gone`` into ``keep`` (see ``merge_candidate``); save ``keep``.

    Returns (values before, values written), by attname, for the attributes that changed, plus
    ``provenance`` entries under ``"provenance"``.
    """
    authoritative = _authoritative_fields(gone.source_id)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    provenance = dict(keep.provenance or {})
    prov_before: dict[str, Any] = {}
    for logical, attnames in PERSON_FIELDS.items():
        theirs = getattr(gone, attnames[0])
        if _is_empty(theirs):
            continue
        if not (_is_empty(getattr(keep, attnames[0])) or logical in authoritative):
            continue
        changed = False
        for attname in attnames:
            old, new = getattr(keep, attname), getattr(gone, attname)
            if _encode(old) == _encode(new):
                continue
            before[attname] = _encode(old)
            after[attname] = _encode(new)
            setattr(keep, attname, new)
            changed = True
        if changed:
            for key in {logical, *attnames}:
                if key in (gone.provenance or {}) or key in provenance:
                    prov_before[key] = provenance.get(key)
                    if key in (gone.provenance or {}):
                        provenance[key] = gone.provenance[key]
                    else:
                        provenance.pop(key, None)
    if after:
        keep.provenance = provenance
        keep.save(update_fields=[*after, "provenance"])
    before_all = {**before, "provenance": prov_before}
    return before_all, after


def _repoint(gone: Person, keep: Person) -> dict[str, Any]:
    """Re-point ``gone``'s enrolments, roles and guardianships to ``keep`` (model saves)."""
    moved: dict[str, Any] = {
        "enrollment": [],
        "role": [],
        "guardian": [],
        "student": [],
        "skipped": {"guardian": [], "student": []},
    }
    for enrollment in Enrollment.objects.filter(person=gone).order_by("pk"):
        enrollment.person = keep
        enrollment.save(update_fields=["person"])
        moved["enrollment"].append(enrollment.pk)
    for role in PersonRole.objects.filter(person=gone).order_by("pk"):
        role.person = keep
        role.save(update_fields=["person"])
        moved["role"].append(role.pk)
    wards = set(Guardianship.objects.filter(guardian=keep).values_list("student_id", flat=True))
    for link in Guardianship.objects.filter(guardian=gone).order_by("pk"):
        if link.student_id in wards or link.student_id == keep.pk:
            moved["skipped"]["guardian"].append(link.pk)
            continue
        link.guardian = keep
        link.save(update_fields=["guardian"])
        wards.add(link.student_id)
        moved["guardian"].append(link.pk)
    guardians = set(Guardianship.objects.filter(student=keep).values_list("guardian_id", flat=True))
    for link in Guardianship.objects.filter(student=gone).order_by("pk"):
        if link.guardian_id in guardians or link.guardian_id == keep.pk:
            moved["skipped"]["student"].append(link.pk)
            continue
        link.student = keep
        link.save(update_fields=["student"])
        guardians.add(link.guardian_id)
        moved["student"].append(link.pk)
    return moved


def keep_apart(*, actor: Any, candidate: MatchCandidate) -> MatchCandidate:
    """Decide that the pair are two people: ``kept_apart``. The matcher does not propose the
    pair again (one candidate per pair). Raises ``PermissionDenied`` or ``Conflict``
    (``MATCH_DECIDED``)."""
    _check_decide(actor, candidate)
    with transaction.atomic(), change_context(actor=actor, source=SOURCE):
        candidate = _lock_candidate(candidate)
        if candidate.status not in (MatchStatus.OPEN, MatchStatus.UNMERGED):
            raise Conflict(
                _("This duplicate candidate has already been decided."), code="MATCH_DECIDED"
            )
        candidate.status = MatchStatus.KEPT_APART
        candidate.decided_by = actor
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate


def unmerge(*, actor: Any, merge: Merge) -> Merge:
    """Reverse ``merge`` exactly: the survivor's fields the merge wrote get their old values
    (and provenance) back, the re-pointed rows return to the absorbed record, which becomes
    active again (its earlier status) and no longer ``merged_into`` the survivor; the candidate
    becomes ``unmerged`` and the merge ``reversed_at`` now.

    Raises ``PermissionDenied``; ``Conflict`` ``MERGE_REVERSED`` (already reversed) or
    ``MERGE_STALE`` when a field the merge wrote has changed since (nothing is written then).
    """
    candidate = merge.candidate
    _check_decide(actor, candidate)
    with transaction.atomic(), change_context(actor=actor, source=SOURCE):
        merge = Merge.objects.select_for_update().get(pk=merge.pk)
        if merge.reversed_at is not None:
            raise Conflict(_("This merge has already been reversed."), code="MERGE_REVERSED")
        candidate = _lock_candidate(candidate)
        people = _lock_people(merge.survivor_id, merge.absorbed_id)
        keep, gone = people[merge.survivor_id], people[merge.absorbed_id]
        stale = [
            attname
            for attname, written in (merge.survivor_after or {}).items()
            if _encode(getattr(keep, attname)) != written
        ]
        if stale or gone.merged_into_id != keep.pk:
            raise Conflict(
                _(
                    "The surviving record has changed since the merge (%(fields)s); "
                    "reverse those changes first or correct the records by hand."
                )
                % {"fields": ", ".join(sorted(stale)) or "merged_into"},
                code="MERGE_STALE",
            )
        _restore_fields(keep, merge)
        _move_back(merge, keep, gone)
        gone.merged_into = None
        gone.status = (merge.absorbed_before or {}).get("status", RecordStatus.ACTIVE)
        gone.save(update_fields=["merged_into", "status"])
        merge.reversed_at = timezone.now()
        merge.save(update_fields=["reversed_at"])
        candidate.status = MatchStatus.UNMERGED
        candidate.decided_by = actor
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return merge


def _restore_fields(keep: Person, merge: Merge) -> None:
    before = dict(merge.survivor_before or {})
    prov_before = before.pop("provenance", {}) or {}
    if not merge.survivor_after:
        return
    for attname in merge.survivor_after:
        setattr(keep, attname, _decode(attname, before.get(attname)))
    provenance = dict(keep.provenance or {})
    for key, value in prov_before.items():
        if value is None:
            provenance.pop(key, None)
        else:
            provenance[key] = value
    keep.provenance = provenance
    keep.save(update_fields=[*merge.survivor_after, "provenance"])


def _move_back(merge: Merge, keep: Person, gone: Person) -> None:
    moved = merge.moved or {}
    plan: list[tuple[Any, str, str]] = [
        (Enrollment, "enrollment", "person"),
        (PersonRole, "role", "person"),
        (Guardianship, "guardian", "guardian"),
        (Guardianship, "student", "student"),
    ]
    for model, key, attr in plan:
        ids = moved.get(key) or []
        rows: list[Model] = list(model.objects.filter(pk__in=ids, **{attr: keep}).order_by("pk"))
        for row in rows:
            setattr(row, attr, gone)
            row.save(update_fields=[attr])


# --- findings ----------------------------------------------------------------------------------


def _decide_finding(actor: Any, finding: Finding, status: str, note: str) -> Finding:
    if not can(actor, "change", finding):
        raise PermissionDenied(_("You may not decide this finding."))
    with transaction.atomic():
        finding = Finding.objects.select_for_update().select_related("org").get(pk=finding.pk)
        if finding.status != FindingStatus.OPEN:
            raise Conflict(_("This finding has already been decided."), code="FINDING_DECIDED")
        finding.status = status
        finding.decided_by = actor
        finding.decided_at = timezone.now()
        finding.note = note[:500]
        finding.save(update_fields=["status", "decided_by", "decided_at", "note"])
        record_audit(
            f"registry.finding.{status}",
            actor=actor,
            subject=finding,
            org_path=finding.org.path,
            extra={"old": FindingStatus.OPEN.value, "new": status, "note": note[:500]},
        )
    return finding


def resolve_finding(*, actor: Any, finding: Finding, note: str = "") -> Finding:
    """Mark an open finding resolved (the data was corrected). Appends the audit event
    ``registry.finding.resolved``. Raises ``PermissionDenied`` or ``Conflict``
    (``FINDING_DECIDED``)."""
    return _decide_finding(actor, finding, FindingStatus.RESOLVED, note)


def dismiss_finding(*, actor: Any, finding: Finding, note: str = "") -> Finding:
    """Mark an open finding dismissed (accepted as it is). Appends ``registry.finding.dismissed``.
    Raises ``PermissionDenied`` or ``Conflict`` (``FINDING_DECIDED``)."""
    return _decide_finding(actor, finding, FindingStatus.DISMISSED, note)


def record_findings_export(
    *, actor: Any, fmt: str, filters: dict[str, Any], org_path: str = ""
) -> None:
    """Record that ``actor`` exported findings (``registry.findings.exported``, with the format
    and filters). The caller builds the file from ``queries.quality.list_findings``, so only
    findings the actor may see are exported."""
    with transaction.atomic():
        record_audit(
            "registry.findings.exported",
            actor=actor,
            org_path=org_path,
            extra={"format": fmt, "filters": {k: v for k, v in filters.items() if v}},
        )


# --- survivorship rules ------------------------------------------------------------------------


def _check_configure(actor: Any) -> None:
    if not has_permission(actor, "registry.configure_authorities"):
        raise PermissionDenied(_("You may not configure field authorities."))


def set_field_authority(
    *,
    actor: Any,
    entity_type: str,
    field: str,
    strategy: str,
    source: SourceSystem | None = None,
    authority: FieldAuthority | None = None,
) -> FieldAuthority:
    """Create the rule for ``entity_type.field`` or change ``authority`` (one rule per field).

    Needs ``registry.configure_authorities``. ``field`` must be one of ``AUTHORITY_FIELDS``
    (``InvalidInput`` ``UNKNOWN_FIELD`` naming it); ``authoritative`` needs a ``source``
    (``REQUIRED``); a second rule for the same field is ``Conflict`` ``AUTHORITY_EXISTS``.
    """
    _check_configure(actor)
    if entity_type not in AUTHORITY_FIELDS:
        raise invalid("entity_type", "INVALID_CHOICE", _("Unknown entity type."))
    if field not in AUTHORITY_FIELDS[entity_type]:
        raise invalid(
            "field",
            "UNKNOWN_FIELD",
            _("%(field)s is not a field of %(entity)s that a rule can govern.")
            % {"field": field, "entity": entity_type},
        )
    if strategy not in SurvivorshipStrategy.values:
        raise invalid("strategy", "INVALID_CHOICE", _("Unknown strategy."))
    if strategy == SurvivorshipStrategy.AUTHORITATIVE and source is None:
        raise invalid("source", "REQUIRED", _("Choose the authoritative source."))
    if strategy != SurvivorshipStrategy.AUTHORITATIVE:
        source = None
    with transaction.atomic(), change_context(actor=actor, source=SOURCE):
        clash = FieldAuthority.objects.filter(entity_type=entity_type, field=field)
        if authority is not None:
            clash = clash.exclude(pk=authority.pk)
        if clash.exists():
            raise Conflict(
                _("There is already a rule for this field."),
                code="AUTHORITY_EXISTS",
                field="field",
            )
        rule = authority or FieldAuthority()
        rule.entity_type = entity_type
        rule.field = field
        rule.strategy = strategy
        rule.source = source
        rule.save()
    return rule


def delete_field_authority(*, actor: Any, authority: FieldAuthority) -> None:
    """Delete a rule (the field falls back to ``creator``). Needs
    ``registry.configure_authorities``; change-logged."""
    _check_configure(actor)
    with transaction.atomic(), change_context(actor=actor, source=SOURCE):
        authority.delete()


# --- personal data -----------------------------------------------------------------------------


def reveal_person_pii(*, actor: Any, person: Person, field: str) -> str:
    """The plaintext ID or mobile number of ``person``; needs ``reveal_pii`` on the record.

    Every reveal appends ``registry.pii.revealed`` (a refusal ``registry.pii.denied`` and
    ``PermissionDenied``); an unknown ``field`` is ``InvalidInput``.
    """
    if field not in PII_FIELDS:
        raise invalid("field", "INVALID_CHOICE", _("Unknown personal data field."))
    org_path = person.changelog_org_path()
    if not can(actor, "reveal_pii", person):
        with transaction.atomic():
            record_audit(
                "registry.pii.denied",
                actor=actor,
                subject=person,
                org_path=org_path,
                extra={"field": field},
            )
        raise PermissionDenied(_("You may not see this person's full personal data."))
    blob = person.id_number_cipher if field == "id_number" else person.mobile_cipher
    if not blob:
        return ""
    value = pii_cipher().decrypt(bytes(blob))
    with transaction.atomic():
        record_audit(
            "registry.pii.revealed",
            actor=actor,
            subject=person,
            org_path=org_path,
            extra={"field": field},
        )
    return value
