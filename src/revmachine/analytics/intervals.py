"""Rates with their uncertainty: the Wilson score interval for a proportion.

Why Wilson and not the textbook p ± z·sqrt(p(1-p)/n): the latter collapses to a zero-width
interval at 0 % and 100 % and leaves [0, 1] for small cohorts, which is where funnel stages
live (Brown, Cai & DasGupta, "Interval Estimation for a Binomial Proportion", Statistical
Science 16(2), 2001, recommend Wilson). It is five lines of arithmetic on two counts, so it
is written here rather than pulling in statsmodels; a unit test checks it against SciPy's
`binomtest(...).proportion_ci(method="wilson")`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile for a confidence level (1.96 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


@dataclass(frozen=True)
class Rate:
    """`successes` of `trials`, the share, and its confidence interval (None if no trials)."""

    successes: int
    trials: int
    value: float | None
    lower: float | None
    upper: float | None
    confidence: float = 0.95


def wilson(successes: int, trials: int, confidence: float = 0.95) -> Rate:
    """Wilson score interval (Wilson 1927; formula as in Brown, Cai & DasGupta 2001, eq. 4)."""
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return Rate(successes, trials, None, None, None, confidence)
    z = z_value(confidence)
    n = float(trials)
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator
    # Clamp the rounding noise at the edges (0 and n successes give exactly 0 and 1).
    return Rate(successes, trials, p, max(0.0, centre - half), min(1.0, centre + half), confidence)
