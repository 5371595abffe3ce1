"""The pyBKT wrapper: parameters recovered from simulated learners, mastery read after the last
answer, deterministic for a seed."""

from __future__ import annotations

import random

import pytest

from shuyuan.learning.exams import bkt

TRUE = {"prior": 0.3, "learn": 0.15, "guess": 0.2, "slip": 0.1}


def simulate(students: int, points: tuple[int, ...], answers: int, seed: int = 7):
    """Answers of simulated learners (BKT generative model with ``TRUE`` parameters), and
    whether each learner ended mastered."""
    rng = random.Random(seed)
    rows: list[bkt.AnswerRow] = []
    final: dict[tuple[int, int], bool] = {}
    for student in range(students):
        for point in points:
            mastered = rng.random() < TRUE["prior"]
            for order in range(answers):
                correct = rng.random() > TRUE["slip"] if mastered else rng.random() < TRUE["guess"]
                rows.append(bkt.AnswerRow(student, point, correct, order))
                if not mastered and rng.random() < TRUE["learn"]:
                    mastered = True
            final[(student, point)] = mastered
    return rows, final


def test_engine_is_pybkt():
    assert bkt.ENGINE.startswith("pyBKT ")


def test_empty_input_gives_an_empty_result():
    result = bkt.fit([])
    assert result.params == {} and result.mastery == {} and result.n_answers == 0


def test_parameters_recovered_from_simulated_learners():
    rows, _final = simulate(300, (11, 12), 12)
    result = bkt.fit(rows, num_fits=3)
    assert set(result.params) == {11, 12}
    for params in result.params.values():
        assert params.n == 300 * 12
        assert params.prior == pytest.approx(TRUE["prior"], abs=0.1)
        assert params.learn == pytest.approx(TRUE["learn"], abs=0.07)
        assert params.guess == pytest.approx(TRUE["guess"], abs=0.07)
        assert params.slip == pytest.approx(TRUE["slip"], abs=0.07)
    assert result.n_students == 300 and result.n_points == 2 and result.n_answers == len(rows)


def test_mastery_after_the_last_answer_separates_learners():
    rows, final = simulate(300, (5,), 10)
    result = bkt.fit(rows, num_fits=2)
    assert set(result.mastery) == set(final)
    knew = [p for key, p in result.mastery.items() if final[key]]
    did_not = [p for key, p in result.mastery.items() if not final[key]]
    assert sum(knew) / len(knew) > 0.8 > 0.5 > sum(did_not) / len(did_not)


def test_last_answer_counts():
    """Two learners with the same history but the last answer: the right one is higher."""
    rows, _ = simulate(200, (3,), 8)
    history = [True, False, True, False, True, False]
    extra = [bkt.AnswerRow(1000, 3, c, i) for i, c in enumerate([*history, True])]
    extra += [bkt.AnswerRow(1001, 3, c, i) for i, c in enumerate([*history, False])]
    result = bkt.fit([*rows, *extra], num_fits=2)
    assert result.mastery[(1000, 3)] > result.mastery[(1001, 3)]


def test_same_seed_same_estimates():
    rows, _ = simulate(80, (1,), 6)
    first = bkt.fit(rows, num_fits=2, seed=3)
    second = bkt.fit(rows, num_fits=2, seed=3)
    assert first.params == second.params and first.mastery == second.mastery
