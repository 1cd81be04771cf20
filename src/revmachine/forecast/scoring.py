"""Scoring forecasts against what happened: WAPE, bias, pinball loss, interval coverage.

Each scored point is one (cut-off, period, series): the forecast's mean and quantiles and
the actual value. Definitions (`analytics.definitions`: `wape`, `forecast_bias`,
`pinball_loss`, `interval_coverage`):

- WAPE = Σ|actual − mean| / Σ actual (weighted absolute percentage error; a period with
  a large actual weighs more, and a period with nothing booked does not divide by zero);
- bias = Σ(mean − actual) / Σ actual (positive: the forecast was too high);
- pinball loss at quantile q = mean of max(q (y − ŷ_q), (q − 1)(y − ŷ_q)), averaged over
  the quantiles forecast and divided by the mean actual, so it reads as a share;
- coverage of the central 50 % and 80 % intervals: the share of actuals inside
  [q25, q75] and [q10, q90], ends included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ScoredPoint:
    cutoff: str
    period: int  # 1 = the first period after the cut-off
    label: str
    series: str
    actual: float
    mean: float
    quantiles: dict[float, float]


@dataclass(frozen=True)
class Score:
    series: str
    points: int
    actual_total: float
    wape: float | None
    bias: float | None
    pinball: float | None
    coverage_50: float | None
    coverage_80: float | None


def pinball(q: float, actual: float, predicted: float) -> float:
    diff = actual - predicted
    return max(q * diff, (q - 1.0) * diff)


def inside(point: ScoredPoint, level: float) -> bool:
    lo = point.quantiles[round((1 - level) / 2, 4)]
    hi = point.quantiles[round((1 + level) / 2, 4)]
    return lo <= point.actual <= hi


def score(series: str, points: Sequence[ScoredPoint]) -> Score:
    pts = [p for p in points if p.series == series]
    n = len(pts)
    actual = sum(p.actual for p in pts)
    if n == 0:
        return Score(series, 0, 0.0, None, None, None, None, None)
    wape = sum(abs(p.actual - p.mean) for p in pts) / actual if actual > 0 else None
    bias = sum(p.mean - p.actual for p in pts) / actual if actual > 0 else None
    losses = [pinball(q, p.actual, v) for p in pts for q, v in p.quantiles.items()]
    mean_actual = actual / n
    loss = (sum(losses) / len(losses)) / mean_actual if mean_actual > 0 and losses else None
    return Score(
        series,
        n,
        actual,
        wape,
        bias,
        loss,
        sum(inside(p, 0.5) for p in pts) / n,
        sum(inside(p, 0.8) for p in pts) / n,
    )
