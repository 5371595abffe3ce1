"""Shared data of the import tests: a small OneRoster roster and helpers to run a batch."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from shuyuan.core.synthetic import make_id_number
from shuyuan.registry.actions.imports import start_import
from shuyuan.registry.importing.engine import run_batch
from shuyuan.registry.models import ImportBatch, SourceSystem
from shuyuan.registry.testing import build_bundle

#: Chinese test names live in a data file (no Chinese literals in Python source).
NAMES: dict[str, str] = json.loads(
    (Path(__file__).parent / "data" / "import_names.json").read_text(encoding="utf-8")
)

ID_U1 = make_id_number("410102", dt.date(2012, 3, 4), 11, "M")
ID_U2 = make_id_number("410102", dt.date(2012, 5, 6), 21, "F")
ID_T1 = make_id_number("410102", dt.date(1985, 1, 2), 31, "M")


def user(sid: str, given: str, family: str, id_number: str = "", **extra: str) -> dict[str, str]:
    row = {
        "sourcedId": sid,
        "enabledUser": "true",
        "username": sid,
        "givenName": given,
        "familyName": family,
        "agentSourcedIds": "",
        "grades": "",
        "primaryOrgSourcedId": "sch-a",
        "metadata.cn.idNumber": id_number,
    }
    row.update(extra)
    return row


def roster(credit_code: str) -> dict[str, list[dict[str, str]]]:
    """School A (matched by its credit code), a year and a term, a course, a class, two
    students, a teacher and a parent; roles, enrolments and demographics."""
    return {
        "orgs": [
            {
                "sourcedId": "sch-a",
                "name": "School A",
                "type": "school",
                "identifier": "A",
                "parentSourcedId": "",
                "metadata.cn.creditCode": credit_code,
            }
        ],
        "academicSessions": [
            {
                "sourcedId": "y2025",
                "title": "2024-2025",
                "type": "schoolYear",
                "startDate": "2024-09-01",
                "endDate": "2025-07-01",
                "parentSourcedId": "",
                "schoolYear": "2025",
            },
            {
                "sourcedId": "t1",
                "title": "Autumn",
                "type": "term",
                "startDate": "2024-09-01",
                "endDate": "2025-02-01",
                "parentSourcedId": "y2025",
                "schoolYear": "2025",
            },
        ],
        "courses": [
            {
                "sourcedId": "c-math",
                "schoolYearSourcedId": "y2025",
                "title": "Mathematics 7",
                "courseCode": "M7",
                "grades": "07",
                "orgSourcedId": "sch-a",
            }
        ],
        "classes": [
            {
                "sourcedId": "k1",
                "title": "Class 7-1",
                "grades": "07",
                "courseSourcedId": "c-math",
                "classCode": "701",
                "classType": "homeroom",
                "schoolSourcedId": "sch-a",
                "termSourcedIds": "t1",
            }
        ],
        "users": [
            user("u1", NAMES["given_san"], NAMES["family_zhang"], ID_U1, agentSourcedIds="p1"),
            user("u2", NAMES["given_si"], NAMES["family_li"], ID_U2),
            user("t1", "Wei", "Wang", ID_T1),
            user("p1", "Fang", "Zhang"),
        ],
        "demographics": [
            {"sourcedId": "u1", "birthDate": "2012-03-04", "sex": "male"},
            {"sourcedId": "u2", "birthDate": "2012-05-06", "sex": "female"},
        ],
        "roles": [
            {
                "sourcedId": "r-u1",
                "userSourcedId": "u1",
                "roleType": "primary",
                "role": "student",
                "orgSourcedId": "sch-a",
            },
            {
                "sourcedId": "r-u2",
                "userSourcedId": "u2",
                "roleType": "primary",
                "role": "student",
                "orgSourcedId": "sch-a",
            },
            {
                "sourcedId": "r-t1",
                "userSourcedId": "t1",
                "roleType": "primary",
                "role": "teacher",
                "orgSourcedId": "sch-a",
            },
            {
                "sourcedId": "r-p1",
                "userSourcedId": "p1",
                "roleType": "primary",
                "role": "parent",
                "orgSourcedId": "sch-a",
            },
        ],
        "enrollments": [
            {
                "sourcedId": "e-u1",
                "classSourcedId": "k1",
                "schoolSourcedId": "sch-a",
                "userSourcedId": "u1",
                "role": "student",
            },
            {
                "sourcedId": "e-u2",
                "classSourcedId": "k1",
                "schoolSourcedId": "sch-a",
                "userSourcedId": "u2",
                "role": "student",
            },
            {
                "sourcedId": "e-t1",
                "classSourcedId": "k1",
                "schoolSourcedId": "sch-a",
                "userSourcedId": "t1",
                "role": "teacher",
                "primary": "true",
            },
        ],
    }


def delta(
    tables: dict[str, list[dict[str, str]]], modified: str
) -> dict[str, list[dict[str, str]]]:
    """The same tables as a delta: every row active and modified at ``modified``."""
    out = {}
    for name, rows in tables.items():
        out[name] = [{"status": "active", "dateLastModified": modified, **row} for row in rows]
    return out


def import_bundle(
    actor: Any,
    source: SourceSystem,
    org: Any,
    tables: Any,
    *,
    mode: str = "bulk",
    chunk_size: int = 5000,
    name: str = "roster.zip",
) -> ImportBatch:
    """Start a batch (without the task) and run the engine on it."""
    data = build_bundle(tables, mode=mode)
    batch = start_import(
        actor=actor,
        source=source,
        org=org,
        uploaded_file=io.BytesIO(data),
        file_name=name,
        run=False,
    )
    return run_batch(batch, chunk_size=chunk_size)
