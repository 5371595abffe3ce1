"""Generators of valid (synthetic) Chinese identifiers for demo data, tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import random

from shuyuan.core import validators

_ORG_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_id_number(
    region: str = "410102", birth: dt.date | None = None, serial: int = 1, gender: str = "M"
) -> str:
    """A valid 18-character resident ID number (GB 11643) for ``region`` and ``birth``."""
    birth = birth or dt.date(2010, 5, 17)
    serial = serial % 1000
    # The 17th digit's parity gives the gender: odd for male, even for female.
    if (serial % 2 == 1) != (gender == "M"):
        serial = (serial + 1) % 1000
        if (serial % 2 == 1) != (gender == "M"):
            serial = (serial + 1) % 1000
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + validators.id_number_check_char(first17)


def make_credit_code(division: str = "410102", serial: int = 1, org_type: str = "12") -> str:
    """A valid unified social credit code (GB 32100) with a valid GB 11714 organisation code."""
    body = f"{serial:08d}"
    org_code = body + validators.organization_code_check_char(body)
    first17 = org_type + division + org_code
    return first17 + validators.credit_code_check_char(first17)


def make_mobile(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()  # noqa: S311  # test data, not secrets
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
