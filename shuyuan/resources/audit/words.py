"""The sensitive-word screen: parse a word list, build its automaton, find the words in text.

A list is text, one word per line with an optional ``|warn`` or ``|block`` (the default);
blank lines and lines starting with ``#`` are skipped. Words and the screened text are both
normalised the same way (NFKC, then lower case), so full-width letters, compatibility forms and
case do not hide a word. Positions in findings are offsets into the normalised text.

Matching is Aho-Corasick (``pyahocorasick``): one pass over the text whatever the list's size.
An automaton is built once per list version and kept in this process (lists are immutable once
saved: a change is a new version), so a worker pays the build only when the active list changes.
"""

from __future__ import annotations

import dataclasses
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import ahocorasick
from django.utils.translation import gettext as _

from ..choices import AuditSeverity
from ..errors import FieldError, InvalidInput

#: Longest word accepted, and most words in one list.
MAX_WORD_CHARS = 100
MAX_WORDS = 100_000
#: Positions kept per finding, and characters of context either side of the first match.
MAX_POSITIONS = 5
SNIPPET_CONTEXT = 20
#: Automata kept in memory (the active list, plus a previous one during a switch).
CACHE_SIZE = 4

SEVERITIES = {AuditSeverity.BLOCK.value, AuditSeverity.WARN.value}


def normalise(text: str) -> str:
    """NFKC then lower case: what both words and screened text are compared as."""
    return unicodedata.normalize("NFKC", text or "").lower()


def parse_words(text: str) -> list[tuple[str, str]]:
    """``(word, severity)`` pairs of a list's text, normalised and de-duplicated (the first
    severity of a word wins, except that ``block`` beats ``warn``).

    Raises ``InvalidInput`` on ``words`` naming each bad line (``WORDS_INVALID``), or
    ``WORDS_EMPTY`` if no word is left.
    """
    found: dict[str, str] = {}
    problems: list[FieldError] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, severity = line, AuditSeverity.BLOCK.value
        if "|" in line:
            word, _sep, severity = line.rpartition("|")
            severity = severity.strip().lower()
        word = normalise(word).strip()
        if severity not in SEVERITIES:
            problems.append(
                FieldError(
                    "words",
                    "WORDS_INVALID",
                    _("Line %(line)d: the severity must be block or warn.") % {"line": number},
                )
            )
            continue
        if not word:
            problems.append(
                FieldError(
                    "words", "WORDS_INVALID", _("Line %(line)d has no word.") % {"line": number}
                )
            )
            continue
        if len(word) > MAX_WORD_CHARS or any(unicodedata.category(c) == "Cc" for c in word):
            problems.append(
                FieldError(
                    "words",
                    "WORDS_INVALID",
                    _("Line %(line)d: a word has at most %(n)d printable characters.")
                    % {"line": number, "n": MAX_WORD_CHARS},
                )
            )
            continue
        if found.get(word) != AuditSeverity.BLOCK.value:
            found[word] = severity
    if problems:
        raise InvalidInput(_("Some lines of the word list are not valid."), errors=problems[:20])
    if not found:
        raise InvalidInput(_("The list has no words."), code="WORDS_EMPTY", field="words")
    if len(found) > MAX_WORDS:
        raise InvalidInput(
            _("A list has at most %(n)d words.") % {"n": MAX_WORDS},
            code="WORDS_INVALID",
            field="words",
        )
    return list(found.items())


def format_words(pairs: list[tuple[str, str]]) -> str:
    """The stored text of a list: one word a line, ``|warn`` where it is not blocking."""
    return "\n".join(w if s == AuditSeverity.BLOCK else f"{w}|{s}" for w, s in pairs)


def build_automaton(pairs: list[tuple[str, str]]) -> Any:
    automaton = ahocorasick.Automaton()
    for word, severity in pairs:
        automaton.add_word(word, (word, severity))
    automaton.make_automaton()
    return automaton


_cache: OrderedDict[tuple[int, int], Any] = OrderedDict()
_lock = threading.Lock()


def automaton_for(list_id: int, version: int, words_text: str) -> Any:
    """The automaton of list ``list_id`` at ``version``, built on first use and cached."""
    key = (list_id, version)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    automaton = build_automaton(parse_words(words_text))
    with _lock:
        _cache[key] = automaton
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return automaton


def clear_cache() -> None:
    with _lock:
        _cache.clear()


@dataclass
class WordHit:
    """One word found in one field: how often, where (first positions) and a snippet."""

    word: str
    severity: str
    field: str
    count: int = 0
    positions: list[int] = dataclasses.field(default_factory=list)
    snippet: str = ""


def find_words(automaton: Any, fields: dict[str, str]) -> list[WordHit]:
    """Every listed word in each of ``fields`` (name → text), in field then first-position
    order."""
    hits: list[WordHit] = []
    for name, raw in fields.items():
        text = normalise(raw)
        if not text:
            continue
        by_word: dict[str, WordHit] = {}
        for end, (word, severity) in automaton.iter(text):
            start = end - len(word) + 1
            hit = by_word.get(word)
            if hit is None:
                lo = max(0, start - SNIPPET_CONTEXT)
                hi = min(len(text), end + 1 + SNIPPET_CONTEXT)
                hit = WordHit(word, severity, name, snippet=text[lo:hi].replace("\n", " "))
                by_word[word] = hit
            hit.count += 1
            if len(hit.positions) < MAX_POSITIONS:
                hit.positions.append(start)
        hits.extend(sorted(by_word.values(), key=lambda h: h.positions[0]))
    return hits
