"""Registry models (see each module's docstring): sources and batches, the base-data records,
quality findings and merges, and the data catalog."""

from .catalog import AccessLog, AccessRequest, ApiClient, ClientToken, Dataset
from .entities import (
    AcademicSession,
    ClassTerm,
    Course,
    Enrollment,
    FieldObservation,
    Guardianship,
    OrgRecord,
    Person,
    PersonRole,
    RecordChange,
    RosterClass,
    RosterRecord,
)
from .quality import Finding, MatchCandidate, Merge
from .sources import FieldAuthority, ImportBatch, SourceSystem

__all__ = [
    "AcademicSession",
    "AccessLog",
    "AccessRequest",
    "ApiClient",
    "ClassTerm",
    "ClientToken",
    "Course",
    "Dataset",
    "Enrollment",
    "FieldAuthority",
    "FieldObservation",
    "Finding",
    "Guardianship",
    "ImportBatch",
    "MatchCandidate",
    "Merge",
    "OrgRecord",
    "Person",
    "PersonRole",
    "RecordChange",
    "RosterClass",
    "RosterRecord",
    "SourceSystem",
]
