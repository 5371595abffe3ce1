"""Template filters of the resources app."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def detail_value(value: Any) -> str:
    """An audit finding's detail value as plain text: lists joined with commas, mappings as
    ``key: value`` pairs, everything else as ``str`` (auto-escaped by the template)."""
    if isinstance(value, list | tuple):
        return ", ".join(detail_value(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {detail_value(item)}" for key, item in value.items())
    return "" if value is None else str(value)
