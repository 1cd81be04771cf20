"""Rates with their uncertainty: every share shown in a hand-off report has an interval.

The interval is the Wilson score interval of `analytics.intervals.wilson`, the one
definition the analytics reports use too; this module only gives the hand-off reports
their compact view of it (hits of total, and "61.0% [52–70]" for a table cell).
"""

from __future__ import annotations

from dataclasses import dataclass

from revmachine.analytics.intervals import wilson


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


def rate(hits: int, total: int) -> Rate:
    if total <= 0:
        return Rate(hits, total, None, None)
    interval = wilson(hits, total)
    return Rate(hits, total, interval.lower, interval.upper)
