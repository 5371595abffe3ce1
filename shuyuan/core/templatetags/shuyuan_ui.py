"""Template filters of the portal: change-log diffs, tree indentation, audit details.

This is the one module where escaping helpers may live (STYLE.md §4); none of these filters marks
anything safe, so autoescaping applies to everything they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

register = template.Library()

#: The deepest indentation class the stylesheet defines (``.depth-0`` … ``.depth-6``).
MAX_DEPTH_CLASS = 6

#: Longer values are cut in lists (a bulk record's diff can hold a thousand rows).
MAX_VALUE_CHARS = 300


@dataclass(frozen=True)
class DiffRow:
    """One changed field of a change record: its name and the values before and after.

    ``had_old`` / ``has_new`` are false for a missing or empty value (shown as "none").
    """

    field: str
    old: str
    new: str
    had_old: bool
    has_new: bool


def _shown(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "\u2026"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in sorted(value.items()))
    return "" if value is None else str(value)


@register.filter
def change_rows(changes: Any) -> list[DiffRow]:
    """``{"name": [old, new]}`` → rows sorted by field name, for a before/after table.

    Anything not shaped like a diff (a bad row, a hand-edited record) is shown as the new value,
    so the page still renders and the verifier, not the template, reports the damage. Values
    longer than ``MAX_VALUE_CHARS`` are cut with an ellipsis.
    """
    if not isinstance(changes, dict):
        return []
    rows = []
    for name in sorted(changes, key=str):
        pair = changes[name]
        if isinstance(pair, list | tuple) and len(pair) == 2:
            old, new = pair
        else:
            old, new = None, pair
        rows.append(
            DiffRow(
                str(name), _shown(old), _shown(new), old not in (None, ""), new not in (None, "")
            )
        )
    return rows


@register.filter
def depth_class(depth: Any, base: Any = 0) -> str:
    """The CSS class indenting a tree row: ``depth-0`` … ``depth-6`` (deeper rows stay at 6)."""
    try:
        level = int(depth) - int(base or 0)
    except (TypeError, ValueError):
        level = 0
    return f"depth-{max(0, min(MAX_DEPTH_CLASS, level))}"


@register.filter
def detail_items(extra: Any) -> list[tuple[str, str]]:
    """An audit event's ``extra`` dict as sorted ``(key, text)`` pairs."""
    if not isinstance(extra, dict):
        return []
    return [(str(k), _shown(v)) for k, v in sorted(extra.items(), key=lambda kv: str(kv[0]))]
