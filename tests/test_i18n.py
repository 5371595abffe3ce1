"""The message catalogs are complete, compiled and current, and pages render in either language.

The zh_Hans catalog must translate every msgid (no fuzzy entries) and keep its placeholders;
each committed .mo must match its .po (compiled with polib by ``scripts/i18n``, so no GNU gettext
is needed); ``makemessages`` over the source must find no msgid the catalogs lack (skipped where
xgettext is not installed); and a page shows Chinese by default and English on request.
Expected Chinese text is read from the catalog: no Chinese literals in code (STYLE.md §10).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import polib
import pytest

from shuyuan.identity.models import Role
from shuyuan.settings import base as base_settings

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
ZH_PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
CATALOGS = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))

#: ``%(name)s``/``%(name)d``, positional ``%s``/``%d``, and ``{name}``/``{}``; ``%%`` is literal.
PLACEHOLDER_RE = re.compile(r"%%|%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{\w*\}")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def _placeholders(text: str) -> Counter[str]:
    return Counter(m for m in PLACEHOLDER_RE.findall(text) if m != "%%")


def _key(entry: polib.POEntry | polib.MOEntry) -> tuple[str | None, str]:
    return entry.msgctxt, entry.msgid


def _msgids(path: Path) -> set[tuple[str | None, str, str]]:
    return {(e.msgctxt, e.msgid, e.msgid_plural) for e in polib.pofile(str(path)) if not e.obsolete}


def _zh(msgid: str) -> str:
    """The zh_Hans translation of ``msgid`` as the committed catalog has it."""
    entry = polib.pofile(str(ZH_PO)).find(msgid)
    assert entry is not None and entry.msgstr, f"{msgid!r} is not translated"
    return entry.msgstr


# --- (a) the zh_Hans catalog is complete ----------------------------------------------------------


def test_catalogs_exist_for_both_languages():
    assert [p.parent.parent.name for p in CATALOGS] == ["en", "zh_Hans"]


def test_zh_hans_header_has_one_plural_form_and_is_not_fuzzy():
    catalog = polib.pofile(str(ZH_PO))
    assert not catalog.metadata_is_fuzzy
    assert catalog.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert catalog.metadata["Content-Type"] == "text/plain; charset=UTF-8"


def test_zh_hans_every_entry_translated_and_none_fuzzy():
    catalog = polib.pofile(str(ZH_PO))
    assert len(catalog) > 0
    fuzzy = [e.msgid for e in catalog if e.fuzzy]
    obsolete = [e.msgid for e in catalog if e.obsolete]
    untranslated = [
        e.msgid
        for e in catalog
        if not e.obsolete and not (e.msgstr_plural.get(0) if e.msgid_plural else e.msgstr).strip()
    ]
    assert fuzzy == [], f"fuzzy entries: {fuzzy}"
    assert obsolete == [], f"obsolete entries (run scripts/i18n): {obsolete}"
    assert untranslated == [], f"untranslated entries: {untranslated}"


def test_zh_hans_plural_entries_have_exactly_one_form():
    catalog = polib.pofile(str(ZH_PO))
    wrong = [e.msgid for e in catalog if e.msgid_plural and sorted(e.msgstr_plural) != [0]]
    assert wrong == [], f"plural entries need msgstr[0] only (nplurals=1): {wrong}"


def test_zh_hans_translations_keep_the_placeholders():
    mismatched = []
    for entry in polib.pofile(str(ZH_PO)):
        if entry.msgid_plural:
            # One form serves every count, so it is held to the plural msgid (which names the
            # count); the singular may say "one" instead of the number.
            expected = _placeholders(entry.msgid_plural)
            translations = list(entry.msgstr_plural.values())
        else:
            expected = _placeholders(entry.msgid)
            translations = [entry.msgstr]
        for msgstr in translations:
            if _placeholders(msgstr) != expected:
                mismatched.append((entry.msgid, dict(expected), dict(_placeholders(msgstr))))
    assert mismatched == []


def test_placeholder_pattern_finds_every_kind():
    text = "%(name)s %(count)d %s {name} {} 100%%"
    assert sorted(_placeholders(text)) == sorted(["%(name)s", "%(count)d", "%s", "{name}", "{}"])


def test_zh_hans_translations_are_chinese():
    """A msgstr copied from the msgid (a lazy way to silence the check above) is caught here."""
    catalog = polib.pofile(str(ZH_PO))
    copied = [
        e.msgid
        for e in catalog
        if not e.msgid_plural and e.msgstr == e.msgid and not CJK_RE.search(e.msgstr)
    ]
    # A few msgids are the same in both languages (none so far); list them here if one appears.
    assert copied == []


# --- (b) the committed .mo files match their .po --------------------------------------------------


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda p: p.parent.parent.name)
def test_compiled_catalog_matches_its_source(po_path: Path):
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run scripts/i18n --compile"
    po = polib.pofile(str(po_path))
    mo = polib.mofile(str(mo_path))

    def messages(entries: Any) -> dict[tuple[str | None, str], Any]:
        return {
            _key(e): tuple(v for _, v in sorted(e.msgstr_plural.items()))
            if e.msgid_plural
            else e.msgstr
            for e in entries
        }

    # A .mo holds the translated entries only (msgfmt and polib leave the rest out).
    compiled, source = messages(mo), messages(po.translated_entries())
    assert compiled == source, f"{mo_path} is stale: run scripts/i18n --compile"
    assert mo.metadata.get("Plural-Forms") == po.metadata.get("Plural-Forms")


# --- (c) the catalogs are current -----------------------------------------------------------------

GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge")


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in GETTEXT_TOOLS),
    reason="makemessages needs GNU gettext (xgettext, msguniq, msgmerge)",
)
@pytest.mark.slow
def test_makemessages_finds_no_msgid_missing_from_the_catalogs(tmp_path: Path):
    """Run ``scripts/i18n`` on a copy of the source: its catalogs must hold the same msgids."""
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("shuyuan", "scripts", "locale"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy2(ROOT / "manage.py", copy / "manage.py")
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(copy)}
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(  # noqa: S603  # fixed argv, our own script on a copy of the source
        [bash, str(copy / "scripts" / "i18n")],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for po_path in CATALOGS:
        fresh = copy / po_path.relative_to(ROOT)
        committed, current = _msgids(po_path), _msgids(fresh)
        missing = sorted(current - committed, key=str)
        stale = sorted(committed - current, key=str)
        where = po_path.relative_to(ROOT)
        assert missing == [], f"{where} lacks msgids (run scripts/i18n, translate): {missing}"
        assert stale == [], f"{where} holds msgids no longer in the source: {stale}"


# --- (d) pages render in the default language and on request in English ---------------------------


@pytest.fixture
def school_admin(make_user, tree):
    return make_user(Role.SCHOOL_ADMIN, tree.school_a, username="i18n.admin")


@pytest.fixture
def product_default_language(settings):
    """The language of base settings, whatever a test configuration may set."""
    settings.LANGUAGE_CODE = base_settings.LANGUAGE_CODE
    return base_settings.LANGUAGE_CODE


def test_product_default_language_is_simplified_chinese():
    assert base_settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in base_settings.LANGUAGES] == ["zh-hans", "en"]


@pytest.mark.parametrize("path", ["/", "/accounts/"])
def test_page_in_default_language_shows_chinese(
    client_for, school_admin, product_default_language, path
):
    response = client_for(school_admin).get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{product_default_language}">' in html
    accounts, sign_out = _zh("Accounts"), _zh("Sign out")
    assert CJK_RE.search(accounts) and CJK_RE.search(sign_out)
    assert accounts in html
    assert sign_out in html
    assert ">Sign out<" not in html


@pytest.mark.parametrize("path", ["/", "/accounts/"])
def test_page_with_language_cookie_en_shows_english(
    client_for, school_admin, product_default_language, settings, path
):
    client = client_for(school_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert ">Accounts<" in html
    assert ">Sign out<" in html
    assert _zh("Sign out") not in html
