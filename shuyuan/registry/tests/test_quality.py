"""Quality scores (per batch, per org) and the finding and survivorship-rule actions."""

# ruff: noqa: F811  # the fixtures imported from test_quality_support are test arguments

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from shuyuan.core.errors import Conflict, InvalidInput, PermissionDenied
from shuyuan.core.models import AuditEvent, ChangeRecord
from shuyuan.registry.actions import quality as actions
from shuyuan.registry.choices import FindingStatus, MatchStatus
from shuyuan.registry.models import FieldAuthority
from shuyuan.registry.quality import compute_batch_scores, compute_org_scores

from .test_quality_support import (  # noqa: F401  # fixtures
    ID_1,
    ID_2,
    auditor,
    batch,
    candidate,
    enroll,
    finding,
    give_role,
    person,
    region_admin,
    roster_class,
    school_admin_a,
    school_admin_b,
    sources,
    system,
)

pytestmark = pytest.mark.django_db


# --- batch scores ------------------------------------------------------------------------------


def test_batch_scores_count_distinct_failing_rows_per_dimension(tree, sources):
    b = batch(sources[0], tree.school_a, {"users": {"rows": 10}, "roles": {"rows": 10}})
    finding(tree.school_a, batch=b, row=2, code="A")
    finding(tree.school_a, batch=b, row=2, code="B", column="sex")  # same row, same dimension
    finding(tree.school_a, batch=b, row=2, file="roles.csv")  # same number, other file
    finding(tree.school_a, batch=b, row=3, dimension="completeness")
    finding(tree.school_a, batch=b, row=None, dimension="consistency")  # no row: not counted
    scores = compute_batch_scores(b)
    assert scores["rows"] == 20
    assert scores["validity"] == pytest.approx(0.9)
    assert scores["completeness"] == pytest.approx(0.95)
    assert scores["consistency"] == 1.0
    assert scores["uniqueness"] == 1.0
    assert scores["timeliness"] == 1.0
    assert scores["failing_rows"]["validity"] == 2
    assert scores["failing_rows"]["completeness"] == 1


def test_batch_scores_ignore_other_batches(tree, sources):
    b1 = batch(sources[0], tree.school_a, {"users": {"rows": 4}})
    b2 = batch(sources[0], tree.school_a, {"users": {"rows": 4}})
    finding(tree.school_a, batch=b2, row=2)
    assert compute_batch_scores(b1)["validity"] == 1.0
    assert compute_batch_scores(b2)["validity"] == 0.75


def test_batch_scores_with_no_rows_are_perfect(tree, sources):
    b = batch(sources[0], tree.school_a, {})
    finding(tree.school_a, batch=b, row=2)
    scores = compute_batch_scores(b)
    assert scores["rows"] == 0
    assert scores["validity"] == 1.0


# --- org scores --------------------------------------------------------------------------------


@pytest.fixture
def school_a_people(tree, sources):
    mis, gat = sources
    full = person(
        mis,
        tree.school_a,
        "Full",
        id_number=ID_1,
        sex="male",
        birth_date=dt.date(2011, 3, 7),
        ethnicity="01",
    )
    # Missing ID number and ethnicity (2 of 6 fields), and not touched for two years.
    sparse = person(
        gat,
        tree.school_a,
        "Sparse",
        sex="female",
        birth_date=dt.date(2012, 4, 8),
        date_last_modified=timezone.now() - dt.timedelta(days=730),
    )
    # Other schools and merged-away records do not count.
    person(mis, tree.school_b, "Elsewhere")
    person(mis, tree.school_a, "Gone", merged_into=full)
    return full, sparse


def test_org_scores(tree, sources, school_a_people):
    full, sparse = school_a_people
    finding(tree.school_a, entity_type="user", record_id=full.pk)
    finding(tree.school_a, entity_type="user", record_id=full.pk, code="OTHER")  # same record
    finding(tree.school_a, entity_type="user", record_id=sparse.pk, status=FindingStatus.RESOLVED)
    finding(tree.school_b, entity_type="user", record_id=sparse.pk)  # other org
    candidate(full, sparse, tree.school_a)
    scores = compute_org_scores(tree.school_a)
    assert scores["people"] == 2
    assert scores["records"] == 2
    assert scores["completeness"] == pytest.approx(10 / 12, abs=1e-4)
    assert scores["validity"] == 0.5
    assert scores["consistency"] == 1.0
    assert scores["uniqueness"] == 0.0
    assert scores["timeliness"] == 0.5
    assert scores["missing_fields"]["id_number_index"] == 1
    assert scores["missing_fields"]["ethnicity"] == 1


def test_org_scores_count_classes_and_enrolments_as_records(tree, sources, school_a_people):
    full, _sparse = school_a_people
    klass = roster_class(sources[0], tree.school_a)
    enroll(full, klass)
    give_role(full, tree.school_a)
    scores = compute_org_scores(tree.school_a)
    assert scores["records"] == 5
    assert compute_org_scores(tree.region)["records"] == 6  # plus the school-B person


def test_org_scores_ignore_decided_candidates(tree, sources, school_a_people):
    full, sparse = school_a_people
    candidate(full, sparse, tree.school_a, status=MatchStatus.KEPT_APART)
    assert compute_org_scores(tree.school_a)["uniqueness"] == 1.0


def test_org_scores_timeliness_setting(tree, sources, school_a_people, settings):
    settings.REGISTRY_TIMELINESS_DAYS = 1000
    assert compute_org_scores(tree.school_a)["timeliness"] == 1.0


def test_org_scores_of_an_empty_org_are_perfect(tree):
    scores = compute_org_scores(tree.school_b)
    assert scores["people"] == 0
    assert all(scores[d] == 1.0 for d in ("completeness", "validity", "uniqueness"))


def test_org_scores_query_count_is_fixed(tree, sources, school_a_people, assert_max_queries):
    with assert_max_queries(7):
        compute_org_scores(tree.region)


# --- findings ----------------------------------------------------------------------------------


def test_resolve_finding_records_who_and_an_audit_event(tree, school_admin_a):
    f = finding(tree.school_a)
    actions.resolve_finding(actor=school_admin_a, finding=f, note="fixed in MIS")
    f.refresh_from_db()
    assert f.status == FindingStatus.RESOLVED
    assert f.decided_by_id == school_admin_a.pk
    event = AuditEvent.objects.get(code="registry.finding.resolved")
    assert event.subject_id == str(f.pk)
    assert event.extra["note"] == "fixed in MIS"
    assert event.org_path == tree.school_a.path


def test_dismiss_finding_twice_is_a_conflict(tree, school_admin_a):
    f = finding(tree.school_a)
    actions.dismiss_finding(actor=school_admin_a, finding=f)
    with pytest.raises(Conflict) as excinfo:
        actions.resolve_finding(actor=school_admin_a, finding=f)
    assert excinfo.value.code == "FINDING_DECIDED"


@pytest.mark.parametrize("who", ["auditor", "school_admin_b"])
def test_resolve_finding_refused_without_change(tree, request, who):
    f = finding(tree.school_a)
    with pytest.raises(PermissionDenied):
        actions.resolve_finding(actor=request.getfixturevalue(who), finding=f)
    f.refresh_from_db()
    assert f.status == FindingStatus.OPEN


# --- survivorship rules ------------------------------------------------------------------------


def test_set_field_authority_creates_and_changes_a_rule(region_admin, sources):
    mis, gat = sources
    rule = actions.set_field_authority(
        actor=region_admin, entity_type="user", field="name", strategy="authoritative", source=gat
    )
    assert rule.source_id == gat.pk
    actions.set_field_authority(
        actor=region_admin,
        entity_type="user",
        field="name",
        strategy="latest",
        source=mis,
        authority=rule,
    )
    rule.refresh_from_db()
    assert rule.strategy == "latest"
    assert rule.source_id is None
    assert ChangeRecord.objects.filter(target_type="registry.fieldauthority").count() == 2


def test_set_field_authority_unknown_field_names_the_field(region_admin, sources):
    with pytest.raises(InvalidInput) as excinfo:
        actions.set_field_authority(
            actor=region_admin,
            entity_type="user",
            field="shoe_size",
            strategy="authoritative",
            source=sources[0],
        )
    assert excinfo.value.field == "field"
    assert excinfo.value.code == "UNKNOWN_FIELD"


def test_set_field_authority_needs_a_source_when_authoritative(region_admin):
    with pytest.raises(InvalidInput) as excinfo:
        actions.set_field_authority(
            actor=region_admin, entity_type="user", field="sex", strategy="authoritative"
        )
    assert excinfo.value.field == "source"


def test_set_field_authority_one_rule_per_field(region_admin, sources):
    actions.set_field_authority(
        actor=region_admin, entity_type="user", field="sex", strategy="creator"
    )
    with pytest.raises(Conflict):
        actions.set_field_authority(
            actor=region_admin, entity_type="user", field="sex", strategy="latest"
        )


def test_set_field_authority_refused_for_school_admins(school_admin_a):
    with pytest.raises(PermissionDenied):
        actions.set_field_authority(
            actor=school_admin_a, entity_type="user", field="sex", strategy="creator"
        )


def test_delete_field_authority(region_admin, school_admin_a):
    rule = actions.set_field_authority(
        actor=region_admin, entity_type="user", field="sex", strategy="creator"
    )
    with pytest.raises(PermissionDenied):
        actions.delete_field_authority(actor=school_admin_a, authority=rule)
    actions.delete_field_authority(actor=region_admin, authority=rule)
    assert not FieldAuthority.objects.exists()


# --- PII reveal --------------------------------------------------------------------------------


def test_reveal_person_pii_returns_plaintext_and_audits(tree, sources, school_admin_a):
    who = person(sources[0], tree.school_a, id_number=ID_2)
    assert actions.reveal_person_pii(actor=school_admin_a, person=who, field="id_number") == ID_2
    assert AuditEvent.objects.filter(code="registry.pii.revealed", subject_id=str(who.pk)).exists()


def test_reveal_person_pii_refused_for_teachers(tree, sources, make_user):
    teacher = make_user("teacher", tree.school_a)
    who = person(sources[0], tree.school_a, id_number=ID_2)
    with pytest.raises(PermissionDenied):
        actions.reveal_person_pii(actor=teacher, person=who, field="id_number")
    assert AuditEvent.objects.filter(code="registry.pii.denied").exists()
