"""The stage chain: hazards, their posteriors, and the probabilities the simulation uses,
checked against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from revmachine.forecast.chain import (
    Bands,
    Tallies,
    absorbed_by_day,
    draw_hazards,
    forward_flow,
)
from revmachine.forecast.montecarlo import dispersion

ONE_BAND = Bands((1e9,))  # effectively no ageing


def _tallies(exposure: float, won: int, lost: int, bands: Bands = ONE_BAND) -> Tallies:
    e = np.zeros((1, bands.count))
    e[0, 0] = exposure
    x = np.zeros((1, bands.count, 3))
    x[0, 0, 1], x[0, 0, 2] = won, lost
    return Tallies(("open",), ("won", "lost"), bands, e, x, 365.0)


def test_bands_index_and_widths() -> None:
    bands = Bands((7.0, 30.0))
    assert bands.index([0.0, 6.9, 7.0, 29.0, 30.0, 400.0]).tolist() == [0, 0, 1, 1, 2, 2]
    assert bands.widths().tolist() == [7.0, 23.0, math.inf]
    with pytest.raises(ValueError, match="increase"):
        Bands((30.0, 7.0))


def test_absorption_matches_competing_exponentials() -> None:
    # hazards to won and lost, constant: P(won by t) = λw/Λ · (1 - exp(-Λ t))
    hazards = np.array([[[[0.0, 0.02, 0.03]]]])  # (P=1, S=1, B=1, D=3)
    at, curve = absorbed_by_day(hazards, Bands(()), 1, 1, [0, 10, 45, 200], np.array([1.0]))
    for i, t in enumerate((0, 10, 45, 200)):
        expected = 0.4 * (1 - math.exp(-0.05 * t))
        assert at[0, i, 0, 0] == pytest.approx(expected, rel=1e-9)
        assert curve[0, t] == pytest.approx(expected, rel=1e-9)


def test_absorption_through_a_second_stage() -> None:
    # stage a -> stage b at rate 0.1, b -> won at rate 0.05: hypoexponential CDF
    hazards = np.zeros((1, 2, 1, 3))
    hazards[0, 0, 0, 1] = 0.1
    hazards[0, 1, 0, 2] = 0.05
    at, _ = absorbed_by_day(hazards, Bands(()), 2, 2, [30], np.array([1.0, 0.0]))
    a, b, t = 0.1, 0.05, 30.0
    # the day-step chain moves at most one stage a day: allow that discretisation
    exact = 1 - (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)
    assert at[0, 0, 0, 0] == pytest.approx(exact, abs=0.02)
    assert at[0, 0, 1, 0] == pytest.approx(1 - math.exp(-b * t), rel=1e-9)


def test_posterior_draws_have_the_gamma_moments() -> None:
    t = _tallies(exposure=2000.0, won=40, lost=60)
    draws = draw_hazards(t, 200_000, np.random.default_rng(1), prior_days=30.0)
    won = draws[:, 0, 0, 1]
    # prior: 30 days at the pooled rate 40/2000; posterior Gamma(40 + 0.6, 2030)
    shape, rate = 40 + 30 * 40 / 2000, 2030.0
    assert won.mean() == pytest.approx(shape / rate, rel=0.01)
    assert won.var() == pytest.approx(shape / rate**2, rel=0.03)


def test_an_unseen_cell_borrows_its_stage_rate() -> None:
    bands = Bands((30.0,))
    e = np.array([[3000.0, 0.0]])
    x = np.zeros((1, 2, 3))
    x[0, 0, 1] = 30
    t = Tallies(("open",), ("won", "lost"), bands, e, x, 365.0)
    point = t.point(prior_days=30.0)
    assert point[0, 1, 1] == pytest.approx(30 / 3000)  # the pooled rate, from the prior alone
    assert point[0, 0, 2] == 0.0


def test_forward_flow_keeps_everyone() -> None:
    rng = np.random.default_rng(2)
    hazards = rng.uniform(0, 0.05, size=(3, 2, 2, 2))
    hazards[:, 0, :, 0] = 0.0
    hazards[:, 1, :, 1] = 0.0
    start = np.array([[100.0, 50.0], [20.0, 0.0]])
    steps = np.full(10, 7.0)
    arrivals = np.full((3, 10), 5.0)
    flow = forward_flow(hazards, Bands((14.0,)), start, steps, arrivals, 0)
    assert flow.occupancy.sum(axis=(1, 2)) == pytest.approx([170.0 + 50.0] * 3)
    assert (flow.entries >= 0).all()


def test_dispersion_of_counts() -> None:
    rng = np.random.default_rng(3)
    assert dispersion([5, 5]) == math.inf  # too few months
    poisson = rng.poisson(200, size=24).tolist()
    bursty = rng.poisson(200 * rng.gamma(4.0, 1 / 4.0, size=24)).tolist()
    assert dispersion(poisson) > 20  # barely more than Poisson, or not at all
    assert 1.0 < dispersion(bursty) < 16.0  # true shape 4
