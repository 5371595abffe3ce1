import datetime as dt
import pytest
from django.utils import timezone
from shuyuan.core.synthetic import make_id_number
from shuyuan.core.actions import update_org

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = "/tmp/shuyuan_dev/shots"

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()

def _page(browser, live_server, client):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}, {"name": "django_language", "value": "en", "url": live_server.url}])
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: print("CONSOLE", page.url, m.text[:80]) if m.type == "error" else None)
    return page, errors

def test_portal(browser, live_server, transactional_db, make_user, client_for):
    from shuyuan.core.testing.fixtures import build_tree
    tree = build_tree()
    sa = make_user("school_admin", tree.school_a, username="sa.a", real_name="Admin A")
    admin = make_user("platform_admin", None, username="root", totp_confirmed_at=timezone.now())
    idn = make_id_number("410102", dt.date(2011, 3, 7), 123, "M")
    st = make_user("student", tree.class_a, username="stu", real_name="Student A", id_number=idn, mobile="13812345678")
    update_org(actor=admin, org=tree.school_a, name="School A Renamed")
    page, errors = _page(browser, live_server, client_for(sa))
    base = live_server.url
    page.goto(f"{base}/orgs/{tree.school_a.pk}/"); page.screenshot(path=f"{SHOTS}/org_detail.png", full_page=True)
    page.goto(f"{base}/orgs/{tree.grade_a.pk}/")
    page.select_option("#id_parent", str(tree.class_a.pk))
    page.click("#move-form button[type=submit]")
    page.wait_for_selector("#move-form .error-summary")
    page.screenshot(path=f"{SHOTS}/org_move_cycle.png", full_page=True)
    page.goto(f"{base}/accounts/")
    page.fill("#id_q", "stu")
    page.wait_for_timeout(1200)
    print("URL after typing:", page.url)
    print("rows:", page.locator("#results tbody tr").count())
    page.goto(f"{base}/accounts/{st.pk}/")
    page.click("text=Show the full ID number")
    page.wait_for_selector(".revealed")
    print("revealed:", page.inner_text(".revealed"), "url", page.url)
    page.screenshot(path=f"{SHOTS}/user_detail_revealed.png", full_page=True)
    page.click("text=Issue a temporary password")
    page.wait_for_selector("code.secret")
    page.select_option("#id_role", "teacher")
    page.select_option("#id_org", str(tree.class_a.pk))
    page.click("#grant-form button[type=submit]")
    page.wait_for_selector("#grant-form .error-summary")
    page.screenshot(path=f"{SHOTS}/user_detail_grant_error.png", full_page=True)
    page.goto(f"{base}/accounts/new/")
    page.fill("#id_username", "li.lei"); page.fill("#id_real_name", "Li Lei")
    page.select_option("#id_home_org", str(tree.school_a.pk))
    page.fill("#id_id_number", idn[:-1] + ("0" if idn[-1] != "0" else "1"))
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("#user-form .error-summary")
    page.screenshot(path=f"{SHOTS}/user_create_error.png", full_page=True)
    page.fill("#id_id_number", "")
    page.click("#user-form button[type=submit]")
    page.wait_for_url("**/accounts/[0-9]*/")
    print("after create:", page.url)
    page.screenshot(path=f"{SHOTS}/user_created.png", full_page=True)
    page.goto(f"{base}/orgs/changelog/"); page.screenshot(path=f"{SHOTS}/changelog.png", full_page=True)
    page.goto(f"{base}/orgs/"); page.screenshot(path=f"{SHOTS}/org_list.png", full_page=True)
    page.goto(f"{base}/orgs/99999/"); page.screenshot(path=f"{SHOTS}/404.png", full_page=True)
    page.goto(f"{base}/accounts/role-policies/"); page.screenshot(path=f"{SHOTS}/403.png", full_page=True)
    page.set_viewport_size({"width": 400, "height": 800})
    page.goto(f"{base}/accounts/{st.pk}/"); page.screenshot(path=f"{SHOTS}/mobile_detail.png", full_page=True)
    p2, errors2 = _page(browser, live_server, client_for(admin))
    p2.goto(f"{base}/accounts/role-policies/"); p2.screenshot(path=f"{SHOTS}/role_policy.png", full_page=True)
    p2.goto(f"{base}/orgs/changelog/verify/"); p2.click("text=Verify now"); p2.wait_for_selector(".notice")
    p2.screenshot(path=f"{SHOTS}/verify.png", full_page=True)
    p2.goto(f"{base}/orgs/audit-events/"); p2.screenshot(path=f"{SHOTS}/audit.png", full_page=True)
    print("errors:", errors, errors2)
