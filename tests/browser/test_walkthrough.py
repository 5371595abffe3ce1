"""Browser walkthrough: each demo role signs in (with TOTP where its role requires it) and visits
every page its navigation offers, in Simplified Chinese and then in English, saving a screenshot
of each page to ``artifacts/screenshots/<language>/<role>-<n>-<page>.png``.

Drives Debian's Chromium (``/usr/bin/chromium``) through Playwright; no browser is downloaded.
Skipped when Chromium is missing (``scripts/test`` installs it on CI).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pyotp
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LANGUAGES = [("zh-hans", "zh-hans"), ("en", "en")]

if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
    pytest.skip("Debian's Chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on the main thread; the ORM calls made by the
    # tests' fixtures run there too, outside any coroutine, so Django's async-safety guard is a
    # false alarm here. Scoped to this module, restored afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def demo(transactional_db):
    from shuyuan.identity.demo import load_demo

    summary = load_demo(students_per_class=3, classes_per_grade=1, schools_per_county=1)
    return {login.role: login for login in summary.logins}


def _fresh_totp(secret: str) -> str:
    """A code from a time step not used before (the server refuses replays within a step)."""
    totp = pyotp.TOTP(secret)
    remaining = 30 - time.time() % 30
    if remaining < 3:
        time.sleep(remaining + 0.5)
    return totp.now()


def _sign_in(page, base: str, login) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_identifier", login.username)
    page.fill("#id_password", login.password)
    page.click("button[type=submit]:visible >> nth=-1")
    page.wait_for_load_state("networkidle")
    if "/login/verify/" in page.url:
        assert login.totp_secret, f"{login.role} was asked for a code but has no TOTP secret"
        page.fill("#id_code", _fresh_totp(login.totp_secret))
        page.click("main button[type=submit]")
        page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"{login.role} could not sign in: {page.url}"


def _switch_language(page, code: str) -> None:
    page.select_option("#lang-select", code)
    page.click(".lang-switch button[type=submit]")
    page.wait_for_load_state("networkidle")


def _nav_links(page) -> list[tuple[str, str]]:
    links = page.eval_on_selector_all(
        "header nav a", "els => els.map(e => [e.textContent.trim(), e.getAttribute('href')])"
    )
    seen, result = set(), []
    for label, href in links:
        if href and href.startswith("/") and href not in seen:
            seen.add(href)
            result.append((label, href))
    return result


def _slug(href: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", href.lower()).strip("-") or "home"


ROLES = [
    "platform_admin",
    "region_admin",
    "school_admin",
    "teacher",
    "head_teacher",
    "student",
    "parent",
    "resource_reviewer",
    "security_officer",
    "auditor",
]


@pytest.mark.parametrize("role", ROLES)
def test_role_walks_its_pages_in_both_languages(browser, live_server, demo, role):
    login = demo[role]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    try:
        _sign_in(page, live_server.url, login)
        for language, html_lang in LANGUAGES:
            _switch_language(page, language)
            assert page.get_attribute("html", "lang") == html_lang
            folder = SHOTS / language
            folder.mkdir(parents=True, exist_ok=True)
            links = _nav_links(page)
            assert links, f"{role} has no navigation"
            for n, (label, href) in enumerate(links):
                response = page.goto(live_server.url + href)
                assert response is not None
                assert response.status == 200, f"{role} {href} -> {response.status}"
                assert page.get_attribute("html", "lang") == html_lang
                assert page.locator("main h1").count() >= 1, f"{href} has no heading"
                page.screenshot(
                    path=str(folder / f"{role}-{n:02d}-{_slug(href)}.png"), full_page=True
                )
                assert label
        assert not errors, f"browser errors for {role}: {errors}"
    finally:
        context.close()


def test_keyboard_only_sign_in(browser, live_server, demo):
    """The sign-in form works from the keyboard alone: Tab between fields, Enter submits."""
    login = demo["teacher"]
    page = browser.new_page()
    page.goto(f"{live_server.url}/login/")
    page.focus("#id_identifier")
    page.keyboard.type(login.username)
    page.keyboard.press("Tab")
    page.keyboard.type(login.password)
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url
    page.close()


def test_wrong_password_shows_alert(browser, live_server, demo):
    page = browser.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_identifier", "teacher")
    page.fill("#id_password", "not-the-password")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[role=alert]").count() >= 1
    page.close()
