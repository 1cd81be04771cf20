"""Velocity on both databases: the SQL aggregates give the same Kaplan–Meier curve as
lifelines on durations recomputed here from the raw journeys, and the naive figure is the
plain mean of the completed ones."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from analytics_factory import History, load, make_history
from lifelines import KaplanMeierFitter

from revmachine.analytics import Period, Scope, velocity_report
from revmachine.analytics.definitions import detour_stages
from revmachine.analytics.survival import aalen_johansen, merge_tallies
from revmachine.config import default_workspace
from revmachine.store.database import Database

MODEL = default_workspace().revenue
PERIOD = Period(dt.date(2025, 1, 1), dt.date(2025, 5, 1))
AS_OF = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
HOUR = 3600.0


def durations(
    history: History, a: str, b: str
) -> tuple[list[float], list[bool], list[tuple[float, str | None, int]]]:
    """Per person of A's cohort: days to B (or to as_of), whether B was reached, and
    (days, first outcome among B and the detours or None, 1)."""
    outcomes = [b, *[d for d in detour_stages(MODEL) if d not in (a, b)]]
    days, reached, first = [], [], []
    for p in history.people:
        entry = next(
            (
                s
                for s in p.steps
                if s.stage == a and PERIOD.start_at <= s.at < PERIOD.end_at and s.at <= AS_OF
            ),
            None,
        )
        if entry is None:
            continue
        later = [s for s in p.steps if entry.at <= s.at <= AS_OF]
        to_b = next((s for s in later if s.stage == b), None)
        end = to_b.at if to_b else AS_OF
        days.append(round((end - entry.at).total_seconds() / HOUR) * HOUR / 86400)
        reached.append(to_b is not None)
        hit = next((s for s in later if s.stage in outcomes), None)
        stop = hit.at if hit else AS_OF
        hours = round((stop - entry.at).total_seconds() / HOUR)
        first.append((hours * HOUR / 86400, hit.stage if hit else None, 1))
    return days, reached, first


@pytest.fixture
def history(db: Database) -> History:
    h = make_history(seed=11, n=120)
    load(db, h)
    return h


def test_kaplan_meier_from_sql_equals_lifelines(db: Database, history: History) -> None:
    pairs = [("known", "engaged"), ("mql", "sal"), ("opportunity", "customer")]
    # given the store, the pairs' statements run side by side on the read pool
    report = velocity_report(db, MODEL, Scope(PERIOD, AS_OF), pairs=pairs)
    assert [(v.from_stage, v.to_stage) for v in report.pairs] == pairs
    for v in report.pairs:
        days, reached, first = durations(history, v.from_stage, v.to_stage)
        assert v.cohort == len(days) > 0
        assert v.conversion.successes == sum(reached)
        kmf = KaplanMeierFitter().fit(days, reached)
        for point in v.curve.points:
            assert point.survival == pytest.approx(
                kmf.survival_function_["KM_estimate"].loc[point.time], abs=1e-9
            )
        median = v.percentile(0.5).time
        assert (median is None and kmf.median_survival_time_ == float("inf")) or (
            median == pytest.approx(kmf.median_survival_time_)
        )
        done = [d for d, r in zip(days, reached, strict=True) if r]
        assert v.naive.completed == len(done)
        assert v.naive.median_days == pytest.approx(statistics.median(done), abs=1 / 24)
        # The naive mean uses exact durations, so it may differ from rounded hours by < 1h.
        assert v.naive.mean_days == pytest.approx(statistics.mean(done), abs=1 / 24)
        # Competing outcomes: the SQL tallies give the same Aalen–Johansen curve as the
        # tallies built here from the first outcome of each person.
        expected = aalen_johansen(merge_tallies(first), v.outcomes)
        for outcome in v.outcomes:
            assert v.incidence.final(outcome) == pytest.approx(expected.final(outcome))
            for day in (7, 30, 90):
                assert v.incidence.at(outcome, day) == pytest.approx(expected.at(outcome, day))
        assert any(v.incidence.final(o) > 0 for o in v.outcomes[1:]) or v.from_stage == "known"
        assert sum(v.incidence.final(o) for o in v.outcomes) <= 1.0 + 1e-9


def test_censoring_makes_the_median_slower_than_completed_only(
    db: Database, history: History
) -> None:
    # Right after the period, many have not converted yet: the completed-only median only
    # sees the quick ones; Kaplan–Meier does not pretend the slow ones do not exist.
    soon = dt.datetime(2025, 5, 5, tzinfo=dt.UTC)
    with db.reading() as conn:
        report = velocity_report(conn, MODEL, Scope(PERIOD, soon), pairs=[("known", "engaged")])
    (v,) = report.pairs
    assert v.naive.median_days is not None
    km = v.percentile(0.5).time
    assert km is None or km >= v.naive.median_days


@pytest.mark.parametrize("group_by", [None, "industry"])
def test_pairs_read_side_by_side_equal_one_connection(
    db: Database, history: History, group_by: str | None
) -> None:
    scope = Scope(PERIOD, AS_OF, group_by=group_by)
    with db.reading() as conn:
        alone = velocity_report(conn, MODEL, scope)
    together = velocity_report(db, MODEL, scope)
    assert len(alone.pairs) >= 5 and together == alone
    if group_by is not None:
        assert len({v.segment for v in alone.pairs}) > 1
