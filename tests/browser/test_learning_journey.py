"""Browser journey of the learning spaces (issue 6, part 3): a student keeps a resource and
writes a note in their space and sees their learning timeline; a teacher prepares a lesson
with resources, sets it as an assignment for the class and sees the class list with who
completed it; a parent sees the child's minimised activity. Screenshots go to
``artifacts/screenshots/learning/``.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from .test_walkthrough import SHOTS, _sign_in, browser  # noqa: F401  # the module-scoped fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLDER = SHOTS / "learning"
LESSON = "勾股定理复习课"
HOMEWORK = "勾股定理练习"


@pytest.fixture
def logins(transactional_db):
    from shuyuan.identity.demo import load_demo

    summary = load_demo(students_per_class=2, classes_per_grade=1, schools_per_county=1)
    call_command("load_resource_demo", resources=30, verbosity=0)
    call_command("load_learning_demo", verbosity=0)
    return {login.username: login for login in summary.logins}


def _titles(n):
    from shuyuan.resources.models import Resource

    rows = Resource.objects.listed().select_related("listed_version").order_by("-pk")[:n]
    return [r.listed_version.title for r in rows]


def _class_of(username):
    from shuyuan.identity.models import Role, RoleAssignment

    return RoleAssignment.objects.get(user__username=username, role=Role.STUDENT).org_id


def _shot(page, name):
    FOLDER.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)


def _page(browser):  # noqa: F811  # pytest fixture argument
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    return context, context.new_page()


def _open_learning_menu(page) -> None:
    """Open the "Learning" group of the main menu (its links sit in a drop-down)."""
    page.click("nav.main-nav details:has(a[href='/learning/']) > summary")


def test_student_teacher_parent_spaces(browser, live_server, logins):  # noqa: F811  # pytest fixture argument
    base = live_server.url
    errors: list[str] = []
    wanted, other = _titles(2)

    # 1. The student keeps a resource, writes a note, sees the timeline.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["student"])
        _open_learning_menu(page)
        page.click("nav.main-nav a[href='/learning/']")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/learning/")
        assert page.locator("#timeline li").count() > 0, "the demo timeline is empty"
        _shot(page, "1-student-space")
        page.fill("#id_q", wanted)
        page.click("form[role=search] button[type=submit]")
        page.wait_for_selector("#find-results li")
        page.locator("#find-results li", has_text=wanted).first.locator(
            "button[type=submit]"
        ).click()
        page.wait_for_load_state("networkidle")
        assert page.locator("#favourites li", has_text=wanted).count() == 1
        page.fill("#id_title", "课堂笔记")
        page.fill("#id_body", "面积法证明：四个全等直角三角形拼成正方形。")
        page.click("#note-form button[type=submit]")
        page.wait_for_selector("#notes li:has-text('课堂笔记')")
        _shot(page, "2-student-favourite-and-note")
        # An empty title is refused in place (422 swapped by htmx).
        page.fill("#id_title", "")
        page.fill("#id_body", "x")
        page.eval_on_selector("#id_title", "el => el.removeAttribute('required')")
        page.click("#note-form button[type=submit]")
        page.wait_for_selector("#note-form .error-summary")
    finally:
        context.close()

    # 2. The teacher prepares a lesson, sets it as an assignment, sees the class list.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["teacher"])
        page.goto(f"{base}/learning/teach/")
        _shot(page, "3-teacher-space")
        page.click("a[href='/learning/teach/lessons/new/']")
        page.select_option("#id_class_org", str(_class_of("student")))
        page.fill("#id_title", LESSON)
        page.fill("#id_notes", "复习勾股定理，完成三道练习。")
        page.click("#plan-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/learning/teach/lessons/\d+/$"))
        for title in (wanted, other):
            page.fill("#id_q", title)
            page.click("form[role=search] button[type=submit]")
            page.wait_for_selector("#find-results li")
            page.locator("#find-results li", has_text=title).first.locator(
                "button[type=submit]"
            ).click()
            page.wait_for_load_state("networkidle")
        assert page.locator("#plan-items li").count() == 2
        _shot(page, "4-teacher-lesson-plan")
        page.click("a[href*='/learning/teach/assignments/new/?plan=']")
        page.wait_for_load_state("networkidle")
        page.fill("#id_title", HOMEWORK)
        page.fill("#id_instructions", "观看微课，完成练习一至三。")
        page.click("#assignment-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/learning/assignments/\d+/$"))
        assignment_url = page.url
        assert page.locator("#roster tbody tr").count() >= 2
        _shot(page, "5-teacher-assignment-set")
    finally:
        context.close()

    # 3. The student completes it in their space.
    context, page = _page(browser)
    try:
        _sign_in(page, base, logins["student"])
        page.goto(f"{base}/learning/")
        page.locator("section li", has_text=HOMEWORK).first.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("section li", has_text=HOMEWORK).first.locator(".badge").count() == 1
        _shot(page, "6-student-completed")
    finally:
        context.close()

    # 4. The teacher sees who completed; the class space lists the class.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["teacher"])
        page.goto(assignment_url)
        completed = page.locator("#roster tbody tr", has_text="student")
        assert completed.locator(".badge").count() == 1, page.content()[:3000]
        _shot(page, "7-teacher-who-completed")
        page.click("dl.facts a[href*='/learning/classes/']")
        page.wait_for_load_state("networkidle")
        assert page.locator("#roster tbody tr").count() >= 2
        _shot(page, "8-class-space")
    finally:
        context.close()

    # 5. The parent sees the child's minimised activity.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["parent"])
        _open_learning_menu(page)
        page.click("nav.main-nav a[href='/learning/children/']")
        page.wait_for_load_state("networkidle")
        page.click("main ul.links a")
        page.wait_for_load_state("networkidle")
        assert re.search(r"/learning/children/\d+/$", page.url), page.url
        assert page.locator("aside.notice").count() == 1
        assert page.locator("table.histogram tbody tr").count() == 8
        assert "课堂笔记" not in page.content()
        _shot(page, "9-parent-child-activity")
    finally:
        context.close()
    assert not errors, errors
