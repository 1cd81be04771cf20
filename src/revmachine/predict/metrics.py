"""How good a ranking of leads is, in the terms marketing and sales use.

- AUC: the chance a random converter is ranked above a random non-converter.
- Average precision: the area under the precision-recall curve (what matters when few
  convert).
- Lift in the top decile: the conversion rate of the best-scored 10 % over the base rate.
- Capture at k %: the share of all converters held by the best-scored k % of leads.
- Calibration: the mean predicted probability against the observed rate per decile of
  score, and the expected calibration error (ECE) over ten equal-width probability bins,
  weighted by the bins' sizes (Guo et al. 2017, "On Calibration of Modern Neural
  Networks", eq. 3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score, roc_auc_score

CAPTURE_SHARES = (0.1, 0.2, 0.5)
ECE_BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    """One decile of score: how many people, what we predicted, what happened."""

    lower: float
    upper: float
    people: int
    mean_predicted: float
    observed_rate: float


@dataclass(frozen=True)
class Capture:
    share: float  # of the people, best-scored first (0.1 = the top 10 %)
    people: int
    converters: int
    converters_share: float  # of all converters


@dataclass(frozen=True)
class Evaluation:
    people: int
    converters: int
    base_rate: float
    auc: float
    average_precision: float
    top_decile_lift: float
    ece: float
    brier: float
    capture: list[Capture]
    calibration: list[CalibrationBin]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        return cls(
            **{
                **data,
                "capture": [Capture(**c) for c in data["capture"]],
                "calibration": [CalibrationBin(**b) for b in data["calibration"]],
            }
        )


class NotEvaluable(ValueError):
    """Metrics need both converters and non-converters."""


def evaluate(labels: NDArray[Any], probabilities: NDArray[Any]) -> Evaluation:
    """Every figure of the evaluation for one set of outcomes and predicted probabilities."""
    y = np.asarray(labels, dtype=np.int8)
    p = np.asarray(probabilities, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError("labels and probabilities must be 1-D and of the same length")
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise NotEvaluable(
            f"{len(y):,} people of whom {positives:,} converted: metrics need both "
            "converters and non-converters (try a longer horizon or an earlier cut-off)"
        )
    base = positives / len(y)
    order = np.argsort(-p, kind="stable")
    ranked = y[order]
    captures = []
    for share in CAPTURE_SHARES:
        k = max(1, round(len(y) * share))
        caught = int(ranked[:k].sum())
        captures.append(Capture(share, k, caught, caught / positives))
    top = max(1, round(len(y) * 0.1))
    lift = float(ranked[:top].mean()) / base
    return Evaluation(
        people=len(y),
        converters=positives,
        base_rate=base,
        auc=float(roc_auc_score(y, p)),
        average_precision=float(average_precision_score(y, p)),
        top_decile_lift=lift,
        ece=expected_calibration_error(y, p),
        brier=float(np.mean((p - y) ** 2)),
        capture=captures,
        calibration=calibration_table(y, p),
    )


def expected_calibration_error(y: NDArray[Any], p: NDArray[Any], bins: int = ECE_BINS) -> float:
    """Σ_b (n_b / n) · |mean(p in b) − rate(y in b)| over equal-width bins of p."""
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=y.astype(np.float64), minlength=bins)
    used = counts > 0
    gaps = np.abs(predicted[used] - observed[used]) / counts[used]
    return float(np.sum(gaps * counts[used]) / len(p))


def calibration_table(y: NDArray[Any], p: NDArray[Any], groups: int = 10) -> list[CalibrationBin]:
    """Predicted against observed per decile of score (best-scored decile last)."""
    order = np.argsort(p, kind="stable")
    table = []
    for chunk in np.array_split(order, groups):
        if len(chunk) == 0:
            continue
        table.append(
            CalibrationBin(
                lower=float(p[chunk].min()),
                upper=float(p[chunk].max()),
                people=len(chunk),
                mean_predicted=float(p[chunk].mean()),
                observed_rate=float(y[chunk].mean()),
            )
        )
    return table
