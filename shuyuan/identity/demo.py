"""The demo region: one province, 2 cities, 4 counties, 20 schools, ~10,000 students with their
classes, teachers and parents, and one login per role.

Written in bulk: each school's accounts and roles are inserted with ``bulk_create`` inside
``bulk_writes()``, and each chunk appends one chained change record whose ``changes`` hold every
row's field values, so the change log stays complete and verifiable without a record per row.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from shuyuan.core.context import bulk_writes, change_context, system_actor
from shuyuan.core.crypto import mask_id_number, mask_mobile
from shuyuan.core.models import (
    ChangeAction,
    ChangeLoggedModel,
    Org,
    OrgKind,
    append_change,
    new_path_key,
)
from shuyuan.core.synthetic import make_credit_code, make_id_number

from .actions.accounts import DEFAULT_MFA_ROLES, id_number_index, mobile_index
from .models import Gender, Role, RoleAssignment, User
from .pii import pii_cipher

DATA_FILE = Path(__file__).parent / "data" / "demo_region.json"
DEMO_PASSWORD = "Shuyuan#2026demo"  # noqa: S105  # printed demo password, development only
CHUNK = 1000


@dataclass
class DemoLogin:
    username: str
    role: str
    password: str
    totp_secret: str | None = None


@dataclass
class DemoSummary:
    orgs: int = 0
    students: int = 0
    teachers: int = 0
    parents: int = 0
    logins: list[DemoLogin] = field(default_factory=list)
    already_loaded: bool = False


Progress = Callable[[str], None]


def load_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def demo_loaded(data: dict[str, Any] | None = None) -> bool:
    code = (data or load_data())["region"]["division_code"]
    return Org.objects.filter(kind=OrgKind.REGION, division_code=code).exists()


class _People:
    """Unique synthetic names, ID numbers and mobile numbers from one seeded RNG."""

    def __init__(self, data: dict[str, Any], seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311  # synthetic data, not secrets
        self.surnames = data["surnames"]
        self.given = data["given_chars"]
        self.ids: set[str] = set()
        self.mobiles: set[str] = set()

    def name(self) -> str:
        given = "".join(self.rng.choice(self.given) for _ in range(self.rng.choice((1, 2, 2))))
        return str(self.rng.choice(self.surnames)) + given

    def id_number(self, region: str, birth_year: int, gender: str) -> str:
        while True:
            birth = dt.date(birth_year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))
            number = make_id_number(region, birth, self.rng.randrange(1000), gender)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def mobile(self) -> str:
        while True:
            number = "1" + self.rng.choice("3578") + f"{self.rng.randrange(10**9):09d}"
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number


def _org(kind: str, name: str, parent: Org | None, **extra: Any) -> Org:
    org = Org(
        kind=kind,
        name=name,
        parent=parent,
        path=(parent.path if parent else "") + new_path_key() + "/",
        depth=(parent.depth + 1) if parent else 0,
        **extra,
    )
    org.save(force_insert=True)
    return org


def _bulk_insert(
    model: type[ChangeLoggedModel], rows: list[Any], org_path: str, label: str
) -> None:
    """Insert ``rows`` in chunks, one chained change record per chunk holding each row's values."""
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        with bulk_writes():
            model._default_manager.bulk_create(chunk)
        append_change(
            action=ChangeAction.BULK,
            target_type=model._meta.label_lower,
            target_id=f"{chunk[0].pk}-{chunk[-1].pk}",
            target_repr=f"{len(chunk)} {label}",
            changes={"rows": {str(obj.pk): obj.creation_diff() for obj in chunk}},
            org_path=org_path,
            message="demo data",
        )


def _person(
    people: _People,
    username: str,
    region: str,
    birth_year: int,
    home_org: Org,
    *,
    with_mobile: bool,
) -> User:
    gender = people.rng.choice((Gender.MALE, Gender.FEMALE))
    number = people.id_number(region, birth_year, gender)
    cipher = pii_cipher()
    user = User(
        username=username,
        real_name=people.name(),
        home_org=home_org,
        password=make_password(None),
        gender=gender,
        birth_date=dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        id_number_cipher=cipher.encrypt(number),
        id_number_index=id_number_index(number),
        id_number_masked=mask_id_number(number),
    )
    if with_mobile:
        mobile = people.mobile()
        user.mobile_cipher = cipher.encrypt(mobile)
        user.mobile_index = mobile_index(mobile)
        user.mobile_masked = mask_mobile(mobile)
    return user


def load_demo(
    *,
    students_per_class: int = 42,
    classes_per_grade: int = 4,
    schools_per_county: int = 5,
    seed: int = 2026,
    progress: Progress | None = None,
) -> DemoSummary:
    """Create the demo region once (a second call changes nothing and says so)."""
    data = load_data()
    summary = DemoSummary()
    if demo_loaded(data):
        summary.already_loaded = True
        return summary
    say = progress or (lambda _msg: None)
    people = _People(data, seed)
    this_year = timezone.localdate().year
    stage_age = {"primary": 10, "junior": 13, "senior": 16}
    first_school: Org | None = None
    first_class: Org | None = None
    first_student: User | None = None
    serial = 0
    with transaction.atomic(), change_context(actor=system_actor(), source="system"):
        region = _org(
            OrgKind.REGION,
            data["region"]["name"],
            None,
            division_code=data["region"]["division_code"],
        )
        summary.orgs += 1
        counties: list[Org] = []
        for city_data in data["cities"]:
            city = _org(
                OrgKind.CITY, city_data["name"], region, division_code=city_data["division_code"]
            )
            summary.orgs += 1
            for county_data in city_data["counties"]:
                counties.append(
                    _org(
                        OrgKind.COUNTY,
                        county_data["name"],
                        city,
                        division_code=county_data["division_code"],
                    )
                )
                summary.orgs += 1
    for county in counties:
        for index, pattern in enumerate(data["school_patterns"][:schools_per_county], start=1):
            serial += 1
            with transaction.atomic(), change_context(actor=system_actor(), source="system"):
                school = _org(
                    OrgKind.SCHOOL,
                    pattern["name"].format(county=county.name),
                    county,
                    credit_code=make_credit_code(county.division_code, serial),
                    school_code=f"S{county.division_code}{index:04d}",
                )
                summary.orgs += 1
                first_school = first_school or school
                users: list[User] = []
                roles: list[tuple[int, str, Org, int | None]] = []
                for g_index, grade_name in enumerate(pattern["grades"]):
                    grade = _org(OrgKind.GRADE, grade_name, school)
                    summary.orgs += 1
                    birth_year = this_year - stage_age[pattern["stage"]] - g_index
                    for c in range(1, classes_per_grade + 1):
                        klass = _org(
                            OrgKind.CLASS,
                            data["class_pattern"].format(grade=grade_name, n=c),
                            grade,
                        )
                        summary.orgs += 1
                        first_class = first_class or klass
                        prefix = f"s{serial:02d}g{g_index + 1}c{c}"
                        for t in range(3):
                            users.append(
                                _person(
                                    people,
                                    f"{prefix}t{t + 1}",
                                    county.division_code,
                                    this_year - 35 - t,
                                    school,
                                    with_mobile=True,
                                )
                            )
                            roles.append((len(users) - 1, Role.TEACHER, school, None))
                            if t == 0:
                                roles.append((len(users) - 1, Role.HEAD_TEACHER, klass, None))
                        for s in range(1, students_per_class + 1):
                            users.append(
                                _person(
                                    people,
                                    f"{prefix}n{s:02d}",
                                    county.division_code,
                                    birth_year,
                                    school,
                                    with_mobile=False,
                                )
                            )
                            student_index = len(users) - 1
                            roles.append((student_index, Role.STUDENT, klass, None))
                            users.append(
                                _person(
                                    people,
                                    f"{prefix}n{s:02d}p",
                                    county.division_code,
                                    birth_year - 30,
                                    school,
                                    with_mobile=True,
                                )
                            )
                            roles.append((len(users) - 1, Role.PARENT, klass, student_index))
                _bulk_insert(User, users, school.path, "accounts")
                first_student = first_student or users[3]
                _bulk_insert(
                    RoleAssignment,
                    [
                        RoleAssignment(
                            user=users[u],
                            role=role,
                            org=org,
                            child=users[child] if child is not None else None,
                        )
                        for u, role, org, child in roles
                    ],
                    school.path,
                    "role assignments",
                )
                summary.teachers += sum(1 for r in roles if r[1] == Role.TEACHER)
                summary.students += sum(1 for r in roles if r[1] == Role.STUDENT)
                summary.parents += sum(1 for r in roles if r[1] == Role.PARENT)
            say(f"school {serial}/{len(counties) * schools_per_county}: {school.name}")
    if first_school is None or first_class is None or first_student is None:
        raise RuntimeError("The demo data file defines no schools.")
    summary.logins = _demo_accounts(data, people, region, first_school, first_class, first_student)
    return summary


def _demo_accounts(
    data: dict[str, Any],
    people: _People,
    region: Org,
    school: Org,
    klass: Org,
    child: User,
) -> list[DemoLogin]:
    """One login per role, with the demo password; MFA roles get a printed TOTP secret."""
    where = {"region": region, "school": school, "class": klass, None: None}
    logins: list[DemoLogin] = []
    cipher = pii_cipher()
    with transaction.atomic(), change_context(actor=system_actor(), source="system"):
        for spec in data["demo_accounts"]:
            org = where[spec["org"]]
            user = _person(
                people, spec["username"], "410102", 1985, org or region, with_mobile=True
            )
            user.real_name = spec["real_name"]
            user.set_password(DEMO_PASSWORD)
            user.password_changed_at = timezone.now()
            secret = None
            if spec["role"] in DEFAULT_MFA_ROLES:
                secret = pyotp.random_base32()
                user.totp_secret_cipher = cipher.encrypt(secret)
                user.totp_confirmed_at = timezone.now()
            user.save(force_insert=True)
            RoleAssignment(
                user=user,
                role=spec["role"],
                org=org,
                child=child if spec["role"] == Role.PARENT else None,
            ).save(force_insert=True)
            logins.append(DemoLogin(user.username, spec["role"], DEMO_PASSWORD, secret))
    return logins


def demo_logins() -> list[DemoLogin]:
    """The demo logins of an already loaded region, TOTP secrets decrypted (development only)."""
    data = load_data()
    cipher = pii_cipher()
    names = [spec["username"] for spec in data["demo_accounts"]]
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    roles = {spec["username"]: spec["role"] for spec in data["demo_accounts"]}
    logins = []
    for name in names:
        user = users.get(name)
        if user is None:
            continue
        secret = cipher.decrypt(bytes(user.totp_secret_cipher)) if user.totp_secret_cipher else None
        logins.append(DemoLogin(name, roles[name], DEMO_PASSWORD, secret))
    return logins
