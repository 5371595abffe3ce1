"""Bayesian Knowledge Tracing through pyBKT: fit per-knowledge-point parameters on answers and
read each student's mastery after their last answer.

pyBKT (CAHLR, MIT licence) fits one hidden Markov model per skill by EM: ``prior`` (P(L0),
mastered before the first answer), ``learn`` (P(T), learning at each opportunity), ``guess``
and ``slip``. The C++/OpenMP engine is built from source by ``scripts/install``; the pure-Python
fallback gives the same estimates about 300 times slower (``ENGINE`` says which is loaded).

Facts about the library this wrapper handles (see docs/dev/dependencies.md):

- It reads a DataFrame with ``user_id``, ``skill_name``, ``correct`` and an integer
  ``order_id``; skill names are matched as anchored regular expressions, so they are ASCII
  ``kp<id>`` names built here, never knowledge-point names.
- ``fit`` and ``predict`` re-sort the frame they are given, so each gets its own copy.
- The state estimate of a row excludes that row's own answer. Mastery after the last answer is
  read from one extra row per student and point with no answer (``correct = -1``) placed
  after all their answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Random restarts of EM per knowledge point (pyBKT's default is 5).
DEFAULT_FITS = 5
DEFAULT_SEED = 42


def _engine() -> str:
    try:
        import pyBKT
    except ImportError:  # pragma: no cover - pyBKT is a dependency
        return "missing"
    return f"pyBKT {pyBKT.version}"


#: "pyBKT 1.4 (Python/C++)" with the compiled engine, "pyBKT 1.4 (Python)" without.
ENGINE = _engine()


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One marked answer: ``student_id`` answered an item about ``point_id``; ``order``
    sorts one student's answers in time."""

    student_id: int
    point_id: int
    correct: bool
    order: int


@dataclass(frozen=True, slots=True)
class Params:
    """Fitted parameters of one knowledge point, and the answers they were fitted on."""

    prior: float
    learn: float
    guess: float
    slip: float
    n: int


@dataclass
class BktResult:
    params: dict[int, Params] = field(default_factory=dict)
    #: P(mastered) after all answers, per (student id, point id).
    mastery: dict[tuple[int, int], float] = field(default_factory=dict)
    engine: str = ENGINE
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    n_answers: int = 0
    n_students: int = 0
    n_points: int = 0


def skill_name(point_id: int) -> str:
    return f"kp{point_id}"


def _point_id(name: str) -> int:
    return int(name[2:])


def frame(answers: Iterable[AnswerRow]) -> pd.DataFrame:
    """The DataFrame pyBKT reads, built column by column (one pass, no per-row objects kept)."""
    students: list[int] = []
    points: list[int] = []
    correct: list[int] = []
    orders: list[int] = []
    for row in answers:
        students.append(row.student_id)
        points.append(row.point_id)
        correct.append(1 if row.correct else 0)
        orders.append(row.order)
    return frame_from_arrays(
        np.asarray(students, dtype=np.int64),
        np.asarray(points, dtype=np.int64),
        np.asarray(correct, dtype=np.int64),
        np.asarray(orders, dtype=np.int64),
    )


def frame_from_arrays(
    students: np.ndarray[Any, Any],
    points: np.ndarray[Any, Any],
    correct: np.ndarray[Any, Any],
    orders: np.ndarray[Any, Any],
) -> pd.DataFrame:
    """The pyBKT frame from equal-length integer arrays (``correct`` is 0/1, or -1 for none)."""
    names = np.char.add("kp", points.astype(str)).astype(object) if len(points) else points
    return pd.DataFrame(
        {"user_id": students, "skill_name": names, "correct": correct, "order_id": orders}
    )


def new_model(*, num_fits: int = DEFAULT_FITS, seed: int = DEFAULT_SEED) -> Any:
    from pyBKT.models import Model

    return Model(seed=seed, num_fits=num_fits)


def read_params(model: Any, counts: dict[int, int]) -> dict[int, Params]:
    """Fitted parameters per point id from ``model.params()``."""
    table = model.params().reset_index()
    found: dict[int, dict[str, float]] = {}
    for skill, param, klass, value in table[["skill", "param", "class", "value"]].itertuples(
        index=False
    ):
        values = found.setdefault(_point_id(str(skill)), {})
        # One default resource and one default item class: "learns"/"guesses"/"slips" rows.
        if param == "prior":
            values["prior"] = float(value)
        elif param == "learns":
            values["learn"] = float(value)
        elif param == "guesses":
            values["guess"] = float(value)
        elif param == "slips":
            values["slip"] = float(value)
        del klass
    return {
        point: Params(
            prior=v.get("prior", 0.0),
            learn=v.get("learn", 0.0),
            guess=v.get("guess", 0.0),
            slip=v.get("slip", 0.0),
            n=counts.get(point, 0),
        )
        for point, v in found.items()
    }


def final_mastery(model: Any, data: pd.DataFrame) -> dict[tuple[int, int], float]:
    """P(mastered) after every student's last answer on each point they answered."""
    last = data.groupby(["user_id", "skill_name"], sort=False)["order_id"].max().reset_index()
    probe = pd.DataFrame(
        {
            "user_id": last["user_id"].to_numpy(),
            "skill_name": last["skill_name"].to_numpy(),
            "correct": np.full(len(last), -1, dtype=np.int64),
            "order_id": last["order_id"].to_numpy() + 1,
        }
    )
    both = pd.concat([data, probe], ignore_index=True)
    both["probe"] = np.concatenate(
        [np.zeros(len(data), dtype=bool), np.ones(len(probe), dtype=bool)]
    )
    predicted = model.predict(data=both.copy())
    rows = predicted[predicted["probe"]]
    return {
        (int(user), _point_id(str(skill))): float(state)
        for user, skill, state in rows[["user_id", "skill_name", "state_predictions"]].itertuples(
            index=False
        )
    }


def fit_frame(
    data: pd.DataFrame, *, num_fits: int = DEFAULT_FITS, seed: int = DEFAULT_SEED
) -> BktResult:
    """Fit on a pyBKT frame and read parameters and final mastery (see ``fit``)."""
    result = BktResult(n_answers=len(data))
    if data.empty:
        return result
    model = new_model(num_fits=num_fits, seed=seed)
    started = time.perf_counter()
    model.fit(data=data.copy())
    result.fit_seconds = time.perf_counter() - started
    counts = {_point_id(str(k)): int(v) for k, v in data["skill_name"].value_counts().items()}
    result.params = read_params(model, counts)
    started = time.perf_counter()
    result.mastery = final_mastery(model, data)
    result.predict_seconds = time.perf_counter() - started
    result.n_students = int(data["user_id"].nunique())
    result.n_points = len(counts)
    return result


def fit(
    answers: Iterable[AnswerRow], *, num_fits: int = DEFAULT_FITS, seed: int = DEFAULT_SEED
) -> BktResult:
    """Fit BKT per knowledge point on ``answers`` and estimate every student's mastery.

    Deterministic for a given ``seed``. An empty input gives an empty result.
    """
    return fit_frame(frame(answers), num_fits=num_fits, seed=seed)
