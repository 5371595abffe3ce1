"""Portal pages of core: the org tree, the change log, the audit log and the error pages.

Roles are named by their string values: core's tests, like core, do not import identity.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from shuyuan.core.actions import update_org
from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context, system_actor
from shuyuan.core.models import ChangeRecord, Org, OrgKind, new_path_key

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


def _mfa() -> dict:
    """Roles that require MFA need an enrolled factor, or the session guard redirects."""
    return {"totp_confirmed_at": timezone.now()}


@pytest.fixture
def admin(make_user):
    return make_user("platform_admin", None, username="root", **_mfa())


@pytest.fixture
def region_admin(make_user, tree):
    return make_user("region_admin", tree.region, username="region.admin", **_mfa())


@pytest.fixture
def school_admin_a(make_user, tree):
    return make_user("school_admin", tree.school_a, username="sa.a")


@pytest.fixture
def teacher_a(make_user, tree):
    return make_user("teacher", tree.school_a, username="teacher.a")


def _add_classes(grade: Org, count: int) -> None:
    with change_context(actor=system_actor(), source="system"):
        for i in range(count):
            Org(
                kind=OrgKind.CLASS,
                name=f"Class {i}",
                parent=grade,
                path=grade.path + new_path_key() + "/",
                depth=grade.depth + 1,
            ).save(force_insert=True)


# --- org list ----------------------------------------------------------------------------------


def test_org_list_anonymous_redirects_to_login(client, tree):
    response = client.get(reverse("core:org_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_org_list_region_admin_shows_tree_with_depth_classes(client_for, region_admin, tree):
    response = client_for(region_admin).get(reverse("core:org_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "School A" in html and "School B" in html
    assert "depth-0" in html and "depth-4" in html
    assert "<caption>" in html


def test_org_list_school_admin_sees_no_other_school(client_for, school_admin_a, tree):
    html = client_for(school_admin_a).get(reverse("core:org_list")).content.decode()
    assert "School A" in html
    assert "School B" not in html


def test_org_list_search_by_school_code_finds_school(client_for, region_admin, tree):
    response = client_for(region_admin).get(reverse("core:org_list"), {"q": "S4101030001"})
    assert list(response.context["rows"]) == [tree.school_b]


def test_org_list_htmx_request_returns_results_fragment_only(client_for, region_admin, tree):
    response = client_for(region_admin).get(reverse("core:org_list"), {"kind": "school"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<table" in html
    assert "<html" not in html and "<form" not in html


@pytest.mark.parametrize("extra", [3, 30])
def test_org_list_query_count_does_not_grow_with_rows(
    client_for, region_admin, tree, assert_max_queries, extra
):
    _add_classes(tree.grade_a, extra)
    client = client_for(region_admin)
    with assert_max_queries(8):
        response = client.get(reverse("core:org_list"))
    assert response.status_code == 200


# --- org detail, edit, move, create ------------------------------------------------------------


def test_org_detail_other_county_school_returns_404(client_for, school_admin_a, tree):
    response = client_for(school_admin_a).get(reverse("core:org_detail", args=[tree.school_b.pk]))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_org_detail_school_admin_breadcrumb_omits_invisible_ancestors(
    client_for, school_admin_a, tree
):
    response = client_for(school_admin_a).get(reverse("core:org_detail", args=[tree.class_a.pk]))
    assert response.status_code == 200
    assert response.context["ancestors"] == [tree.school_a, tree.grade_a]


def test_org_detail_shows_codes_children_and_history(client_for, admin, tree):
    update_org(actor=admin, org=tree.school_a, name="School A Renamed")
    response = client_for(admin).get(reverse("core:org_detail", args=[tree.school_a.pk]))
    html = response.content.decode()
    assert "S4101020001" in html
    assert "Grade 7" in html
    assert "School A Renamed" in html and "<del>School A</del>" in html


def test_org_detail_teacher_sees_no_edit_form(client_for, teacher_a, tree):
    response = client_for(teacher_a).get(reverse("core:org_detail", args=[tree.school_a.pk]))
    assert response.status_code == 200
    assert "edit_form" not in response.context


def test_org_edit_rename_redirects_303_and_records_change(client_for, school_admin_a, tree):
    response = client_for(school_admin_a).post(
        reverse("core:org_edit", args=[tree.school_a.pk]),
        {"name": "School A New", "credit_code": tree.school_a.credit_code, "is_active": "on"},
    )
    assert response.status_code == 303
    tree.school_a.refresh_from_db()
    assert tree.school_a.name == "School A New"
    record = ChangeRecord.objects.filter(target_id=str(tree.school_a.pk)).order_by("-seq")[0]
    assert record.changes["name"] == ["School A", "School A New"]


def test_org_edit_bad_division_code_returns_422_with_field_error(client_for, region_admin, tree):
    response = client_for(region_admin).post(
        reverse("core:org_edit", args=[tree.county_a.pk]),
        {"name": "Zhongyuan", "division_code": "999999", "is_active": "on"},
    )
    assert response.status_code == 422
    assert response.context["edit_form"].errors["division_code"]
    tree.county_a.refresh_from_db()
    assert tree.county_a.division_code == "410102"


def test_org_edit_teacher_forbidden_403(client_for, teacher_a, tree):
    response = client_for(teacher_a).post(
        reverse("core:org_edit", args=[tree.school_a.pk]), {"name": "Hacked", "is_active": "on"}
    )
    assert response.status_code == 403


def test_org_move_under_own_descendant_shows_org_cycle_error(client_for, region_admin, tree):
    response = client_for(region_admin).post(
        reverse("core:org_move", args=[tree.city.pk]), {"parent": tree.county_a.pk}
    )
    assert response.status_code == 422
    assert "cannot be moved under itself" in response.content.decode()
    tree.city.refresh_from_db()
    assert tree.city.parent_id == tree.region.pk


def test_org_move_htmx_invalid_returns_form_partial(client_for, region_admin, tree):
    response = client_for(region_admin).post(
        reverse("core:org_move", args=[tree.city.pk]),
        {"parent": tree.county_a.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="move-form",
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith("<form")
    assert "<html" not in html


def test_org_move_valid_redirects_and_moves_subtree(client_for, region_admin, tree):
    response = client_for(region_admin).post(
        reverse("core:org_move", args=[tree.school_a.pk]), {"parent": tree.county_b.pk}
    )
    assert response.status_code == 303
    tree.class_a.refresh_from_db()
    assert tree.class_a.path.startswith(tree.county_b.path)


def test_org_create_school_under_county_redirects_with_school_code(client_for, region_admin, tree):
    from shuyuan.core.synthetic import make_credit_code

    response = client_for(region_admin).post(
        reverse("core:org_create") + f"?parent={tree.county_a.pk}",
        {"kind": "school", "name": "School C", "credit_code": make_credit_code("410102", 9)},
    )
    assert response.status_code == 303
    school = Org.objects.get(name="School C")
    assert school.school_code.startswith("S410102")


def test_org_create_missing_credit_code_returns_422_and_stores_nothing(
    client_for, region_admin, tree
):
    response = client_for(region_admin).post(
        reverse("core:org_create") + f"?parent={tree.county_a.pk}",
        {"kind": "school", "name": "School C"},
    )
    assert response.status_code == 422
    assert response.context["form"].errors["credit_code"]
    assert not Org.objects.filter(name="School C").exists()


def test_org_create_teacher_forbidden_403(client_for, teacher_a, tree):
    response = client_for(teacher_a).get(reverse("core:org_create") + f"?parent={tree.school_a.pk}")
    assert response.status_code == 403


def test_org_create_invisible_parent_returns_404(client_for, school_admin_a, tree):
    response = client_for(school_admin_a).get(
        reverse("core:org_create") + f"?parent={tree.school_b.pk}"
    )
    assert response.status_code == 404


# --- change log --------------------------------------------------------------------------------


def test_changelog_school_admin_sees_own_records_with_diffs(
    client_for, school_admin_a, admin, tree
):
    update_org(actor=admin, org=tree.school_a, name="School A2")
    update_org(actor=admin, org=tree.school_b, name="School B2")
    response = client_for(school_admin_a).get(reverse("core:changelog"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<ins>School A2</ins>" in html
    assert "School B2" not in html


def test_changelog_teacher_forbidden_403(client_for, teacher_a):
    response = client_for(teacher_a).get(reverse("core:changelog"))
    assert response.status_code == 403


def test_changelog_htmx_request_returns_results_fragment_only(client_for, admin, tree):
    response = client_for(admin).get(reverse("core:changelog"), {"actor": "system"}, **HTMX)
    html = response.content.decode()
    assert "entries." in html
    assert "<html" not in html


@pytest.mark.parametrize("renames", [3, 30])
def test_changelog_query_count_does_not_grow_with_rows(
    client_for, admin, tree, assert_max_queries, renames
):
    for i in range(renames):
        update_org(actor=admin, org=tree.school_a, name=f"School A {i}")
    client = client_for(admin)
    with assert_max_queries(7):
        response = client.get(reverse("core:changelog"))
    assert response.status_code == 200


def test_changelog_verify_platform_admin_reports_intact(client_for, admin, tree):
    response = client_for(admin).post(reverse("core:changelog_verify"))
    assert response.status_code == 200
    assert "The change log is intact" in response.content.decode()


def test_changelog_verify_tampered_entry_named(client_for, admin, tree):
    record = ChangeRecord.objects.filter(target_id=str(tree.school_a.pk)).get()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_changerecord SET actor_name = %s WHERE id = %s", ["mallory", record.pk]
        )
    response = client_for(admin).post(reverse("core:changelog_verify"))
    assert f"Entry #{record.seq} no longer matches." in response.content.decode()


def test_changelog_verify_school_admin_forbidden_403(client_for, school_admin_a):
    response = client_for(school_admin_a).post(reverse("core:changelog_verify"))
    assert response.status_code == 403


def test_changelog_verify_get_shows_button_without_running(client_for, admin, tree):
    response = client_for(admin).get(reverse("core:changelog_verify"))
    assert response.status_code == 200
    assert response.context["result"] is None


# --- audit log ---------------------------------------------------------------------------------


def test_audit_events_security_officer_sees_events_in_scope(make_user, client_for, tree):
    officer = make_user("security_officer", tree.county_a, **_mfa())
    record_audit("identity.login.failed", actor=None, subject_repr="a", org_path=tree.school_a.path)
    record_audit("identity.login.locked", actor=None, subject_repr="b", org_path=tree.school_b.path)
    html = client_for(officer).get(reverse("core:audit_events")).content.decode()
    assert "identity.login.failed" in html
    assert "identity.login.locked" not in html


def test_audit_events_teacher_forbidden_403(client_for, teacher_a):
    response = client_for(teacher_a).get(reverse("core:audit_events"))
    assert response.status_code == 403


# --- error pages -------------------------------------------------------------------------------


def test_error_404_unknown_url_renders_template(client_for, teacher_a):
    response = client_for(teacher_a).get("/orgs/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_error_403_shows_domain_message(client_for, teacher_a, tree):
    response = client_for(teacher_a).post(
        reverse("core:org_edit", args=[tree.school_a.pk]), {"name": "X", "is_active": "on"}
    )
    assert "You cannot manage organisations under" in response.content.decode()


def test_org_create_non_numeric_parent_returns_404(client_for, region_admin, tree):
    response = client_for(region_admin).get(reverse("core:org_create") + "?parent=abc")
    assert response.status_code == 404


# --- portal helpers: form errors, org choices, permissions, template filters -------------------


def test_add_domain_errors_without_field_errors_goes_above_form():
    from shuyuan.core.errors import Conflict
    from shuyuan.core.forms import OrgSearchForm, add_domain_errors

    form = OrgSearchForm({})
    form.is_valid()
    add_domain_errors(form, Conflict("Somebody else changed it."))
    assert form.non_field_errors() == ["Somebody else changed it."]


def test_add_domain_errors_unknown_field_goes_above_form():
    from shuyuan.core.errors import invalid
    from shuyuan.core.forms import OrgSearchForm, add_domain_errors

    form = OrgSearchForm({})
    form.is_valid()
    add_domain_errors(form, invalid("parent", "ORG_CYCLE", "No cycles."))
    assert form.non_field_errors() == ["No cycles."]


def test_org_choice_field_beyond_limit_becomes_number_input(tree, monkeypatch):
    from django import forms

    from shuyuan.core import forms as core_forms

    monkeypatch.setattr(core_forms, "ORG_CHOICE_LIMIT", 2)
    form = core_forms.OrgMoveForm({"parent": str(tree.school_b.pk)}, parents=Org.objects.all())
    assert isinstance(form.fields["parent"].widget, forms.NumberInput)
    assert form.is_valid()
    assert form.cleaned_data["parent"] == tree.school_b


def test_org_choice_field_non_numeric_value_is_invalid(tree):
    from shuyuan.core.forms import OrgMoveForm

    form = OrgMoveForm({"parent": "x1"}, parents=Org.objects.all())
    assert not form.is_valid()
    assert form.errors["parent"] == ["Choose an organisation from the list."]


def test_org_choice_field_org_outside_queryset_is_invalid(tree):
    from shuyuan.core.forms import OrgMoveForm

    form = OrgMoveForm(
        {"parent": str(tree.school_b.pk)}, parents=Org.objects.subtree(tree.county_a.path)
    )
    assert not form.is_valid()


def test_has_permission_anonymous_user_denied(db):
    from django.contrib.auth.models import AnonymousUser

    from shuyuan.core.scoping import has_permission

    assert not has_permission(AnonymousUser(), "core.view_changelog")


def test_has_permission_inactive_user_denied(admin):
    from shuyuan.core.scoping import has_permission

    admin.is_active = False
    assert not has_permission(admin, "core.view_changelog")


def test_has_permission_unregistered_name_denied(admin):
    from shuyuan.core.scoping import has_permission

    assert not has_permission(admin, "core.no_such_permission")


def test_change_rows_formats_values_and_tolerates_bad_rows():
    from shuyuan.core.templatetags.shuyuan_ui import change_rows

    rows = change_rows({"b": [None, True], "a": [["x", "y"], {"k": 1}], "c": "loose", "d": ["", 2]})
    assert [(r.field, r.old, r.new, r.had_old, r.has_new) for r in rows] == [
        ("a", "x, y", "k=1", True, True),
        ("b", "", "true", False, True),
        ("c", "", "loose", False, True),
        ("d", "", "2", False, True),
    ]


def test_change_rows_non_dict_gives_no_rows():
    from shuyuan.core.templatetags.shuyuan_ui import change_rows

    assert change_rows(None) == []


@pytest.mark.parametrize(
    ("depth", "base", "css"), [(4, 4, "depth-0"), (13, 0, "depth-6"), ("x", 0, "depth-0")]
)
def test_depth_class_relative_and_clamped(depth, base, css):
    from shuyuan.core.templatetags.shuyuan_ui import depth_class

    assert depth_class(depth, base) == css


def test_detail_items_sorted_pairs_and_non_dict_empty():
    from shuyuan.core.templatetags.shuyuan_ui import detail_items

    assert detail_items({"role": "teacher", "field": "mobile"}) == [
        ("field", "mobile"),
        ("role", "teacher"),
    ]
    assert detail_items("nope") == []


def test_change_rows_long_value_is_cut_with_ellipsis():
    from shuyuan.core.templatetags.shuyuan_ui import MAX_VALUE_CHARS, change_rows

    (row,) = change_rows({"rows": [None, "x" * 5000]})
    assert len(row.new) == MAX_VALUE_CHARS
    assert row.new.endswith("\u2026")
