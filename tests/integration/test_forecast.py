"""The forecast on both databases: a planted world from the demo generator's deal process
(`tests/forecast_world.py`), backtested for honest coverage; as-of reads that ignore the
future; the funnel's tallies against a hand count.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from forecast_world import END, plant
from revmachine.analytics.forecast import (
    ForecastOptions,
    backtest,
    forecast_report,
    month_starts,
)
from revmachine.analytics.forecast_inputs import Window, funnel_inputs
from revmachine.config import default_workspace
from revmachine.forecast import Bands
from revmachine.store import schema
from revmachine.store.database import Database


def test_backtest_coverage_is_near_nominal_in_a_planted_world(db: Database) -> None:
    plant(db)
    model = default_workspace().revenue
    options = ForecastOptions(horizon=3, paths=800, lookback_days=365, funnel=False)
    cutoffs = month_starts(dt.date(2024, 2, 1), dt.date(2025, 4, 1))
    with db.reading() as conn:
        result = backtest(conn, model, cutoffs, options, END)
    scores = {s.series: s for s in result.scores}
    for name in ("bookings", "pipeline_bookings", "wins"):
        s = scores[name]
        assert s.points == 45
        assert s.coverage_80 is not None and s.coverage_50 is not None
        # 45 overlapping periods: wide but informative bounds (over-confident intervals
        # that ignore the rates' uncertainty land well below them)
        assert 0.62 <= s.coverage_80 <= 0.98, (name, s)
        assert 0.30 <= s.coverage_50 <= 0.78, (name, s)
        assert s.bias is not None and abs(s.bias) < 0.25, (name, s)
    assert scores["bookings"].wape is not None and scores["bookings"].wape < 0.5


def test_a_forecast_reads_nothing_after_its_cut_off(db: Database) -> None:
    plant(db, per_month=20.0)
    model = default_workspace().revenue
    options = ForecastOptions(horizon=2, paths=500, funnel=False)
    cutoff = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)
    with db.reading() as conn:
        before = forecast_report(conn, model, cutoff, options, with_drivers=False)
    later = cutoff + dt.timedelta(days=3)
    with db.transaction() as conn:  # the future changes: every deal is won three days later
        conn.execute(
            insert(schema.opportunity_history),
            [
                {
                    "opportunity_id": i,
                    "occurred_at": later,
                    "stage": "Closed Won",
                    "status": "won",
                    "amount": 1_000_000,
                    "close_date": later.date(),
                    "source": "test",
                    "recorded_at": END,
                }
                for i in range(1, 40)
            ],
        )
    with db.reading() as conn:
        after = forecast_report(conn, model, cutoff, options, with_drivers=False)
        moved = forecast_report(conn, model, later, options, with_drivers=False)
    assert before.forecast.series == after.forecast.series
    assert moved.forecast.series["pipeline_bookings"] != before.forecast.series["pipeline_bookings"]


def test_funnel_tallies_match_a_hand_count(db: Database) -> None:
    model = default_workspace().revenue
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    people = [
        {
            "id": i,
            "email": f"p{i}@x.example",
            "attributes": {},
            "field_times": {},
            "created_at": t0,
            "updated_at": t0,
        }
        for i in (1, 2, 3)
    ]
    day = dt.timedelta(days=1)
    moves = [
        (1, None, "known", t0),
        (1, "known", "mql", t0 + 10 * day),  # 10 days in known, then mql (band 7-30)
        (2, None, "known", t0 + 5 * day),  # still known at as_of: 45 days
        (3, None, "known", t0 + 2 * day),
        (3, "known", "mql", t0 + 4 * day),  # 2 days in known (band 0-7)
        (3, "mql", "disqualified", t0 + 30 * day),
        (3, "disqualified", "known", t0 + 80 * day),  # after as_of: unseen
    ]
    with db.transaction() as conn:
        conn.execute(insert(schema.people), people)
        conn.execute(
            insert(schema.stage_transitions),
            [
                {
                    "person_id": p,
                    "from_stage": a,
                    "to_stage": b,
                    "occurred_at": at,
                    "reason": "test",
                    "recorded_at": t0,
                }
                for p, a, b, at in moves
            ],
        )
    as_of = t0 + 50 * day
    bands = Bands((7.0, 30.0))
    with db.reading() as conn:
        funnel = funnel_inputs(conn, model, Window(t0 - 10 * day, as_of), bands)
    assert funnel is not None
    t = funnel.tallies
    known, mql, dq = (t.stage_index(s) for s in ("known", "mql", "disqualified"))
    # days in known by band: p1 7+3, p2 7+23+15, p3 2
    assert t.exposure[known].tolist() == pytest.approx([16.0, 26.0, 15.0])
    assert t.exits[known, 1, mql] == 1 and t.exits[known, 0, mql] == 1
    assert t.exits[mql, 2, dq] == 0 and t.exits[mql, 1, dq] == 1  # 26 days in mql
    assert t.exposure[mql].tolist() == pytest.approx([7.0 + 7.0, 23.0 + 19.0, 10.0])
    # at as_of: p1 in mql 40 days (band 2), p2 in known 45 days, p3 disqualified 20 days
    assert funnel.inventory[mql].tolist() == [0.0, 0.0, 1.0]
    assert funnel.inventory[known].tolist() == [0.0, 0.0, 1.0]
    assert funnel.inventory[dq].tolist() == [0.0, 1.0, 0.0]
    assert funnel.names == 3 and funnel.entry_stage == "known"
