"""Merging duplicate people: survivorship, re-pointing, exact reversal, permissions."""

# ruff: noqa: F811  # the fixtures imported from test_quality_support are test arguments

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shuyuan.core.changelog import verify_changelog
from shuyuan.core.errors import Conflict, InvalidInput, PermissionDenied
from shuyuan.core.models import ChangeRecord
from shuyuan.registry.actions import quality as actions
from shuyuan.registry.choices import (
    EntityType,
    MatchStatus,
    RecordStatus,
    SurvivorshipStrategy,
)
from shuyuan.registry.models import (
    Enrollment,
    FieldAuthority,
    Guardianship,
    Merge,
    Person,
    PersonRole,
)

from .test_quality_support import (  # noqa: F401  # fixtures
    ID_1,
    auditor,
    candidate,
    enroll,
    give_role,
    person,
    region_admin,
    roster_class,
    school_admin_a,
    school_admin_b,
    sources,
    system,
    teacher_a,
)

pytestmark = pytest.mark.django_db

SNAPSHOT_SKIP = {"id"}


def _state(row: Person) -> dict[str, Any]:
    fresh = Person.objects.get(pk=row.pk)
    return {
        f.attname: (bytes(v) if isinstance(v := getattr(fresh, f.attname), memoryview) else v)
        for f in Person._meta.concrete_fields
        if f.attname not in SNAPSHOT_SKIP
    }


@pytest.fixture
def pair(tree, sources):
    """Two records of one child: the MIS one (older, no ethnicity or mobile) and the
    public-security one (ethnicity, mobile, a class, a role and a guardian)."""
    mis, gat = sources
    left = person(
        mis,
        tree.school_a,
        "Li Si",
        id_number=ID_1,
        sex="male",
        birth_date=dt.date(2011, 3, 7),
        provenance={"name": 1},
    )
    right = person(
        gat,
        tree.school_a,
        "Li.Si",
        id_number=ID_1,
        mobile="13812345678",
        ethnicity="01",
        sex="male",
        birth_date=dt.date(2011, 3, 7),
        provenance={"name": 2, "ethnicity": 2},
    )
    guardian = person(mis, tree.school_a, "Li Da")
    other_guardian = person(mis, tree.school_a, "Wang Ma")
    klass = roster_class(gat, tree.school_a)
    enrolment = enroll(right, klass)
    role = give_role(right, tree.school_a)
    with system():
        shared = Guardianship(sourced_id="g1", source=mis, guardian=guardian, student=left)
        shared.save()
        dup = Guardianship(sourced_id="g2", source=gat, guardian=guardian, student=right)
        dup.save()
        moved = Guardianship(sourced_id="g3", source=gat, guardian=other_guardian, student=right)
        moved.save()
    match = candidate(left, right, tree.school_a)
    return {
        "left": left,
        "right": right,
        "candidate": match,
        "enrolment": enrolment,
        "role": role,
        "dup_guardianship": dup,
        "moved_guardianship": moved,
    }


def test_merge_fills_empty_fields_and_repoints_rows(pair, region_admin):
    merge = actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    left = Person.objects.get(pk=pair["left"].pk)
    right = Person.objects.get(pk=pair["right"].pk)
    assert left.ethnicity == "01"
    assert left.mobile_masked == "138****5678"
    assert left.name == "Li Si"  # not empty and no rule: the survivor keeps its own
    assert left.provenance["ethnicity"] == 2
    assert right.merged_into_id == left.pk
    assert right.status == RecordStatus.TOBEDELETED
    assert Enrollment.objects.get(pk=pair["enrolment"].pk).person_id == left.pk
    assert PersonRole.objects.get(pk=pair["role"].pk).person_id == left.pk
    assert Guardianship.objects.get(pk=pair["moved_guardianship"].pk).student_id == left.pk
    # The survivor already has this guardian: re-pointing would break the unique pair.
    assert Guardianship.objects.get(pk=pair["dup_guardianship"].pk).student_id == right.pk
    assert merge.moved["skipped"]["student"] == [pair["dup_guardianship"].pk]
    candidate = pair["candidate"]
    candidate.refresh_from_db()
    assert candidate.status == MatchStatus.MERGED
    assert candidate.decided_by_id == region_admin.pk


def test_merge_is_change_logged_and_the_chain_verifies(pair, region_admin):
    actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    enrolment_log = ChangeRecord.objects.filter(
        target_type="registry.enrollment", target_id=str(pair["enrolment"].pk), action="update"
    ).get()
    assert enrolment_log.changes["person_id"] == [pair["right"].pk, pair["left"].pk]
    assert enrolment_log.actor_name == region_admin.username
    survivor_log = ChangeRecord.objects.filter(
        target_type="registry.person", target_id=str(pair["left"].pk), action="update"
    ).get()
    assert survivor_log.changes["mobile_cipher"][1] == "[redacted]"
    assert verify_changelog().ok


def test_unmerge_restores_both_records_and_their_rows_exactly(pair, region_admin):
    left_before, right_before = _state(pair["left"]), _state(pair["right"])
    merge = actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    actions.unmerge(actor=region_admin, merge=merge)
    assert _state(pair["left"]) == left_before
    assert _state(pair["right"]) == right_before
    assert Enrollment.objects.get(pk=pair["enrolment"].pk).person_id == pair["right"].pk
    assert PersonRole.objects.get(pk=pair["role"].pk).person_id == pair["right"].pk
    assert Guardianship.objects.get(pk=pair["moved_guardianship"].pk).student_id == pair["right"].pk
    merge.refresh_from_db()
    assert merge.reversed_at is not None
    assert Merge.objects.get(pk=merge.pk).candidate.status == MatchStatus.UNMERGED


def test_merge_with_right_as_survivor_then_unmerge(pair, region_admin):
    left_before = _state(pair["left"])
    merge = actions.merge_candidate(
        actor=region_admin, candidate=pair["candidate"], survivor=pair["right"]
    )
    assert merge.survivor_id == pair["right"].pk
    assert Person.objects.get(pk=pair["left"].pk).merged_into_id == pair["right"].pk
    actions.unmerge(actor=region_admin, merge=merge)
    assert _state(pair["left"]) == left_before


def test_merge_authoritative_source_wins(pair, region_admin, sources):
    _mis, gat = sources
    with system():
        FieldAuthority(
            entity_type=EntityType.USER,
            field="name",
            strategy=SurvivorshipStrategy.AUTHORITATIVE,
            source=gat,
        ).save()
    merge = actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    left = Person.objects.get(pk=pair["left"].pk)
    assert left.name == "Li.Si"
    assert left.provenance["name"] == 2
    actions.unmerge(actor=region_admin, merge=merge)
    left = Person.objects.get(pk=pair["left"].pk)
    assert left.name == "Li Si"
    assert left.provenance["name"] == 1


def test_merge_rule_for_another_source_keeps_survivor_value(pair, region_admin, sources):
    mis, _gat = sources
    with system():
        FieldAuthority(
            entity_type=EntityType.USER,
            field="name",
            strategy=SurvivorshipStrategy.AUTHORITATIVE,
            source=mis,
        ).save()
    actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    assert Person.objects.get(pk=pair["left"].pk).name == "Li Si"


def test_unmerge_refused_when_survivor_changed_since(pair, region_admin):
    merge = actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    left = Person.objects.get(pk=pair["left"].pk)
    left.ethnicity = "02"
    with system():
        left.save(update_fields=["ethnicity"])
    with pytest.raises(Conflict) as excinfo:
        actions.unmerge(actor=region_admin, merge=merge)
    assert excinfo.value.code == "MERGE_STALE"
    assert Person.objects.get(pk=pair["right"].pk).merged_into_id == left.pk
    assert Enrollment.objects.get(pk=pair["enrolment"].pk).person_id == left.pk


def test_unmerge_twice_is_refused(pair, region_admin):
    merge = actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    actions.unmerge(actor=region_admin, merge=merge)
    with pytest.raises(Conflict) as excinfo:
        actions.unmerge(actor=region_admin, merge=merge)
    assert excinfo.value.code == "MERGE_REVERSED"


def test_merge_decided_candidate_is_refused(pair, region_admin):
    actions.keep_apart(actor=region_admin, candidate=pair["candidate"])
    with pytest.raises(Conflict) as excinfo:
        actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    assert excinfo.value.code == "MATCH_DECIDED"


def test_keep_apart_marks_the_pair(pair, school_admin_a):
    decided = actions.keep_apart(actor=school_admin_a, candidate=pair["candidate"])
    assert decided.status == MatchStatus.KEPT_APART
    assert Person.objects.get(pk=pair["right"].pk).merged_into_id is None


def test_merge_survivor_outside_pair_is_invalid(pair, region_admin, tree, sources):
    stranger = person(sources[0], tree.school_a, "Other")
    with pytest.raises(InvalidInput):
        actions.merge_candidate(actor=region_admin, candidate=pair["candidate"], survivor=stranger)


@pytest.mark.parametrize("who", ["school_admin_b", "teacher_a", "auditor"])
def test_merge_refused_without_change_rights(pair, request, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        actions.merge_candidate(actor=actor, candidate=pair["candidate"])
    with pytest.raises(PermissionDenied):
        actions.keep_apart(actor=actor, candidate=pair["candidate"])


def test_merge_refused_when_one_record_is_outside_the_actors_schools(
    pair, school_admin_a, tree, sources
):
    """The candidate is school A's, but its right record belongs to school B only."""
    outside = person(sources[1], tree.school_b, "Li Si", id_number=ID_1)
    match = candidate(pair["left"], outside, tree.school_a)
    with pytest.raises(PermissionDenied):
        actions.merge_candidate(actor=school_admin_a, candidate=match)


def test_unmerge_refused_without_change_rights(pair, region_admin, school_admin_b):
    merge = actions.merge_candidate(actor=region_admin, candidate=pair["candidate"])
    with pytest.raises(PermissionDenied):
        actions.unmerge(actor=school_admin_b, merge=merge)
