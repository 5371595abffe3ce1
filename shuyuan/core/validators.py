"""Chinese identifiers: resident ID numbers, unified social credit codes, division codes, mobiles.

Pure Python with no Django import. Every validator normalises its input first
(:func:`normalize_identifier`) and raises :class:`IdentifierError`, a ``ValueError`` with a
stable ``code`` and an English ``message``, for anything it rejects: wrong types and hostile
input included, so callers catch exactly one exception. Messages never repeat the input,
because identifiers are personal data.

Standards:

- GB 11643-1999 resident ID number (公民身份号码): 17 digits + ISO 7064 MOD 11-2 check char.
- GB 32100-2015 unified social credit code (统一社会信用代码), embedding a GB 11714
  organisation code (组织机构代码) with its own check char.
- GB/T 2260 administrative division codes (行政区划代码): the table in ``data/gb2260.tsv``
  holds current codes and those of every revision since 1980 (see ``data/README.md``).
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Final, Literal

__all__ = [
    "CREDIT_CODE_CHARSET",
    "PROVINCE_CODES",
    "DivisionInfo",
    "IdNumberInfo",
    "IdentifierError",
    "credit_code_check_char",
    "division_parent_code",
    "division_within",
    "id_number_check_char",
    "id_number_region_known",
    "is_known_division_code",
    "normalize_identifier",
    "organization_code_check_char",
    "validate_credit_code",
    "validate_division_code",
    "validate_id_number",
    "validate_mobile",
]

MAX_INPUT_LENGTH: Final = 256
"""Longer input is rejected before normalisation; no identifier here is near that long."""

CHINA_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")

PROVINCE_CODES: Final = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64"}
    | {"65", "71", "81", "82", "83"}
)
"""First two digits of a real province-level region; 83 is used in Taiwan residents' permits."""

CREDIT_CODE_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""GB 32100 alphabet: digits and capitals without I, O, Z, S, V; index = value."""

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_ZERO_OFFSET: Final = ord("0") * sum(_ID_WEIGHTS)
_CREDIT_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_CREDIT_AUTHORITIES: Final = "123456789ANY"
_EARLIEST_BIRTH: Final = date(1900, 1, 1)

_ID_RE: Final = re.compile(r"[0-9]{17}[0-9X]")
_ID_BODY_RE: Final = re.compile(r"[0-9]{17}")
_CREDIT_RE: Final = re.compile(f"[{CREDIT_CODE_CHARSET}]{{18}}")
_ORG_BODY_RE: Final = re.compile(r"[0-9A-Z]{8}")
_DIVISION_RE: Final = re.compile(r"[0-9]{6}")
_MOBILE_RE: Final = re.compile(r"1[3-9][0-9]{9}")

DivisionLevel = Literal["province", "city", "county"]
_LEVELS: Final = ("province", "city", "county")


class IdentifierError(ValueError):
    """An identifier was rejected; ``code`` is stable (UPPER_SNAKE), ``message`` is English."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"IdentifierError({self.code!r}, {self.message!r})"


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def normalize_identifier(value: str) -> str:
    """NFKC (full-width -> ASCII), drop all whitespace and invisible format chars, upper-case.

    Never raises for a string, whatever its length; a non-string raises ``IDENTIFIER_FORMAT``.
    """
    if not isinstance(value, str):
        raise IdentifierError("IDENTIFIER_FORMAT", "An identifier must be text.")
    text = unicodedata.normalize("NFKC", value)
    if text.isascii() and text.isalnum():  # the usual case: nothing to drop (bulk-import speed)
        return text.upper()
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return text.upper()


def _prepare(value: object, code: str, what: str) -> str:
    """Normalise ``value`` or raise ``code`` if it is not text, is empty or is far too long."""
    if not isinstance(value, str):
        raise IdentifierError(code, f"The {what} must be text.")
    if len(value) > MAX_INPUT_LENGTH:
        raise IdentifierError(code, f"The {what} is far too long.")
    text = normalize_identifier(value)
    if not text:
        raise IdentifierError(code, f"The {what} is empty.")
    return text


# --------------------------------------------------------------------------------------------
# Resident ID number (GB 11643-1999)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdNumberInfo:
    """A valid resident ID number and what it encodes."""

    number: str
    region_code: str
    birth_date: date
    gender: Literal["M", "F"]


def id_number_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check char ("0"-"9" or "X") for 17 ID digits."""
    if not isinstance(first17, str) or not _ID_BODY_RE.fullmatch(first17):
        raise IdentifierError("ID_NUMBER_FORMAT", "The check char needs exactly 17 digits.")
    # on the ASCII codes: sum((c - 48) * w) == sum(c * w) - 48 * sum(w); faster than int() x 17
    total = sum(map(operator.mul, first17.encode("ascii"), _ID_WEIGHTS)) - _ID_ZERO_OFFSET
    return "10X98765432"[total % 11]


def validate_id_number(value: str, *, today: date | None = None) -> IdNumberInfo:
    """Validate an 18-character resident ID number (GB 11643-1999).

    Checks, in order: 17 digits + a digit or X; the check char; a real birth date between
    1900-01-01 and ``today`` (default: today in China); a real province prefix. The 6-digit
    region code need not be in force today: numbers keep abolished codes for life.
    """
    number = _prepare(value, "ID_NUMBER_FORMAT", "resident ID number")
    if len(number) == 15 and number.isascii() and number.isdigit():
        raise IdentifierError(
            "ID_NUMBER_FORMAT",
            "Legacy 15-digit ID numbers are not accepted; the 18-character number is required.",
        )
    if len(number) != 18:
        raise IdentifierError(
            "ID_NUMBER_FORMAT",
            f"A resident ID number has 18 characters, not {len(number)}.",
        )
    if not _ID_RE.fullmatch(number):
        raise IdentifierError(
            "ID_NUMBER_FORMAT",
            "A resident ID number is 17 digits followed by a digit or X.",
        )
    expected = id_number_check_char(number[:17])
    if number[17] != expected:
        raise IdentifierError(
            "ID_NUMBER_CHECKSUM",
            f"The check digit of the resident ID number is wrong: "
            f"expected {expected}, got {number[17]}.",
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentifierError(
            "ID_NUMBER_BIRTH_DATE",
            "The birth date in the resident ID number (digits 7-14) is not a real date.",
        ) from None
    if today is None:
        today = datetime.now(CHINA_TZ).date()
    if birth > today:
        raise IdentifierError(
            "ID_NUMBER_BIRTH_DATE", "The birth date in the resident ID number is in the future."
        )
    if birth < _EARLIEST_BIRTH:
        raise IdentifierError(
            "ID_NUMBER_BIRTH_DATE", "The birth date in the resident ID number is before 1900."
        )
    if number[:2] not in PROVINCE_CODES:
        raise IdentifierError(
            "ID_NUMBER_REGION",
            "The resident ID number does not start with a valid province code.",
        )
    gender: Literal["M", "F"] = "M" if int(number[16]) % 2 else "F"
    return IdNumberInfo(number=number, region_code=number[:6], birth_date=birth, gender=gender)


def id_number_region_known(info: IdNumberInfo) -> bool:
    """Whether the number's region code is in any GB/T 2260 revision (informational only)."""
    return is_known_division_code(info.region_code, historical=True)


# --------------------------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015) and organisation code (GB 11714)
# --------------------------------------------------------------------------------------------


def organization_code_check_char(first8: str) -> str:
    """The GB 11714 check char ("0"-"9" or "X") for an 8-character organisation code body."""
    if not isinstance(first8, str) or not _ORG_BODY_RE.fullmatch(first8):
        raise IdentifierError(
            "CREDIT_CODE_FORMAT", "An organisation code body is 8 digits or capital letters."
        )
    total = sum(int(ch, 36) * weight for ch, weight in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check char (position 18) for the first 17 characters of a credit code."""
    if not isinstance(first17, str) or not re.fullmatch(f"[{CREDIT_CODE_CHARSET}]{{17}}", first17):
        raise IdentifierError(
            "CREDIT_CODE_FORMAT", "The check char needs 17 characters of the credit-code alphabet."
        )
    total = sum(
        CREDIT_CODE_CHARSET.index(ch) * weight
        for ch, weight in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str, *, check_organization_code: bool = True) -> str:
    """Validate an 18-character unified social credit code; returns it normalised.

    Checks the alphabet, the registration authority (position 1), the 6-digit division code
    (positions 3-8, which may be 100000 for national registrations), the check char (position
    18) and, unless ``check_organization_code`` is false, the embedded GB 11714 organisation
    code's own check char (position 17, code ``CREDIT_CODE_ORG_CHECKSUM``).
    """
    code = _prepare(value, "CREDIT_CODE_FORMAT", "unified social credit code")
    if len(code) != 18:
        raise IdentifierError(
            "CREDIT_CODE_FORMAT",
            f"A unified social credit code has 18 characters, not {len(code)}.",
        )
    if not _CREDIT_RE.fullmatch(code):
        position = next(i for i, ch in enumerate(code, 1) if ch not in CREDIT_CODE_CHARSET)
        raise IdentifierError(
            "CREDIT_CODE_FORMAT",
            f"Character {position} of the unified social credit code is not allowed; the code "
            "uses digits and capital letters except I, O, S, V and Z.",
        )
    if code[0] not in _CREDIT_AUTHORITIES:
        raise IdentifierError(
            "CREDIT_CODE_FORMAT",
            "The first character of a unified social credit code (the registration authority) "
            "must be 1-9, A, N or Y.",
        )
    if not code[2:8].isdigit():
        raise IdentifierError(
            "CREDIT_CODE_FORMAT",
            "Characters 3-8 of a unified social credit code (the division code) must be digits.",
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise IdentifierError(
            "CREDIT_CODE_CHECKSUM",
            f"The check character of the unified social credit code is wrong: "
            f"expected {expected}, got {code[17]}.",
        )
    if check_organization_code:
        org_expected = organization_code_check_char(code[8:16])
        if code[16] != org_expected:
            raise IdentifierError(
                "CREDIT_CODE_ORG_CHECKSUM",
                f"The organisation code inside the unified social credit code (characters "
                f"9-17) has a wrong check character: expected {org_expected}, got {code[16]}.",
            )
    return code


# --------------------------------------------------------------------------------------------
# Administrative division codes (GB/T 2260)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DivisionInfo:
    """A known division code; ``is_current`` is false for codes of past revisions only."""

    code: str
    name: str
    level: DivisionLevel
    is_current: bool


@dataclass(frozen=True)
class _DivisionRow:
    name: str
    first_seen: str
    last_seen: str


@cache
def _division_table() -> dict[str, _DivisionRow]:
    text = resources.files("shuyuan.core").joinpath("data", "gb2260.tsv").read_text("utf-8")
    table: dict[str, _DivisionRow] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name, first_seen, last_seen = line.split("\t")
            table[code] = _DivisionRow(name, first_seen, last_seen)
    return table


def _division_level(code: str) -> DivisionLevel:
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def _is_division_code(value: object) -> bool:
    return isinstance(value, str) and _DIVISION_RE.fullmatch(value) is not None


def validate_division_code(
    value: str, *, level: str | None = None, current_only: bool = False
) -> DivisionInfo:
    """Validate a 6-digit GB/T 2260 code against current and historical revisions.

    ``level`` ("province", "city" or "county") also checks the code's shape: ``XX0000``,
    ``XXYY00`` with ``YY != 00``, or a last pair other than ``00`` (code
    ``DIVISION_CODE_LEVEL``). With ``current_only`` a code no longer in force is rejected
    (``DIVISION_CODE_NOT_CURRENT``); otherwise it is returned with ``is_current=False``.
    """
    if level is not None and level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, not {level!r}.")
    code = _prepare(value, "DIVISION_CODE_FORMAT", "division code")
    if not _DIVISION_RE.fullmatch(code):
        raise IdentifierError("DIVISION_CODE_FORMAT", "A division code is exactly 6 digits.")
    shape = _division_level(code)
    if level is not None and shape != level:
        raise IdentifierError(
            "DIVISION_CODE_LEVEL",
            f"{code} is a {shape}-level division code, but a {level}-level code is required.",
        )
    row = _division_table().get(code)
    if row is None:
        raise IdentifierError(
            "DIVISION_CODE_UNKNOWN", f"{code} is not a GB/T 2260 administrative division code."
        )
    is_current = row.last_seen == "current"
    if current_only and not is_current:
        raise IdentifierError(
            "DIVISION_CODE_NOT_CURRENT",
            f"Division code {code} ({row.name}) is no longer in force "
            f"(last listed in {row.last_seen}).",
        )
    return DivisionInfo(code=code, name=row.name, level=shape, is_current=is_current)


def is_known_division_code(code: str, *, historical: bool = True) -> bool:
    """Whether ``code`` is a GB/T 2260 code: of any revision, or only current ones. Never raises."""
    if not _is_division_code(code):
        return False
    row = _division_table().get(code)
    return row is not None and (historical or row.last_seen == "current")


def division_parent_code(code: str) -> str | None:
    """The enclosing division: a county's city (if that code exists) or else its province,
    a city's province; ``None`` for a province or a malformed code.

    Counties directly under a province (济源 419001, 五指山 469001) and the districts of
    municipalities (东城区 110101, whose 110100 "市辖区" is only historical) get the province.
    """
    if not _is_division_code(code):
        return None
    level = _division_level(code)
    province = code[:2] + "0000"
    if level == "province":
        return None
    if level == "city":
        return province
    city = code[:4] + "00"
    row = _division_table().get(city)
    return city if row is not None and row.last_seen == "current" else province


def division_within(child: str, parent: str) -> bool:
    """Whether ``child`` lies within ``parent`` by code prefix (a code is within itself).

    A province ``XX0000`` contains every ``XX....``; a city ``XXYY00`` every ``XXYY..``; a
    county only itself. Malformed codes are within nothing.
    """
    if not (_is_division_code(child) and _is_division_code(parent)):
        return False
    prefix = {"province": 2, "city": 4, "county": 6}[_division_level(parent)]
    return child[:prefix] == parent[:prefix]


# --------------------------------------------------------------------------------------------
# Mobile numbers
# --------------------------------------------------------------------------------------------


def validate_mobile(value: str) -> str:
    """A mainland China mobile number as 11 digits: ``+86``/``0086`` and separators dropped."""
    text = _prepare(value, "MOBILE_FORMAT", "mobile number").replace("-", "")
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if not _MOBILE_RE.fullmatch(text):
        raise IdentifierError(
            "MOBILE_FORMAT",
            "A mainland China mobile number is 11 digits starting with 13-19.",
        )
    return text
