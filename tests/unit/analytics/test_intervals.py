"""The Wilson interval: hand-computable cases, published values and SciPy's implementation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest

from revmachine.analytics.intervals import wilson, z_value


def test_z_for_95_percent() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_hand_computed_half() -> None:
    # 5 of 10 with z=1.96: centre 0.5, half = z*sqrt(0.025 + z²/400)/(1 + z²/10).
    z = z_value(0.95)
    half = z * math.sqrt(0.25 / 10 + z * z / 400) / (1 + z * z / 10)
    rate = wilson(5, 10)
    assert rate.value == 0.5
    assert rate.lower == pytest.approx(0.5 - half)
    assert rate.upper == pytest.approx(0.5 + half)


def test_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17, table I, example (81/263): 0.2553-0.3662.
    rate = wilson(81, 263)
    assert rate.lower == pytest.approx(0.2553, abs=5e-5)
    assert rate.upper == pytest.approx(0.3662, abs=5e-5)


def test_edges_stay_inside_zero_one() -> None:
    none, every = wilson(0, 7), wilson(7, 7)
    assert none.lower == 0.0 and none.upper is not None and 0 < none.upper < 1
    assert every.upper == 1.0 and every.lower is not None and 0 < every.lower < 1


def test_no_trials_has_no_rate() -> None:
    rate = wilson(0, 0)
    assert rate.value is None and rate.lower is None and rate.upper is None


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="successes <= trials"):
        wilson(3, 2)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_matches_scipy(case: tuple[int, int]) -> None:
    successes, trials = case
    ours = wilson(successes, trials)
    theirs = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    assert ours.lower == pytest.approx(theirs.low, abs=1e-9)
    assert ours.upper == pytest.approx(theirs.high, abs=1e-9)
