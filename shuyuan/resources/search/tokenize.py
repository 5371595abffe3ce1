"""Chinese text for search: normalisation, jieba segmentation, pinyin, synonyms, query parsing.

Both sides of the index use the same functions, so a query token is looked up exactly as the
documents were segmented:

* ``normalize``: NFKC (full-width letters and digits to ASCII), lower case, traditional to
  simplified Chinese (OpenCC ``t2s``).
* ``segment``: jieba's search mode (``cut_for_search``: each word plus its shorter dictionary
  sub-words, so 勾股定理 also yields 勾股 and 定理), keeping word characters only.
* ``pinyin_terms``: for every Chinese token its full toneless pinyin (``gougudingli``) and its
  initials (``ggdl``); the sub-words give ``gougu`` and ``dingli``.
* ``parse_query``: turns whatever a user typed into a list of ``Clause`` objects (all required),
  each an OR of alternatives (synonyms) made of tokens (all required). Operators, quotes and
  punctuation are never passed to a database: backends quote every token themselves.

jieba is initialised once per process, lazily, with its bundled dictionary (no download) plus
every word of the synonym file, and its logging silenced.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SYNONYMS_FILE = DATA_DIR / "synonyms.txt"

#: Most characters of a query that are looked at (the rest is ignored).
MAX_QUERY_CHARS = 200
#: Most clauses (words) of a query that are used.
MAX_CLAUSES = 12
#: Latin tokens at least this long are matched as prefixes (``gougu`` finds ``gougudingli``).
MIN_PREFIX_CHARS = 2
#: Most characters of a whole name kept in an exact-match term.
MAX_EXACT_CHARS = 40
#: Leading letter of an exact-match term (keeps them apart from the filter terms).
EXACT_MARK = "x"

_WORD = re.compile(r"[^\W_]+")
#: Code-point ranges of Chinese characters (CJK unified ideographs, extension A, compatibility).
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))

_lock = threading.Lock()
_jieba: Any = None


def normalize(text: str) -> str:
    """NFKC, lower case, traditional to simplified."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    if has_cjk(text):
        from shuyuan.registry.normalize import to_simplified

        text = to_simplified(text)
    return text


def has_cjk(text: str) -> bool:
    """True if ``text`` holds a Chinese character."""
    return any(low <= ord(c) <= high for c in text for low, high in _CJK_RANGES)


def is_latin(token: str) -> bool:
    """An ASCII token with at least one letter (a pinyin or English word, maybe with digits)."""
    return token.isascii() and any(c.isalpha() for c in token)


def jieba_instance() -> Any:
    """The process-wide jieba tokenizer (initialised on first use)."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for group in synonym_groups():
                    for word in group:
                        if has_cjk(word):
                            tokenizer.add_word(word)
                _jieba = tokenizer
    return _jieba


def _words(pieces: Any) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        out.extend(_WORD.findall(piece))
    return out


def segment(text: str, *, limit: int | None = None) -> list[str]:
    """Search-mode tokens of ``text`` (normalised; only word characters), in order."""
    text = normalize(text[:limit] if limit else text)
    if not text:
        return []
    return _words(jieba_instance().cut_for_search(text, HMM=True))


def cut(text: str) -> list[str]:
    """Precise-mode tokens of already normalised ``text`` (used for queries)."""
    if not text:
        return []
    return _words(jieba_instance().cut(text, HMM=True))


@cache
def _pinyin_of(token: str) -> tuple[str, str]:
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(token, style=Style.NORMAL, errors="ignore") if s]
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables)
    return full, initials


def pinyin_terms(tokens: list[str]) -> list[str]:
    """Full toneless pinyin and initials of each Chinese token, deduplicated, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for token in tokens:
        if not has_cjk(token):
            continue
        for term in _pinyin_of(token):
            if term and term not in seen and term.isascii():
                seen.add(term)
                out.append(term)
    return out


def pinyin_matches(token: str, query: str) -> bool:
    """True if the Chinese ``token``'s pinyin or initials start with the Latin ``query``."""
    full, initials = _pinyin_of(token)
    return bool(query) and (full.startswith(query) or initials.startswith(query))


# --- synonyms ----------------------------------------------------------------------------------


def load_synonyms(path: Path = SYNONYMS_FILE) -> list[tuple[str, ...]]:
    """Synonym groups from ``path``: one group per line, words separated by white space;
    empty lines and lines starting with ``#`` are skipped. Words are normalised."""
    groups: list[tuple[str, ...]] = []
    if not path.exists():
        return groups
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = tuple(dict.fromkeys(normalize(w) for w in line.split() if w))
        if len(words) > 1:
            groups.append(words)
    return groups


@cache
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    return tuple(load_synonyms())


@cache
def synonym_map() -> dict[str, tuple[str, ...]]:
    """Each word to every word of its groups (itself first)."""
    merged: dict[str, dict[str, None]] = {}
    for group in synonym_groups():
        for word in group:
            entry = merged.setdefault(word, {word: None})
            for other in group:
                entry[other] = None
    return {word: tuple(others) for word, others in merged.items()}


# --- queries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One required part of a query: any of ``alternatives`` (each a tuple of tokens that must
    all occur). ``prefix`` marks a Latin token matched as a prefix (pinyin, English)."""

    alternatives: tuple[tuple[str, ...], ...]
    prefix: bool = False

    @property
    def terms(self) -> list[str]:
        return [t for alt in self.alternatives for t in alt]


def _alternative(word: str) -> tuple[str, ...]:
    tokens = tuple(dict.fromkeys(cut(word)))
    return tokens or (word,)


def parse_query(query: str) -> list[Clause]:
    """The clauses of a user's query (possibly empty). Never raises on any input."""
    text = normalize((query or "")[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS]
    synonyms = synonym_map()
    clauses: list[Clause] = []
    seen: set[tuple[tuple[str, ...], ...]] = set()

    def add(clause: Clause) -> None:
        if clause.alternatives not in seen:
            seen.add(clause.alternatives)
            clauses.append(clause)

    for chunk in _WORD.findall(text):
        if chunk in synonyms:
            add(Clause(tuple(_alternative(w) for w in synonyms[chunk])))
            continue
        for token in cut(chunk):
            if token in synonyms:
                add(Clause(tuple(_alternative(w) for w in synonyms[token])))
            else:
                prefix = is_latin(token) and len(token) >= MIN_PREFIX_CHARS
                add(Clause(((token,),), prefix=prefix))
    # Single Chinese characters (mostly function words) are dropped when longer words remain.
    if any(len(c.terms[0]) > 1 or not has_cjk(c.terms[0]) for c in clauses):
        clauses = [
            c for c in clauses if not (len(c.alternatives) == 1 and _single_hanzi(c.terms[0]))
        ]
    return clauses[:MAX_CLAUSES]


def _single_hanzi(token: str) -> bool:
    return len(token) == 1 and has_cjk(token)


def query_terms(clauses: list[Clause]) -> list[str]:
    """Every token of ``clauses`` (for highlighting)."""
    return list(dict.fromkeys(t for c in clauses for t in c.terms))


# --- exact matches ------------------------------------------------------------------------------


def exact_term(text: str) -> str:
    """The exact-match index term of a whole name: its normalised word characters joined,
    marked with ``EXACT_MARK`` (``""`` for a name without any). A knowledge point's name and
    a query (or one of its words) give the same term exactly when they are the same words."""
    joined = "".join(_WORD.findall(normalize(text)))[:MAX_EXACT_CHARS]
    return EXACT_MARK + joined if joined else ""


def exact_terms(query: str, clauses: list[Clause]) -> list[str]:
    """The exact-match terms of a query: the whole query and each word (every alternative of
    each clause, so a synonym of a knowledge point's name counts too), deduplicated."""
    if not clauses:
        return []
    text = normalize((query or "")[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS]
    candidates = [exact_term(text)]
    candidates.extend(exact_term("".join(alt)) for clause in clauses for alt in clause.alternatives)
    return [t for t in dict.fromkeys(candidates) if t]
