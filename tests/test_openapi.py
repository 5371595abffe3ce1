"""The OpenAPI contract of /api/v1/ and its interactive documentation page.

Every operation has a summary, an ``<app>_<noun>_<verb>`` operation id and documented error
responses in the one error shape; the committed snapshot (``docs/api/openapi.json``, refreshed by
``scripts/export_openapi``) matches the code; the docs page loads only our own static files and
carries no inline script, so it works offline and under the site's CSP.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from shuyuan.api import api, openapi_snapshot

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "docs" / "api" / "openapi.json"
METHODS = {"get", "post", "put", "patch", "delete"}
VERBS = (
    "list|get|create|update|delete|move|history|verify|reset_password|reveal|resume"
    "|submit|withdraw|activate|deactivate|claim|decide|reassign|moderate|retire|reinstate"
)
OPERATION_ID_RE = re.compile(rf"^(core|identity|registry|resources)_[a-z]+(_[a-z]+)*_({VERBS})$")
#: Operations anyone may call without signing in: inclusion-certificate verification is public.
PUBLIC_OPERATIONS = frozenset({"resources_cert_get", "resources_cert_file_verify"})
ERROR_REF = "#/components/schemas/ErrorOut"


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = api.get_openapi_schema()
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


OPERATIONS = _operations()
IDS = [f"{method.upper()} {path}" for path, method, _op in OPERATIONS]


def test_openapi_lists_operations():
    assert len(OPERATIONS) >= 19


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_openapi_operation_has_summary(path, method, operation):
    assert operation.get("summary", "").strip()


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_openapi_operation_id_is_app_noun_verb(path, method, operation):
    assert OPERATION_ID_RE.fullmatch(operation.get("operationId", ""))


def test_openapi_operation_ids_are_unique():
    ids = [operation["operationId"] for _path, _method, operation in OPERATIONS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_openapi_operation_documents_client_errors_in_error_shape(path, method, operation):
    errors = {str(c): r for c, r in operation["responses"].items() if str(c).startswith("4")}
    if operation["operationId"] not in PUBLIC_OPERATIONS:
        assert "401" in errors
    for response in errors.values():
        assert response["content"]["application/json"]["schema"]["$ref"] == ERROR_REF


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_openapi_operation_requires_authentication(path, method, operation):
    if operation["operationId"] in PUBLIC_OPERATIONS:
        assert "security" not in operation
    else:
        assert operation.get("security") == [{"TokenAuth": []}, {"SessionAuth": []}]


def test_openapi_snapshot_is_current():
    assert SNAPSHOT.exists(), "run scripts/export_openapi"
    assert SNAPSHOT.read_text(encoding="utf-8") == openapi_snapshot(), (
        "docs/api/openapi.json is stale: run scripts/export_openapi and commit it"
    )


def test_openapi_served_document_equals_snapshot(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


# --- the docs page -----------------------------------------------------------------------------


@pytest.fixture
def docs_page(db) -> Any:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    return response


def test_docs_page_references_no_external_url(docs_page):
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]", docs_page.content.decode())


def test_docs_page_has_no_inline_script(docs_page):
    html = docs_page.content.decode()
    for tag, body in re.findall(r"(<script\b[^>]*>)(.*?)</script>", html, re.DOTALL):
        assert 'src="' in tag or 'type="application/json"' in tag, tag
        if 'src="' in tag:
            assert not body.strip()


def test_docs_page_assets_are_our_static_files(docs_page):
    html = docs_page.content.decode()
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert len(assets) >= 3
    for asset in assets:
        assert finders.find(asset), asset


def test_docs_page_is_served_under_csp(docs_page):
    policy = docs_page["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's Chromium is not installed")
def test_docs_page_renders_operations_in_browser_without_errors(live_server):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{live_server.url}/api/v1/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        rendered = page.locator(".opblock").count()
        browser.close()
    assert rendered == len(OPERATIONS)
    assert problems == []
    assert all(url.startswith(live_server.url) for url in requested)
