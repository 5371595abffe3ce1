"""Record pages: the people list, a person's lineage page, PII reveal, classes and schools."""

# ruff: noqa: F811  # the fixtures imported from test_quality_support are test arguments

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from shuyuan.core.models import AuditEvent
from shuyuan.registry.choices import EnrollmentRole, RosterRole
from shuyuan.registry.models import FieldObservation, RecordChange

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
    teacher_a,
)

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


@pytest.fixture
def student(tree, sources):
    """A school-A student whose name came from batch 1 (MIS) and whose ethnicity the
    public-security feed reported differently (an observation), with a class and a change."""
    mis, gat = sources
    b1 = batch(mis, tree.school_a)
    b2 = batch(gat, tree.region)
    who = person(
        mis,
        tree.school_a,
        "Wang Wu",
        id_number=ID_1,
        mobile=MOBILE,
        sex="male",
        birth_date=dt.date(2011, 3, 7),
        ethnicity="01",
        student_number="G41010220110307",
        provenance={"name": b1.pk, "ethnicity": b1.pk},
        created_batch=b1,
        last_batch=b1,
    )
    FieldObservation.objects.create(
        entity_type="user", record_id=who.pk, field="ethnicity", value="02", agrees=False, batch=b2
    )
    RecordChange.objects.create(
        entity_type="user",
        record_id=who.pk,
        action="update",
        changes={"student_number": ["G0", "G41010220110307"]},
        batch=b1,
    )
    klass = roster_class(mis, tree.school_a, "Class 7-1")
    enroll(who, klass)
    give_role(who, tree.school_a, RosterRole.STUDENT)
    teacher = person(mis, tree.school_a, "Zhao Laoshi")
    enroll(teacher, klass, EnrollmentRole.TEACHER)
    finding(tree.school_a, batch=b1, entity_type="user", record_id=who.pk, code="ODD_SEX")
    return {"person": who, "b1": b1, "b2": b2, "class": klass, "teacher": teacher}


# --- list --------------------------------------------------------------------------------------


def test_person_list_masks_pii(client_for, school_admin_a, student):
    response = client_for(school_admin_a).get(reverse("registry:person_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Wang Wu" in body
    assert ID_1 not in body
    assert MOBILE not in body
    assert "138****5678" in body


@pytest.mark.parametrize(
    ("q", "found"),
    [("Wang", True), ("G41010220110307", True), ("wangwu", True), ("Nobody", False)],
)
def test_person_list_search(client_for, school_admin_a, student, q, found):
    response = client_for(school_admin_a).get(
        reverse("registry:person_list"), {"q": q}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert (b"Wang Wu" in response.content) is found


def test_person_list_filters_by_role(client_for, school_admin_a, student):
    response = client_for(school_admin_a).get(reverse("registry:person_list"), {"role": "student"})
    assert b"Wang Wu" in response.content
    assert b"Zhao Laoshi" not in response.content


def test_person_list_hides_other_schools(client_for, school_admin_b, student):
    response = client_for(school_admin_b).get(reverse("registry:person_list"))
    assert b"Wang Wu" not in response.content


def test_person_list_query_count_is_fixed(
    client_for, region_admin, tree, sources, assert_max_queries
):
    client = client_for(region_admin)
    url = reverse("registry:person_list")
    for n in range(2):
        person(sources[0], tree.school_a, f"P{n}")
    client.get(url)
    with assert_max_queries(12) as few:
        client.get(url)
    for n in range(20):
        person(sources[1], tree.school_b, f"Q{n}")
    with assert_max_queries(len(few.captured_queries)):
        client.get(url)


# --- detail ------------------------------------------------------------------------------------


def test_person_detail_shows_lineage(client_for, school_admin_a, student):
    who = student["person"]
    response = client_for(school_admin_a).get(reverse("registry:person_detail", args=[who.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    batch_url = reverse("registry:batch_findings", args=[student["b1"].pk])
    assert batch_url in body  # the batch that set the name, linked for its admin
    assert "MIS" in body
    assert "disagrees" in body  # the public-security feed's ethnicity
    assert "GAT" in body
    assert "G41010220110307" in body  # the import's change
    assert "Class 7-1" in body
    assert "ODD_SEX" in body
    assert ID_1 not in body


def test_person_detail_links_no_batch_the_viewer_cannot_see(client_for, teacher_a, student):
    who = student["person"]
    response = client_for(teacher_a).get(reverse("registry:person_detail", args=[who.pk]))
    assert response.status_code == 200
    assert reverse("registry:batch_findings", args=[student["b1"].pk]).encode() not in (
        response.content
    )
    assert f"#{student['b1'].pk}".encode() in response.content


def test_person_detail_of_another_school_is_not_found(client_for, school_admin_b, student):
    url = reverse("registry:person_detail", args=[student["person"].pk])
    assert client_for(school_admin_b).get(url).status_code == 404


def test_person_detail_shows_merge_state(client_for, region_admin, student, tree, sources):
    from shuyuan.registry.actions import quality as actions

    dup = person(sources[1], tree.school_a, "Wang.Wu", id_number=ID_1)
    match = candidate(student["person"], dup, tree.school_a)
    actions.merge_candidate(actor=region_admin, candidate=match)
    client = client_for(region_admin)
    survivor = client.get(reverse("registry:person_detail", args=[student["person"].pk]))
    assert dup.sourced_id.encode() in survivor.content
    absorbed = client.get(reverse("registry:person_detail", args=[dup.pk]))
    assert b"This record was merged into" in absorbed.content


def test_person_reveal_shows_the_full_number_and_audits(client_for, school_admin_a, student):
    who = student["person"]
    response = client_for(school_admin_a).post(
        reverse("registry:person_reveal", args=[who.pk]),
        {"field": "id_number"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="pii",
    )
    assert response.status_code == 200
    assert ID_1.encode() in response.content
    assert b"<html" not in response.content
    assert AuditEvent.objects.filter(code="registry.pii.revealed", subject_id=str(who.pk)).exists()


def test_person_reveal_by_teacher_is_forbidden(client_for, teacher_a, student):
    who = student["person"]
    page = client_for(teacher_a).get(reverse("registry:person_detail", args=[who.pk]))
    assert reverse("registry:person_reveal", args=[who.pk]).encode() not in page.content
    response = client_for(teacher_a).post(
        reverse("registry:person_reveal", args=[who.pk]), {"field": "mobile"}
    )
    assert response.status_code == 403
    assert MOBILE.encode() not in response.content


def test_person_reveal_unknown_field_is_422(client_for, school_admin_a, student):
    who = student["person"]
    response = client_for(school_admin_a).post(
        reverse("registry:person_reveal", args=[who.pk]), {"field": "password"}
    )
    assert response.status_code == 422


def test_person_reveal_of_another_school_is_not_found(client_for, school_admin_b, student):
    who = student["person"]
    response = client_for(school_admin_b).post(
        reverse("registry:person_reveal", args=[who.pk]), {"field": "id_number"}
    )
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(code="registry.pii.revealed").exists()


# --- classes and schools -----------------------------------------------------------------------


def test_class_list_and_detail(client_for, school_admin_a, student):
    client = client_for(school_admin_a)
    listing = client.get(reverse("registry:class_list"))
    assert listing.status_code == 200
    assert b"Class 7-1" in listing.content
    detail = client.get(reverse("registry:class_detail", args=[student["class"].pk]))
    assert detail.status_code == 200
    assert b"Wang Wu" in detail.content
    assert b"Zhao Laoshi" in detail.content


def test_class_detail_of_another_school_is_not_found(client_for, school_admin_b, student):
    url = reverse("registry:class_detail", args=[student["class"].pk])
    assert client_for(school_admin_b).get(url).status_code == 404


def test_class_list_query_count_is_fixed(
    client_for, region_admin, tree, sources, assert_max_queries
):
    client = client_for(region_admin)
    url = reverse("registry:class_list")
    roster_class(sources[0], tree.school_a)
    client.get(url)
    with assert_max_queries(12) as few:
        client.get(url)
    for _ in range(10):
        roster_class(sources[0], tree.school_b)
    with assert_max_queries(len(few.captured_queries)):
        client.get(url)


def test_school_summary(client_for, school_admin_a, student, tree):
    response = client_for(school_admin_a).get(
        reverse("registry:school_summary", args=[tree.school_a.pk])
    )
    assert response.status_code == 200
    assert response.context["counts"]["students"] == 1
    assert response.context["counts"]["classes"] == 1
    assert response.context["counts"]["open_findings"] == 1


def test_school_summary_of_another_school_is_not_found(client_for, school_admin_b, tree):
    url = reverse("registry:school_summary", args=[tree.school_a.pk])
    assert client_for(school_admin_b).get(url).status_code == 404


# --- menu --------------------------------------------------------------------------------------


def _base_data_menu(user):
    from django.test import RequestFactory

    from shuyuan.identity.context_processors import build_navigation

    request = RequestFactory().get("/registry/people/")
    request.user = user
    return next((i for i in build_navigation(request) if i.key == "base_data"), None)


def test_menu_base_data_for_teachers_has_records_only(teacher_a):
    group = _base_data_menu(teacher_a)
    assert [child.key for child in group.children] == ["people", "classes"]
    assert group.active


def test_menu_base_data_for_school_admins(school_admin_a):
    keys = [child.key for child in _base_data_menu(school_admin_a).children]
    assert keys == ["people", "classes", "quality", "duplicates", "authorities"]


def test_menu_has_no_base_data_for_students(make_user, tree):
    assert _base_data_menu(make_user("student", tree.class_a)) is None


def test_person_list_search_by_name_variant(client_for, school_admin_a, tree, sources):
    person(sources[0], tree.school_a, "Ai.Li", name_key="ai\u00b7li")
    response = client_for(school_admin_a).get(reverse("registry:person_list"), {"q": "Ai\u00b7Li"})
    assert b"Ai.Li" in response.content
