"""The quality score of a resource (``Resource.quality_score``, 0–100) and its thresholds.

The score blends three signals, each first put on a 0–100 scale:

``rating`` — the Bayesian average of the star ratings, so that a resource with two 5-star
    ratings does not outrank one with two hundred 4.6-star ratings. Every resource starts with
    ``PRIOR_WEIGHT`` (5) imaginary ratings of ``PRIOR_MEAN`` (3.5 stars, a middling resource):

        bayes = (PRIOR_WEIGHT * PRIOR_MEAN + sum of stars) / (PRIOR_WEIGHT + number of ratings)
        rating = (bayes - 1) / 4 * 100            (1 star → 0, 5 stars → 100)

    With no rating at all the term is (3.5 - 1) / 4 * 100 = 62.5.

``expert`` — the mean of the expert evaluations (already 0–100).

``usage`` — how much the resource is used, log-scaled so that popularity helps a little and
    saturates instead of running away:

        usage = 100 * min(1, log10(1 + views + DOWNLOAD_WEIGHT * downloads) / log10(1 + USAGE_CAP))

    A download counts ``DOWNLOAD_WEIGHT`` (5) views (it is a stronger sign of use); ``USAGE_CAP``
    (999) weighted uses give the full 100, so 9 give 33.3 and 99 give 66.7.

The weights: ``W_RATING`` 0.5, ``W_EXPERT`` 0.35, ``W_USAGE`` 0.15. Ratings come from the
people who use the resource and are the broadest signal, so they weigh most; expert
evaluations are few but informed (the review standard of the platform), so they weigh a third;
usage measures reach rather than quality (a mandatory worksheet is downloaded by a whole grade
whatever its quality), so it only nudges. A resource without expert evaluations is scored on
rating and usage alone, with their weights rescaled to sum to one (0.5/0.65 and 0.15/0.65), so a
missing evaluation neither helps nor hurts.

Worked example (checked in the tests): ratings 5, 5, 4; experts 80 and 90; 4 views and 1
download. bayes = (17.5 + 14) / 8 = 3.9375, rating = 73.4375; expert = 85;
usage = 100 * log10(10) / 3 = 33.33; score = 0.5 * 73.4375 + 0.35 * 85 + 0.15 * 33.33 = 71.47.

Low quality, for retirement (``actions.evaluation.flag_for_retirement``): a resource listed for
at least ``LOW_QUALITY_DAYS`` (90) days whose quality score is below ``LOW_QUALITY_THRESHOLD``
(40), with at least ``LOW_QUALITY_MIN_RATINGS`` (5) ratings, and with no improvement in the last
90 days: the plain average of the ratings given (or last changed) in the last 90 days, and of
those before, are each below the threshold on the same 0–100 scale (40 ↔ 2.6 stars). A resource
whose older ratings were bad but whose recent ones are good is not flagged; a resource with no
recent rating counts as not improved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRIOR_MEAN = 3.5
PRIOR_WEIGHT = 5
DOWNLOAD_WEIGHT = 5
USAGE_CAP = 999
W_RATING = 0.5
W_EXPERT = 0.35
W_USAGE = 0.15

LOW_QUALITY_THRESHOLD = 40.0
LOW_QUALITY_MIN_RATINGS = 5
LOW_QUALITY_DAYS = 90


@dataclass(frozen=True)
class QualityInputs:
    """What the score is computed from."""

    stars_sum: int = 0
    rating_count: int = 0
    expert_mean: float | None = None
    views: int = 0
    downloads: int = 0


def stars_to_scale(stars: float) -> float:
    """1–5 stars on the 0–100 scale (1 → 0, 3 → 50, 5 → 100)."""
    return (stars - 1.0) / 4.0 * 100.0


def rating_term(stars_sum: int, rating_count: int) -> float:
    """The Bayesian-average rating on the 0–100 scale."""
    bayes = (PRIOR_WEIGHT * PRIOR_MEAN + stars_sum) / (PRIOR_WEIGHT + rating_count)
    return stars_to_scale(bayes)


def usage_term(views: int, downloads: int) -> float:
    """The log-scaled use on the 0–100 scale."""
    uses = max(0, views) + DOWNLOAD_WEIGHT * max(0, downloads)
    return 100.0 * min(1.0, math.log10(1 + uses) / math.log10(1 + USAGE_CAP))


def quality_score(inputs: QualityInputs) -> float:
    """The quality score (0–100, rounded to two decimals) of ``inputs``; see the module."""
    rating = rating_term(inputs.stars_sum, inputs.rating_count)
    usage = usage_term(inputs.views, inputs.downloads)
    if inputs.expert_mean is None:
        total = W_RATING + W_USAGE
        score = (W_RATING * rating + W_USAGE * usage) / total
    else:
        score = W_RATING * rating + W_EXPERT * inputs.expert_mean + W_USAGE * usage
    return round(max(0.0, min(100.0, score)), 2)
