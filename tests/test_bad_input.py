"""Hostile input to the portal's forms: a clear 4xx, never a 500, and nothing stored."""

from __future__ import annotations

from shuyuan.core.models import Org
from shuyuan.identity.models import User


def test_form_post_with_invalid_utf8_is_rejected_without_storing(make_user, client_for, tree):
    admin = make_user("school_admin", tree.school_a)
    before = User.objects.count()
    response = client_for(admin).post(
        "/accounts/new/",
        data=b"username=\xff\xfe&real_name=%E6%9D%8E",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 422
    assert User.objects.count() == before


def test_oversized_form_post_is_refused(make_user, client_for, tree):
    admin = make_user("school_admin", tree.school_a)
    before = User.objects.count()
    response = client_for(admin).post(
        "/accounts/new/", data={"username": "x" * 3_000_000, "real_name": "a"}
    )
    assert response.status_code == 400
    assert User.objects.count() == before


def test_nul_bytes_in_org_name_are_rejected(make_user, client_for, tree):
    admin = make_user("school_admin", tree.school_a)
    before = Org.objects.count()
    response = client_for(admin).post(
        f"/orgs/new/?parent={tree.school_a.pk}", data={"kind": "grade", "name": "\x00evil"}
    )
    assert response.status_code == 422
    assert Org.objects.count() == before


def test_script_in_org_name_is_escaped_on_the_page(make_user, client_for, tree):
    from shuyuan.core.actions import create_org

    admin = make_user("school_admin", tree.school_a)
    org = create_org(
        actor=admin, kind="grade", name="<script>alert(1)</script>", parent=tree.school_a
    )
    page = client_for(admin).get(f"/orgs/{org.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
