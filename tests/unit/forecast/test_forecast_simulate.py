"""The simulation: exact and grouped pipeline draws agree, scenarios move the forecast the
right way, intervals cover a planted truth, scoring formulas."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import revmachine.forecast.montecarlo as sim
from revmachine.forecast import (
    Bands,
    DealHistory,
    ForecastInput,
    FunnelState,
    OpenDeals,
    RateChange,
    Scenario,
    ScoredPoint,
    Tallies,
    forecast,
    score,
    simulate,
)

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
PERIODS = (
    (AS_OF, dt.datetime(2025, 2, 1, tzinfo=dt.UTC)),
    (dt.datetime(2025, 2, 1, tzinfo=dt.UTC), dt.datetime(2025, 3, 1, tzinfo=dt.UTC)),
)
BANDS = Bands((30.0,))


def _deals(exposure: float = 20_000.0, won: int = 150, lost: int = 250) -> DealHistory:
    e = np.array([[exposure * 0.4, exposure * 0.6]])
    x = np.zeros((1, 2, 3))
    x[0, 0, 1], x[0, 1, 1] = won * 0.3, won * 0.7
    x[0, 0, 2], x[0, 1, 2] = lost * 0.5, lost * 0.5
    t = Tallies(("open",), ("won", "lost"), BANDS, e, x, 365.0)
    n = np.array([30.0, 120.0])
    return DealHistory(t, np.array([1.0]), 400, n, np.array([8000.0, 12000.0]), np.full(2, 3000.0))


def _input(open_deals: OpenDeals, funnel: FunnelState | None = None) -> ForecastInput:
    return ForecastInput(AS_OF, PERIODS, ("2025-01", "2025-02"), _deals(), open_deals, funnel)


def _open(n: int, seed: int = 4) -> OpenDeals:
    rng = np.random.default_rng(seed)
    return OpenDeals(
        np.zeros(n, dtype=np.int64),
        rng.uniform(0, 60, n).round(),
        rng.lognormal(9.5, 0.5, n).round(-2),
    )


def test_grouped_draws_match_deal_by_deal(monkeypatch: pytest.MonkeyPatch) -> None:
    deals = _open(200)
    monkeypatch.setattr(sim, "EXACT_GROUP", 10_000)
    exact = simulate(_input(deals), paths=6000, seed=5).series["pipeline_bookings"]
    monkeypatch.setattr(sim, "EXACT_GROUP", 10)
    grouped = simulate(_input(deals), paths=6000, seed=5).series["pipeline_bookings"]
    assert grouped.mean(axis=0) == pytest.approx(exact.mean(axis=0), rel=0.03)
    assert grouped.std(axis=0) == pytest.approx(exact.std(axis=0), rel=0.08)


def test_rate_uncertainty_widens_the_interval() -> None:
    deals = _open(300)
    sure = _deals(exposure=2_000_000.0, won=15_000, lost=25_000)
    vague = _deals(exposure=2_000.0, won=15, lost=25)
    spread = {}
    for name, history in (("sure", sure), ("vague", vague)):
        data = ForecastInput(AS_OF, PERIODS, ("a", "b"), history, deals)
        b = simulate(data, paths=4000, seed=6).series["pipeline_bookings"][:, 0]
        spread[name] = np.quantile(b, 0.9) - np.quantile(b, 0.1)
    assert spread["vague"] > 1.5 * spread["sure"]


def test_win_rate_scenario_raises_bookings_and_drivers_are_exact_at_zero() -> None:
    data = _input(_open(80))
    base = forecast(data, paths=2000, seed=7)
    better = forecast(
        data, paths=2000, seed=7, scenario=Scenario(rates=(RateChange("*", "won", 1.2),))
    )
    assert better.series["bookings"].mean[0] > base.series["bookings"].mean[0]
    drivers = forecast(
        data,
        paths=2000,
        seed=7,
        drivers=(
            ("nothing", Scenario()),
            ("win +10%", Scenario(rates=(RateChange("*", "won", 1.1),))),
        ),
    ).drivers
    assert drivers[0].total_delta == 0.0  # same seed, same inputs: no noise
    assert drivers[1].total_delta > 0


def _funnel() -> FunnelState:
    stages = ("known", "mql", "opportunity")
    e = np.array([[50_000.0, 100_000.0], [2_000.0, 1_000.0], [1_000.0, 1_000.0]])
    x = np.zeros((3, 2, 3))
    x[0, :, 1] = (300, 200)  # known -> mql
    x[1, :, 2] = (100, 20)  # mql -> opportunity
    x[1, :, 0] = (20, 40)  # mql -> known (recycled)
    t = Tallies(stages, (), BANDS, e, x, 365.0)
    inventory = np.array([[500.0, 4000.0], [30.0, 10.0], [0.0, 0.0]])
    return FunnelState(t, inventory, "known", "opportunity", ("mql", "opportunity"), 3000, 120)


def test_more_names_more_mqls_and_new_deals() -> None:
    data = _input(_open(20), _funnel())
    base = simulate(data, paths=2000, seed=8)
    more = simulate(data, paths=2000, seed=8, scenario=Scenario(extra_names_per_month=2000))
    for name in ("names", "entries:mql", "new_deals"):
        assert more.series[name].mean() > base.series[name].mean()
    fixed = simulate(data, paths=2000, seed=8, scenario=Scenario(names_per_month=0.0))
    assert fixed.series["names"].max() == 0.0
    assert (base.series["bookings"] >= base.series["pipeline_bookings"]).all()


def test_intervals_cover_a_planted_truth() -> None:
    """Plant known rates, draw history from them, forecast from the history and compare
    with futures drawn from the same rates: the 80 % interval holds about 80 %."""
    rng = np.random.default_rng(9)
    inside50 = inside80 = 0
    trials = 120
    for _ in range(trials):
        true_won, true_lost = rng.uniform(0.005, 0.02), rng.uniform(0.005, 0.03)
        exposure = 3000.0
        e = np.array([[exposure]])
        x = np.zeros((1, 1, 3))
        x[0, 0, 1] = rng.poisson(true_won * exposure)
        x[0, 0, 2] = rng.poisson(true_lost * exposure)
        t = Tallies(("open",), ("won", "lost"), Bands(()), e, x, 365.0)
        history = DealHistory(t, np.array([1.0]), 0, np.zeros(1), np.zeros(1), np.zeros(1))
        n = 60
        amounts = rng.lognormal(9.0, 0.4, n)
        deals = OpenDeals(np.zeros(n, dtype=np.int64), np.zeros(n), amounts)
        data = ForecastInput(AS_OF, PERIODS[:1], ("m",), history, deals)
        b = simulate(data, paths=1000, seed=int(rng.integers(1 << 30))).series["pipeline_bookings"][
            :, 0
        ]
        total = true_won + true_lost
        p_won = true_won / total * (1 - math.exp(-total * 31))
        actual = float(amounts[rng.random(n) < p_won].sum())
        q = np.quantile(b, [0.1, 0.25, 0.75, 0.9])
        inside80 += q[0] <= actual <= q[3]
        inside50 += q[1] <= actual <= q[2]
    # binomial noise on 120 trials: sd about 3.7 points at 80 %, 4.6 at 50 %
    assert 0.70 <= inside80 / trials <= 0.90
    assert 0.37 <= inside50 / trials <= 0.63


def test_scores() -> None:
    qs = {0.1: 80.0, 0.25: 90.0, 0.5: 100.0, 0.75: 110.0, 0.9: 120.0}
    points = [
        ScoredPoint("c", 1, "p", "bookings", 100.0, 100.0, qs),
        ScoredPoint("c", 2, "p", "bookings", 130.0, 110.0, qs),
        ScoredPoint("c", 3, "p", "other", 5.0, 5.0, qs),
    ]
    s = score("bookings", points)
    assert s.points == 2
    assert s.wape == pytest.approx(20 / 230)
    assert s.bias == pytest.approx(-20 / 230)
    assert s.coverage_50 == 0.5 and s.coverage_80 == 0.5
    # pinball at q for the second point: q * (130 - yq) each
    second = sum(q * (130 - v) for q, v in qs.items())
    first = 0.1 * 20 + 0.25 * 10 + 0 + 0.25 * 10 + 0.1 * 20  # (1-q)(yq - 100) above
    assert s.pinball == pytest.approx((first + second) / 10 / 115)
