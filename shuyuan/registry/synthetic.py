"""A synthetic region as a OneRoster 1.2 CSV bundle, with injected defects and their truth.

``write_region(out_path, students=N, seed=S, defect_rate=R)`` writes a deterministic bundle (a
zip with ``manifest.csv`` and the eight rostering files at its root) of one city's schools:
one ``district`` org per current county under ``division``, about one school per 1,000
students, a school year and two semesters, one homeroom course per grade per school, homeroom
classes of about 45 students, a teacher per about 15 students, and for every student a users
row, a primary student role, an enrolment, a demographics row and a guardian (users row with a
mobile number and a guardian role). Chinese values go into ``metadata.cn.*`` columns at the
right of the standard ones.

About ``defect_rate`` of the students carry exactly one injected defect (``DEFECT_KINDS``,
dealt round-robin so that every kind appears once there are enough defects); a few extra orgs
carry the org-level ones. As many again carry *noise*: values that look odd but are valid and
must not be flagged (abolished region codes inside ID numbers, full-width digits and stray
ideographic spaces, GB 18030-only characters, twins, a formula-looking class location). The
truth file lists both, one CSV row per expected finding (``file,row,column,code,kind``, ``row``
the 1-based line number with the header as line 1); noise rows have an empty ``code``. A
defect that rejects a users row (``REJECTS_USER``) also lists the REF_UNKNOWN findings the
engine raises on that person's demographics, role and enrolment rows (kind ``<defect>/cascade``).

Nothing is held per student: the people are generated once per file from the same seed and
streamed into the zip member (``ZipFile.open(name, "w")``), so memory stays flat at any size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from shuyuan.core import validators
from shuyuan.core.synthetic import make_credit_code

from .importing.readers import MANIFEST_FILE_ORDER, standard_header
from .importing.types import FILE_ORDER

__all__ = [
    "DEFECT_KINDS",
    "FILES",
    "HEADERS",
    "NOISE_KINDS",
    "REJECTS_USER",
    "TRUTH_HEADER",
    "DefectKind",
    "RegionStats",
    "TruthReport",
    "compare_with_truth",
    "read_truth",
    "write_region",
]

DATA_DIR: Final = Path(__file__).resolve().parent / "data"

#: The files a region bundle holds, in the order they are written.
FILES: Final = FILE_ORDER

#: Columns of each file: the OneRoster 1.2.1 CSV binding's, then the ``metadata.cn.*`` ones.
_METADATA_COLUMNS: dict[str, tuple[str, ...]] = {
    "orgs": (
        "metadata.cn.creditCode",
        "metadata.cn.divisionCode",
    ),
    "users": (
        "metadata.cn.fullName",
        "metadata.cn.idNumber",
        "metadata.cn.studentNumber",
    ),
    "demographics": ("metadata.cn.ethnicity",),
}
HEADERS: Final[dict[str, tuple[str, ...]]] = {
    table: standard_header(table) + _METADATA_COLUMNS.get(table, ()) for table in FILE_ORDER
}

TRUTH_HEADER: Final = ("file", "row", "column", "code", "kind")


@dataclass(frozen=True)
class DefectKind:
    """One kind of injected defect: where its finding is expected and with which code."""

    name: str
    file: str  # without ".csv"
    column: str
    code: str


#: Defects dealt to students (round-robin), then the org-level ones.
DEFECT_KINDS: Final = (
    DefectKind("id_checksum", "users", "metadata.cn.idNumber", "ID_NUMBER_CHECKSUM"),
    DefectKind("id_birth_date", "users", "metadata.cn.idNumber", "ID_NUMBER_BIRTH_DATE"),
    DefectKind("ethnicity", "demographics", "metadata.cn.ethnicity", "ETHNICITY_INVALID"),
    DefectKind("sex", "demographics", "sex", "ENUM_INVALID"),
    DefectKind("role", "roles", "role", "ENUM_INVALID"),
    DefectKind("grade", "users", "grades", "ENUM_INVALID"),
    DefectKind("family_name_missing", "users", "familyName", "REQUIRED_MISSING"),
    DefectKind("enrol_unknown_class", "enrollments", "classSourcedId", "REF_UNKNOWN"),
    DefectKind("enrol_unknown_user", "enrollments", "userSourcedId", "REF_UNKNOWN"),
    DefectKind("role_bad_date", "roles", "beginDate", "DATE_INVALID"),
    DefectKind("mobile", "users", "sms", "MOBILE_INVALID"),
    DefectKind("id_duplicate", "users", "metadata.cn.idNumber", "ID_NUMBER_DUPLICATE"),
    DefectKind("name_variant", "users", "metadata.cn.fullName", "NAME_VARIANT_DUPLICATE"),
    DefectKind("demographics_mismatch", "demographics", "birthDate", "DEMOGRAPHICS_MISMATCH"),
    DefectKind("credit_code", "orgs", "metadata.cn.creditCode", "CREDIT_CODE_INVALID"),
    DefectKind("division_code", "orgs", "metadata.cn.divisionCode", "DIVISION_CODE_INVALID"),
)
_KIND: Final = {kind.name: kind for kind in DEFECT_KINDS}
#: Defects that reject the whole users row: the person's other rows then refer to a user the
#: import does not know, and the engine reports REF_UNKNOWN on each (recorded as "cascade").
REJECTS_USER: Final = frozenset({"family_name_missing"})
_STUDENT_DEFECTS: Final = tuple(k.name for k in DEFECT_KINDS if k.file != "orgs")

#: Valid oddities that must raise no finding (recorded in the truth with an empty code).
NOISE_KINDS: Final = (
    "abolished_region",
    "fullwidth_id",
    "spaced_name",
    "gb18030_name",
    "twin",
)
_NOISE_COLUMN: Final = {
    "abolished_region": "metadata.cn.idNumber",
    "fullwidth_id": "metadata.cn.idNumber",
    "spaced_name": "metadata.cn.fullName",
    "gb18030_name": "metadata.cn.fullName",
    "twin": "metadata.cn.fullName",
}

CLASS_SIZE: Final = 45
STUDENTS_PER_SCHOOL: Final = 1000
STUDENTS_PER_TEACHER: Final = 15
SCHOOL_YEAR: Final = 2027  # OneRoster's schoolYear: the year the school year ends
_UNKNOWN_DIVISION: Final = "0199"  # appended to a city's 4-digit prefix: no such county
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_FULLWIDTH: Final = str.maketrans(
    "0123456789X", "".join(chr(0xFF10 + i) for i in range(10)) + "\uff38"
)
_IDEOGRAPHIC_SPACE: Final = "\u3000"
#: Nationality codes other than 01 and how often they occur among the others.
_MINORITIES: Final = ("03", "02", "04", "06", "07", "08", "10", "11", "15", "17")
_UYGHUR: Final = "05"
_BEGIN: Final = dt.date(SCHOOL_YEAR - 1, 9, 1)


@dataclass
class RegionStats:
    """What ``write_region`` wrote."""

    path: str
    truth_path: str | None
    students: int
    counts: dict[str, int] = field(default_factory=dict)  # data rows per file
    defects: dict[str, int] = field(default_factory=dict)  # injected defects per finding code
    noise: dict[str, int] = field(default_factory=dict)  # noise rows per kind
    cascades: dict[str, int] = field(default_factory=dict)  # consequential findings per code
    schools: int = 0
    classes: int = 0
    teachers: int = 0

    @property
    def rows(self) -> int:
        """Data rows across all files (headers and the manifest excluded)."""
        return sum(self.counts.values())


# --------------------------------------------------------------------------------------------
# Data: names and division codes
# --------------------------------------------------------------------------------------------


@cache
def _names() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (DATA_DIR / "synthetic_names.json").read_text(encoding="utf-8")
    )
    return data


@cache
def _divisions() -> tuple[dict[str, str], dict[str, str]]:
    """(current county codes -> names, historical-only county codes -> names) of GB/T 2260."""
    current: dict[str, str] = {}
    historical: dict[str, str] = {}
    text = (Path(validators.__file__).parent / "data" / "gb2260.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        code, name, _first, last = line.split("\t")
        if code.endswith("00") or code[4] == "7":  # cities/provinces; development zones
            continue
        (current if last == "current" else historical)[code] = name
    return current, historical


def _counties(division: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The current counties under a city (or province) code, and its abolished ones."""
    current, historical = _divisions()
    prefix = division[:4] if division[2:4] != "00" else division[:2]
    counties = sorted((c, n) for c, n in current.items() if c.startswith(prefix))
    if not counties:
        raise ValueError(f"No current county-level division under {division}.")
    abolished = sorted(c for c in historical if c.startswith(prefix) and c[4:] != "01")
    if not abolished:
        abolished = sorted(c for c in historical if c.startswith(division[:2]))
    return counties, abolished


# --------------------------------------------------------------------------------------------
# The plan: orgs, sessions, courses and classes (small enough to hold)
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Class:
    sourced_id: str
    grade: int
    number: int
    course: str
    size: int
    location: str
    formula: bool = False


@dataclass(slots=True)
class _School:
    index: int
    sourced_id: str
    county: str
    county_name: str
    category: str
    grades: tuple[int, ...]
    students: int
    classes: list[_Class] = field(default_factory=list)
    teachers: int = 0


_KINDS: Final = (("21", tuple(range(1, 7))), ("31", (7, 8, 9)), ("34", (10, 11, 12)))


def _plan(students: int, counties: list[tuple[str, str]], rng: random.Random) -> list[_School]:
    n_schools = max(1, round(students / STUDENTS_PER_SCHOOL))
    schools: list[_School] = []
    base, extra = divmod(students, n_schools)
    for i in range(n_schools):
        county, county_name = counties[i % len(counties)]
        category, grades = ("12", tuple(range(1, 13))) if n_schools < 3 else _KINDS[i % 3]
        school = _School(
            index=i,
            sourced_id=f"sch-{i + 1:05d}",
            county=county,
            county_name=county_name,
            category=category,
            grades=grades,
            students=base + (1 if i < extra else 0),
        )
        per_grade, grade_extra = divmod(school.students, len(grades))
        for g_index, grade in enumerate(grades):
            in_grade = per_grade + (1 if g_index < grade_extra else 0)
            if not in_grade:
                continue
            n_classes = max(1, math.ceil(in_grade / CLASS_SIZE))
            size, size_extra = divmod(in_grade, n_classes)
            for n in range(1, n_classes + 1):
                school.classes.append(
                    _Class(
                        sourced_id=f"cls-{i + 1:05d}-{grade:02d}-{n:02d}",
                        grade=grade,
                        number=n,
                        course=f"crs-{i + 1:05d}-{grade:02d}",
                        size=size + (1 if n <= size_extra else 0),
                        location=_names()["formats"]["room"].format(n=100 * grade + n),
                    )
                )
        school.teachers = max(len(school.classes), round(school.students / STUDENTS_PER_TEACHER))
        schools.append(school)
    return schools


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Person:
    kind: str  # "student" | "teacher" | "guardian"
    sourced_id: str
    username: str
    school: str
    family: str
    given: str
    full: str
    sex: str  # "male" | "female"
    birth: dt.date
    id_number: str = ""
    mobile: str = ""
    ethnicity: str = "01"
    grade: int = 0
    class_id: str = ""
    guardian: str = ""
    primary: bool = False
    defect: str = ""
    noise: str = ""
    extra: str = ""  # "duplicate" | "variant" for the injected second record of a person


class _IdMaker:
    """Unique valid ID numbers, the check char computed from cached partial sums."""

    def __init__(self) -> None:
        self._serials: dict[tuple[str, dt.date, bool], int] = {}
        self._region_sums: dict[str, int] = {}
        self._date_sums: dict[dt.date, int] = {}

    @staticmethod
    def _sum(digits: str, offset: int) -> int:
        return sum(int(d) * w for d, w in zip(digits, _ID_WEIGHTS[offset:], strict=False))

    def make(self, region: str, birth: dt.date, male: bool) -> str:
        key = (region, birth, male)
        count = self._serials.get(key, 0) + 1
        if count > 499:
            raise ValueError("More than 499 ID numbers for one region, date and sex.")
        self._serials[key] = count
        serial = 2 * count - 1 if male else 2 * count
        return self.with_serial(region, birth, serial)

    def with_serial(self, region: str, birth: dt.date, serial: int) -> str:
        region_sum = self._region_sums.get(region)
        if region_sum is None:
            region_sum = self._region_sums[region] = self._sum(region, 0)
        date_sum = self._date_sums.get(birth)
        if date_sum is None:
            date_sum = self._date_sums[birth] = self._sum(f"{birth:%Y%m%d}", 6)
        total = region_sum + date_sum + (serial // 100) * 8 + (serial // 10 % 10) * 4
        total += (serial % 10) * 2
        return f"{region}{birth:%Y%m%d}{serial:03d}{_ID_CHECK[total % 11]}"


class _People:
    """Generates every person of the region in file order; same seed, same people."""

    def __init__(
        self,
        seed: int,
        defect_rate: float,
        schools: list[_School],
        counties: list[tuple[str, str]],
        abolished: list[str],
    ) -> None:
        self.rng = random.Random(f"{seed}/people")  # noqa: S311  # test data, not secrets
        self.defect_rate = defect_rate
        self.schools = schools
        self.county_codes = [c for c, _ in counties]
        self.abolished = abolished
        self.ids = _IdMaker()
        self.dealt = 0
        self.noised = 0
        self.mobiles = 0
        names = _names()
        self.family_single: list[str] = names["family_single"]
        self.family_compound: list[str] = names["family_compound"]
        self.given_chars: list[str] = names["given_chars"]
        self.uyghur_given: list[str] = names["uyghur_given"]
        self.uyghur_family: list[str] = names["uyghur_family"]
        self.rare: list[str] = names["rare_chars"]
        self.trad: dict[str, str] = names["traditional"]
        self.trad_family = [f for f in self.family_single if f in self.trad]
        self.trad_given = [g for g in self.given_chars if g in self.trad]
        self.dot: str = names["formats"]["middle_dot"]
        # Weighted family names: earlier ones (the commoner) more often.
        self.family_weights = [1.0 / (i + 8) for i in range(len(self.family_single))]

    # -- values ---------------------------------------------------------------------------

    def _mobile(self) -> str:
        self.mobiles += 1
        # 7919 is coprime to 10**9, so the numbers are distinct and look random.
        body = (self.mobiles * 7919 + 123_456_789) % 1_000_000_000
        return f"1{'3456789'[self.mobiles % 7]}{body:09d}"

    def _name(self, style: str = "") -> tuple[str, str, str, str]:
        """(family, given, full, ethnicity).

        ``style``: "" (random), "rare" (a GB 18030-only character), or "long_uyghur",
        "long_trad", "long": names with three given parts, which random names never have, so
        that a person without a usable ID number matches nobody by name by chance.
        """
        rng = self.rng
        r = rng.random()
        if style == "long_uyghur" or (not style and r < 0.01):
            given = rng.choice(self.uyghur_given)
            if style:
                given += self.dot + rng.choice(self.uyghur_given)
            family = rng.choice(self.uyghur_family)
            return family, given, f"{given}{self.dot}{family}", _UYGHUR
        if style == "long_trad":
            family = rng.choice(self.trad_family)
            given = rng.choice(self.trad_given) + "".join(rng.choices(self.given_chars, k=2))
        elif style == "long":
            family = rng.choices(self.family_single, self.family_weights)[0]
            given = "".join(rng.choices(self.given_chars, k=3))
        else:
            if r < 0.02:
                family = rng.choice(self.family_compound)
            else:
                family = rng.choices(self.family_single, self.family_weights)[0]
            given = rng.choice(self.given_chars)
            if rng.random() < 0.7:
                given += rng.choice(self.given_chars)
            if style == "rare":
                given = given[:1] + rng.choice(self.rare)
        ethnicity = "01" if rng.random() < 0.92 else rng.choice(_MINORITIES)
        return family, given, family + given, ethnicity

    def _variant(self, person: _Person) -> tuple[str, str, str]:
        """The person's name as a second system might spell it: ``.`` for ``·`` or traditional."""
        if self.dot in person.full:
            given = person.given.replace(self.dot, ".")
            return person.family, given, person.full.replace(self.dot, ".")
        family = "".join(self.trad.get(ch, ch) for ch in person.family)
        given = "".join(self.trad.get(ch, ch) for ch in person.given)
        return family, given, family + given

    def _birth(self, grade: int) -> dt.date:
        start = dt.date(SCHOOL_YEAR - 7 - grade, 9, 1)
        return start + dt.timedelta(days=self.rng.randrange(365))

    def _adult_birth(self, first: int, last: int) -> dt.date:
        start = dt.date(first, 1, 1)
        return start + dt.timedelta(days=self.rng.randrange((last - first) * 365))

    # -- the stream -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[_Person]:
        rng = self.rng
        n_student = 0
        n_teacher = 0
        for school in self.schools:
            classes = school.classes
            for t in range(school.teachers):
                n_teacher += 1
                family, given, full, ethnicity = self._name()
                male = rng.random() < 0.3
                region = rng.choice(self.county_codes)
                birth = self._adult_birth(1966, 2001)
                yield _Person(
                    kind="teacher",
                    sourced_id=f"tch-{n_teacher:06d}",
                    username=f"t{n_teacher:06d}",
                    school=school.sourced_id,
                    family=family,
                    given=given,
                    full=full,
                    sex="male" if male else "female",
                    birth=birth,
                    id_number=self.ids.make(region, birth, male),
                    mobile=self._mobile(),
                    ethnicity=ethnicity,
                    class_id=classes[t % len(classes)].sourced_id,
                    primary=t < len(classes),
                )
            for klass in classes:
                previous: _Person | None = None
                for _ in range(klass.size):
                    n_student += 1
                    yield from self._student(n_student, school, klass, previous)
                    previous = self._last

    _last: _Person | None = None

    def _deal(self) -> tuple[str, str]:
        """(defect kind, noise kind) for the next student; at most one is non-empty."""
        r = self.rng.random()
        if r < self.defect_rate:
            kind = _STUDENT_DEFECTS[self.dealt % len(_STUDENT_DEFECTS)]
            self.dealt += 1
            return kind, ""
        if r < 2 * self.defect_rate:
            noise = NOISE_KINDS[self.noised % len(NOISE_KINDS)]
            self.noised += 1
            return "", noise
        return "", ""

    def _student(
        self, n: int, school: _School, klass: _Class, previous: _Person | None
    ) -> Iterator[_Person]:
        rng = self.rng
        defect, noise = self._deal()
        if noise == "twin" and (previous is None or previous.defect or previous.noise):
            noise = "gb18030_name"
        style = {"gb18030_name": "rare"}.get(noise, "")
        if defect == "name_variant":
            style = "long_uyghur" if n % 2 else "long_trad"
        elif defect in {"id_checksum", "id_birth_date"}:
            style = "long"
        if noise == "twin" and previous is not None:
            family, given, full = previous.family, previous.given, previous.full
            ethnicity, male, birth = previous.ethnicity, previous.sex == "male", previous.birth
        else:
            family, given, full, ethnicity = self._name(style)
            male = rng.random() < 0.52
            birth = self._birth(klass.grade)
        if noise == "abolished_region":
            region = rng.choice(self.abolished)
        elif rng.random() < 0.8:
            region = school.county
        else:
            region = rng.choice(self.county_codes)
        id_number = self.ids.make(region, birth, male)
        guardian = _Person(
            kind="guardian",
            sourced_id=f"grd-{n:07d}",
            username=f"p{n:07d}",
            school=school.sourced_id,
            family=family if rng.random() < 0.6 else rng.choice(self.family_single),
            given="",
            full="",
            sex="male" if rng.random() < 0.5 else "female",
            birth=birth,
            mobile=self._mobile(),
            defect="mobile" if defect == "mobile" else "",
        )
        _f, guardian.given, _full, _e = self._name()
        guardian.full = guardian.family + guardian.given
        yield guardian
        student = _Person(
            kind="student",
            sourced_id=f"stu-{n:07d}",
            username=f"s{n:07d}",
            school=school.sourced_id,
            family=family,
            given=given,
            full=full,
            sex="male" if male else "female",
            birth=birth,
            id_number=id_number,
            ethnicity=ethnicity,
            grade=klass.grade,
            class_id=klass.sourced_id,
            guardian=guardian.sourced_id,
            defect="" if defect in {"mobile", "id_duplicate", "name_variant"} else defect,
            noise=noise,
        )
        self._last = None if defect in {"id_duplicate", "name_variant"} else student
        yield student
        if defect == "id_duplicate":
            yield _copy(student, extra="duplicate", defect=defect, suffix="d")
        elif defect == "name_variant":
            twin = _copy(student, extra="variant", defect=defect, suffix="v")
            twin.family, twin.given, twin.full = self._variant(student)
            twin.id_number = ""
            yield twin


def _copy(person: _Person, *, extra: str, defect: str, suffix: str) -> _Person:
    return _Person(
        kind=person.kind,
        sourced_id=person.sourced_id + suffix,
        username=person.username + suffix,
        school=person.school,
        family=person.family,
        given=person.given,
        full=person.full,
        sex=person.sex,
        birth=person.birth,
        id_number=person.id_number,
        ethnicity=person.ethnicity,
        grade=person.grade,
        class_id=person.class_id,
        guardian=person.guardian,
        defect=defect,
        extra=extra,
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class _Sheet:
    """One zip member being written: a csv writer and its line counter (header = line 1)."""

    def __init__(self, zf: zipfile.ZipFile, name: str) -> None:
        self.name = name
        self._raw = zf.open(_member(f"{name}.csv"), "w", force_zip64=True)
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8", newline="")
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._writer.writerow(HEADERS[name])
        self.line = 1

    def write(self, row: list[str]) -> int:
        self._writer.writerow(row)
        self.line += 1
        return self.line

    def close(self) -> int:
        self._text.close()
        return self.line - 1


class _Region:
    def __init__(self, students: int, seed: int, defect_rate: float, division: str) -> None:
        if students < 1:
            raise ValueError("A region needs at least one student.")
        if not 0 <= defect_rate <= 0.5:
            raise ValueError("defect_rate must be between 0 and 0.5.")
        self.seed = seed
        self.defect_rate = defect_rate
        self.division = division
        self.counties, self.abolished = _counties(division)
        self.rng = random.Random(f"{seed}/plan")  # noqa: S311  # test data, not secrets
        self.schools = _plan(students, self.counties, self.rng)
        self.truth: list[tuple[str, int, str, str, str]] = []
        self.defects: Counter[str] = Counter()
        self.cascades: Counter[str] = Counter()
        self.noise: Counter[str] = Counter()
        self.formats: dict[str, Any] = _names()["formats"]

    def _defect(self, kind: str, file: str, line: int) -> None:
        spec = _KIND[kind]
        self.truth.append((f"{file}.csv", line, spec.column, spec.code, kind))
        self.defects[spec.code] += 1

    def _cascade(self, defect: str, file: str, line: int, column: str) -> None:
        self.truth.append((f"{file}.csv", line, column, "REF_UNKNOWN", f"{defect}/cascade"))
        self.cascades["REF_UNKNOWN"] += 1

    def _noise(self, kind: str, file: str, line: int, column: str) -> None:
        self.truth.append((f"{file}.csv", line, column, "", kind))
        self.noise[kind] += 1

    def people(self) -> _People:
        return _People(self.seed, self.defect_rate, self.schools, self.counties, self.abolished)

    # -- small files ------------------------------------------------------------------------

    def orgs(self, sheet: _Sheet) -> None:
        fmt = self.formats
        injected = 0 if self.defect_rate == 0 else 1
        for code, name in self.counties:
            sheet.write(
                [
                    f"dist-{code}",
                    "",
                    "",
                    fmt["district"].format(county=name),
                    "district",
                    "",
                    "",
                    "",
                    code,
                ]
            )
        for i in range(injected):
            code = self.division[:2] + _UNKNOWN_DIVISION
            line = sheet.write(
                [
                    f"dist-x{i + 1:02d}",
                    "",
                    "",
                    fmt["district"].format(county=code),
                    "district",
                    "",
                    "",
                    "",
                    code,
                ]
            )
            self._defect("division_code", "orgs", line)
        province = self.division[:2]
        for school in self.schools:
            sheet.write(self._school_row(school, province, bad_credit=False))
        bad_schools = 0
        if self.defect_rate:
            bad_schools = max(1, round(len(self.schools) * self.defect_rate))
        for i in range(bad_schools):
            county, county_name = self.counties[i % len(self.counties)]
            school = _School(
                index=len(self.schools) + i,
                sourced_id=f"sch-x{i + 1:03d}",
                county=county,
                county_name=county_name,
                category="21",
                grades=(),
                students=0,
            )
            line = sheet.write(self._school_row(school, province, bad_credit=True))
            self._defect("credit_code", "orgs", line)

    def _school_row(self, school: _School, province: str, *, bad_credit: bool) -> list[str]:
        fmt = self.formats
        credit = make_credit_code(school.county, serial=10_000 + school.index, org_type="12")
        if bad_credit:
            alphabet = validators.CREDIT_CODE_CHARSET
            credit = credit[:17] + alphabet[(alphabet.index(credit[17]) + 7) % len(alphabet)]
        name = fmt["school"].format(
            county=school.county_name,
            n=school.index + 1,
            suffix=fmt["school_suffix"][school.category],
        )
        identifier = f"{school.category}{province}{school.index + 1:06d}"
        return [
            school.sourced_id,
            "",
            "",
            name,
            "school",
            identifier,
            f"dist-{school.county}",
            credit,
            school.county,
        ]

    def sessions(self, sheet: _Sheet) -> None:
        fmt = self.formats
        start, end = SCHOOL_YEAR - 1, SCHOOL_YEAR
        year = f"sy-{SCHOOL_YEAR}"
        sheet.write(
            [
                year,
                "",
                "",
                fmt["school_year"].format(start=start, end=end),
                "schoolYear",
                f"{start}-09-01",
                f"{end}-07-16",
                "",
                str(end),
            ]
        )
        for n, (begin, finish) in enumerate(
            ((f"{start}-09-01", f"{end}-02-01"), (f"{end}-02-15", f"{end}-07-16")), 1
        ):
            sheet.write(
                [
                    f"sem-{SCHOOL_YEAR}-{n}",
                    "",
                    "",
                    fmt["semester"].format(start=start, end=end, n=n),
                    "semester",
                    begin,
                    finish,
                    year,
                    str(end),
                ]
            )

    def courses(self, sheet: _Sheet) -> None:
        for school in self.schools:
            seen: set[int] = set()
            for klass in school.classes:
                if klass.grade in seen:
                    continue
                seen.add(klass.grade)
                sheet.write(
                    [
                        klass.course,
                        "",
                        "",
                        f"sy-{SCHOOL_YEAR}",
                        self.formats["course"].format(grade=klass.grade),
                        f"HR{klass.grade:02d}",
                        f"{klass.grade:02d}",
                        school.sourced_id,
                        "",
                        "",
                    ]
                )

    def classes(self, sheet: _Sheet) -> None:
        terms = f"sem-{SCHOOL_YEAR}-1,sem-{SCHOOL_YEAR}-2"
        formulas = 0
        n_classes = sum(len(s.classes) for s in self.schools)
        wanted = 0 if not self.defect_rate else max(1, round(n_classes * self.defect_rate))
        step = max(1, n_classes // max(1, wanted))
        index = 0
        for school in self.schools:
            for klass in school.classes:
                location = klass.location
                formula = formulas < wanted and index % step == step // 2
                if formula:
                    location = "=1+1"
                    formulas += 1
                line = sheet.write(
                    [
                        klass.sourced_id,
                        "",
                        "",
                        self.formats["class"].format(grade=klass.grade, n=klass.number),
                        f"{klass.grade:02d}",
                        klass.course,
                        f"C{klass.grade:02d}{klass.number:02d}",
                        "homeroom",
                        location,
                        school.sourced_id,
                        terms,
                        "",
                        "",
                        "",
                    ]
                )
                if formula:
                    self._noise("formula_location", "classes", line, "location")
                index += 1

    # -- people files -----------------------------------------------------------------------

    def users(self, sheet: _Sheet) -> None:
        for p in self.people():
            family, full, id_number = p.family, p.full, p.id_number
            grades = f"{p.grade:02d}" if p.kind == "student" else ""
            sms = p.mobile
            student_number = f"G{p.id_number}" if p.kind == "student" and p.id_number else ""
            defect, column = p.defect, ""
            if defect == "id_checksum":
                id_number = id_number[:17] + ("0" if id_number[17] != "0" else "1")
            elif defect == "id_birth_date":
                first17 = f"{id_number[:10]}13{id_number[12:17]}"
                id_number = first17 + _check(first17)
            elif defect == "grade":
                grades = "13a"
            elif defect == "family_name_missing":
                # The rules take the full name when it is given; without it familyName is due.
                family = full = ""
            elif defect == "mobile":
                sms = "1234"
            elif defect not in {"id_duplicate", "name_variant"}:
                defect = ""
            if p.noise == "fullwidth_id":
                id_number = f"{_IDEOGRAPHIC_SPACE}{id_number.translate(_FULLWIDTH)} "
                column = "metadata.cn.idNumber"
            elif p.noise == "spaced_name":
                full = f"{_IDEOGRAPHIC_SPACE}{full} "
            line = sheet.write(
                [
                    p.sourced_id,
                    "",
                    "",
                    "true",
                    p.username,
                    "",
                    p.given,
                    family,
                    "",
                    "",
                    "",
                    sms,
                    "",
                    p.guardian,
                    grades,
                    "",
                    "",
                    "",
                    "",
                    "",
                    p.school,
                    "",
                    full,
                    id_number,
                    student_number,
                ]
            )
            if defect:
                self._defect(defect, "users", line)
            if p.noise:
                self._noise(p.noise, "users", line, column or _NOISE_COLUMN[p.noise])

    def demographics(self, sheet: _Sheet) -> None:
        for p in self.people():
            if p.kind != "student" or p.extra == "duplicate":
                continue
            birth, sex, ethnicity = f"{p.birth:%Y-%m-%d}", p.sex, p.ethnicity
            defect = p.defect if _KIND.get(p.defect, _NONE).file == "demographics" else ""
            if defect == "ethnicity":
                ethnicity = "77"
            elif defect == "sex":
                sex = "x"
            elif defect == "demographics_mismatch":
                birth = f"{p.birth + dt.timedelta(days=40):%Y-%m-%d}"
            line = sheet.write(
                [
                    p.sourced_id,
                    "",
                    "",
                    birth,
                    sex,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    ethnicity,
                ]
            )
            if defect:
                self._defect(defect, "demographics", line)
            elif p.defect in REJECTS_USER:
                self._cascade(p.defect, "demographics", line, "sourcedId")

    def roles(self, sheet: _Sheet) -> None:
        begin = f"{_BEGIN:%Y-%m-%d}"
        for p in self.people():
            role, begin_date = p.kind, begin
            defect = p.defect if p.defect in {"role", "role_bad_date"} else ""
            if defect == "role":
                role = "pupil"
            elif defect == "role_bad_date":
                begin_date = "2024-02-30"
            line = sheet.write(
                [
                    f"role-{p.sourced_id}",
                    "",
                    "",
                    p.sourced_id,
                    "primary",
                    role,
                    begin_date,
                    "",
                    p.school,
                    "",
                ]
            )
            if defect:
                self._defect(defect, "roles", line)
            elif p.defect in REJECTS_USER:
                self._cascade(p.defect, "roles", line, "userSourcedId")

    def enrollments(self, sheet: _Sheet) -> None:
        begin = f"{_BEGIN:%Y-%m-%d}"
        for p in self.people():
            if p.kind == "guardian":
                continue
            class_id, user_id = p.class_id, p.sourced_id
            defect = p.defect if p.defect.startswith("enrol_") else ""
            if defect == "enrol_unknown_class":
                class_id = f"cls-missing-{p.sourced_id}"
            elif defect == "enrol_unknown_user":
                user_id = f"{p.sourced_id}-missing"
            primary = ("true" if p.primary else "false") if p.kind == "teacher" else ""
            line = sheet.write(
                [
                    f"enr-{p.sourced_id}",
                    "",
                    "",
                    class_id,
                    p.school,
                    user_id,
                    p.kind,
                    primary,
                    begin,
                    "",
                ]
            )
            if defect:
                self._defect(defect, "enrollments", line)
            elif p.defect in REJECTS_USER:
                self._cascade(p.defect, "enrollments", line, "userSourcedId")


_NONE: Final = DefectKind("", "", "", "")


def _check(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def write_region(
    out_path: str | Path,
    *,
    students: int,
    seed: int = 1,
    defect_rate: float = 0.01,
    division: str = "410100",
    truth_path: str | Path | None = None,
) -> RegionStats:
    """Write a synthetic region's OneRoster bundle to ``out_path`` (see the module docstring).

    Same arguments, same bytes. ``truth_path`` (optional) receives the injected defects and the
    noise as CSV ``file,row,column,code,kind``.
    """
    region = _Region(students, seed, defect_rate, division)
    stats = RegionStats(
        path=str(out_path),
        truth_path=str(truth_path) if truth_path else None,
        students=students,
        schools=len(region.schools),
        classes=sum(len(s.classes) for s in region.schools),
        teachers=sum(s.teachers for s in region.schools),
    )
    writers = {
        "orgs": region.orgs,
        "academicSessions": region.sessions,
        "courses": region.courses,
        "classes": region.classes,
        "users": region.users,
        "demographics": region.demographics,
        "roles": region.roles,
        "enrollments": region.enrollments,
    }
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        manifest = io.StringIO()
        writer = csv.writer(manifest, lineterminator="\r\n")
        writer.writerow(["propertyName", "value"])
        writer.writerow(["manifest.version", "1.0"])
        writer.writerow(["oneroster.version", "1.2"])
        for name in MANIFEST_FILE_ORDER:
            writer.writerow([f"file.{name}", "bulk" if name in FILES else "absent"])
        zf.writestr(_member("manifest.csv"), manifest.getvalue().encode("utf-8"))
        for name in FILES:
            sheet = _Sheet(zf, name)
            writers[name](sheet)
            stats.counts[name] = sheet.close()
    region.truth.sort(key=lambda t: (FILES.index(t[0][:-4]), t[1], t[2]))
    if truth_path:
        with open(truth_path, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(TRUTH_HEADER)
            out.writerows(region.truth)
    stats.defects = dict(sorted(region.defects.items()))
    stats.noise = dict(sorted(region.noise.items()))
    stats.cascades = dict(region.cascades)
    return stats


def _member(name: str) -> zipfile.ZipInfo:
    """A zip member with a fixed time stamp, so that the same region gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(2026, 9, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


# --------------------------------------------------------------------------------------------
# Comparing an import's findings with the truth
# --------------------------------------------------------------------------------------------

#: (file, row, column, code) of one expected or found finding.
Cell = tuple[str, int, str, str]


@dataclass
class TruthReport:
    """How an import's findings compare with a region's truth file."""

    expected: set[Cell]
    found: set[Cell]
    per_code: list[tuple[str, int, int, int, int]]  # code, expected, found, missing, unexpected
    on_clean: list[Cell]  # findings on rows the truth lists neither as defect nor as noise
    on_noise: dict[str, int]  # findings on noise rows, per noise kind
    bundle_level: dict[str, int]  # findings with no row and no record, per code
    kinds_missed: list[str]  # defect kinds with no matching finding

    @property
    def missing(self) -> list[Cell]:
        return sorted(self.expected - self.found)

    @property
    def unexpected(self) -> list[Cell]:
        return sorted(self.found - self.expected)


def read_truth(path: str | Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _users_lines(bundle: str | Path, sourced_ids: set[str]) -> dict[str, int]:
    lines: dict[str, int] = {}
    if not sourced_ids:
        return lines
    with zipfile.ZipFile(bundle) as zf, zf.open("users.csv") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        next(reader)
        for line, row in enumerate(reader, 2):
            if row and row[0] in sourced_ids:
                lines[row[0]] = line
    return lines


def compare_with_truth(
    findings: list[tuple[str, int | None, str, str, str]],
    bundle: str | Path,
    truth_path: str | Path,
    *,
    prefix: str = "",
) -> TruthReport:
    """Compare findings ``(file, row, column, code, sourcedId)`` with the truth file.

    Duplicate matching runs on records, not rows: a finding without a row but with a person's
    sourcedId is placed on that person's users.csv line (and, when the truth expects the same
    code there, on the truth's column). Findings with neither are bundle-level.
    """
    truth = read_truth(truth_path)
    expected = {(t["file"], int(t["row"]), t["column"], t["code"]) for t in truth if t["code"]}
    defect_rows = {(t["file"], int(t["row"])) for t in truth if t["code"]}
    noise_rows = {(t["file"], int(t["row"])): t["kind"] for t in truth if not t["code"]}
    expected_users = {(e[1], e[3]): e[2] for e in expected if e[0] == "users.csv"}
    records = {sid[len(prefix) :] for _f, row, _c, _code, sid in findings if row is None and sid}
    lines = _users_lines(bundle, records)
    found: set[Cell] = set()
    bundle_level: Counter[str] = Counter()
    for file, row, column, code, sid in findings:
        if row is None:
            line = lines.get(sid[len(prefix) :]) if sid else None
            if line is None:
                bundle_level[code] += 1
                continue
            found.add(("users.csv", line, expected_users.get((line, code), column), code))
        else:
            found.add((file, row, column, code))
    per_code = []
    for code in sorted({e[3] for e in expected} | {f[3] for f in found}):
        exp = {e for e in expected if e[3] == code}
        got = {f for f in found if f[3] == code}
        per_code.append((code, len(exp), len(got & exp), len(exp - got), len(got - exp)))
    unexpected = found - expected
    listed = defect_rows | noise_rows.keys()
    detected = {
        t["kind"]
        for t in truth
        if t["code"] and (t["file"], int(t["row"]), t["column"], t["code"]) in found
    }
    return TruthReport(
        expected=expected,
        found=found,
        per_code=per_code,
        on_clean=sorted(f for f in unexpected if (f[0], f[1]) not in listed),
        on_noise=dict(
            Counter(noise_rows[(f[0], f[1])] for f in unexpected if (f[0], f[1]) in noise_rows)
        ),
        bundle_level=dict(bundle_level),
        kinds_missed=sorted({t["kind"] for t in truth if t["code"]} - detected),
    )
