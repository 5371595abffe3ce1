"""Quality portal pages: reports, findings drill-down and export, review queue, rules."""

# ruff: noqa: F811  # the fixtures imported from test_quality_support are test arguments

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from shuyuan.core.models import AuditEvent
from shuyuan.registry.choices import FindingStatus, MatchStatus
from shuyuan.registry.models import FieldAuthority, Finding, Merge, Person

from .test_quality_support import (  # noqa: F401  # fixtures
    ID_1,
    auditor,
    batch,
    candidate,
    finding,
    person,
    region_admin,
    school_admin_a,
    school_admin_b,
    sources,
    system,
    teacher_a,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


@pytest.fixture
def batch_a(tree, sources):
    b = batch(sources[0], tree.school_a, {"users": {"rows": 4}})
    b.scores = {"validity": 0.5, "rows": 4, "failing_rows": {"validity": 2}}
    b.save()
    finding(tree.school_a, batch=b, row=2, value="=cmd|' /C calc'!A0")
    finding(tree.school_a, batch=b, row=3, code="MISSING_NAME", dimension="completeness")
    return b


@pytest.fixture
def pair(tree, sources):
    left = person(sources[0], tree.school_a, "Li Si", id_number=ID_1, sex="male")
    right = person(
        sources[1],
        tree.school_a,
        "Li.Si",
        id_number=ID_1,
        ethnicity="01",
        birth_date=dt.date(2011, 3, 7),
    )
    return candidate(left, right, tree.school_a)


# --- reports -----------------------------------------------------------------------------------


def test_quality_report_shows_the_org_scores(client_for, region_admin, tree, batch_a):
    response = client_for(region_admin).get(
        reverse("registry:quality_report"), {"org": tree.school_a.pk}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Report for School A" in body
    assert "INVALID_ID_NUMBER" in body
    assert "MISSING_NAME" in body


def test_quality_report_htmx_returns_the_report_partial(client_for, region_admin, tree, batch_a):
    response = client_for(region_admin).get(
        reverse("registry:quality_report"),
        {"org": tree.school_a.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="report",
    )
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"Report for School A" in response.content


def test_quality_report_ignores_an_org_outside_scope(client_for, school_admin_b, tree, batch_a):
    response = client_for(school_admin_b).get(
        reverse("registry:quality_report"), {"org": tree.school_a.pk}
    )
    assert response.status_code == 200
    assert b"Report for" not in response.content


def test_quality_report_forbidden_for_teachers(client_for, teacher_a):
    assert client_for(teacher_a).get(reverse("registry:quality_report")).status_code == 403


def test_batch_findings_page_and_drill_down(client_for, school_admin_a, batch_a):
    client = client_for(school_admin_a)
    url = reverse("registry:batch_findings", args=[batch_a.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"0.50" in page.content
    partial = client.get(url, {"code": "MISSING_NAME"}, **HTMX)
    assert partial.status_code == 200
    assert b"<html" not in partial.content
    assert b"1 finding found." in partial.content
    assert b"INVALID_ID_NUMBER" not in partial.content


def test_batch_findings_of_another_school_are_not_found(client_for, school_admin_b, batch_a):
    url = reverse("registry:batch_findings", args=[batch_a.pk])
    assert client_for(school_admin_b).get(url).status_code == 404


def test_batch_findings_csv_export_is_neutralised(client_for, school_admin_a, batch_a):
    url = reverse("registry:batch_findings", args=[batch_a.pk])
    response = client_for(school_admin_a).get(url, {"format": "csv", "dimension": "validity"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 2  # header + the one validity finding
    value_index = rows[0].index("Value")
    assert rows[1][value_index] == "'=cmd|' /C calc'!A0"
    event = AuditEvent.objects.get(code="registry.findings.exported")
    assert event.extra == {
        "format": "csv",
        "filters": {"batch": batch_a.pk, "dimension": "validity"},
    }
    assert event.actor_id == school_admin_a.pk


def test_org_findings_xlsx_export_is_neutralised(client_for, region_admin, tree, batch_a):
    response = client_for(region_admin).get(
        reverse("registry:finding_list"),
        {"org": tree.school_a.pk, "format": "xlsx", "code": "INVALID_ID_NUMBER"},
    )
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("Value") + 1)
    assert cell.data_type == "s"
    assert isinstance(cell.value, str)
    assert cell.value.startswith("'=")
    assert sheet.max_row == 2


def test_org_findings_list_for_auditors_without_decide_buttons(client_for, auditor, batch_a):
    response = client_for(auditor).get(reverse("registry:finding_list"))
    assert response.status_code == 200
    assert b"2 findings found." in response.content
    assert b"/resolve/" not in response.content


def test_finding_resolve_post(client_for, school_admin_a, batch_a):
    f = Finding.objects.get(code="MISSING_NAME")
    response = client_for(school_admin_a).post(reverse("registry:finding_resolve", args=[f.pk]))
    assert response.status_code == 303
    f.refresh_from_db()
    assert f.status == FindingStatus.RESOLVED


def test_finding_resolve_of_another_school_is_not_found(client_for, school_admin_b, batch_a):
    f = Finding.objects.get(code="MISSING_NAME")
    response = client_for(school_admin_b).post(reverse("registry:finding_resolve", args=[f.pk]))
    assert response.status_code == 404


def test_finding_dismiss_by_auditor_is_forbidden(client_for, auditor, batch_a):
    f = Finding.objects.get(code="MISSING_NAME")
    response = client_for(auditor).post(reverse("registry:finding_dismiss", args=[f.pk]))
    assert response.status_code == 403


def test_finding_decided_twice_is_422(client_for, school_admin_a, batch_a):
    f = Finding.objects.get(code="MISSING_NAME")
    client = client_for(school_admin_a)
    client.post(reverse("registry:finding_dismiss", args=[f.pk]))
    response = client.post(reverse("registry:finding_resolve", args=[f.pk]))
    assert response.status_code == 422


def test_finding_list_query_count_is_fixed(
    client_for, region_admin, tree, sources, assert_max_queries
):
    b = batch(sources[0], tree.school_a, {"users": {"rows": 40}})
    client = client_for(region_admin)
    url = reverse("registry:finding_list")
    for n in range(3):
        finding(tree.school_a, batch=b, row=n + 2)
    client.get(url)  # warm the session and caches
    with assert_max_queries(12) as few:
        client.get(url)
    for n in range(30):
        finding(tree.school_b, batch=b, row=n + 10)
    with assert_max_queries(len(few.captured_queries)):
        client.get(url)


# --- review queue ------------------------------------------------------------------------------


def test_review_queue_shows_pairs_with_masked_ids(client_for, school_admin_a, pair):
    response = client_for(school_admin_a).get(reverse("registry:candidate_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Li.Si" in body
    assert ID_1 not in body
    assert ID_1[:4] + "*" * 10 + ID_1[-4:] in body
    assert reverse("registry:candidate_merge", args=[pair.pk]) in body


def test_review_queue_hides_other_schools_pairs(client_for, school_admin_b, pair):
    response = client_for(school_admin_b).get(reverse("registry:candidate_list"))
    assert response.status_code == 200
    assert b"Li.Si" not in response.content


def test_review_queue_forbidden_for_teachers(client_for, teacher_a):
    assert client_for(teacher_a).get(reverse("registry:candidate_list")).status_code == 403


def test_merge_and_unmerge_through_the_queue(client_for, school_admin_a, pair):
    client = client_for(school_admin_a)
    response = client.post(
        reverse("registry:candidate_merge", args=[pair.pk]), {"survivor": pair.right_id}
    )
    assert response.status_code == 303
    merge = Merge.objects.get()
    assert merge.survivor_id == pair.right_id
    page = client.get(reverse("registry:candidate_list"))
    assert reverse("registry:merge_unmerge", args=[merge.pk]).encode() in page.content
    response = client.post(reverse("registry:merge_unmerge", args=[merge.pk]))
    assert response.status_code == 303
    pair.refresh_from_db()
    assert pair.status == MatchStatus.UNMERGED
    assert Person.objects.get(pk=pair.left_id).merged_into_id is None


def test_stale_unmerge_is_422(client_for, school_admin_a, pair):
    client = client_for(school_admin_a)
    client.post(reverse("registry:candidate_merge", args=[pair.pk]))
    merge = Merge.objects.get()
    survivor = Person.objects.get(pk=pair.left_id)
    survivor.ethnicity = "03"
    with system():
        survivor.save(update_fields=["ethnicity"])
    response = client.post(reverse("registry:merge_unmerge", args=[merge.pk]))
    assert response.status_code == 422
    assert b"changed since the merge" in response.content


def test_keep_apart_through_the_queue(client_for, school_admin_a, pair):
    response = client_for(school_admin_a).post(
        reverse("registry:candidate_keep_apart", args=[pair.pk])
    )
    assert response.status_code == 303
    pair.refresh_from_db()
    assert pair.status == MatchStatus.KEPT_APART


def test_merge_of_another_schools_pair_is_not_found(client_for, school_admin_b, pair):
    response = client_for(school_admin_b).post(reverse("registry:candidate_merge", args=[pair.pk]))
    assert response.status_code == 404
    pair.refresh_from_db()
    assert pair.status == MatchStatus.OPEN


def test_merge_with_a_foreign_survivor_is_422(client_for, school_admin_a, pair):
    response = client_for(school_admin_a).post(
        reverse("registry:candidate_merge", args=[pair.pk]), {"survivor": "999999"}
    )
    assert response.status_code == 422


def test_review_queue_query_count_is_fixed(
    client_for, region_admin, tree, sources, assert_max_queries
):
    client = client_for(region_admin)
    url = reverse("registry:candidate_list")

    def add_pairs(n):
        for _ in range(n):
            a = person(sources[0], tree.school_a, "A")
            b = person(sources[1], tree.school_a, "A")
            candidate(a, b, tree.school_a)

    add_pairs(2)
    client.get(url)
    with assert_max_queries(15) as few:
        client.get(url)
    add_pairs(8)
    with assert_max_queries(len(few.captured_queries)):
        client.get(url)


# --- survivorship rules ------------------------------------------------------------------------


def test_authority_page_adds_a_rule(client_for, region_admin, sources):
    client = client_for(region_admin)
    assert client.get(reverse("registry:authority_list")).status_code == 200
    response = client.post(
        reverse("registry:authority_list"),
        {
            "entity_type": "user",
            "field": "name",
            "strategy": "authoritative",
            "source": sources[1].pk,
        },
    )
    assert response.status_code == 303
    rule = FieldAuthority.objects.get()
    assert rule.source_id == sources[1].pk


def test_authority_page_unknown_field_is_422_naming_it(client_for, region_admin, sources):
    response = client_for(region_admin).post(
        reverse("registry:authority_list"),
        {"entity_type": "user", "field": "shoe_size", "strategy": "creator"},
    )
    assert response.status_code == 422
    assert b"shoe_size is not a field of user" in response.content
    assert not FieldAuthority.objects.exists()


def test_authority_page_edit_and_delete(client_for, region_admin, sources):
    client = client_for(region_admin)
    client.post(
        reverse("registry:authority_list"),
        {"entity_type": "user", "field": "sex", "strategy": "creator"},
    )
    rule = FieldAuthority.objects.get()
    response = client.post(
        reverse("registry:authority_edit", args=[rule.pk]),
        {"entity_type": "user", "field": "sex", "strategy": "latest"},
    )
    assert response.status_code == 303
    rule.refresh_from_db()
    assert rule.strategy == "latest"
    response = client.post(reverse("registry:authority_delete", args=[rule.pk]))
    assert response.status_code == 303
    assert not FieldAuthority.objects.exists()


def test_authority_page_post_by_school_admin_is_forbidden(client_for, school_admin_a):
    client = client_for(school_admin_a)
    assert client.get(reverse("registry:authority_list")).status_code == 200
    response = client.post(
        reverse("registry:authority_list"),
        {"entity_type": "user", "field": "sex", "strategy": "creator"},
    )
    assert response.status_code == 403


def test_authority_page_forbidden_for_teachers(client_for, teacher_a):
    assert client_for(teacher_a).get(reverse("registry:authority_list")).status_code == 403


def test_finding_decision_ignores_an_offsite_next(client_for, school_admin_a, batch_a):
    f = Finding.objects.get(code="MISSING_NAME")
    response = client_for(school_admin_a).post(
        reverse("registry:finding_dismiss", args=[f.pk]), {"next": "https://evil.example/"}
    )
    assert response.status_code == 303
    assert response["Location"] == reverse("registry:batch_findings", args=[batch_a.pk])


def test_quality_report_defaults_to_a_school_admins_school(client_for, school_admin_a, batch_a):
    response = client_for(school_admin_a).get(reverse("registry:quality_report"))
    assert b"Report for School A" in response.content


def test_review_queue_htmx_returns_the_results_partial(client_for, school_admin_a, pair):
    response = client_for(school_admin_a).get(reverse("registry:candidate_list"), **HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"1 pair awaits review." in response.content
