"""A stage chain with piecewise-constant hazards, and the uncertainty of its rates.

Deals and people both move through stages: while in a stage, each way out (the next stage,
won, lost, a detour) has a hazard — exits per day at risk — that depends on the age in the
stage (bands such as 0-7, 7-30, 30-90 days). This is the piecewise exponential model
(Friedman, "Piecewise exponential models for survival data with covariates", Annals of
Statistics 10(1), 1982): from the days at risk `E` and the exits `n` in each cell the
maximum-likelihood hazard is `n / E`, and with a Gamma prior the posterior is again Gamma,
`Gamma(shape = a + n, rate = b + E)`. Censoring is handled by construction: a spell still
open at the cut-off adds days at risk and no exit.

Honest intervals need the rates' own uncertainty, not only the luck of individual deals, so
every simulated path draws its own hazards from the posterior (`draw_hazards`); a cell seen
rarely is uncertain and is shrunk towards its stage's pooled hazard (the prior carries
`prior_days` days at risk at the pooled rate), so an empty cell behaves like its stage.

Time moves in steps of `dt` days; within a step a state leaves with probability
`1 - exp(-Λ dt)` (Λ the sum of its hazards), to each way out in proportion to its hazard,
and otherwise ages into the next band with probability `dt / width` (a geometric stand-in
for the deterministic ageing, exact in the mean time spent in each band). Entering a stage
starts at its first band. Pure numpy, no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Default age bands (upper edges, days): 0-7, 7-30, 30-90, 90-180, 180+.
DEFAULT_EDGES: tuple[float, ...] = (7.0, 30.0, 90.0, 180.0)


@dataclass(frozen=True)
class Bands:
    """Age-in-stage bands given by their upper edges in days; the last band is open."""

    edges: tuple[float, ...] = DEFAULT_EDGES

    def __post_init__(self) -> None:
        if any(b <= a for a, b in zip((0.0, *self.edges), self.edges, strict=False)):
            raise ValueError(f"band edges must increase from above 0: {self.edges}")

    @property
    def count(self) -> int:
        return len(self.edges) + 1

    @property
    def lower(self) -> tuple[float, ...]:
        return (0.0, *self.edges)

    def widths(self) -> F64:
        """Days in each band (infinite for the last)."""
        lo = np.array(self.lower)
        hi = np.array((*self.edges, np.inf))
        widths: F64 = hi - lo
        return widths

    def index(self, ages_days: npt.ArrayLike) -> I64:
        """The band of each age (negative ages count as 0)."""
        return np.searchsorted(np.array(self.edges), np.maximum(ages_days, 0.0), side="right")

    def labels(self) -> list[str]:
        lo = self.lower
        return [
            f"{lo[i]:g}-{self.edges[i]:g}d" if i < len(self.edges) else f"{lo[i]:g}d+"
            for i in range(self.count)
        ]


@dataclass(frozen=True)
class Tallies:
    """Days at risk and exits per (stage, age band) over a look-back window.

    `exits[s, b, d]`: exits from stage `s` at an age in band `b` to destination `d`, where
    destinations are the stages (in `stages` order, entering at band 0) followed by the
    absorbing `outcomes` (won, lost). `exposure[s, b]`: days spent in stage `s` at ages in
    band `b` inside the window.
    """

    stages: tuple[str, ...]
    outcomes: tuple[str, ...]
    bands: Bands
    exposure: F64  # (S, B)
    exits: F64  # (S, B, S + O)
    window_days: float = 0.0

    def __post_init__(self) -> None:
        s, b, d = len(self.stages), self.bands.count, len(self.stages) + len(self.outcomes)
        if self.exposure.shape != (s, b) or self.exits.shape != (s, b, d):
            raise ValueError(
                f"tallies shapes {self.exposure.shape}, {self.exits.shape} do not match "
                f"{s} stages, {b} bands, {d} destinations"
            )

    @property
    def destinations(self) -> tuple[str, ...]:
        return (*self.stages, *self.outcomes)

    def stage_index(self, name: str) -> int:
        return self.stages.index(name)

    def destination_index(self, name: str) -> int:
        return self.destinations.index(name)

    def pooled(self) -> F64:
        """Each stage's hazard to each destination over all ages: `(S, D)` per day."""
        days = self.exposure.sum(axis=1)
        events = self.exits.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(days[:, None] > 0, events / days[:, None], 0.0)

    def point(self, prior_days: float = 30.0) -> F64:
        """Posterior-mean hazards `(S, B, D)`."""
        shape, rate = self._posterior(prior_days)
        return shape / rate

    def _posterior(self, prior_days: float) -> tuple[F64, F64]:
        pooled = self.pooled()[:, None, :]
        shape = self.exits + prior_days * pooled
        rate = (self.exposure + prior_days)[:, :, None] * np.ones_like(shape)
        return shape, rate


def draw_hazards(
    tallies: Tallies, paths: int, rng: np.random.Generator, prior_days: float = 30.0
) -> F64:
    """Hazards per path `(paths, S, B, D)`, each drawn from its Gamma posterior."""
    shape, rate = tallies._posterior(prior_days)
    draws = np.zeros((paths, *shape.shape))
    live = shape > 0  # a way out never seen, even pooled, has rate 0: nothing to draw
    draws[:, live] = rng.standard_gamma(np.broadcast_to(shape[live], (paths, int(live.sum()))))
    return draws / rate


def absorbed_by_day(
    hazards: F64,
    bands: Bands,
    n_stages: int,
    target: int,
    keep: list[int],
    entry: F64,
) -> tuple[F64, F64]:
    """The chance of having reached the absorbing destination `target` (won) by day `t`.

    Returns `(at_keep, curve)`: `at_keep[p, i, s, b]` for a deal in stage `s`, band `b`
    at day 0 and `t = keep[i]`; `curve[p, t]` for a new deal entering the stages in the
    shares `entry` (t = 0 .. max(keep)). Backward recursion on the day-step chain,
    `a_t = P a_(t-1)`, exact for a time-homogeneous chain: one pass gives every horizon.
    """
    p = hazards.shape[0]
    days = max(keep) if keep else 0
    # Paths last, so that every operation below runs over contiguous rows of P values;
    # the moves between stages go pair by pair over the (from, to) pairs some path can
    # take (a handful: deals move forward), not as a dense (S x S) product per path.
    # Both halved the CPU of this loop, the simulation's largest part (docs/forecast.md).
    h = np.moveaxis(hazards, 0, -1)  # (S, B, D, P)
    total = h.sum(axis=2)
    leave = -np.expm1(-total)  # one day's step
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, leave / total, 0.0)  # a way out's share of `leave`
    remain = 1.0 - leave
    age = remain * np.minimum(1.0, 1.0 / bands.widths())[None, :, None]
    stay = remain - age
    hit = h[:, :, target, :] * scale
    pairs = np.argwhere((h[:, :, :n_stages, :] > 0).any(axis=(1, 3))).tolist()
    moves = [np.ascontiguousarray(h[s, :, d, :] * scale[s]) for s, d in pairs]  # (B, P)
    at_keep = np.zeros((len(keep), n_stages, bands.count, p))
    curve = np.zeros((days + 1, p))
    a = np.zeros((n_stages, bands.count, p))
    following = np.empty_like(a)
    moved = np.empty((bands.count, p))
    age_head, age_last = np.ascontiguousarray(age[:, :-1]), np.ascontiguousarray(age[:, -1])
    wanted = {t: i for i, t in enumerate(keep)}
    for t in range(1, days + 1):
        np.multiply(stay, a, out=following)
        following[:, :-1] += age_head * a[:, 1:]
        following[:, -1] += age_last * a[:, -1]
        following += hit
        for (s, d), m in zip(pairs, moves, strict=True):
            np.multiply(m, a[d, 0], out=moved)
            following[s] += moved
        a, following = following, a
        curve[t] = entry @ a[:, 0]
        if t in wanted:
            at_keep[wanted[t]] = a
    return np.moveaxis(at_keep, -1, 0), np.ascontiguousarray(curve.T)


@dataclass
class FlowResult:
    """Expected entries into each stage per step, and into each absorbing outcome."""

    entries: F64  # (P, steps, S + O)
    occupancy: F64 = field(default_factory=lambda: np.zeros(0))  # (P, S, B) at the end


def forward_flow(
    hazards: F64,
    bands: Bands,
    start: F64,
    step_days: F64,
    arrivals: F64,
    arrival_stage: int,
) -> FlowResult:
    """Propagate expected occupancy forward: `start[s, b]` people now (same for every
    path), `arrivals[p, j]` new people entering `arrival_stage` during step `j` (of
    `step_days[j]` days). Returns the expected entries into each destination per step.

    Mean-field per path: given a path's rates, people move independently, so the count of
    entries in a period is a sum of many independent small chances — the caller draws it
    as Poisson around this mean, and the rates' uncertainty comes from the paths.
    """
    p, n_stages = hazards.shape[0], hazards.shape[1]
    n_dest = hazards.shape[-1]
    x = np.broadcast_to(start, (p, *start.shape)).astype(np.float64).copy()
    entries = np.zeros((p, len(step_days), n_dest))
    total = hazards.sum(axis=-1)
    with np.errstate(divide="ignore"):
        per_hazard = np.where(total > 0, 1.0 / total, 0.0)  # the leavers' share per hazard
    widths = bands.widths()
    for j, dt in enumerate(step_days):
        leave = -np.expm1(-total * float(dt))
        flow = np.einsum("psb,psbd->pd", x * leave * per_hazard, hazards)
        entries[:, j] = flow
        remain = x * (1.0 - leave)
        aged = remain * np.minimum(1.0, float(dt) / widths)
        x = remain - aged
        x[:, :, 1:] += aged[:, :, :-1]
        x[:, :, -1] += aged[:, :, -1]
        x[:, :, 0] += flow[:, :n_stages]
        # half the step's arrivals have had time to move: a simple midpoint rule would
        # need another pass; arrivals enter at the end of the step instead (a lag of half
        # a step, a few days).
        x[:, arrival_stage, 0] += arrivals[:, j]
    return FlowResult(entries, x)
