"""Record reads: people, classes and schools, and a record's lineage (which source and batch set
each field, what other sources said, every change since). Always through ``visible_to``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org

from ..choices import EntityType, FindingStatus, MatchStatus, RecordStatus
from ..models import (
    Enrollment,
    FieldObservation,
    Finding,
    Guardianship,
    ImportBatch,
    MatchCandidate,
    Merge,
    Person,
    PersonRole,
    RecordChange,
    RosterClass,
)
from ..normalize import name_key

PERSON_LIST_DEFERRED = ("id_number_cipher", "mobile_cipher", "provenance")

#: The fields a person's page lists, in order, with the provenance key that records each.
PERSON_DETAIL_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "name"),
    ("family_name", "family_name"),
    ("given_name", "given_name"),
    ("name_key", "name_key"),
    ("sex", "sex"),
    ("birth_date", "birth_date"),
    ("ethnicity", "ethnicity"),
    ("id_number_masked", "id_number"),
    ("mobile_masked", "mobile"),
    ("student_number", "student_number"),
    ("email", "email"),
    ("username", "username"),
    ("identifier", "identifier"),
    ("grades", "grades"),
    ("primary_org", "primary_org"),
    ("enabled", "enabled"),
)


def _subtree_ids(org: Org) -> QuerySet[Any, Any]:
    return Org.objects.filter(path__startswith=org.path).values("id")


def list_people(
    user: Any, *, q: str = "", org: Org | None = None, role: str = "", action: str = "view"
) -> QuerySet[Person]:
    """People ``user`` may see: search by name (contains), match key, sourcedId or student
    number (exact); filter by org subtree (primary org or a role there) and by role held."""
    qs: QuerySet[Person] = (
        Person.objects.visible_to(user, action)
        .select_related("primary_org", "source")
        .defer(*PERSON_LIST_DEFERRED)
    )
    if q:
        text = q.strip()[:64]
        qs = qs.filter(
            Q(name__icontains=text)
            | Q(name_key=name_key(text))
            | Q(sourced_id=text)
            | Q(student_number=text)
        )
    if org is not None:
        ids = _subtree_ids(org)
        qs = qs.filter(
            Q(primary_org_id__in=ids)
            | Q(pk__in=PersonRole.objects.filter(org_id__in=ids).values("person_id"))
        )
    if role:
        qs = qs.filter(pk__in=PersonRole.objects.filter(role=role).values("person_id"))
    return qs.order_by("name_key", "id")


def access_person(user: Any, pk: int, action: str = "view") -> Person:
    found: Person | None = (
        Person.objects.visible_to(user, action)
        .select_related("primary_org", "source", "created_batch", "last_batch", "merged_into")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Person not found."), code="PERSON_NOT_FOUND")
    return found


@dataclass
class FieldLineage:
    """One field of a record: its value and the batch (and so source and time) that set it."""

    name: str
    label: str
    value: Any
    batch: ImportBatch | None
    batch_visible: bool
    observations: list[FieldObservation]


def person_lineage(user: Any, person: Person) -> list[FieldLineage]:
    """Each field of ``person`` with the batch that last set it (``provenance``), that batch's
    source and time, and the values other sources sent for it. Three queries.

    The batch's source and time are shown to anyone who may see the person; the link to the
    batch's report only when ``user`` may see the batch.
    """
    provenance: dict[str, Any] = person.provenance or {}
    observations = list(
        FieldObservation.objects.filter(entity_type=EntityType.USER, record_id=person.pk)
        .select_related("batch__source")
        .order_by("-observed_at", "-id")
    )
    batch_ids = {v for v in provenance.values() if isinstance(v, int)}
    batches = {
        b.pk: b for b in ImportBatch.objects.filter(pk__in=batch_ids).select_related("source")
    }
    visible: set[int] = set(
        ImportBatch.objects.visible_to(user).filter(pk__in=batch_ids).values_list("pk", flat=True)
    )
    by_field: dict[str, list[FieldObservation]] = {}
    for obs in observations:
        by_field.setdefault(obs.field, []).append(obs)
    rows: list[FieldLineage] = []
    for attname, key in PERSON_DETAIL_FIELDS:
        field: Any = Person._meta.get_field(attname)
        batch_id = provenance.get(key, provenance.get(attname))
        value: Any = getattr(person, attname)
        if attname == "sex":
            value = person.get_sex_display() if person.sex else ""
        rows.append(
            FieldLineage(
                name=key,
                label=str(field.verbose_name),
                value=value,
                batch=batches.get(batch_id) if isinstance(batch_id, int) else None,
                batch_visible=batch_id in visible,
                observations=by_field.get(key, []) + by_field.get(attname, [])
                if key != attname
                else by_field.get(key, []),
            )
        )
    return rows


def record_changes(entity_type: str, record_id: int) -> QuerySet[RecordChange]:
    """The import changes to one record, newest first (batch and source joined). Call only
    after ``access_*`` of the record."""
    return (
        RecordChange.objects.filter(entity_type=entity_type, record_id=record_id)
        .select_related("batch__source")
        .order_by("-id")
    )


def person_roles(user: Any, person: Person) -> QuerySet[PersonRole]:
    return (
        PersonRole.objects.visible_to(user).filter(person=person).select_related("org")
    ).order_by("org__path", "role")


def person_enrollments(user: Any, person: Person) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.visible_to(user)
        .filter(person=person)
        .select_related("roster_class", "school")
        .order_by("school__path", "roster_class__title")
    )


def person_guardians(user: Any, person: Person) -> QuerySet[Guardianship]:
    return (
        Guardianship.objects.visible_to(user)
        .filter(student=person)
        .select_related("guardian")
        .order_by("guardian__name_key")
    )


def person_wards(user: Any, person: Person) -> QuerySet[Guardianship]:
    return (
        Guardianship.objects.visible_to(user)
        .filter(guardian=person)
        .select_related("student")
        .order_by("student__name_key")
    )


def person_findings(user: Any, person: Person) -> QuerySet[Finding]:
    return (
        Finding.objects.visible_to(user)
        .filter(entity_type=EntityType.USER, record_id=person.pk, status=FindingStatus.OPEN)
        .select_related("batch")
        .order_by("-created_at", "-id")
    )


def person_candidates(user: Any, person: Person) -> QuerySet[MatchCandidate]:
    return (
        MatchCandidate.objects.visible_to(user)
        .filter(Q(left=person) | Q(right=person))
        .select_related("left", "right")
        .order_by("status", "-score", "id")
    )


def person_merges(user: Any, person: Person) -> QuerySet[Merge]:
    """Merges ``person`` took part in (as survivor or absorbed), newest first."""
    return (
        Merge.objects.visible_to(user)
        .filter(Q(survivor=person) | Q(absorbed=person))
        .select_related("survivor", "absorbed")
        .order_by("-created_at", "-id")
    )


def merged_records(user: Any, person: Person) -> QuerySet[Person]:
    return Person.objects.visible_to(user).filter(merged_into=person).defer(*PERSON_LIST_DEFERRED)


# --- classes and schools -----------------------------------------------------------------------


def list_classes(user: Any, *, q: str = "", org: Org | None = None) -> QuerySet[RosterClass]:
    qs: QuerySet[RosterClass] = (
        RosterClass.objects.visible_to(user)
        .select_related("school", "course")
        .annotate(
            students=Count("enrollments", filter=Q(enrollments__role="student")),
        )
    )
    if q:
        text = q.strip()[:64]
        qs = qs.filter(Q(title__icontains=text) | Q(class_code=text) | Q(sourced_id=text))
    if org is not None:
        qs = qs.filter(school_id__in=_subtree_ids(org))
    return qs.order_by("school__path", "title", "id")


def access_class(user: Any, pk: int) -> RosterClass:
    found: RosterClass | None = (
        RosterClass.objects.visible_to(user)
        .select_related("school", "course", "source")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Class not found."), code="CLASS_NOT_FOUND")
    return found


def class_members(user: Any, roster_class: RosterClass) -> QuerySet[Enrollment]:
    """The class's enrolments (students and teachers) with the person joined."""
    return (
        Enrollment.objects.visible_to(user)
        .filter(roster_class=roster_class)
        .select_related("person")
        .defer(*(f"person__{name}" for name in PERSON_LIST_DEFERRED))
        .order_by("role", "person__name_key", "id")
    )


def school_summary(school: Org) -> dict[str, int]:
    """Counts of active students, teachers and classes, and of open findings, in ``school``'s
    subtree. ``school`` must come from ``core.queries.access_org``. Four queries."""
    ids = _subtree_ids(school)
    roles = PersonRole.objects.filter(org_id__in=ids, status=RecordStatus.ACTIVE).aggregate(
        students=Count("person", filter=Q(role="student"), distinct=True),
        teachers=Count("person", filter=Q(role="teacher"), distinct=True),
    )
    return {
        "students": roles["students"],
        "teachers": roles["teachers"],
        "classes": RosterClass.objects.filter(
            school_id__in=ids, status=RecordStatus.ACTIVE
        ).count(),
        "open_findings": Finding.objects.filter(org_id__in=ids, status=FindingStatus.OPEN).count(),
        "open_candidates": MatchCandidate.objects.filter(
            org_id__in=ids, status=MatchStatus.OPEN
        ).count(),
    }
