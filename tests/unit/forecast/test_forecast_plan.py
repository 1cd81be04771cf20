"""`forecast.plan`: planned program spend replaces its channel's run rate of new names on
the days it covers, at the names per spend the channel bought over the window."""

from __future__ import annotations

import numpy as np
import pytest

from revmachine.forecast import NamePlan

WINDOW = 365.0


def _plan(planned: list[list[float]], names: list[float], spend: list[float]) -> NamePlan:
    return NamePlan(
        tuple(f"c{i}" for i in range(len(names))),
        np.array(names),
        np.array(spend),
        np.array(planned, dtype=np.float64),
        WINDOW,
    )


def test_a_plan_doubling_the_spend_doubles_the_channels_names() -> None:
    # 365 names for 365,000 spent: 1 name a day at 1,000 a day; the plan spends 2,000 a
    # day for 30 days, then nothing is planned
    plan = _plan([[2000.0] * 30 + [np.nan] * 30], [365.0], [365_000.0])
    added = plan.adjustment(np.random.default_rng(1), 4000, np.array([30.0, 30.0]))
    assert added.shape == (4000, 2)
    # 30 more names in the planned month (2 a day instead of 1), none in the unplanned one
    assert added[:, 0].mean() == pytest.approx(30.0, rel=0.05)
    assert np.all(added[:, 1] == 0.0)
    # the rate's own uncertainty: 365 names make it about 5 % uncertain
    assert 0.02 < added[:, 0].std() / 60.0 < 0.08


def test_a_plan_of_zero_switches_the_channel_off_and_leaves_the_others() -> None:
    plan = _plan(
        [[0.0] * 10, [np.nan] * 10], [730.0, 365.0], [100_000.0, 50_000.0]
    )  # channel 0 brought 2 names a day; channel 1 is not planned
    added = plan.adjustment(np.random.default_rng(2), 100, np.array([10.0]))
    assert added[:, 0] == pytest.approx(np.full(100, -20.0))


def test_a_channel_planned_without_spend_in_the_window_borrows_the_pooled_rate() -> None:
    # channel 1 spent nothing in the window (its 50 names cost nothing): planned at 1,000
    # a day it buys names at the paid channel's rate, 1 per 1,000
    plan = _plan([[np.nan] * 10, [1000.0] * 10], [365.0, 0.0], [365_000.0, 0.0])
    added = plan.adjustment(np.random.default_rng(3), 4000, np.array([10.0]))
    assert added[:, 0].mean() == pytest.approx(10.0, rel=0.05)


def test_planned_spend_per_period_says_where_there_is_no_plan() -> None:
    plan = _plan([[100.0] * 5 + [np.nan] * 5], [10.0], [1000.0])
    assert plan.planned_between(0, 5) == [500.0]
    assert plan.planned_between(3, 8) == [200.0]
    assert plan.planned_between(5, 10) == [None]
