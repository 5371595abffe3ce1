"""End to end with the import engine: an imported duplicate is merged and unmerged, the batch
carries its scores, and the lineage page names the batch that set each field."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from shuyuan.identity.models import Role
from shuyuan.registry.actions import quality as actions
from shuyuan.registry.models import Enrollment, MatchCandidate, Person

from .import_data import ID_U1, NAMES, import_bundle, roster, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(make_user: Any, tree: Any, make_source: Any) -> dict[str, Any]:
    admin = make_user(Role.PLATFORM_ADMIN)
    source = make_source(tree.county_a, "mis")
    tables = roster(tree.school_a.credit_code)
    tables["users"].append(user("u1-again", NAMES["given_san"], NAMES["family_zhang"], ID_U1))
    batch = import_bundle(admin, source, tree.county_a, tables)
    return {"admin": admin, "batch": batch, "candidate": MatchCandidate.objects.get()}


def test_imported_batch_has_scores(imported):
    scores = imported["batch"].scores
    assert scores["rows"] > 0
    assert set(scores["failing_rows"]) >= {"validity", "uniqueness", "completeness"}
    assert 0.0 <= scores["uniqueness"] <= 1.0


def test_imported_duplicate_merges_and_unmerges(imported):
    candidate = imported["candidate"]
    left_enrolments = set(
        Enrollment.objects.filter(person=candidate.left).values_list("pk", flat=True)
    )
    merge = actions.merge_candidate(actor=imported["admin"], candidate=candidate)
    assert Person.objects.get(pk=candidate.right_id).merged_into_id == candidate.left_id
    actions.unmerge(actor=imported["admin"], merge=merge)
    assert (
        set(Enrollment.objects.filter(person=candidate.left).values_list("pk", flat=True))
        == left_enrolments
    )
    assert Person.objects.get(pk=candidate.right_id).merged_into_id is None


def test_lineage_page_names_the_importing_batch(imported, client_for, make_user, tree):
    region_admin = make_user(Role.REGION_ADMIN, tree.region, totp_confirmed_at=timezone.now())
    person = imported["candidate"].left
    response = client_for(region_admin).get(reverse("registry:person_detail", args=[person.pk]))
    assert response.status_code == 200
    lineage = {row.name: row for row in response.context["lineage"]}
    assert lineage["name"].batch.pk == imported["batch"].pk
    assert lineage["id_number"].batch.pk == imported["batch"].pk
    url = reverse("registry:batch_findings", args=[imported["batch"].pk])
    assert url.encode() in response.content
    report = client_for(region_admin).get(url)
    assert report.status_code == 200
    assert b"ID_NUMBER_DUPLICATE" in report.content
