"""Registry scope rules: who sees and changes which rows, across orgs (deny by default)."""

from __future__ import annotations

import datetime as dt

import pytest

from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.scoping import has_permission
from shuyuan.registry.choices import (
    AccessRequestStatus,
    ClassType,
    EnrollmentRole,
    RoleType,
    RosterRole,
    SharingLevel,
)
from shuyuan.registry.models import (
    AccessRequest,
    ApiClient,
    Course,
    Dataset,
    Enrollment,
    Person,
    PersonRole,
    RosterClass,
)
from shuyuan.registry.queries.catalog import client_datasets, client_org_paths

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tree, make_source):
    """One student per school, and a teacher of school_b who also teaches at school_a."""
    source = make_source(tree.region)
    with change_context(actor=system_actor(), source="system"), bulk_writes():
        a = Person.objects.create(
            sourced_id="p-a", source=source, name="A", primary_org=tree.school_a
        )
        b = Person.objects.create(
            sourced_id="p-b", source=source, name="B", primary_org=tree.school_b
        )
        t = Person.objects.create(
            sourced_id="p-t", source=source, name="T", primary_org=tree.school_b
        )
        PersonRole.objects.create(
            sourced_id="r-t",
            source=source,
            person=t,
            role=RosterRole.TEACHER,
            role_type=RoleType.SECONDARY,
            org=tree.school_a,
        )
        course = Course.objects.create(sourced_id="c", source=source, title="C", org=tree.school_a)
        klass = RosterClass.objects.create(
            sourced_id="k",
            source=source,
            title="K",
            class_type=ClassType.HOMEROOM,
            course=course,
            school=tree.school_a,
        )
        Enrollment.objects.create(
            sourced_id="e",
            source=source,
            roster_class=klass,
            person=a,
            school=tree.school_a,
            role=EnrollmentRole.STUDENT,
        )
    return {"a": a, "b": b, "t": t, "source": source}


def _names(qs):
    return sorted(p.name for p in qs)


@pytest.mark.parametrize(
    ("role", "org", "view", "change"),
    [
        ("platform_admin", None, ["A", "B", "T"], ["A", "B", "T"]),
        ("region_admin", "region", ["A", "B", "T"], ["A", "B", "T"]),
        ("school_admin", "school_a", ["A", "T"], ["A", "T"]),
        ("school_admin", "school_b", ["B", "T"], ["B", "T"]),
        ("teacher", "school_a", ["A", "T"], []),
        ("auditor", "county_b", ["B", "T"], []),
        ("student", "class_a", [], []),
        ("parent", "class_a", [], []),
        ("resource_reviewer", "region", [], []),
    ],
)
def test_person_scope(people, tree, make_user, role, org, view, change):
    user = make_user(role, getattr(tree, org) if org else None)
    assert _names(Person.objects.visible_to(user)) == view
    assert _names(Person.objects.visible_to(user, "change")) == change
    assert _names(Person.objects.visible_to(user, "reveal_pii")) == change
    assert not Person.objects.visible_to(user, "no-such-action").exists()


def test_enrolments_and_classes_follow_their_school(people, tree, make_user):
    admin_b = make_user("school_admin", tree.school_b)
    admin_a = make_user("school_admin", tree.school_a)
    assert not Enrollment.objects.visible_to(admin_b).exists()
    assert not RosterClass.objects.visible_to(admin_b).exists()
    assert Enrollment.objects.visible_to(admin_a).count() == 1
    assert RosterClass.objects.visible_to(admin_a, "change").count() == 1


def test_anonymous_and_inactive_see_nothing(people, tree, make_user):
    from django.contrib.auth.models import AnonymousUser

    assert not Person.objects.visible_to(AnonymousUser()).exists()
    admin = make_user("region_admin", tree.region, is_active=False)
    assert not Person.objects.visible_to(admin).exists()


def test_named_permissions(tree, make_user):
    assert has_permission(make_user("school_admin", tree.school_a), "registry.import")
    assert not has_permission(make_user("teacher", tree.school_a), "registry.import")
    assert has_permission(make_user("region_admin", tree.region), "registry.configure_authorities")
    assert not has_permission(
        make_user("region_admin", tree.county_a), "registry.configure_authorities"
    )


def test_client_datasets_by_sharing_level(tree, make_user):
    with change_context(actor=system_actor(), source="system"):
        client = ApiClient.objects.create(
            client_id="c1", secret_hash="x", name="App", org=tree.school_a, scopes=[]
        )
        other = ApiClient.objects.create(
            client_id="c2", secret_hash="x", name="Other", org=tree.school_b, scopes=[]
        )
        open_ds = Dataset.objects.create(
            code="open",
            title="Open",
            org=tree.county_a,
            entity_types=["users"],
            sharing_level=SharingLevel.UNCONDITIONAL,
        )
        cond = Dataset.objects.create(
            code="cond",
            title="Cond",
            org=tree.county_b,
            entity_types=["users", "classes"],
            sharing_level=SharingLevel.CONDITIONAL,
        )
        Dataset.objects.create(
            code="closed",
            title="Closed",
            org=tree.region,
            entity_types=["users"],
            sharing_level=SharingLevel.NOT_SHARED,
        )
        request = AccessRequest.objects.create(
            dataset=cond, client=client, purpose="Timetabling", status=AccessRequestStatus.PENDING
        )
    assert client_datasets(client, "users") == [open_ds]
    with change_context(actor=system_actor(), source="system"):
        request.status = AccessRequestStatus.APPROVED
        request.valid_until = dt.date(2030, 1, 1)
        request.save()
    assert {d.code for d in client_datasets(client, "users")} == {"open", "cond"}
    assert client_org_paths(client, "classes") == [tree.county_b.path]
    assert client_org_paths(other, "classes") == []
    assert client_datasets(client, "users", today=dt.date(2030, 1, 2)) == [open_ds]
    with change_context(actor=system_actor(), source="system"):
        request.status = AccessRequestStatus.REVOKED
        request.save()
    assert client_datasets(client, "users") == [open_ds]
