"""Enumerations of the registry: OneRoster 1.2 vocabularies, code tables and workflow states."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.db import models
from django.utils.translation import gettext_lazy as _

DATA_DIR = Path(__file__).resolve().parent / "data"


class EntityType(models.TextChoices):
    """The kinds of record the registry holds (one table each)."""

    ORG = "org", _("Organisation")
    ACADEMIC_SESSION = "academicSession", _("Academic session")
    COURSE = "course", _("Course")
    CLASS = "class", _("Class")
    USER = "user", _("Person")
    ROLE = "role", _("Role")
    ENROLLMENT = "enrollment", _("Enrolment")
    GUARDIANSHIP = "guardianship", _("Guardianship")


class RecordStatus(models.TextChoices):
    """OneRoster record states (a bulk import marks records it no longer lists ``tobedeleted``)."""

    ACTIVE = "active", _("Active")
    TOBEDELETED = "tobedeleted", _("To be deleted")


class OrgType(models.TextChoices):
    DEPARTMENT = "department", _("Department")
    SCHOOL = "school", _("School")
    DISTRICT = "district", _("District")
    LOCAL = "local", _("Local")
    STATE = "state", _("State")
    NATIONAL = "national", _("National")


class SessionType(models.TextChoices):
    GRADING_PERIOD = "gradingPeriod", _("Grading period")
    SEMESTER = "semester", _("Semester")
    SCHOOL_YEAR = "schoolYear", _("School year")
    TERM = "term", _("Term")


class ClassType(models.TextChoices):
    HOMEROOM = "homeroom", _("Homeroom (administrative class)")
    SCHEDULED = "scheduled", _("Scheduled (teaching class)")


class RosterRole(models.TextChoices):
    """OneRoster 1.2 ``roles.role`` vocabulary."""

    AIDE = "aide", _("Aide")
    COUNSELOR = "counselor", _("Counsellor")
    DISTRICT_ADMINISTRATOR = "districtAdministrator", _("District administrator")
    GUARDIAN = "guardian", _("Guardian")
    PARENT = "parent", _("Parent")
    PRINCIPAL = "principal", _("Principal")
    PROCTOR = "proctor", _("Proctor")
    RELATIVE = "relative", _("Relative")
    SITE_ADMINISTRATOR = "siteAdministrator", _("Site administrator")
    STUDENT = "student", _("Student")
    SYSTEM_ADMINISTRATOR = "systemAdministrator", _("System administrator")
    TEACHER = "teacher", _("Teacher")


class RoleType(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    SECONDARY = "secondary", _("Secondary")


class EnrollmentRole(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    PROCTOR = "proctor", _("Proctor")
    STUDENT = "student", _("Student")
    TEACHER = "teacher", _("Teacher")


class Sex(models.TextChoices):
    """Sex as stored (GB/T 2261.1 ``1``/``2`` and OneRoster words both map here)."""

    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    UNSPECIFIED = "unspecified", _("Unspecified")
    OTHER = "other", _("Other")


class Grade(models.TextChoices):
    """The Chinese profile's grade vocabulary (CEDS codes, as OneRoster's US profile uses)."""

    KG = "KG", _("Kindergarten")
    G01 = "01", _("Primary grade 1")
    G02 = "02", _("Primary grade 2")
    G03 = "03", _("Primary grade 3")
    G04 = "04", _("Primary grade 4")
    G05 = "05", _("Primary grade 5")
    G06 = "06", _("Primary grade 6")
    G07 = "07", _("Junior secondary grade 1")
    G08 = "08", _("Junior secondary grade 2")
    G09 = "09", _("Junior secondary grade 3")
    G10 = "10", _("Senior secondary grade 1")
    G11 = "11", _("Senior secondary grade 2")
    G12 = "12", _("Senior secondary grade 3")
    G13 = "13", _("Vocational / post-secondary")
    OTHER = "Other", _("Other")


class SourceKind(models.TextChoices):
    SCHOOL_MIS = "school_mis", _("School management information system")
    STUDENT_STATUS = "student_status", _("National student-status system")
    PUBLIC_SECURITY = "public_security", _("Public-security identity feed")
    HR = "hr", _("Personnel (HR) system")
    EXAM = "exam", _("Examination system")
    MANUAL = "manual", _("Manual entry")
    OTHER = "other", _("Other")


class SurvivorshipStrategy(models.TextChoices):
    """How the value of one field is chosen when sources disagree."""

    AUTHORITATIVE = "authoritative", _("Only the authoritative source writes it")
    CREATOR = "creator", _("The source that created the record writes it")
    LATEST = "latest", _("The most recent value from any source wins")


class BatchFormat(models.TextChoices):
    ONEROSTER_CSV = "oneroster_csv", _("OneRoster 1.2 CSV bundle (zip)")
    XLSX = "xlsx", _("Excel template (xlsx)")


class BatchMode(models.TextChoices):
    BULK = "bulk", _("Bulk (complete set)")
    DELTA = "delta", _("Delta (changes only)")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    INTERRUPTED = "interrupted", _("Interrupted (can resume)")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Dimension(models.TextChoices):
    """Data-quality dimensions (真实性、准确性、规范性、一致性 and timeliness)."""

    COMPLETENESS = "completeness", _("Completeness")
    VALIDITY = "validity", _("Validity")
    UNIQUENESS = "uniqueness", _("Uniqueness")
    CONSISTENCY = "consistency", _("Consistency")
    TIMELINESS = "timeliness", _("Timeliness")


class Severity(models.TextChoices):
    ERROR = "error", _("Error (row rejected)")
    WARNING = "warning", _("Warning (row kept)")


class FindingStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
    DISMISSED = "dismissed", _("Dismissed")


class MatchReason(models.TextChoices):
    SAME_ID_NUMBER = "same_id_number", _("Same ID number")
    NAME_VARIANT = "name_variant", _("Same normalised name, birth date and sex")


class MatchStatus(models.TextChoices):
    OPEN = "open", _("Awaiting review")
    MERGED = "merged", _("Merged")
    KEPT_APART = "kept_apart", _("Kept apart")
    UNMERGED = "unmerged", _("Merge reversed")


class SharingLevel(models.TextChoices):
    """共享为原则，不共享为例外: unconditional, conditional (by approval) or not shared."""

    UNCONDITIONAL = "unconditional", _("Unconditional")
    CONDITIONAL = "conditional", _("Conditional (by approval)")
    NOT_SHARED = "not_shared", _("Not shared")


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")


@cache
def ethnicities() -> dict[str, str]:
    """GB/T 3304 nationality codes to names (``data/gb3304.tsv``)."""
    table: dict[str, str] = {}
    for line in (DATA_DIR / "gb3304.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t")
            table[code] = name
    return table


@cache
def ethnicity_by_name() -> dict[str, str]:
    """Names (with and without the trailing 族) to codes, for spreadsheets that hold names."""
    table: dict[str, str] = {}
    suffix = ethnicities()["01"][-1]  # the character for "nationality" that ends every name
    for code, name in ethnicities().items():
        table[name] = code
        if name.endswith(suffix) and len(name) > 2:
            table[name[: -len(suffix)]] = code
    return table
