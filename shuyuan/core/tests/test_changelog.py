"""The hash-chained change log: every write recorded, tampering detected at the right entry."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from shuyuan.core.actions import create_org, update_org
from shuyuan.core.changelog import verify_changelog
from shuyuan.core.context import ChangeContextError, change_context, system_actor
from shuyuan.core.models import AuditEvent, ChainHead, ChangeRecord, Org, OrgKind


@pytest.fixture
def admin(make_user):
    return make_user("platform_admin", None, username="root")


def _tamper(sql: str, params: list) -> None:
    """Edit the table behind the application's back, as an attacker with DB access would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_save_without_change_context_raises(tree):
    tree.school_a.name = "Renamed"
    with pytest.raises(ChangeContextError):
        tree.school_a.save()


def test_queryset_update_on_logged_model_raises(tree):
    with pytest.raises(ChangeContextError):
        Org.objects.filter(pk=tree.school_a.pk).update(name="x")


def test_queryset_delete_inside_change_context_without_bulk_raises(tree):
    with change_context(actor=system_actor(), source="system"), pytest.raises(ChangeContextError):
        Org.objects.filter(pk=tree.class_a.pk).delete()


def test_create_org_records_actor_source_and_values(tree, admin):
    org = create_org(
        actor=admin, kind=OrgKind.GRADE, name="Grade 8", parent=tree.school_a, source="api"
    )
    record = ChangeRecord.objects.get(target_type="core.org", target_id=str(org.pk))
    assert record.action == "create"
    assert record.actor_id == admin.pk
    assert record.actor_name == "root"
    assert record.source == "api"
    assert record.changes["name"] == [None, "Grade 8"]
    assert record.org_path == org.path


def test_update_org_records_before_and_after(tree, admin):
    update_org(actor=admin, org=tree.school_a, name="School A (new)")
    record = ChangeRecord.objects.filter(target_id=str(tree.school_a.pk)).order_by("-seq").first()
    assert record.action == "update"
    assert record.changes == {"name": ["School A", "School A (new)"]}


def test_unchanged_save_writes_no_record(tree):
    before = ChangeRecord.objects.count()
    with change_context(actor=system_actor(), source="system"):
        Org.objects.get(pk=tree.school_a.pk).save()
    assert ChangeRecord.objects.count() == before


def test_records_chain_to_previous_hash(tree):
    records = list(ChangeRecord.objects.order_by("seq"))
    assert records[0].prev_hash == "0" * 64
    for previous, current in itertools.pairwise(records):
        assert current.prev_hash == previous.hash
        assert current.seq == previous.seq + 1
    assert ChainHead.objects.get(pk=1).hash == records[-1].hash


def test_verify_intact_chain_is_ok(tree):
    result = verify_changelog()
    assert result.ok
    assert result.checked == ChangeRecord.objects.count()


def test_verify_names_entry_whose_content_was_altered(tree):
    victim = ChangeRecord.objects.order_by("seq")[3]
    _tamper("UPDATE core_changerecord SET actor_name = %s WHERE id = %s", ["mallory", victim.pk])
    result = verify_changelog()
    assert not result.ok
    assert result.first_bad_seq == victim.seq
    assert str(victim.seq) in result.reason


def test_verify_detects_altered_changes_json(tree):
    victim = ChangeRecord.objects.order_by("seq")[2]
    _tamper(
        "UPDATE core_changerecord SET changes = %s WHERE id = %s",
        ['{"name": [null, "Forged"]}', victim.pk],
    )
    assert verify_changelog().first_bad_seq == victim.seq


def test_verify_detects_deleted_middle_entry(tree):
    victim = ChangeRecord.objects.order_by("seq")[4]
    _tamper("DELETE FROM core_changerecord WHERE id = %s", [victim.pk])
    result = verify_changelog()
    assert not result.ok
    assert result.first_bad_seq == victim.seq


def test_verify_detects_recomputed_hash_that_breaks_the_link(tree):
    """An attacker who edits a record and recomputes its hash still breaks the next link."""
    victim = ChangeRecord.objects.order_by("seq")[1]
    victim.actor_name = "mallory"
    forged = victim.compute_hash()
    _tamper(
        "UPDATE core_changerecord SET actor_name = %s, hash = %s WHERE id = %s",
        ["mallory", forged, victim.pk],
    )
    assert verify_changelog().first_bad_seq == victim.seq + 1


def test_verify_detects_truncated_tail(tree):
    last = ChangeRecord.objects.order_by("-seq").first()
    _tamper("DELETE FROM core_changerecord WHERE id = %s", [last.pk])
    result = verify_changelog()
    assert not result.ok
    assert result.first_bad_seq == last.seq


def test_verify_changelog_command_fails_naming_entry(tree):
    victim = ChangeRecord.objects.order_by("seq")[0]
    _tamper("UPDATE core_changerecord SET source = %s WHERE id = %s", ["api", victim.pk])
    with pytest.raises(CommandError, match=f"#{victim.seq}"):
        call_command("verify_changelog")


def test_change_record_is_append_only(tree):
    record = ChangeRecord.objects.first()
    record.message = "edited"
    with pytest.raises(ChangeContextError):
        record.save()
    with pytest.raises(ChangeContextError):
        record.delete()


def test_audit_event_is_append_only(db):
    event = AuditEvent.objects.create(code="identity.login.failed")
    with pytest.raises(ChangeContextError):
        event.save()


def test_failed_action_leaves_no_record(tree, admin):
    before = ChangeRecord.objects.count()
    with (
        pytest.raises(RuntimeError),
        transaction.atomic(),
        change_context(actor=admin, source="ui"),
    ):
        create_org(actor=admin, kind=OrgKind.GRADE, name="Grade 9", parent=tree.school_a)
        raise RuntimeError("boom")
    assert ChangeRecord.objects.count() == before
    assert verify_changelog().ok


def test_record_without_parent_hashes_as_before_the_parent_field(tree):
    record = ChangeRecord.objects.order_by("seq").first()
    assert "parent_type" not in record.hashed_content()
    assert record.compute_hash() == record.hash
