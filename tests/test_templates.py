"""Every template renders, and none carries inline script, style or event handlers (CSP).

Like Zulip's template test: each template under ``shuyuan/**/templates`` is rendered with a
minimal context in which every variable the template names is a ``Stub`` (an empty, falsy
object that prints as ``1``), so ``{% url %}`` arguments resolve and loops run zero times. Each
``{% partialdef %}`` is rendered on its own too. The source is also checked, because branches
the minimal context skips still ship.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory

ROOT = Path(__file__).resolve().parent.parent / "shuyuan"
TEMPLATE_DIRS = sorted(p for p in ROOT.rglob("templates") if p.is_dir() and ".venv" not in p.parts)
TEMPLATES = sorted(
    (str(path.relative_to(directory)), path)
    for directory in TEMPLATE_DIRS
    for path in directory.rglob("*.html")
)

#: Names the context processors provide; a Stub must not hide them.
PROVIDED = {
    "user",
    "request",
    "perms",
    "messages",
    "csrf_token",
    "nav_items",
    "csp_nonce",
    "LANGUAGE_CODE",
    "LANGUAGE_BIDI",
    "LANGUAGES",
    "DEFAULT_MESSAGE_LEVELS",
    "forloop",
    "block",
}

TAG_RE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
STRING_RE = re.compile(r"\"[^\"]*\"|'[^']*'")
NAME_RE = re.compile(r"(?<![\w.|])([A-Za-z_]\w*)")
PARTIAL_RE = re.compile(r"\{%\s*partialdef\s+([\w-]+)")

INLINE_STYLE_RE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_BLOCK_RE = re.compile(r"<style[\s>]", re.IGNORECASE)
#: ``onclick=`` and htmx's ``hx-on:click=`` / ``hx-on-click=`` (inline code either way).
INLINE_HANDLER_RE = re.compile(r"<[^>]*\s(?:on[a-z]+|hx-on[:-][\w:.-]*)\s*=", re.IGNORECASE)
#: A ``<script>`` without ``src`` that is not a JSON data block (``json_script`` is not code).
INLINE_SCRIPT_RE = re.compile(
    r"<script(?![^>]*\ssrc\s*=)(?![^>]*\stype\s*=\s*[\"']application/json[\"'])[^>]*>",
    re.IGNORECASE,
)
UNSAFE_RE = re.compile(r"\|\s*safe\b|\{%\s*autoescape\s+off")
CHINESE_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class Stub(int):
    """Any context variable: attributes and items are Stubs; empty, falsy, prints as ``1``.

    An ``int`` (of value 1) so plural forms and numeric filters accept it.
    """

    def __new__(cls) -> Stub:
        return super().__new__(cls, 1)

    def __getattr__(self, name: str) -> Stub:
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub()

    def __getitem__(self, key: Any) -> Stub:
        return Stub()

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return "1"


def _names(source: str) -> set[str]:
    names: set[str] = set()
    for match in TAG_RE.finditer(source):
        body = STRING_RE.sub(" ", match.group(1) or match.group(2) or "")
        names.update(NAME_RE.findall(body))
    return names - PROVIDED


def _context(source: str) -> dict[str, Any]:
    return {name: Stub() for name in _names(source)}


def _request() -> Any:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    return request


def _check(html: str, where: str) -> None:
    assert not INLINE_STYLE_RE.search(html), f"inline style= in {where}"
    assert not STYLE_BLOCK_RE.search(html), f"<style> block in {where}"
    assert not INLINE_HANDLER_RE.search(html), f"inline on*= handler in {where}"
    assert not INLINE_SCRIPT_RE.search(html), f"<script> without src in {where}"


def test_templates_found():
    names = {name for name, _path in TEMPLATES}
    assert {"base/base.html", "core/org_list.html", "identity/user_list.html"} <= names


@pytest.mark.parametrize(("name", "path"), TEMPLATES, ids=[name for name, _path in TEMPLATES])
def test_template_source_has_no_inline_code_unsafe_output_or_chinese(name, path):
    source = path.read_text(encoding="utf-8")
    _check(source, name)
    assert not UNSAFE_RE.search(source), f"|safe or autoescape off in {name}"
    assert not CHINESE_RE.search(source), f"Chinese literal in {name} (use the catalogs)"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path"), TEMPLATES, ids=[name for name, _path in TEMPLATES])
def test_template_renders_with_minimal_context(name, path):
    source = path.read_text(encoding="utf-8")
    context = _context(source)
    _check(render_to_string(name, context, request=_request()), name)
    for partial in PARTIAL_RE.findall(source):
        _check(render_to_string(f"{name}#{partial}", context, request=_request()), partial)
