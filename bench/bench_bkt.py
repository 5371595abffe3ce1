"""Knowledge-tracing benchmark: pyBKT (through ``shuyuan.learning.exams.bkt``) on synthetic
responses from simulated students whose mastery is known.

Each knowledge point gets its own true BKT parameters (prior, learn, guess, slip drawn at
random); each student answers ``--answers`` questions per point; whether they have mastered the
point is simulated step by step, so the truth is known at every answer. The script prints:

- the fit time on all responses (pyBKT EM, ``--fits`` restarts per point) and the time to read
  every student's final mastery;
- AUC of the predicted probability of a correct answer (pyBKT's one-step-ahead prediction,
  from earlier answers only) against the simulated answers, in sample and on held-out
  students (fit on 80 %, predict on the other 20 %), next to the AUC of an oracle that knows
  the true latent state (the ceiling any model can reach on these data);
- AUC of the estimated mastery against the simulated true mastery state;
- the mean absolute error of the recovered parameters.

    .venv/bin/python bench/bench_bkt.py                 # 1,000,000 responses
    .venv/bin/python bench/bench_bkt.py --responses 100000 --points 10
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import roc_auc_score  # after the path insert

from shuyuan.learning.exams import bkt  # after the path insert


def simulate(
    students: int, points: int, answers: int, seed: int
) -> tuple[pd.DataFrame, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Responses in pyBKT's frame; true parameters per point; per response the true latent
    state before answering and the true P(correct)."""
    rng = np.random.default_rng(seed)
    truth = {
        "prior": rng.uniform(0.1, 0.5, points),
        "learn": rng.uniform(0.05, 0.3, points),
        "guess": rng.uniform(0.1, 0.3, points),
        "slip": rng.uniform(0.05, 0.2, points),
    }
    # Arrays shaped (students, points, answers), simulated one step at a time over answers.
    mastered = rng.random((students, points)) < truth["prior"][None, :]
    state = np.empty((students, points, answers), dtype=bool)
    correct = np.empty((students, points, answers), dtype=np.int64)
    for t in range(answers):
        state[:, :, t] = mastered
        p_correct = np.where(mastered, 1 - truth["slip"][None, :], truth["guess"][None, :])
        correct[:, :, t] = rng.random((students, points)) < p_correct
        mastered = mastered | (rng.random((students, points)) < truth["learn"][None, :])
    student_ids = np.broadcast_to(np.arange(students)[:, None, None], state.shape).ravel()
    point_ids = np.broadcast_to(np.arange(points)[None, :, None], state.shape).ravel()
    # Interleave points in time: answer t of point k comes at t * points + k.
    order = (
        np.broadcast_to(np.arange(answers)[None, None, :], state.shape) * points
        + np.broadcast_to(np.arange(points)[None, :, None], state.shape)
    ).ravel()
    data = bkt.frame_from_arrays(student_ids, point_ids, correct.ravel(), order)
    true_p = np.where(
        state.ravel(), 1 - truth["slip"][point_ids], truth["guess"][point_ids]
    ).astype(float)
    return data, truth, state.ravel(), true_p


def predictions(model: object, data: pd.DataFrame) -> pd.DataFrame:
    """pyBKT's per-row predictions, aligned back to ``data``'s rows."""
    framed = data.copy()
    framed["row"] = np.arange(len(framed))
    predicted = model.predict(data=framed)  # type: ignore[attr-defined]  # pyBKT Model
    return predicted.sort_values("row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--answers", type=int, default=10, help="answers per student and point")
    parser.add_argument("--fits", type=int, default=bkt.DEFAULT_FITS)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    students = max(1, args.responses // (args.points * args.answers))
    print(f"engine: {bkt.ENGINE}   cores: {os.cpu_count()}")
    started = time.perf_counter()
    data, truth, state, true_p = simulate(students, args.points, args.answers, args.seed)
    print(
        f"simulated {len(data):,} responses: {students:,} students x {args.points} knowledge "
        f"points x {args.answers} answers in {time.perf_counter() - started:.1f} s"
    )

    model = bkt.new_model(num_fits=args.fits, seed=args.seed)
    started = time.perf_counter()
    model.fit(data=data.copy())
    fit_seconds = time.perf_counter() - started
    print(f"fit ({args.fits} EM restarts per point): {fit_seconds:.1f} s")

    started = time.perf_counter()
    mastery = bkt.final_mastery(model, data)
    print(
        f"final mastery of {len(mastery):,} student-point pairs: "
        f"{time.perf_counter() - started:.1f} s"
    )

    predicted = predictions(model, data)
    observed = data["correct"].to_numpy()
    auc_in = roc_auc_score(observed, predicted["correct_predictions"].to_numpy())
    auc_oracle = roc_auc_score(observed, true_p)
    auc_state = roc_auc_score(state, predicted["state_predictions"].to_numpy())

    # Held out: fit on 80 % of the students, predict the other 20 %.
    held = data["user_id"].to_numpy() >= int(students * 0.8)
    holdout_model = bkt.new_model(num_fits=args.fits, seed=args.seed)
    holdout_model.fit(data=data[~held].copy())
    held_predicted = predictions(holdout_model, data[held].reset_index(drop=True))
    auc_held = roc_auc_score(observed[held], held_predicted["correct_predictions"].to_numpy())
    auc_held_oracle = roc_auc_score(observed[held], true_p[held])

    params = bkt.read_params(model, {})
    errors = {
        name: float(
            np.mean([abs(getattr(params[k], name) - truth[name][k]) for k in range(args.points)])
        )
        for name in ("prior", "learn", "guess", "slip")
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| responses | {len(data):,} |")
    print(f"| fit time | {fit_seconds:.1f} s |")
    print(f"| AUC, predicted correctness vs simulated answers (in sample) | {auc_in:.4f} |")
    print(f"| AUC, same, held-out 20 % of students | {auc_held:.4f} |")
    print(
        f"| AUC ceiling (oracle knowing the true state), all / held out | "
        f"{auc_oracle:.4f} / {auc_held_oracle:.4f} |"
    )
    print(f"| AUC, estimated mastery vs simulated true mastery | {auc_state:.4f} |")
    print(
        "| mean abs. error of recovered prior / learn / guess / slip | "
        + " / ".join(f"{errors[n]:.3f}" for n in ("prior", "learn", "guess", "slip"))
        + " |"
    )
    print(f"| peak memory | {peak:,.0f} MiB |")


if __name__ == "__main__":
    main()
