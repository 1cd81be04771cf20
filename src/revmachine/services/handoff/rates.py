"""Rates with their uncertainty: every share shown in a hand-off report has an interval.

The Wilson score interval (Wilson 1927, "Probable inference, the law of succession, and
statistical inference", JASA 22:209–212) behaves at the small counts a rep's month gives
(3 of 4 accepted), where the normal approximation leaves [0, 1]; Brown, Cai & DasGupta
(2001, Statistical Science 16:101–133) recommend it for exactly that. Seven lines do not
justify a statistics dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int
    low: float | None  # 95% Wilson interval; None when total is 0
    high: float | None

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def describe(self) -> str:
        if self.value is None or self.low is None or self.high is None:
            return "-"
        return f"{100 * self.value:.1f}% [{100 * self.low:.0f}–{100 * self.high:.0f}]"


def rate(hits: int, total: int, z: float = Z95) -> Rate:
    if total <= 0:
        return Rate(hits, total, None, None)
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return Rate(hits, total, max(0.0, centre - half), min(1.0, centre + half))
