"""Kaplan–Meier and Aalen–Johansen on aggregated counts, against hand computation and
against lifelines on the same durations (one row per subject there)."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times, qth_survival_time

from revmachine.analytics.survival import Tally, aalen_johansen, kaplan_meier, merge_tallies


def _tallies(durations: list[float], outcomes: list[str | None]) -> list[Tally]:
    counts = Counter(zip(durations, outcomes, strict=True))
    return merge_tallies((t, o, n) for (t, o), n in counts.items())


def test_hand_computed_curve() -> None:
    # Times 1, 2, 2+, 3, 4+ (+ censored): S(1)=4/5, S(2)=4/5*3/4=0.6, S(3)=0.6*1/2=0.3.
    km = kaplan_meier(_tallies([1, 2, 2, 3, 4], ["e", "e", None, "e", None]))
    assert [p.survival for p in km.points] == pytest.approx([0.8, 0.6, 0.3, 0.3])
    assert [p.at_risk for p in km.points] == [5, 4, 2, 1]
    assert km.quantile(0.5).time == 3.0  # the first time S <= 0.5
    assert km.quantile(0.2).time == 1.0
    assert km.quantile(0.9).time is None  # S never falls to 0.1


def test_no_event_means_not_reached() -> None:
    km = kaplan_meier(_tallies([5, 6], [None, None]))
    assert km.quantile(0.5).time is None
    assert km.survival_at(100) == 1.0


def _random_cohort(seed: int, n: int) -> tuple[list[float], list[str | None]]:
    rng = random.Random(seed)
    durations: list[float] = []
    outcomes: list[str | None] = []
    for _ in range(n):
        durations.append(float(rng.randint(0, 60)))  # whole days: many ties, like the SQL
        roll = rng.random()
        outcomes.append("won" if roll < 0.45 else "lost" if roll < 0.7 else None)
    return durations, outcomes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kaplan_meier_equals_lifelines(seed: int) -> None:
    durations, outcomes = _random_cohort(seed, 400)
    observed = [o == "won" for o in outcomes]
    ours = kaplan_meier(_tallies(durations, ["won" if e else None for e in observed]))
    kmf = KaplanMeierFitter().fit(durations, observed)
    theirs = kmf.survival_function_["KM_estimate"]
    bands = kmf.confidence_interval_
    for point in ours.points:
        assert point.survival == pytest.approx(theirs.loc[point.time], abs=1e-12)
        if 0 < point.survival < 1:
            assert point.lower == pytest.approx(bands.iloc[:, 0].loc[point.time], abs=1e-9)
            assert point.upper == pytest.approx(bands.iloc[:, 1].loc[point.time], abs=1e-9)
    median = ours.quantile(0.5)
    assert median.time == kmf.median_survival_time_
    ci = median_survival_times(bands)
    assert median.lower == ci.iloc[0, 0]
    assert median.upper == ci.iloc[0, 1]
    for p in (0.1, 0.25, 0.75):
        expected = qth_survival_time(1 - p, kmf.survival_function_)
        got = ours.quantile(p).time
        assert (got is None and math.isinf(expected)) or got == expected


def test_aalen_johansen_hand_computed() -> None:
    # 4 subjects: won at 1, lost at 2, censored at 2, won at 3.
    # F_won(1)=1/4; S=3/4; F_lost(2)=3/4*1/3=1/4; S=1/2; at risk at 3: 1 -> F_won(3)=1/4+1/2.
    cif = aalen_johansen(_tallies([1, 2, 2, 3], ["won", "lost", None, "won"]), ["won", "lost"])
    assert cif.at("won", 1) == pytest.approx(0.25)
    assert cif.at("lost", 2) == pytest.approx(0.25)
    assert cif.final("won") == pytest.approx(0.75)
    assert cif.final("won") + cif.final("lost") <= 1.0


@pytest.mark.parametrize("seed", [4, 5])
def test_aalen_johansen_equals_lifelines(seed: int) -> None:
    # lifelines breaks tied event times by jitter, so these durations are all distinct.
    rng = random.Random(seed)
    durations = [float(t) for t in rng.sample(range(1, 2000), 300)]
    outcomes: list[str | None] = [rng.choice(["won", "lost", None]) for _ in durations]
    ours = aalen_johansen(_tallies(durations, outcomes), ["won", "lost"])
    codes = [1 if o == "won" else 2 if o == "lost" else 0 for o in outcomes]
    for code, name in ((1, "won"), (2, "lost")):
        ajf = AalenJohansenFitter(calculate_variance=False)
        ajf.fit(np.array(durations), np.array(codes), event_of_interest=code)
        theirs = ajf.cumulative_density_.iloc[:, 0]
        for point in ours.points:
            assert point.incidence[name] == pytest.approx(theirs.loc[point.time], abs=1e-12)


def test_undeclared_outcome_is_an_error() -> None:
    with pytest.raises(ValueError, match="not declared"):
        aalen_johansen(_tallies([1], ["won"]), ["lost"])
