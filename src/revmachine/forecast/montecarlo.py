"""The forecast: open pipeline plus funnel, simulated path by path (pure, vectorised numpy).

Each of `paths` paths is one possible future:

1. it draws its own rates from their posteriors (`chain.draw_hazards`: the deal chain's
   hazards, the people chain's hazards, the new-names rate and the deals per opportunity
   entry), so a path with a bad win rate is bad for every deal at once — the part of the
   uncertainty that individual deals' luck cannot average away. The deal chain's
   hazards are drawn `RATE_DRAWS` times at most and path `p` uses draw `p mod
   RATE_DRAWS` (a nested Monte Carlo: the outer draws stand for the rates' posterior,
   each path still draws its own deals' luck), because turning each draw into chances
   of a win by each day (`chain.absorbed_by_day`) costs a pass per day over every
   (state, band): with 27 deal states (stage x size x segment) and 10,000 paths it was
   three of the simulation's five seconds;
2. **pipeline**: every open deal, from its stage and age, is won in period k with the
   path's chance (`chain.absorbed_by_day`); deals in one (stage, age band) are
   exchangeable given the path, so a large group is drawn as a multinomial count and its
   amount as the sum of that many of its deals (normal, with the finite-population
   correction), a small group deal by deal (exact);
3. **funnel**: today's inventory per (stage, age band) and the new names of each step move
   through the people chain (`chain.forward_flow`, expected counts given the path), and
   each period's entries are drawn Poisson around them; new opportunities come from the
   entries into the opportunity stage times the deals opened per entry — or, with no
   stage history (a CRM-only store), from the run rate of deals created — and are won
   along the deal chain from its entry stages.

Scenarios change the inputs of the same simulation (`Scenario`); drivers are scenarios
run with the same seed (common random numbers), so their differences are not noise.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from revmachine.forecast.chain import (
    F64,
    I64,
    Bands,
    Tallies,
    absorbed_by_day,
    draw_hazards,
    forward_flow,
)
from revmachine.forecast.plan import NamePlan

DAY = 86400.0
MONTH_DAYS = 365.25 / 12
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
#: A (stage, band) group of at most this many open deals is simulated deal by deal.
EXACT_GROUP = 40
#: Draws of the deal chain's rates shared by the paths (see the module's docstring).
RATE_DRAWS = 1000


@dataclass(frozen=True)
class OpenDeals:
    """The deals open at the cut-off: stage index (in the deal chain), age in that stage
    (days) and amount."""

    stage: I64
    age_days: F64
    amount: F64
    ids: I64 | None = None  # the store's opportunity ids, for scoring
    #: False when the open deals' amounts cannot be trusted (a CRM export whose open rows
    #: already carry the final value): each win is then valued like the window's wins.
    amounts_known: bool = True

    @property
    def count(self) -> int:
        return len(self.stage)


@dataclass(frozen=True)
class DealHistory:
    """The deal chain (stages + outcomes won, lost) learned over the look-back window,
    the share of new deals opened in each stage, and the new deals' amounts."""

    tallies: Tallies
    entry_shares: F64  # (S,)
    created: int  # deals created in the window
    #: Won deals in the window by days from creation to the win (the chain's age bands):
    #: count, mean and standard deviation of their amounts. Quick wins are smaller deals,
    #: so a new deal won soon after it opens is valued at the quick wins' amounts.
    won_count: F64  # (B,)
    won_mean: F64  # (B,)
    won_sd: F64  # (B,)
    #: Month-to-month overdispersion of deal creation: the shape k of a Gamma month
    #: effect (variance of a month's count = m + m²/k); inf when Poisson suffices.
    created_dispersion: float = math.inf
    #: The same for the wins per month: how much more they swing than chance (quarter-end
    #: pushes, holidays); each period's chances to win are scaled by such a month effect.
    won_dispersion: float = math.inf

    def amounts(self) -> tuple[F64, F64, F64]:
        """Per band (count, mean, sd), empty bands filled from all won deals."""
        n = self.won_count
        total = float(n.sum())
        if total == 0:
            return n, np.zeros_like(n), np.zeros_like(n)
        overall = float((n * self.won_mean).sum() / total)
        second = float((n * (self.won_sd**2 + self.won_mean**2)).sum() / total)
        sd_all = math.sqrt(max(second - overall**2, 0.0))
        mean = np.where(n > 0, self.won_mean, overall)
        sd = np.where(n > 1, self.won_sd, sd_all)
        return np.where(n > 0, n, total), mean, sd

    @property
    def won(self) -> int:
        return self.tallies.destination_index("won")


@dataclass(frozen=True)
class FunnelState:
    """People: the chain over the revenue model's stages, who is where now (people at or
    past the opportunity stage are left out: their deals are the pipeline), new names and
    entries into the opportunity stage over the window."""

    tallies: Tallies
    inventory: F64  # (S, B)
    entry_stage: str
    opportunity_stage: str
    report_stages: tuple[str, ...]  # the stages whose entries are forecast
    names: int
    opportunity_entries: int
    names_dispersion: float = math.inf  # as `DealHistory.created_dispersion`, for names


@dataclass(frozen=True)
class ForecastInput:
    as_of: dt.datetime
    periods: tuple[tuple[dt.datetime, dt.datetime], ...]
    labels: tuple[str, ...]
    deals: DealHistory
    open_deals: OpenDeals
    funnel: FunnelState | None = None
    name_plan: NamePlan | None = None  # planned program spend (see `forecast.plan`)


@dataclass(frozen=True)
class RateChange:
    """Multiply the rate (hazard) from `from_stage` to `to_stage` by `factor`: more people
    convert, and sooner; the other ways out keep their rates, so they lose only the people
    who now convert first. `to_stage` "won" with `from_stage` "*" changes the win rate of
    every deal stage."""

    from_stage: str
    to_stage: str
    factor: float

    def label(self) -> str:
        return f"{self.from_stage}_to_{self.to_stage} {self.factor - 1:+.0%}"


@dataclass(frozen=True)
class Scenario:
    names_per_month: float | None = None  # None: the measured rate (uncertain)
    extra_names_per_month: float = 0.0
    rates: tuple[RateChange, ...] = ()

    def is_baseline(self) -> bool:
        return self == Scenario()


@dataclass(frozen=True)
class Samples:
    """Simulated outcomes: series name -> `(paths, periods)`."""

    labels: tuple[str, ...]
    series: dict[str, F64]
    #: Each path's expected bookings per period given its rates (no deal-level luck):
    #: smooth in the inputs, so scenarios compared on it with the same seed differ only
    #: by what changed.
    expected_bookings: F64 = field(default_factory=lambda: np.zeros((0, 0)))


def simulate(
    data: ForecastInput,
    *,
    paths: int,
    seed: int,
    scenario: Scenario = Scenario(),
    prior_days: float = 30.0,
) -> Samples:
    rng = np.random.default_rng(seed)
    edges = _period_days(data.as_of, data.periods)
    k = len(edges) - 1
    deals = data.deals
    draws = min(paths, RATE_DRAWS)
    hd = draw_hazards(deals.tallies, draws, rng, prior_days)
    for change in scenario.rates:
        if change.to_stage == "won":
            hd = _apply_rate(hd, deals.tallies, change)
    n_stages = len(deals.tallies.stages)
    at_edges, curve = absorbed_by_day(
        hd, deals.tallies.bands, n_stages, deals.won, edges, deals.entry_shares
    )
    draw = np.arange(paths) % draws  # each path's draw of the deal rates
    series: dict[str, F64] = {}
    unknown = None
    if not data.open_deals.amounts_known:
        n_won, mean_won, sd_won = deals.amounts()
        total = max(float(n_won.sum()), 1.0)
        mean = float((n_won * mean_won).sum() / total)
        second = float((n_won * (sd_won**2 + mean_won**2)).sum() / total)
        unknown = (mean, math.sqrt(max(second - mean**2, 0.0)))
    period_days = np.diff(np.array(edges, dtype=np.float64))
    effect = _month_effects(rng, deals.won_dispersion, period_days, paths)
    wins, bookings, expected = _pipeline(
        rng, data.open_deals, deals.tallies.bands, at_edges, draw, unknown, effect
    )
    series["pipeline_wins"], series["pipeline_bookings"] = wins, bookings
    step_days, step_period = _steps(edges)
    mids = np.cumsum(step_days) - step_days / 2
    new_per_step, funnel_series = _new_deals(
        rng, data, scenario, paths, step_days, step_period, k, prior_days
    )
    series.update(funnel_series)
    series["new_deals"] = rng.poisson(_by_period(new_per_step, step_period, k)).astype(float)
    n_won, mean_amount, sd_amount = deals.amounts()
    # each path's mean amount per band, uncertain by its standard error
    path_amount = np.maximum(
        rng.normal(mean_amount, sd_amount / np.sqrt(np.maximum(n_won, 1.0)), (paths, len(n_won))),
        0.0,
    )
    won_mean, won_value, won_sq = _new_deal_wins(
        new_per_step, mids, edges, curve[draw], deals.tallies.bands, path_amount, sd_amount
    )
    won_mean, won_value, won_sq = won_mean * effect, won_value * effect, won_sq * effect
    new_wins = rng.poisson(won_mean).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_win = np.where(won_mean > 0, won_value / won_mean, 0.0)
        sd_win = np.sqrt(
            np.maximum(np.where(won_mean > 0, won_sq / won_mean, 0.0) - per_win**2, 0.0)
        )
    noise = rng.standard_normal(new_wins.shape) * np.sqrt(new_wins) * sd_win
    series["new_deal_wins"] = new_wins
    series["new_deal_bookings"] = np.maximum(new_wins * per_win + noise, 0.0)
    series["wins"] = wins + new_wins
    series["bookings"] = bookings + series["new_deal_bookings"]
    return Samples(data.labels, series, expected + won_value)


def _period_days(
    as_of: dt.datetime, periods: tuple[tuple[dt.datetime, dt.datetime], ...]
) -> list[int]:
    if not periods:
        raise ValueError("a forecast needs at least one period")
    edges = [0]
    for _, end in periods:
        edges.append(max(edges[-1] + 1, round((end - as_of).total_seconds() / DAY)))
    return edges


def _steps(edges: list[int]) -> tuple[F64, I64]:
    """Steps of about a week that end exactly on the period edges."""
    days: list[float] = []
    period: list[int] = []
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        n = max(1, round((b - a) / 7))
        days.extend([(b - a) / n] * n)
        period.extend([i] * n)
    return np.array(days), np.array(period, dtype=np.int64)


def _by_period(per_step: F64, step_period: I64, k: int) -> F64:
    out = np.zeros((per_step.shape[0], k))
    np.add.at(out.T, step_period, per_step.T)
    return out


def _pipeline(
    rng: np.random.Generator,
    deals: OpenDeals,
    bands: Bands,
    at_edges: F64,
    draw: I64,
    unknown: tuple[float, float] | None = None,
    effect: F64 | None = None,
) -> tuple[F64, F64, F64]:
    """Wins, bookings and expected bookings per path and period of the open deals, path
    `p` with the chances of rate draw `draw[p]` (`at_edges[draw[p]]`). With `unknown`
    (mean, sd) every deal is valued at the mean and each win adds the spread of the won
    amounts."""
    paths, k = len(draw), at_edges.shape[1] - 1
    wins = np.zeros((paths, k))
    bookings = np.zeros((paths, k))
    expected = np.zeros((paths, k))
    if deals.count == 0:
        return wins, bookings, expected
    band = bands.index(deals.age_days)
    group = deals.stage * bands.count + band
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        s, b = divmod(int(g), bands.count)
        cum = at_edges[draw, :, s, b]  # (P, K+1), cum[:, 0] = 0
        if effect is not None:
            per = np.clip(np.diff(cum, axis=1), 0.0, 1.0) * effect
            per /= np.maximum(per.sum(axis=1, keepdims=True), 1.0)
            cum = np.concatenate([np.zeros((paths, 1)), np.cumsum(per, axis=1)], axis=1)
        amounts = deals.amount[members] if unknown is None else np.full(len(members), unknown[0])
        expected += np.clip(np.diff(cum, axis=1), 0.0, 1.0) * float(amounts.sum())
        if len(members) <= EXACT_GROUP:
            u = rng.random((paths, len(members)))
            won_by = (u[:, :, None] < cum[:, None, 1:]).astype(np.float64)  # (P, n, K)
            # won by each period's end, summed over the deals first: the differences
            # between periods are then taken on (P, K), not on (P, n, K)
            wins += np.diff(won_by.sum(axis=1), axis=1, prepend=0.0)
            bookings += np.diff(won_by.transpose(0, 2, 1) @ amounts, axis=1, prepend=0.0)
        else:
            probs = np.clip(np.diff(cum, axis=1), 0.0, 1.0)
            rest = np.clip(1.0 - probs.sum(axis=1, keepdims=True), 0.0, 1.0)
            full = np.concatenate([probs, rest], axis=1)
            full /= full.sum(axis=1, keepdims=True)
            counts = rng.multinomial(len(members), full)[:, :k].astype(np.float64)
            n = len(members)
            mean, var = float(amounts.mean()), float(amounts.var())
            spread = np.sqrt(counts * var * np.maximum(n - counts, 0.0) / max(n - 1, 1))
            total = counts * mean + spread * rng.standard_normal(counts.shape)
            wins += counts
            bookings += np.clip(total, 0.0, float(amounts.sum()))
    if unknown is not None:
        noise = rng.standard_normal(wins.shape) * np.sqrt(wins) * unknown[1]
        bookings = np.maximum(bookings + noise, 0.0)
    return wins, bookings, expected


def _new_deals(
    rng: np.random.Generator,
    data: ForecastInput,
    scenario: Scenario,
    paths: int,
    step_days: F64,
    step_period: I64,
    k: int,
    prior_days: float,
) -> tuple[F64, dict[str, F64]]:
    """Expected new deals per step `(P, J)` and the funnel's own series."""
    deals = data.deals
    funnel = data.funnel
    window = max(deals.tallies.window_days, 1.0)
    if funnel is None or funnel.opportunity_entries == 0:
        rate = rng.gamma(deals.created + 0.5, 1.0 / window, size=(paths, 1))
        month_effect = _month_effects(rng, deals.created_dispersion, step_days, paths)
        return rate * step_days[None, :] * month_effect, {}
    t = funnel.tallies
    hp = draw_hazards(t, paths, rng, prior_days)
    for change in scenario.rates:
        if change.to_stage != "won":
            hp = _apply_rate(hp, t, change)
    if scenario.names_per_month is not None:
        names_rate = np.full((paths, 1), scenario.names_per_month / MONTH_DAYS)
    else:
        names_rate = rng.gamma(funnel.names + 0.5, 1.0 / max(t.window_days, 1.0), (paths, 1))
    names_rate = names_rate + scenario.extra_names_per_month / MONTH_DAYS
    arrivals = names_rate * step_days[None, :]
    if data.name_plan is not None and scenario.names_per_month is None:
        # the program plans replace their channels' run rate where they say something
        arrivals = np.maximum(arrivals + data.name_plan.adjustment(rng, paths, step_days), 0.0)
    if scenario.names_per_month is None:
        arrivals = arrivals * _month_effects(rng, funnel.names_dispersion, step_days, paths)
    entry = t.stage_index(funnel.entry_stage)
    flow = forward_flow(hp, t.bands, funnel.inventory, step_days, arrivals, entry)
    series: dict[str, F64] = {
        "names": rng.poisson(_by_period(arrivals, step_period, k)).astype(float)
    }
    for stage in funnel.report_stages:
        mean = _by_period(flow.entries[:, :, t.destination_index(stage)], step_period, k)
        series[f"entries:{stage}"] = rng.poisson(mean).astype(float)
    per_entry = rng.gamma(deals.created + 0.5, 1.0 / funnel.opportunity_entries, (paths, 1))
    opp = flow.entries[:, :, t.destination_index(funnel.opportunity_stage)]
    return opp * per_entry, series


def _new_deal_wins(
    new_per_step: F64,
    mids: F64,
    edges: list[int],
    curve: F64,
    bands: Bands,
    amount: F64,
    sd: F64,
) -> tuple[F64, F64, F64]:
    """Expected wins per period of the deals opened in each step (opened mid-step), their
    expected value, and the expected sum of squared amounts (for the spread)."""
    paths, k = new_per_step.shape[0], len(edges) - 1
    days = curve.shape[1] - 1
    wins = np.zeros((paths, k))
    value = np.zeros((paths, k))
    square = np.zeros((paths, k))
    edge = np.array(edges, dtype=np.float64)
    for j, mid in enumerate(mids):
        lags = np.clip(np.round(edge - mid).astype(np.int64), 0, days)
        won = np.maximum(np.diff(curve[:, lags], axis=1), 0.0) * new_per_step[:, j : j + 1]
        band = bands.index(np.maximum((edge[:-1] + edge[1:]) / 2 - mid, 0.0))
        wins += won
        value += won * amount[:, band]
        square += won * (amount[:, band] ** 2 + sd[band] ** 2)
    return wins, value, square


def _month_effects(rng: np.random.Generator, dispersion: float, step_days: F64, paths: int) -> F64:
    """Multiplicative Gamma noise per step with mean 1, independent between steps, so
    that a month's total has the relative variance 1/k measured between months."""
    if not math.isfinite(dispersion) or dispersion <= 0:
        return np.ones((paths, len(step_days)))
    shape = dispersion * step_days / MONTH_DAYS
    return rng.gamma(np.broadcast_to(shape, (paths, len(step_days)))) / shape


def dispersion(monthly_counts: list[int]) -> float:
    """Method-of-moments Gamma shape k of monthly counts (variance = m + m²/k): how much
    more the counts vary month to month than Poisson; inf if not more."""
    if len(monthly_counts) < 3:
        return math.inf
    values = np.array(monthly_counts, dtype=np.float64)
    m, v = float(values.mean()), float(values.var(ddof=1))
    if m <= 0 or v <= m:
        return math.inf
    return m * m / (v - m)


def _apply_rate(hazards: F64, tallies: Tallies, change: RateChange) -> F64:
    """Multiply the hazard from `from_stage` to `to_stage` by `factor` at every age."""
    names = tallies.stages if change.from_stage == "*" else (change.from_stage,)
    d = tallies.destination_index(change.to_stage)
    out = hazards.copy()
    for name in names:
        out[:, tallies.stage_index(name), :, d] *= change.factor
    return out


@dataclass(frozen=True)
class SeriesSummary:
    name: str
    mean: tuple[float, ...]
    quantiles: dict[float, tuple[float, ...]]

    def interval(self, level: float, k: int) -> tuple[float, float]:
        lo, hi = round((1 - level) / 2, 4), round((1 + level) / 2, 4)
        return self.quantiles[lo][k], self.quantiles[hi][k]


@dataclass(frozen=True)
class Driver:
    name: str
    scenario: Scenario
    bookings_delta: tuple[float, ...]  # mean change per period
    total_delta: float


@dataclass(frozen=True)
class Forecast:
    as_of: dt.datetime
    labels: tuple[str, ...]
    paths: int
    scenario: Scenario
    series: dict[str, SeriesSummary]
    drivers: tuple[Driver, ...] = field(default=())


def summarise(samples: Samples) -> dict[str, SeriesSummary]:
    out = {}
    for name, values in samples.series.items():
        qs = np.quantile(values, QUANTILES, axis=0)
        out[name] = SeriesSummary(
            name,
            tuple(float(v) for v in values.mean(axis=0)),
            {q: tuple(float(v) for v in row) for q, row in zip(QUANTILES, qs, strict=True)},
        )
    return out


def forecast(
    data: ForecastInput,
    *,
    paths: int,
    seed: int,
    scenario: Scenario = Scenario(),
    drivers: tuple[tuple[str, Scenario], ...] = (),
    driver_paths: int | None = None,
) -> Forecast:
    """Simulate, summarise, and (if asked) run each driver scenario on top of `scenario`
    with the same seed, reporting its change in mean bookings."""
    base = simulate(data, paths=paths, seed=seed, scenario=scenario)
    found: list[Driver] = []
    if drivers:
        n = driver_paths or paths
        ref = base if n == paths else simulate(data, paths=n, seed=seed, scenario=scenario)
        ref_mean = ref.expected_bookings.mean(axis=0)
        for name, extra in drivers:
            combined = replace(
                scenario,
                extra_names_per_month=scenario.extra_names_per_month + extra.extra_names_per_month,
                rates=scenario.rates + extra.rates,
            )
            run = simulate(data, paths=n, seed=seed, scenario=combined)
            delta = run.expected_bookings.mean(axis=0) - ref_mean
            found.append(Driver(name, extra, tuple(float(v) for v in delta), float(delta.sum())))
    return Forecast(data.as_of, data.labels, paths, scenario, summarise(base), tuple(found))
