"""The forecast on both databases: a planted world from the demo generator's deal process
(`tests/forecast_world.py`), backtested for honest coverage; as-of reads that ignore the
future; the funnel's tallies against a hand count; the fast inputs (stage_spells, one
snapshot scan) against the window-function reading they replaced.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, case, insert, update

from forecast_world import END, plant
from revmachine.analytics import forecast_windows
from revmachine.analytics.forecast import (
    ForecastOptions,
    backtest,
    forecast_report,
    load_input,
    month_starts,
)
from revmachine.analytics.forecast_inputs import Window, deal_inputs, funnel_inputs
from revmachine.analytics.spec import Grain, add_months
from revmachine.config import default_workspace
from revmachine.forecast import Bands, simulate
from revmachine.forecast.chain import Tallies
from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.spells import rebuild_spells


def _insert_moves(
    conn: Connection, moves: list[Any], recorded_at: dt.datetime | None = None
) -> None:
    """Stage transitions `(person, from, to, at)`, recorded at `recorded_at` (default:
    when they happened)."""
    conn.execute(
        insert(schema.stage_transitions),
        [
            {
                "person_id": p,
                "from_stage": a,
                "to_stage": b,
                "occurred_at": at,
                "reason": "test",
                "recorded_at": recorded_at or at,
            }
            for p, a, b, at in moves
        ],
    )


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
        _insert_moves(conn, moves, recorded_at=t0)
        rebuild_spells(conn)  # processing keeps stage_spells; these rows bypass it
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


#: The equivalence test's cut-offs and look-backs.
CUTOFFS = (
    (dt.datetime(2024, 6, 1, tzinfo=dt.UTC), 365),
    (dt.datetime(2024, 11, 15, 7, tzinfo=dt.UTC), 120),
    (dt.datetime(2025, 3, 1, tzinfo=dt.UTC), 365),
)
EDGES = [c for c, _ in CUTOFFS] + [c - dt.timedelta(days=d) for c, d in CUTOFFS]


def _people_world(db: Database, seed: int) -> None:
    """Random stage histories: repeated stages, detours, two moves in the same
    microsecond, people who start before the window and move after the cut-offs."""
    rng = np.random.default_rng(seed)
    stages = ["known", "engaged", "mql", "sal", "recycled", "opportunity", "customer"]
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    people, moves = [], []
    for person in range(1, 301):
        people.append(
            {
                "id": person,
                "email": f"p{person}@x.example",
                "attributes": {},
                "field_times": {},
                "created_at": t0,
                "updated_at": t0,
            }
        )
        at = t0 + dt.timedelta(days=float(rng.uniform(0, 500)))
        stage: str | None = None
        for _ in range(int(rng.integers(1, 6))):
            to = str(rng.choice(stages[:3])) if stage is None else str(rng.choice(stages))
            moves.append((person, stage, to, at))
            stage = to
            # a fifth of the moves share their time with the one before (ties by id)
            if rng.random() > 0.2:
                at += dt.timedelta(days=float(rng.exponential(40)), microseconds=7)
    # moves exactly at a cut-off and at the start of its window
    day = dt.timedelta(days=1)
    for i, at in enumerate(EDGES):
        a, b, c = 301 + 3 * i, 302 + 3 * i, 303 + 3 * i
        people += [{**people[0], "id": p, "email": f"p{p}@x.example"} for p in (a, b, c)]
        moves += [(a, None, "known", at - 10 * day), (a, "known", "mql", at)]
        moves += [(a, "mql", "sal", at + day)]
        moves += [(b, None, "known", at), (b, "known", "mql", at + day)]
        moves += [(c, None, "engaged", at - 7 * day)]  # on an age band's edge at `at`
    with db.transaction() as conn:
        conn.execute(insert(schema.people), people)
        _insert_moves(conn, moves, recorded_at=t0)
        rebuild_spells(conn)


_ACCOUNT = {"attributes": {}, "created_at": END, "updated_at": END}


def _tallies_equal(a: Tallies, b: Tallies) -> None:
    assert sorted(a.stages) == sorted(b.stages) and a.outcomes == b.outcomes
    rows = [a.stages.index(s) for s in b.stages]
    dest = [a.destinations.index(d) for d in b.destinations]
    assert a.exposure[rows] == pytest.approx(b.exposure, rel=1e-9, abs=1e-6)
    assert a.exits[rows][:, :, dest].tolist() == b.exits.tolist()
    assert a.window_days == b.window_days


def test_fast_inputs_equal_the_window_function_reading(db: Database) -> None:
    plant(db, per_month=20.0)
    _people_world(db, seed=3)
    with db.transaction() as conn:  # snapshots the deal process does not write
        conn.execute(
            insert(schema.opportunity_history),
            [
                {
                    "opportunity_id": i,
                    "occurred_at": EDGES[i % len(EDGES)],  # at cut-offs and window starts
                    "stage": None if i % 2 else "Proposal",
                    "status": ("open", "won", "lost")[i % 3],
                    "amount": None if i % 4 else 5_000,
                    "source": "test",
                    "recorded_at": END,
                }
                for i in range(1, 400, 3)
            ],
        )
        # A segment too small to keep (its deals join the ones without an account).
        conn.execute(
            insert(schema.accounts),
            [{**_ACCOUNT, "id": 3, "name": "rare", "name_key": "rare", "segment": "Enterprise"}],
        )
        conn.execute(
            update(schema.opportunities)
            .where(schema.opportunities.c.id % 17 == 0)
            .values(account_id=case((schema.opportunities.c.id % 2 == 0, 3), else_=None))
        )
    model = default_workspace().revenue
    bands = Bands()
    checked = 0
    with db.reading() as conn:
        for as_of, days in CUTOFFS:
            window = Window(as_of - dt.timedelta(days=days), as_of)
            variants = ({}, {"use_stage": False}, {"amount_classes": 1}, {"segments": False})
            for kwargs in variants:
                fast, fast_open = deal_inputs(conn, window, bands, **kwargs)  # type: ignore[arg-type]
                ref, ref_open = forecast_windows.deal_inputs(conn, window, bands, **kwargs)  # type: ignore[arg-type]
                _tallies_equal(fast.tallies, ref.tallies)
                order = [fast.tallies.stages.index(s) for s in ref.tallies.stages]
                assert fast.entry_shares[order].tolist() == pytest.approx(ref.entry_shares.tolist())
                assert fast.created == ref.created
                assert fast.won_count.tolist() == ref.won_count.tolist()
                assert fast.won_mean.tolist() == pytest.approx(ref.won_mean.tolist())
                assert fast.won_sd.tolist() == pytest.approx(ref.won_sd.tolist(), abs=1e-6)
                assert fast.created_dispersion == pytest.approx(ref.created_dispersion)
                assert fast.won_dispersion == pytest.approx(ref.won_dispersion)
                assert fast_open.ids is not None and ref_open.ids is not None
                assert fast_open.ids.tolist() == ref_open.ids.tolist()
                names = [fast.tallies.stages[i] for i in fast_open.stage.tolist()]
                assert names == [ref.tallies.stages[i] for i in ref_open.stage.tolist()]
                assert fast_open.age_days.tolist() == pytest.approx(ref_open.age_days.tolist())
                assert fast_open.amount.tolist() == ref_open.amount.tolist()
                checked += fast_open.count
                segmented = any(name.endswith(" · other") for name in fast.tallies.stages)
                assert segmented == kwargs.get("segments", True)
            funnel = funnel_inputs(conn, model, window, bands)
            reference = forecast_windows.funnel_inputs(conn, model, window, bands)
            assert funnel is not None and reference is not None
            _tallies_equal(funnel.tallies, reference.tallies)
            rows = [funnel.tallies.stages.index(s) for s in reference.tallies.stages]
            assert funnel.inventory[rows].tolist() == reference.inventory.tolist()
            assert funnel.inventory.sum() > 0 and funnel.tallies.exits.sum() > 0
            assert (funnel.names, funnel.entry_stage) == (reference.names, reference.entry_stage)
            assert funnel.opportunity_entries == reference.opportunity_entries
            assert funnel.report_stages == reference.report_stages
            assert funnel.names_dispersion == pytest.approx(reference.names_dispersion)
    assert checked > 0
    # Read on several connections at once (the store given, not a connection), the inputs
    # are exactly those read one statement after the other.
    for as_of, days in CUTOFFS:
        options = ForecastOptions(lookback_days=days)
        with db.reading() as conn:
            one = load_input(conn, model, as_of, options)
        several = load_input(db, model, as_of, options)
        _tallies_equal(several.deals.tallies, one.deals.tallies)
        assert several.open_deals.ids is not None and one.open_deals.ids is not None
        assert several.open_deals.ids.tolist() == one.open_deals.ids.tolist()
        assert several.funnel is not None and one.funnel is not None
        _tallies_equal(several.funnel.tallies, one.funnel.tallies)
        assert several.funnel.inventory.tolist() == one.funnel.inventory.tolist()
        assert several.funnel.names == one.funnel.names


def _segment_world(db: Database, as_of: dt.datetime) -> int:
    """Two segments selling the same deal sizes: Enterprise wins 80 % of its deals, SMB
    20 %, each decided 10–40 days after it opens. Open at `as_of`: 40 fresh Enterprise
    deals of 10,000 each; the number of them won is the bookings to expect."""
    rng = np.random.default_rng(5)
    accounts = [
        {**_ACCOUNT, "id": i + 1, "name": name, "name_key": name.lower(), "segment": name}
        for i, name in enumerate(("Enterprise", "SMB"))
    ]
    opps, history = [], []
    for i in range(440):
        account = 1 if i % 2 == 0 or i >= 400 else 2
        if i < 400:
            opened = as_of - dt.timedelta(days=float(rng.uniform(45, 330)))
            p_win = 0.8 if account == 1 else 0.2
            status = "won" if rng.random() < p_win else "lost"
            closed: dt.datetime | None = opened + dt.timedelta(days=float(rng.uniform(10, 40)))
        else:
            opened, status, closed = as_of - dt.timedelta(days=1), "open", None
        opps.append(
            {
                "id": i + 1,
                "external_id": f"S{i}",
                "account_id": account,
                "amount": 10_000,
                "status": status,
                "created_at": opened,
                "attributes": {},
                "updated_at": closed or opened,
            }
        )
        shots = [(opened, "Proposal", "open")] + ([(closed, None, status)] if closed else [])
        history += [
            {
                "opportunity_id": i + 1,
                "occurred_at": at,
                "stage": stage,
                "status": st,
                "amount": 10_000,
                "source": "test",
                "recorded_at": as_of,
            }
            for at, stage, st in shots
        ]
    with db.transaction() as conn:
        conn.execute(insert(schema.accounts), accounts)
        conn.execute(insert(schema.opportunities), opps)
        conn.execute(insert(schema.opportunity_history), history)
    return 40


def test_deal_segments_learn_each_segments_own_win_rate(db: Database) -> None:
    as_of = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    open_deals = _segment_world(db, as_of)
    model = default_workspace().revenue
    expected = open_deals * 0.8 * 10_000
    booked = {}
    for segments in (True, False):
        options = ForecastOptions(
            horizon=3, paths=2000, funnel=False, amount_classes=1, segments=segments
        )
        data = load_input(db, model, as_of, options)
        states = data.deals.tallies.stages
        assert any("Enterprise" in s for s in states) == segments, states
        samples = simulate(data, paths=2000, seed=3)
        booked[segments] = float(samples.series["pipeline_bookings"].sum(axis=1).mean())
    # With the segment in the state the open Enterprise deals are forecast at their own
    # win rate (about 80 %); pooled with SMB they would be forecast at about 50 %.
    assert booked[True] == pytest.approx(expected, rel=0.12)
    assert booked[False] < 0.75 * expected


def _plan_world(db: Database, as_of: dt.datetime, planned_at: dt.datetime) -> None:
    """A year of new names, two a day: two in three acquired by a webinar program that
    cost 1,000 a month, one in three by no program; every tenth reaches the opportunity
    stage. The webinar's plan for the next three months, recorded at `planned_at`:
    3,000 a month."""
    day = dt.timedelta(days=1)
    start = as_of - 365 * day
    people, moves = [], []
    for i in range(730):
        born = start + i * day / 2 + dt.timedelta(minutes=1)
        people.append(
            {
                "id": i + 1,
                "email": f"n{i}@x.example",
                "acquisition_program_id": 1 if i % 3 else None,
                "attributes": {},
                "field_times": {},
                "created_at": born,
                "updated_at": born,
            }
        )
        moves.append((i + 1, None, "known", born))
        if i % 10 == 0:
            moves.append((i + 1, "known", "opportunity", born + 20 * day))
    moves = [m for m in moves if m[3] <= as_of]
    months = [dt.date(as_of.year - 1, as_of.month, 1)]
    while len(months) < 16:
        months.append(add_months(months[-1], 1))
    costs = [
        {
            "program_id": 1,
            "period_start": a,
            "period_end": b - dt.timedelta(days=1),
            "amount": 1000 if b <= as_of.date() else 3000,
            "created_at": planned_at if b > as_of.date() else start,
            "updated_at": start,
        }
        for a, b in itertools.pairwise(months)
    ]
    with db.transaction() as conn:
        conn.execute(
            insert(schema.programs),
            [
                {
                    "id": 1,
                    "name": "Webinar A",
                    "channel": "webinar",
                    "attributes": {},
                    "created_at": start,
                }
            ],
        )
        conn.execute(insert(schema.people), people)
        conn.execute(insert(schema.program_costs), costs)
        _insert_moves(conn, moves)
        rebuild_spells(conn)


@pytest.mark.parametrize("recorded", ["before", "after"])
def test_new_names_follow_the_program_plan_known_at_the_cut_off(
    db: Database, recorded: str
) -> None:
    as_of = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    planned_at = as_of - dt.timedelta(days=5 if recorded == "before" else -5)
    _plan_world(db, as_of, planned_at)
    model = default_workspace().revenue
    names = {}
    for plans in (True, False):
        options = ForecastOptions(horizon=2, paths=2000, plans=plans)
        data = load_input(db, model, as_of, options)
        assert (data.name_plan is not None) == (plans and recorded == "before")
        samples = simulate(data, paths=2000, seed=4)
        names[plans] = float(samples.series["names"][:, 0].mean())  # March: 31 days
    run_rate = 2 * 31
    assert names[False] == pytest.approx(run_rate, rel=0.1)
    if recorded == "before":
        # the webinar's 4/3 names a day become three times as many; the others stay
        assert names[True] == pytest.approx(31 * (4 + 2 / 3), rel=0.1)
        report = forecast_report(
            db, model, as_of, ForecastOptions(horizon=2, paths=200), with_drivers=False
        )
        (plans,) = [t for t in report.tables() if t.name == "plans"]
        ((channel, n, spend, _, march, april),) = plans.rows
        assert (channel, n) == ("webinar", 486)
        assert (spend, march, april) == pytest.approx((12_000.0, 3000.0, 3000.0))
    else:  # a plan recorded after the cut-off was not known then
        assert names[True] == names[False]


def test_thirteen_weekly_forecasts_add_up_to_the_quarter(db: Database) -> None:
    """From a Monday that starts a quarter of 91 days, 13 ISO weeks cover the quarter
    exactly: the weekly forecast's bookings add up to the quarterly one (same rates, same
    seed; only the draws of the luck differ)."""
    plant(db, per_month=30.0)
    model = default_workspace().revenue
    as_of = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)  # a Monday; Q2 2024 has 91 days
    totals = {}
    for grain, horizon in ((Grain.WEEK, 13), (Grain.QUARTER, 1)):
        options = ForecastOptions(grain=grain, horizon=horizon, paths=3000, funnel=False)
        data = load_input(db, model, as_of, options)
        assert data.periods[-1][1] == dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
        samples = simulate(data, paths=3000, seed=9)
        totals[grain] = float(samples.series["pipeline_bookings"].sum(axis=1).mean())
    assert totals[Grain.WEEK] == pytest.approx(totals[Grain.QUARTER], rel=0.05)
    assert totals[Grain.QUARTER] > 0
