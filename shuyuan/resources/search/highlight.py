"""Highlighting: cut a text into ``(text, is_match)`` segments around the query's terms.

Templates render matches inside ``<mark>`` with auto-escaping (never ``|safe``), and the API
returns the segments as they are. Matching ignores case; a Latin query token also marks the
Chinese words whose pinyin or initials start with it (``ggdl`` marks 勾股定理).
"""

from __future__ import annotations

from .tokenize import cut, has_cjk, normalize, pinyin_matches

Segment = tuple[str, bool]
ELLIPSIS = "\u2026"


def _lowered(text: str) -> str:
    """``text`` lower-cased character by character (same length, so offsets carry over)."""
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


def _marks(text: str, terms: list[str], latin: list[str]) -> list[bool]:
    marks = [False] * len(text)
    lowered = _lowered(text)
    for term in terms:
        if not term:
            continue
        start = lowered.find(term)
        while start != -1:
            for i in range(start, start + len(term)):
                marks[i] = True
            start = lowered.find(term, start + len(term))
    if latin and has_cjk(text):
        position = 0
        for word in cut(lowered):
            found = lowered.find(word, position)
            if found == -1:
                continue
            position = found + len(word)
            if has_cjk(word) and any(pinyin_matches(normalize(word), q) for q in latin):
                for i in range(found, position):
                    marks[i] = True
    return marks


def highlight(
    text: str, terms: list[str], *, latin: list[str] | None = None, max_chars: int = 0
) -> list[Segment]:
    """Segments of ``text`` with the occurrences of ``terms`` (normalised query tokens) marked;
    ``latin`` are Latin query tokens also matched against pinyin. With ``max_chars`` the text
    is cut to a window of that size around the first match, with ellipses."""
    if not text:
        return []
    marks = _marks(text, terms, latin or [])
    start, end = 0, len(text)
    if max_chars and len(text) > max_chars:
        first = marks.index(True) if True in marks else 0
        start = max(0, min(first - max_chars // 4, len(text) - max_chars))
        end = start + max_chars
    segments: list[Segment] = []
    if start > 0:
        segments.append((ELLIPSIS, False))
    run_start = start
    for i in range(start + 1, end + 1):
        if i == end or marks[i] != marks[run_start]:
            segments.append((text[run_start:i], marks[run_start]))
            run_start = i
    if end < len(text):
        segments.append((ELLIPSIS, False))
    return segments
