"""The import engine: merge, provenance, idempotency, survivorship, deletion, references,
scope, matching, crash and resume, bundle errors."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.models import ChangeRecord
from shuyuan.core.synthetic import make_id_number
from shuyuan.identity.models import Role
from shuyuan.registry.choices import (
    BatchStatus,
    MatchReason,
    RecordStatus,
    SourceKind,
    SurvivorshipStrategy,
)
from shuyuan.registry.importing import engine
from shuyuan.registry.models import (
    AcademicSession,
    ClassTerm,
    Enrollment,
    FieldAuthority,
    FieldObservation,
    Finding,
    Guardianship,
    ImportBatch,
    MatchCandidate,
    OrgRecord,
    Person,
    PersonRole,
    RecordChange,
    RosterClass,
)

from .import_data import ID_U1, NAMES, delta, import_bundle, roster, user

MODELS = (OrgRecord, AcademicSession, RosterClass, Person, PersonRole, Enrollment, Guardianship)


@pytest.fixture
def admin(make_user: Any) -> Any:
    return make_user(Role.PLATFORM_ADMIN)


@pytest.fixture
def mis(tree: Any, make_source: Any) -> Any:
    return make_source(tree.county_a, "mis")


@pytest.fixture
def tables(tree: Any) -> dict[str, list[dict[str, str]]]:
    return roster(tree.school_a.credit_code)


def codes(batch: ImportBatch) -> list[str]:
    return sorted(Finding.objects.filter(batch=batch).values_list("code", flat=True))


def snapshot() -> dict[str, Any]:
    state: dict[str, Any] = {}
    for model in MODELS:
        state[model.__name__] = sorted(
            model.objects.values_list("sourced_id", "status", "date_last_modified", "provenance")
        )
    state["changes"] = RecordChange.objects.count()
    state["terms"] = ClassTerm.objects.count()
    return state


def test_clean_bundle_creates_records_with_provenance(admin, mis, tree, tables):
    batch = import_bundle(admin, mis, tree.county_a, tables)
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.counts["users"]["created"] == 4
    assert batch.rows_done == batch.rows_total == 18
    org = OrgRecord.objects.get(sourced_id="sch-a")
    assert org.org == tree.school_a  # matched by the credit code, no new school
    u1 = Person.objects.get(sourced_id="u1")
    assert u1.name == NAMES["family_zhang"] + NAMES["given_san"]
    assert u1.provenance["name"] == batch.pk
    assert u1.provenance["id_number"] == batch.pk
    assert u1.created_batch == batch
    assert u1.primary_org == tree.school_a
    assert u1.birth_date == dt.date(2012, 3, 4)
    assert u1.sex == "male"
    assert bytes(u1.id_number_cipher) != ID_U1.encode()
    assert u1.id_number_masked == ID_U1[:4] + "*" * 10 + ID_U1[-4:]
    klass = RosterClass.objects.get(sourced_id="k1")
    assert klass.school == tree.school_a
    assert list(klass.terms.values_list("sourced_id", flat=True)) == ["t1"]
    assert Enrollment.objects.filter(roster_class=klass).count() == 3
    guardian = Guardianship.objects.get()
    assert (guardian.guardian.sourced_id, guardian.student.sourced_id) == ("p1", "u1")
    assert RecordChange.objects.count() == 0  # creations are told by created_batch + provenance
    bulk = ChangeRecord.objects.filter(target_type="registry.importbatch", action="bulk")
    assert {r.changes["table"] for r in bulk} == {
        "orgs",
        "academicSessions",
        "courses",
        "classes",
        "users",
        "roles",
        "enrollments",
    }
    assert {"table", "created", "updated", "digest"} <= set(bulk.first().changes)


def test_same_file_twice_changes_nothing(admin, mis, tree, tables):
    import_bundle(admin, mis, tree.county_a, tables)
    before = snapshot()
    records_before = ChangeRecord.objects.count()
    second = import_bundle(admin, mis, tree.county_a, tables)
    assert second.status == BatchStatus.SUCCEEDED
    assert snapshot() == before
    assert ChangeRecord.objects.count() == records_before
    assert second.counts["users"]["unchanged"] == 4
    assert second.counts["users"]["created"] == second.counts["users"]["updated"] == 0


def test_delta_from_the_creating_source_updates_and_records_the_change(admin, mis, tree, tables):
    first = import_bundle(admin, mis, tree.county_a, tables)
    change = {"users": [user("u2", NAMES["given_si"], NAMES["family_zhang"])]}
    second = import_bundle(
        admin, mis, tree.county_a, delta(change, "2030-01-01T00:00:00Z"), mode="delta"
    )
    assert second.status == BatchStatus.SUCCEEDED, second.error
    u2 = Person.objects.get(sourced_id="u2")
    assert u2.name == NAMES["family_zhang"] + NAMES["given_si"]
    assert u2.provenance["name"] == second.pk
    assert u2.provenance["username"] == first.pk
    rc = RecordChange.objects.get(record_id=u2.pk)
    assert rc.changes["name"] == [NAMES["family_li"] + NAMES["given_si"], u2.name]
    assert rc.batch == second
    # the ID number was cleared by the row: the diff never shows the number itself
    assert rc.changes["id_number"] == ["[redacted]", None]


def test_authoritative_field_from_another_source_is_an_observation(
    admin, mis, tree, tables, make_source
):
    gat = make_source(tree.county_a, "gat", "gat/", SourceKind.PUBLIC_SECURITY)
    with change_context(actor=system_actor(), source="system"):
        FieldAuthority(
            entity_type="user",
            field="name",
            strategy=SurvivorshipStrategy.AUTHORITATIVE,
            source=gat,
        ).save()
    import_bundle(admin, mis, tree.county_a, tables)
    u1 = Person.objects.get(sourced_id="u1")
    full_name = {"metadata.cn.fullName": "Other Name"}
    same = user("u1", NAMES["given_san"], NAMES["family_zhang"], ID_U1, **full_name)
    change = {"users": [same]}
    second = import_bundle(
        admin, mis, tree.county_a, delta(change, "2030-01-01T00:00:00Z"), mode="delta"
    )
    u1_after = Person.objects.get(pk=u1.pk)
    assert u1_after.name == u1.name
    assert u1_after.date_last_modified == u1.date_last_modified
    observation = FieldObservation.objects.get(batch=second, field="name")
    assert (observation.value, observation.agrees) == ("Other Name", False)
    conflict = Finding.objects.get(batch=second, code=engine.SOURCE_CONFLICT)
    assert (conflict.dimension, conflict.severity, conflict.record_id) == (
        "consistency",
        "warning",
        u1.pk,
    )
    assert not RecordChange.objects.filter(record_id=u1.pk).exists()


def test_stale_delta_row_is_not_applied(admin, mis, tree, tables):
    first = delta(tables, "2025-06-01T00:00:00Z")
    import_bundle(admin, mis, tree.county_a, first, mode="delta")
    old = {"users": [user("u2", "Old", "Value")]}
    batch = import_bundle(
        admin, mis, tree.county_a, delta(old, "2025-01-01T00:00:00Z"), mode="delta"
    )
    assert engine.STALE_UPDATE in codes(batch)
    assert Person.objects.get(sourced_id="u2").name != "Old Value"


def test_date_in_the_future_is_a_warning(admin, mis, tree, tables):
    batch = import_bundle(
        admin, mis, tree.county_a, delta(tables, "2999-01-01T00:00:00Z"), mode="delta"
    )
    assert batch.status == BatchStatus.SUCCEEDED
    assert engine.DATE_IN_FUTURE in codes(batch)
    assert Person.objects.count() == 4


def test_bulk_without_a_user_marks_it_tobedeleted_and_back(admin, mis, tree, tables):
    import_bundle(admin, mis, tree.county_a, tables)
    fewer = copy.deepcopy(tables)
    fewer["users"] = [u for u in fewer["users"] if u["sourcedId"] != "u2"]
    fewer["demographics"] = [d for d in fewer["demographics"] if d["sourcedId"] != "u2"]
    fewer["roles"] = [r for r in fewer["roles"] if r["userSourcedId"] != "u2"]
    fewer["enrollments"] = [e for e in fewer["enrollments"] if e["userSourcedId"] != "u2"]
    second = import_bundle(admin, mis, tree.county_a, fewer)
    u2 = Person.objects.get(sourced_id="u2")
    assert u2.status == RecordStatus.TOBEDELETED
    assert Enrollment.objects.get(sourced_id="e-u2").status == RecordStatus.TOBEDELETED
    assert Person.objects.get(sourced_id="u1").status == RecordStatus.ACTIVE
    assert second.counts["tobedeleted"]["users"] == 1
    assert RecordChange.objects.filter(record_id=u2.pk, entity_type="user").exists()
    import_bundle(admin, mis, tree.county_a, tables)
    assert Person.objects.get(sourced_id="u2").status == RecordStatus.ACTIVE


def test_unknown_references_are_rejected(admin, mis, tree, tables):
    tables["orgs"].append(
        {"sourcedId": "dept", "name": "Dept", "type": "department", "parentSourcedId": "nowhere"}
    )
    tables["enrollments"].append(
        {
            "sourcedId": "e-x",
            "classSourcedId": "k-missing",
            "schoolSourcedId": "sch-a",
            "userSourcedId": "u1",
            "role": "student",
        }
    )
    tables["enrollments"].append(
        {
            "sourcedId": "e-y",
            "classSourcedId": "k1",
            "schoolSourcedId": "sch-a",
            "userSourcedId": "ghost",
            "role": "student",
        }
    )
    batch = import_bundle(admin, mis, tree.county_a, tables)
    refs = Finding.objects.filter(batch=batch, code=engine.REF_UNKNOWN)
    assert set(refs.values_list("column", flat=True)) == {
        "parentSourcedId",
        "classSourcedId",
        "userSourcedId",
    }
    assert not OrgRecord.objects.filter(sourced_id="dept").exists()
    assert not Enrollment.objects.filter(sourced_id__in=["e-x", "e-y"]).exists()
    assert batch.counts["enrollments"]["rejected"] == 2


def test_school_outside_the_batch_org_is_out_of_scope(admin, tree, make_source, tables):
    source = make_source(tree.county_b, "misb")
    batch = import_bundle(admin, source, tree.county_b, tables)
    assert engine.OUT_OF_SCOPE in codes(batch)
    assert not OrgRecord.objects.exists()
    assert not Person.objects.filter(primary_org=tree.school_a).exists()


def test_duplicate_sourced_id_in_a_file_keeps_the_first(admin, mis, tree, tables):
    tables["users"].append(user("u1", "Second", "Copy"))
    batch = import_bundle(admin, mis, tree.county_a, tables, chunk_size=2)
    assert engine.SOURCED_ID_DUPLICATE in codes(batch)
    assert Person.objects.get(sourced_id="u1").name == NAMES["family_zhang"] + NAMES["given_san"]


def test_same_id_number_under_two_sourced_ids_is_a_candidate(admin, mis, tree, tables):
    tables["users"].append(user("u1-again", NAMES["given_san"], NAMES["family_zhang"], ID_U1))
    batch = import_bundle(admin, mis, tree.county_a, tables)
    candidate = MatchCandidate.objects.get()
    assert candidate.reason == MatchReason.SAME_ID_NUMBER
    assert candidate.score == 1.0
    assert candidate.detail == {"names_equal": True, "name_keys_equal": True}
    assert candidate.right.sourced_id == "u1-again"
    assert candidate.org == tree.school_a
    assert "ID_NUMBER_DUPLICATE" in codes(batch)
    import_bundle(admin, mis, tree.county_a, tables)
    assert MatchCandidate.objects.count() == 1


@pytest.mark.parametrize(
    ("first", "second"), [("variant_dot", "variant_period"), ("traditional", "simplified")]
)
def test_name_variant_without_id_is_a_candidate(admin, mis, tree, first, second):
    people = {
        "users": [
            user("a", "", "", **{"metadata.cn.fullName": NAMES[first]}),
            user("b", "", "", **{"metadata.cn.fullName": NAMES[second]}),
        ],
        "demographics": [
            {"sourcedId": "a", "birthDate": "2012-01-01", "sex": "male"},
            {"sourcedId": "b", "birthDate": "2012-01-01", "sex": "male"},
        ],
    }
    people["orgs"] = roster(tree.school_a.credit_code)["orgs"]
    batch = import_bundle(admin, mis, tree.county_a, people)
    candidate = MatchCandidate.objects.get()
    assert candidate.reason == MatchReason.NAME_VARIANT
    assert candidate.score == pytest.approx(0.8)
    assert "NAME_VARIANT_DUPLICATE" in codes(batch)


def test_twins_with_different_id_numbers_are_not_candidates(admin, mis, tree):
    birth = dt.date(2013, 2, 3)
    twins = {
        "orgs": roster(tree.school_a.credit_code)["orgs"],
        "users": [
            user(
                "x",
                "",
                "",
                make_id_number("410102", birth, 41, "M"),
                **{"metadata.cn.fullName": NAMES["twin_a"]},
            ),
            user(
                "y",
                "",
                "",
                make_id_number("410102", birth, 43, "M"),
                **{"metadata.cn.fullName": NAMES["twin_a"]},
            ),
        ],
    }
    import_bundle(admin, mis, tree.county_a, twins)
    assert Person.objects.count() == 2
    assert not MatchCandidate.objects.exists()


def test_demographics_disagreeing_with_the_id_number_is_a_warning(admin, mis, tree, tables):
    tables["demographics"][0]["birthDate"] = "2011-01-01"
    batch = import_bundle(admin, mis, tree.county_a, tables)
    assert engine.DEMOGRAPHICS_MISMATCH in codes(batch)
    assert Person.objects.get(sourced_id="u1").birth_date == dt.date(2012, 3, 4)


def test_account_with_the_same_id_number_is_linked(admin, mis, tree, tables, make_user):
    account = make_user(Role.STUDENT, tree.school_a, id_number=ID_U1)
    import_bundle(admin, mis, tree.county_a, tables)
    assert Person.objects.get(sourced_id="u1").account == account
    assert Person.objects.get(sourced_id="u2").account is None


def normalised(batch: ImportBatch) -> dict[str, Any]:
    """The records of one batch's source without ids or the prefix (comparable across runs)."""
    prefix = batch.source.id_prefix
    return {
        model.__name__: sorted(
            (sid.removeprefix(prefix), status, sorted(prov))
            for sid, status, prov in model.objects.filter(source=batch.source).values_list(
                "sourced_id", "status", "provenance"
            )
        )
        for model in MODELS
    }


def test_crash_mid_import_resumes_to_the_same_result(
    admin, mis, tree, tables, monkeypatch, make_source
):
    calls = {"n": 0}
    original = engine.Importer.process

    def flaky(self: Any, table: str, file: str, rows: Any) -> Any:
        if table == "users":
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("worker killed")
        return original(self, table, file, rows)

    monkeypatch.setattr(engine.Importer, "process", flaky)
    batch = import_bundle(admin, mis, tree.county_a, tables, chunk_size=2)
    assert batch.status == BatchStatus.INTERRUPTED
    assert batch.checkpoint == {"table": "users", "row": 3}
    assert sorted(Person.objects.values_list("sourced_id", flat=True)) == ["u1", "u2"]
    assert not PersonRole.objects.exists()
    engine.run_batch(batch, chunk_size=2)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.counts["users"]["created"] == 4
    assert batch.rows_done == batch.rows_total
    resumed = normalised(batch)
    assert len(resumed["Person"]) == 4
    assert resumed["Guardianship"] == [("u1/agent/p1", "active", ["guardian", "student"])]
    # The same import from scratch (a second source, so its own namespace) gives the same.
    clean = import_bundle(admin, make_source(tree.county_a, "mis2", "x/"), tree.county_a, tables)
    assert normalised(clean) == resumed


def test_bundle_error_fails_the_batch_and_writes_nothing(admin, mis, tree):
    from shuyuan.registry.actions.imports import start_import

    batch = start_import(
        actor=admin,
        source=mis,
        org=tree.county_a,
        uploaded_file=__import__("io").BytesIO(b"not a zip at all"),
        file_name="x.zip",
        run=False,
    )
    engine.run_batch(batch)
    assert batch.status == BatchStatus.FAILED
    assert batch.error_code == "FORMAT_UNKNOWN"
    assert codes(batch) == ["FORMAT_UNKNOWN"]
    assert not Person.objects.exists()


def test_parallel_reader_gives_the_same_result(admin, mis, tree, tables, make_source):
    from shuyuan.registry.actions.imports import start_import
    from shuyuan.registry.testing import build_bundle

    data = build_bundle(tables)
    batch = start_import(
        actor=admin,
        source=mis,
        org=tree.county_a,
        uploaded_file=__import__("io").BytesIO(data),
        file_name="roster.zip",
        run=False,
    )
    engine.run_batch(batch, chunk_size=2, parallel=True)
    assert batch.status == BatchStatus.SUCCEEDED
    serial = import_bundle(admin, make_source(tree.county_a, "mis2", "x/"), tree.county_a, tables)
    assert normalised(batch) == normalised(serial)


def test_rows_of_a_merged_record_address_the_survivor(admin, mis, tree, tables, make_source):
    gat = make_source(tree.county_a, "gat", "gat/", SourceKind.PUBLIC_SECURITY)
    with change_context(actor=system_actor(), source="system"):
        FieldAuthority(
            entity_type="user",
            field="email",
            strategy=SurvivorshipStrategy.AUTHORITATIVE,
            source=gat,
        ).save()
    import_bundle(admin, mis, tree.county_a, tables)
    feed = {"orgs": tables["orgs"], "users": [user("u1", "Other", "Name", ID_U1)]}
    import_bundle(admin, gat, tree.county_a, feed)
    survivor = Person.objects.get(sourced_id="u1")
    alias = Person.objects.get(sourced_id="gat/u1")
    assert MatchCandidate.objects.filter(left=survivor, right=alias).exists()
    with change_context(actor=system_actor(), source="system"), bulk_writes():
        Person.objects.filter(pk=alias.pk).update(merged_into=survivor)  # what a merge does
    change = {"users": [user("u1", "Other", "Name", ID_U1, email="u1@example.cn")]}
    batch = import_bundle(
        admin, gat, tree.county_a, delta(change, "2030-01-01T00:00:00Z"), mode="delta"
    )
    survivor.refresh_from_db()
    assert survivor.email == "u1@example.cn"  # the authoritative source's field
    assert survivor.provenance["email"] == batch.pk
    assert survivor.name == NAMES["family_zhang"] + NAMES["given_san"]  # the creator's field
    assert engine.SOURCE_CONFLICT in codes(batch)


@pytest.mark.django_db(transaction=True)
def test_pipelined_writer_gives_the_same_result(tree, make_user, make_source, tables):
    """With committed data (no test transaction), PostgreSQL commits chunks from a writer thread
    while the next chunk is merged; the records are those of a serial import."""
    from shuyuan.registry.actions.imports import start_import
    from shuyuan.registry.testing import build_bundle

    admin = make_user(Role.PLATFORM_ADMIN)
    mis = make_source(tree.county_a, "mis")
    batch = start_import(
        actor=admin,
        source=mis,
        org=tree.county_a,
        uploaded_file=__import__("io").BytesIO(build_bundle(tables)),
        file_name="roster.zip",
        run=False,
    )
    engine.run_batch(batch, chunk_size=1, parallel=True)
    assert batch.status == BatchStatus.SUCCEEDED, batch.error
    serial = import_bundle(admin, make_source(tree.county_a, "mis2", "x/"), tree.county_a, tables)
    assert normalised(batch) == normalised(serial)
