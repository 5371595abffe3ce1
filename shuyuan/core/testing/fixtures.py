"""Pytest fixtures of core: an org tree and query guards (account fixtures live in identity)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.models import Org, OrgKind, new_path_key
from shuyuan.core.synthetic import make_credit_code

_serial = itertools.count(1)


@dataclass
class Tree:
    """A small region: two counties, one school each, a grade and a class per school.

    ``school_a``/``class_a`` sit in ``county_a``; ``school_b``/``class_b`` in ``county_b``.
    """

    region: Org
    city: Org
    county_a: Org
    county_b: Org
    school_a: Org
    grade_a: Org
    class_a: Org
    school_b: Org
    grade_b: Org
    class_b: Org


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


def build_tree() -> Tree:
    """Build the tree directly (as the system actor), without going through permission checks."""
    with change_context(actor=system_actor(), source="system"):
        region = _org(OrgKind.REGION, "Henan", None, division_code="410000")
        city = _org(OrgKind.CITY, "Zhengzhou", region, division_code="410100")
        county_a = _org(OrgKind.COUNTY, "Zhongyuan", city, division_code="410102")
        county_b = _org(OrgKind.COUNTY, "Erqi", city, division_code="410103")
        school_a = _org(
            OrgKind.SCHOOL,
            "School A",
            county_a,
            credit_code=make_credit_code("410102", 1),
            school_code="S4101020001",
        )
        grade_a = _org(OrgKind.GRADE, "Grade 7", school_a)
        class_a = _org(OrgKind.CLASS, "Class 7-1", grade_a)
        school_b = _org(
            OrgKind.SCHOOL,
            "School B",
            county_b,
            credit_code=make_credit_code("410103", 2),
            school_code="S4101030001",
        )
        grade_b = _org(OrgKind.GRADE, "Grade 7", school_b)
        class_b = _org(OrgKind.CLASS, "Class 7-1", grade_b)
    return Tree(
        region, city, county_a, county_b, school_a, grade_a, class_a, school_b, grade_b, class_b
    )


@pytest.fixture
def tree(db: Any) -> Tree:
    return build_tree()


class QueryBudgetExceeded(AssertionError):
    pass


@pytest.fixture
def assert_max_queries(db: Any) -> Callable[[int], Any]:
    """``with assert_max_queries(n): ...`` fails if the block runs more than ``n`` queries."""
    import contextlib

    @contextlib.contextmanager
    def guard(limit: int) -> Iterator[CaptureQueriesContext]:
        with CaptureQueriesContext(connection) as ctx:
            yield ctx
        if len(ctx.captured_queries) > limit:
            listing = "\n".join(q["sql"][:200] for q in ctx.captured_queries)
            raise QueryBudgetExceeded(
                f"{len(ctx.captured_queries)} queries (limit {limit}):\n{listing}"
            )

    return guard
