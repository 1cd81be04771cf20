"""New names from program plans: planned spend turned into names at what each channel's
spend bought over the look-back window (pure numpy, no database, no clock).

Without a plan the funnel expects new names at the window's run rate. A plan is what
marketing has recorded, by the cut-off, that it will spend: `program_costs` rows for
periods after it. For the days a channel has a plan, the plan replaces that channel's
share of the run rate: the channel's names per unit of spend over the window times the
planned spend, instead of the names it brought per day. Days and channels without a plan
keep the run rate, so a plan for one channel moves only that channel's names, and a
plan of zero switches a channel off.

The names per unit of spend are uncertain like every other rate: each path draws them
from `Gamma(n + 0.5, spend)` (Poisson names for a known spend, Jeffreys prior), so a
channel that bought few names is trusted less. A channel planned with no spend in the
window has no rate of its own and borrows the pooled rate of all channels that had some.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NamePlan:
    """Planned spend per channel and day after the cut-off, and what each channel's spend
    bought over the window.

    `planned[c, d]`: channel `c`'s planned spend on day `d` after the cut-off (day 0 is the
    cut-off's day), NaN where no plan covers the day; `names[c]` and `spend[c]`: the names
    its programs acquired in the window and what it spent there; `window_days`: the
    window's length."""

    channels: tuple[str, ...]
    names: F64  # (C,)
    spend: F64  # (C,)
    planned: F64  # (C, days)
    window_days: float

    def __post_init__(self) -> None:
        c = len(self.channels)
        if self.names.shape != (c,) or self.spend.shape != (c,) or self.planned.shape[0] != c:
            raise ValueError("a name plan needs names, spend and a plan row per channel")

    def planned_between(self, lo: int, hi: int) -> list[float | None]:
        """Each channel's planned spend on days `[lo, hi)` after the cut-off's day; None
        where no day of it is planned (the run rate holds there)."""
        part = self.planned[:, min(lo, self.planned.shape[1]) : max(hi, 0)]
        some: list[bool] = np.any(~np.isnan(part), axis=1).astype(bool).tolist()
        total: list[float] = np.nansum(part, axis=1).tolist()
        return [t if k else None for t, k in zip(total, some, strict=True)]

    def per_spend(self, rng: np.random.Generator, paths: int) -> F64:
        """Names per unit of spend per path and channel, `(paths, C)`."""
        paid = self.spend > 0
        pooled_names, pooled_spend = float(self.names[paid].sum()), float(self.spend.sum())
        names = np.where(self.spend > 0, self.names, pooled_names)
        spend = np.where(self.spend > 0, self.spend, pooled_spend)
        if pooled_spend <= 0:  # nothing was spent in the window: no rate to learn
            return np.zeros((paths, len(self.channels)))
        return rng.gamma(np.broadcast_to(names + 0.5, (paths, len(names)))) / spend

    def adjustment(self, rng: np.random.Generator, paths: int, step_days: F64) -> F64:
        """Names to add to each path's run-rate names per step (`(paths, steps)`; negative
        where a plan spends less than the channel did): the planned channels' names at
        their drawn names per spend, minus their share of the run rate on planned days.
        Steps are consecutive, the first starting at the cut-off."""
        ends = np.cumsum(step_days)
        starts = ends - step_days
        days = self.planned.shape[1]
        planned_spend = np.zeros((len(self.channels), len(step_days)))
        planned_days = np.zeros_like(planned_spend)
        for j, (a, b) in enumerate(zip(starts, ends, strict=True)):
            lo, hi = min(round(a), days), min(round(b), days)
            part = self.planned[:, lo:hi]
            planned_spend[:, j] = np.nansum(part, axis=1)
            planned_days[:, j] = (~np.isnan(part)).sum(axis=1)
        run_rate = self.names / max(self.window_days, 1.0)  # (C,) names a day
        rate = self.per_spend(rng, paths)  # (P, C)
        out: F64 = rate @ planned_spend - (run_rate @ planned_days)[None, :]
        return out
