"""Browser journey of the resource service (issue 4's acceptance path):

a teacher submits a DOCX, the automatic audit runs, ``reviewer`` approves it at submission
review, ``reviewer2`` approves it at listing review (four eyes), a teacher finds it by Chinese,
full-pinyin and initial-letter queries, opens it, and an anonymous visitor verifies its
inclusion certificate on the public page. Screenshots go to ``artifacts/screenshots/resources/``.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from .test_walkthrough import SHOTS, _sign_in, browser  # noqa: F401  # the module-scoped fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TITLE = "勾股定理微课讲解"
FOLDER = SHOTS / "resources"


@pytest.fixture
def logins(transactional_db):
    from shuyuan.identity.demo import load_demo

    summary = load_demo(students_per_class=2, classes_per_grade=1, schools_per_county=1)
    call_command("load_resource_demo", resources=30, verbosity=0)
    return {login.username: login for login in summary.logins}


def _docx(path):
    import docx

    document = docx.Document()
    document.add_heading(TITLE, 1)
    document.add_paragraph("直角三角形两条直角边的平方和等于斜边的平方，这就是勾股定理。")
    document.add_paragraph("本节用面积法证明勾股定理，并完成三道练习。")
    document.save(str(path))
    return path


def _shot(page, name):
    FOLDER.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)


def _approve_first_task(browser, base, login, shot):  # noqa: F811  # fixture passed in
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        _sign_in(page, base, login)
        page.goto(f"{base}/resources/review/")
        page.click(f"main a:has-text('{TITLE}')")
        page.wait_for_load_state("networkidle")
        _shot(page, shot)
        page.check("input[name=decision][value=approve]")
        page.click("form[action$='/decide/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator(".errorlist, [role=alert].error").count() == 0, page.content()[:2000]
    finally:
        context.close()


def test_submit_review_find_and_verify(browser, live_server, logins, tmp_path):  # noqa: F811
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # 1. The provider submits.
        _sign_in(page, base, logins["teacher"])
        page.goto(f"{base}/resources/new/")
        page.select_option("#id_provider_kind", "teacher")
        page.fill("#id_provider_name", "Demo teacher")
        page.fill("#id_title", TITLE)
        page.fill("#id_description", "八年级数学：用面积法证明勾股定理，配三道练习题。")
        page.select_option("#id_subject", label="数学")
        page.select_option("#id_stage", "junior")
        page.select_option("#id_grade", "08")
        page.select_option("#id_resource_type", "document")
        page.fill("#id_licence", "CC BY 4.0")
        page.set_input_files("#id_file", str(_docx(tmp_path / "gougu.docx")))
        page.click("#resource-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert re.search(r"/resources/\d+/manage/$", page.url), page.url
        page.click("form[action$='/submit/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        _shot(page, "1-provider-submitted")
        resource_id = int(re.search(r"/resources/(\d+)/manage/", page.url).group(1))
    finally:
        context.close()

    # 2. Submission review, then listing review by a second reviewer.
    _approve_first_task(browser, base, logins["reviewer"], "2-submission-review")
    _approve_first_task(browser, base, logins["reviewer2"], "3-listing-review")

    # 3. A teacher finds it by Chinese, full pinyin and initials, and opens it.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["teacher"])
        for n, query in enumerate(["勾股定理", "gougu", "ggdl"]):
            page.goto(f"{base}/resources/?q={query}")
            page.wait_for_load_state("networkidle")
            link = page.locator(f"main a[href='/resources/{resource_id}/']")
            assert link.count() >= 1, f"{query!r} did not find the resource"
            _shot(page, f"4-search-{n}")
        page.goto(f"{base}/resources/{resource_id}/")
        number = page.locator("a[href*='/resources/certificates/'] code").first.inner_text()
        assert number.startswith("SYZY-"), number
        _shot(page, "5-resource-page")
    finally:
        context.close()

    # 4. Anyone verifies the certificate, without signing in.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{base}/resources/certificates/verify/")
        assert "/login" not in page.url
        page.fill("#id_number", number)
        page.click("main form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator("strong.check-ok").count() == 1, page.content()[:3000]
        _shot(page, "6-certificate-verified")
    finally:
        context.close()
    assert not errors, errors
