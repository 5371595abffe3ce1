"""The base-data records: orgs (linked to the org tree), sessions, courses, classes, people,
their roles, enrolments and guardianships.

Every record carries the OneRoster bookkeeping (``sourced_id`` namespaced by its source's
prefix, ``status``, ``date_last_modified``) and field-level provenance: ``provenance`` maps each
field name to the id of the import batch that last set it (a batch knows its source and time),
so a record's page can say which source and batch set each field.

People are base-data records, not accounts: ``Person.account`` links to the person's one
platform account (``identity.User``) when there is one, matched by the same keyed ID-number
blind index. Schools and administrative units are ``core.Org`` rows; ``OrgRecord`` only maps a
source's org sourcedId onto the tree.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org

from ..choices import (
    ClassType,
    EnrollmentRole,
    OrgType,
    RecordStatus,
    RoleType,
    RosterRole,
    SessionType,
    Sex,
)
from .sources import ImportBatch, SourceSystem


class RecordQuerySet(ChangeLoggedQuerySet):
    def active(self) -> RecordQuerySet:
        return self.filter(status=RecordStatus.ACTIVE)


class RosterRecord(ChangeLoggedModel):
    """Fields every registry record has (see the module docstring)."""

    sourced_id = models.CharField(_("sourcedId"), max_length=255, unique=True)
    source = models.ForeignKey(
        SourceSystem, verbose_name=_("source"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.ACTIVE
    )
    date_last_modified = models.DateTimeField(_("last modified"), default=timezone.now)
    provenance = models.JSONField(_("field provenance"), default=dict, blank=True)
    # No database constraint on the two batch links: the importer sets them to the batch it is
    # running (which exists), batches are never deleted (PROTECT in Django), and each checked
    # foreign key costs every imported row a lookup at commit (ADR 0003, set-based writes).
    created_batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("created by batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    last_batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("last changed by batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )

    seen_batch = models.BigIntegerField(
        _("last seen in batch"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The last import batch that listed this record (for bulk-mode deletion)."),
    )

    objects = RecordQuerySet.as_manager()

    #: Which batch last listed a record is bookkeeping of the importer, not a fact.
    changelog_operational: ClassVar[frozenset[str]] = frozenset({"seen_batch"})

    class Meta:
        abstract = True


class OrgRecord(RosterRecord):
    """A source's org (school, district, ...) mapped onto the org tree."""

    org = models.ForeignKey(
        Org, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="records"
    )
    name = models.CharField(_("name"), max_length=120)
    type = models.CharField(_("type"), max_length=32, choices=OrgType.choices)
    identifier = models.CharField(_("identifier"), max_length=64, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    class Meta:
        verbose_name = _("org record")
        verbose_name_plural = _("org records")
        ordering: ClassVar = ["sourced_id"]

    def __str__(self) -> str:
        return self.name

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class AcademicSession(RosterRecord):
    """A school year, semester, term or grading period (``end_date`` is exclusive)."""

    title = models.CharField(_("title"), max_length=120)
    type = models.CharField(_("type"), max_length=32, choices=SessionType.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date (exclusive)"))
    school_year = models.PositiveSmallIntegerField(_("school year (year it ends)"))
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    org = models.ForeignKey(
        Org,
        verbose_name=_("owning organisation"),
        on_delete=models.PROTECT,
        related_name="academic_sessions",
        help_text=_("The org whose batch defined the session; used for access scoping."),
    )

    class Meta:
        verbose_name = _("academic session")
        verbose_name_plural = _("academic sessions")
        ordering: ClassVar = ["start_date", "sourced_id"]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class Course(RosterRecord):
    title = models.CharField(_("title"), max_length=255)
    course_code = models.CharField(_("course code"), max_length=64, blank=True)
    grades = models.JSONField(_("grades"), default=list, blank=True)
    subjects = models.JSONField(_("subjects"), default=list, blank=True)
    subject_codes = models.JSONField(_("subject codes"), default=list, blank=True)
    school_year = models.ForeignKey(
        AcademicSession,
        verbose_name=_("school year"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="courses",
    )
    org = models.ForeignKey(
        Org, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="courses"
    )

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering: ClassVar = ["sourced_id"]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""


class RosterClass(RosterRecord):
    """A class: an administrative (homeroom) class or a teaching (scheduled) class."""

    title = models.CharField(_("title"), max_length=255)
    class_code = models.CharField(_("class code"), max_length=64, blank=True)
    class_type = models.CharField(_("class type"), max_length=16, choices=ClassType.choices)
    location = models.CharField(_("location"), max_length=255, blank=True)
    grades = models.JSONField(_("grades"), default=list, blank=True)
    subjects = models.JSONField(_("subjects"), default=list, blank=True)
    subject_codes = models.JSONField(_("subject codes"), default=list, blank=True)
    periods = models.JSONField(_("periods"), default=list, blank=True)
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="classes"
    )
    school = models.ForeignKey(
        Org, verbose_name=_("school"), on_delete=models.PROTECT, related_name="roster_classes"
    )
    terms: models.ManyToManyField[AcademicSession, ClassTerm] = models.ManyToManyField(
        AcademicSession, verbose_name=_("terms"), through="ClassTerm", related_name="classes"
    )

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering: ClassVar = ["sourced_id"]

    def __str__(self) -> str:
        return self.title

    def changelog_org_path(self) -> str:
        return self.school.path if self.school_id else ""


class ClassTerm(models.Model):
    """A class's term (OneRoster ``termSourcedIds``); written with its class."""

    roster_class = models.ForeignKey(RosterClass, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(AcademicSession, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("class term")
        verbose_name_plural = _("class terms")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["roster_class", "term"], name="registry_classterm_u"),
        ]

    def __str__(self) -> str:
        return f"{self.roster_class_id}:{self.term_id}"


class Person(RosterRecord):
    """A natural person in the base data: student, teacher, guardian or staff member.

    ``name`` is the name as on the ID card and is the source of truth; ``family_name`` and
    ``given_name`` are what the source sent (or a derived split). ``name_key`` is the
    normalised name used for matching (NFKC, simplified characters, one middle dot, no spaces).
    ID and mobile numbers are stored as SM4-GCM ciphertext with a keyed SM3 blind index (the
    same keys as ``identity.User``, so a person and their account match on the index) and a
    masked copy for lists. The index is not unique here: two sources may send the same person,
    and the matcher turns that into a review item.
    """

    name = models.CharField(_("name"), max_length=64)
    family_name = models.CharField(_("family name"), max_length=64, blank=True)
    given_name = models.CharField(_("given name"), max_length=64, blank=True)
    # Indexed by registry_person_match (name_key, birth_date): no index of its own, and no
    # LIKE index on PostgreSQL (every index costs the import time per row).
    name_key = models.CharField(_("match key"), max_length=64, editable=False)
    sex = models.CharField(_("sex"), max_length=16, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity (GB/T 3304)"), max_length=2, blank=True)
    id_number_cipher = models.BinaryField(_("ID number (encrypted)"), null=True, editable=False)
    id_number_index = models.CharField(
        _("ID number blind index"), max_length=64, null=True, editable=False
    )
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True)
    student_number = models.CharField(_("student-status number"), max_length=32, blank=True)
    mobile_cipher = models.BinaryField(_("mobile (encrypted)"), null=True, editable=False)
    mobile_index = models.CharField(
        _("mobile blind index"), max_length=64, null=True, editable=False
    )
    mobile_masked = models.CharField(_("mobile number"), max_length=11, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    username = models.CharField(_("username"), max_length=150, blank=True)
    identifier = models.CharField(_("identifier"), max_length=64, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    grades = models.JSONField(_("grades"), default=list, blank=True)
    primary_org = models.ForeignKey(
        Org,
        verbose_name=_("primary organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registry_people",
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("platform account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registry_people",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_records",
    )

    changelog_redacted: ClassVar[frozenset[str]] = frozenset(
        {"id_number_cipher", "id_number_index", "mobile_cipher", "mobile_index"}
    )

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering: ClassVar = ["sourced_id"]
        indexes: ClassVar = [
            models.Index(fields=["name_key", "birth_date"], name="registry_person_match"),
            models.Index(fields=["id_number_index"], name="registry_person_idx"),
            models.Index(fields=["mobile_index"], name="registry_person_mobile"),
            models.Index(fields=["student_number"], name="registry_person_xjh"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sourced_id})"

    def changelog_org_path(self) -> str:
        return self.primary_org.path if self.primary_org_id and self.primary_org else ""


class PersonRole(RosterRecord):
    """A person's role at an org (OneRoster ``roles.csv``; at most one primary per org)."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="roles"
    )
    role = models.CharField(_("role"), max_length=32, choices=RosterRole.choices)
    role_type = models.CharField(_("role type"), max_length=16, choices=RoleType.choices)
    org = models.ForeignKey(
        Org, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="person_roles"
    )
    begin_date = models.DateField(_("begin date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        verbose_name = _("person role")
        verbose_name_plural = _("person roles")
        ordering: ClassVar = ["sourced_id"]
        indexes: ClassVar = [models.Index(fields=["org", "role"], name="registry_role_org")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.role} @ {self.org_id}"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id else ""

    def changelog_parent(self) -> tuple[str, str] | None:
        return (Person._meta.label_lower, str(self.person_id))


class Enrollment(RosterRecord):
    roster_class = models.ForeignKey(
        RosterClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="enrollments"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="enrollments"
    )
    school = models.ForeignKey(
        Org, verbose_name=_("school"), on_delete=models.PROTECT, related_name="enrollments"
    )
    role = models.CharField(_("role"), max_length=16, choices=EnrollmentRole.choices)
    primary = models.BooleanField(_("primary teacher"), default=False)
    begin_date = models.DateField(_("begin date"), null=True, blank=True)
    end_date = models.DateField(_("end date (exclusive)"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering: ClassVar = ["sourced_id"]
        indexes: ClassVar = [
            models.Index(fields=["roster_class", "role"], name="registry_enr_class"),
            models.Index(fields=["person", "role"], name="registry_enr_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.roster_class_id} ({self.role})"

    def changelog_org_path(self) -> str:
        return self.school.path if self.school_id else ""

    def changelog_parent(self) -> tuple[str, str] | None:
        return (Person._meta.label_lower, str(self.person_id))


class Guardianship(RosterRecord):
    """A guardian bound to a student (OneRoster ``agentSourcedIds``)."""

    guardian = models.ForeignKey(
        Person, verbose_name=_("guardian"), on_delete=models.PROTECT, related_name="wards"
    )
    student = models.ForeignKey(
        Person, verbose_name=_("student"), on_delete=models.PROTECT, related_name="guardians"
    )
    relation = models.CharField(_("relation"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("guardianship")
        verbose_name_plural = _("guardianships")
        ordering: ClassVar = ["sourced_id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["guardian", "student"], name="registry_guardian_u"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian_id} -> {self.student_id}"

    def changelog_parent(self) -> tuple[str, str] | None:
        return (Person._meta.label_lower, str(self.student_id))


class FieldObservation(models.Model):
    """A value a non-authoritative source sent for a field: kept, never written over the record.

    Append-only; ``agrees`` tells whether it matched the record's value when observed.
    """

    entity_type = models.CharField(_("entity type"), max_length=32)
    record_id = models.BigIntegerField(_("record id"))
    field = models.CharField(_("field"), max_length=64)
    value = models.TextField(_("value"), blank=True)
    agrees = models.BooleanField(_("agrees with the record"))
    batch = models.ForeignKey(
        ImportBatch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="observations"
    )
    observed_at = models.DateTimeField(_("observed at"), default=timezone.now)

    class Meta:
        verbose_name = _("field observation")
        verbose_name_plural = _("field observations")
        ordering: ClassVar = ["-observed_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["entity_type", "record_id"], name="registry_obs_record"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}#{self.record_id}.{self.field}"


class RecordChange(models.Model):
    """One import's change to one record: the field diff, for the record's lineage page.

    Append-only. The batch's chained ``ChangeRecord`` holds the SM3 digest of its
    ``RecordChange`` rows (in id order), so an edit to one is detected by ``verify_batches``.
    """

    entity_type = models.CharField(_("entity type"), max_length=32)
    record_id = models.BigIntegerField(_("record id"))
    action = models.CharField(_("action"), max_length=16)
    changes = models.JSONField(_("changes"), default=dict)
    batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("batch"),
        on_delete=models.PROTECT,
        related_name="record_changes",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("record change")
        verbose_name_plural = _("record changes")
        ordering: ClassVar = ["id"]
        indexes: ClassVar = [
            models.Index(fields=["entity_type", "record_id"], name="registry_rc_record"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}#{self.record_id} {self.action}"
