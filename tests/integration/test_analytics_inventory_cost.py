"""Inventory health and cost on both databases, against the raw rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from analytics_factory import COSTS, NOW, PROGRAMS, TRADE_SHOW_COST, History, load, make_history

from revmachine.analytics import Period, Scope, ScopeError, cost_report, inventory_report
from revmachine.analytics.inventory import AGE_BANDS
from revmachine.config import default_workspace
from revmachine.services.imports import import_activities
from revmachine.store.database import Database

MODEL = default_workspace().revenue
AS_OF = dt.datetime(2025, 5, 20, 12, tzinfo=dt.UTC)
PERIOD = Period(dt.date(2025, 2, 1), dt.date(2025, 5, 1))
SLA_DAYS = {"mql": 1.0, "sal": 5.0}


@pytest.fixture
def history(db: Database) -> History:
    h = make_history(seed=3, n=80)
    load(db, h)
    # Every third person engaged (a web visit) ten days before as_of; every third but one
    # only received an email, which the model does not count as engagement.
    lines = ["email,type,occurred_at"]
    for i, p in enumerate(h.people):
        when = (AS_OF - dt.timedelta(days=10)).isoformat()
        if i % 3 == 0:
            lines.append(f"{p.email},web_visit,{when}")
        elif i % 3 == 1:
            lines.append(f"{p.email},email_sent,{when}")
    report = import_activities(db, ("\n".join(lines) + "\n").encode(), now=NOW)
    assert report.rejected == 0
    return h


def test_inventory_health(db: Database, history: History) -> None:
    with db.reading() as conn:
        report = inventory_report(conn, MODEL, Scope(PERIOD, AS_OF), inactive_days=30)
    engaged = {p.email for i, p in enumerate(history.people) if i % 3 == 0}
    waiting = {s.name for s in MODEL.stages if s.kind.value == "inventory"}
    people: Counter[str] = Counter()
    past: Counter[str] = Counter()
    inactive: Counter[str] = Counter()
    stalled: Counter[str] = Counter()
    bands: dict[str, list[int]] = defaultdict(lambda: [0] * len(AGE_BANDS))
    for p in history.people:
        known = [s for s in p.steps if s.at <= AS_OF]
        if not known:
            continue
        current = known[-1]
        age = (AS_OF - current.at).total_seconds() / 86400
        people[current.stage] += 1
        is_past = current.stage in SLA_DAYS and age > SLA_DAYS[current.stage]
        is_inactive = current.stage in waiting and age >= 30 and p.email not in engaged
        past[current.stage] += is_past
        inactive[current.stage] += is_inactive
        stalled[current.stage] += is_past or is_inactive
        for k, (lo, hi) in enumerate(AGE_BANDS):
            if int(age) >= lo and (hi is None or int(age) < hi):
                bands[current.stage][k] += 1
    got = {s.stage: s for s in report.stages}
    assert {k: s.people for k, s in got.items()} == dict(people)
    for stage, health in got.items():
        assert health.past_sla == past[stage], stage
        assert health.inactive == inactive[stage], stage
        assert health.stalled == stalled[stage], stage
        assert list(health.age_bands) == bands[stage], stage
    assert sum(inactive.values()) > 0 and sum(past.values()) > 0
    assert got["mql"].sla_days == 1.0
    # The trend ends at as_of with the same inventory.
    last = {p.stage: p.people for p in report.trend if p.at == AS_OF}
    assert last == {k: v for k, v in people.items() if k in waiting}
    # An earlier point is the inventory as of that date.
    first_of_may = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    then: Counter[str] = Counter()
    for p in history.people:
        known = [s for s in p.steps if s.at <= first_of_may]
        if known and known[-1].stage in waiting:
            then[known[-1].stage] += 1
    assert {p.stage: p.people for p in report.trend if p.at == first_of_may} == dict(then)
    months = [dt.datetime(2025, m, 1, tzinfo=dt.UTC) for m in range(1, 6)]
    assert {p.at for p in report.trend} <= {*months, AS_OF}  # a date with nobody is left out


def _expected_cost(program: str, period: Period) -> Decimal:
    """Cost rows prorated by day into the period (costs run Jan..Jun; Trade Show in March)."""
    total = Decimal(0)
    rows: list[tuple[dt.date, dt.date, Decimal]] = []
    if program in COSTS:
        for month in range(1, 7):
            first = dt.date(2025, month, 1)
            last = (dt.date(2025, month + 1, 1) if month < 12 else dt.date(2026, 1, 1)) - (
                dt.timedelta(days=1)
            )
            rows.append((first, last, COSTS[program]))
    if program == "Trade Show":
        rows.append(TRADE_SHOW_COST)
    for first, last, amount in rows:
        days = (last - first).days + 1
        inside = sum(
            1 for k in range(days) if period.start <= first + dt.timedelta(days=k) < period.end
        )
        total += amount * inside / days
    return total


def test_cost_per_name_and_per_stage(db: Database, history: History) -> None:
    # Mid-month period: proration matters (Feb 15 .. Apr 14).
    period = Period(dt.date(2025, 2, 15), dt.date(2025, 4, 15))
    as_of = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    with db.reading() as conn:
        report = cost_report(conn, MODEL, Scope(period, as_of))
    by_program = {c.program: c for c in report.programs}
    for name, channel in PROGRAMS.items():
        cost = _expected_cost(name, period)
        names = sum(
            1
            for p in history.people
            if p.program == name and period.start_at <= p.created_at < period.end_at
        )
        got = by_program[name]
        assert got.channel == channel
        assert got.cost == pytest.approx(cost, abs=Decimal("0.01"))
        assert got.names == names
        for stage in ("mql", "customer"):
            reached = sum(
                1
                for p in history.people
                if p.program == name
                and any(s.stage == stage and s.at <= as_of for s in p.steps)
                and period.start_at
                <= min(s.at for s in p.steps if s.stage == stage)
                < period.end_at
            )
            assert got.reached.get(stage, 0) == reached, (name, stage)
            if reached:
                assert got.per_stage(stage) == (got.cost / reached).quantize(Decimal("0.01"))
    channels = {c.channel: c for c in report.channels}
    assert channels["webinar"].cost == by_program["Spring Webinar"].cost
    assert report.stages[-1] == "customer"  # per won deal: the model's first success stage


def test_cost_is_not_split_by_person_segments(db: Database, history: History) -> None:
    with db.reading() as conn, pytest.raises(ScopeError, match="by program and channel"):
        cost_report(conn, MODEL, Scope(PERIOD, AS_OF, group_by="industry"))
