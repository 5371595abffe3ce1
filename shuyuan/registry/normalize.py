"""Text normalisation shared by validation, matching and merging.

* ``clean_text``: NFKC (full-width digits and letters become half-width), stray whitespace
  (including ideographic and no-break spaces) trimmed and runs collapsed. NFKC leaves CJK
  ideographs alone, so characters outside GBK but inside GB 18030 are kept exactly.
* ``name_key``: the matching key of a personal name: ``clean_text``, all spaces removed, the
  look-alike separators (``.``, full stop, bullet, katakana middle dot, hyphenation point) made
  one middle dot ``·``, traditional characters converted to simplified (OpenCC ``t2s``), and
  Latin letters lower-cased.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

_SPACES = re.compile(r"\s+")
_DOTS = str.maketrans(dict.fromkeys(".\u00b7\u2022\u2027\u30fb\uff0e\u0387\u2219\u22c5", "\u00b7"))


def clean_text(value: str) -> str:
    """NFKC and whitespace normalisation of one cell (see the module docstring)."""
    if not value:
        return ""
    value = unicodedata.normalize("NFKC", value)
    return _SPACES.sub(" ", value).strip()


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(value: str) -> str:
    """Traditional to simplified Chinese (OpenCC's character and phrase tables)."""
    return str(_t2s().convert(value)) if value else value


def name_key(name: str) -> str:
    """The matching key of a personal name (see the module docstring)."""
    value = _SPACES.sub("", clean_text(name)).translate(_DOTS).lower()
    if value.isascii():
        return value
    return to_simplified(value)
