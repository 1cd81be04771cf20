"""Funnel, volume, routes and cohorts on both databases, against the raw journeys.

Every expected number is recomputed here in plain Python from `History.journeys` (the rows
the factory inserted), following the rule text in `analytics.definitions`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from analytics_factory import History, Step, load, make_history

from revmachine.analytics import Period, Scope, ScopeError, cohort_report, funnel_report
from revmachine.analytics.definitions import funnel_stages
from revmachine.config import default_workspace
from revmachine.store.database import Database

MODEL = default_workspace().revenue
PERIOD = Period(dt.date(2025, 2, 1), dt.date(2025, 5, 1))
AS_OF = dt.datetime(2025, 6, 15, tzinfo=dt.UTC)


def _first_entry(steps: list[Step], stage: str, period: Period, as_of: dt.datetime) -> Step | None:
    for s in steps:
        if s.stage == stage and period.start_at <= s.at < period.end_at and s.at <= as_of:
            return s
    return None


def expected_funnel(
    history: History, period: Period, as_of: dt.datetime, industry: str | None = None
) -> dict[str, tuple[int, int, int]]:
    """stage -> (entered, reached the next stage, in stage at as_of)."""
    path = funnel_stages(MODEL)
    result = {}
    people = [p for p in history.people if industry is None or p.industry == industry]
    for i, stage in enumerate(path):
        nxt = path[i + 1] if i + 1 < len(path) else None
        entered = reached = 0
        for p in people:
            entry = _first_entry(p.steps, stage, period, as_of)
            if entry is None:
                continue
            entered += 1
            if any(s.stage == nxt and entry.at <= s.at <= as_of for s in p.steps):
                reached += 1
        inventory = 0
        for p in people:
            known = [s for s in p.steps if s.at <= as_of]
            if known and known[-1].stage == stage:
                inventory += 1
        result[stage] = (entered, reached, inventory)
    return result


@pytest.fixture
def history(db: Database) -> History:
    h = make_history()
    load(db, h)
    return h


def test_funnel_matches_the_raw_journeys(db: Database, history: History) -> None:
    with db.reading() as conn:
        report = funnel_report(conn, MODEL, Scope(PERIOD, AS_OF))
    (group,) = report.groups
    expected = expected_funnel(history, PERIOD, AS_OF)
    got = {
        s.stage: (s.entered, s.to_next.successes if s.to_next else 0, s.inventory)
        for s in group.stages
    }
    assert got == expected
    assert sum(e for e, _, _ in expected.values()) > 50  # the data exercise the report
    mql = next(s for s in group.stages if s.stage == "mql")
    assert mql.to_next is not None and mql.to_next.lower is not None
    assert mql.to_next.lower < mql.to_next.value < mql.to_next.upper  # type: ignore[operator]


def test_as_of_hides_what_happened_later(db: Database, history: History) -> None:
    early = dt.datetime(2025, 3, 10, tzinfo=dt.UTC)
    with db.reading() as conn:
        report = funnel_report(conn, MODEL, Scope(PERIOD, early))
    expected = expected_funnel(history, PERIOD, early)
    assert {s.stage: s.entered for s in report.groups[0].stages} == {
        k: v[0] for k, v in expected.items()
    }
    assert {s.stage: s.inventory for s in report.groups[0].stages} == {
        k: v[2] for k, v in expected.items()
    }


def test_group_by_and_filter(db: Database, history: History) -> None:
    with db.reading() as conn:
        grouped = funnel_report(conn, MODEL, Scope(PERIOD, AS_OF, group_by="industry"))
        only = funnel_report(conn, MODEL, Scope(PERIOD, AS_OF, filters={"industry": ("Retail",)}))
    by_segment = {g.segment: g for g in grouped.groups}
    for industry in ("Software", "Retail", "Banking"):
        expected = expected_funnel(history, PERIOD, AS_OF, industry)
        assert {s.stage: s.entered for s in by_segment[industry].stages} == {
            k: v[0] for k, v in expected.items()
        }
    retail = expected_funnel(history, PERIOD, AS_OF, "Retail")
    assert {s.stage: s.inventory for s in only.groups[0].stages} == {
        k: v[2] for k, v in retail.items()
    }


def test_window_counts_only_quick_conversions(db: Database, history: History) -> None:
    window = dt.timedelta(days=7)
    with db.reading() as conn:
        report = funnel_report(conn, MODEL, Scope(PERIOD, AS_OF), window=window)
    got = {s.stage: s.to_next.successes for s in report.groups[0].stages if s.to_next}
    path = funnel_stages(MODEL)
    for stage, reached in got.items():
        nxt = path[path.index(stage) + 1]
        expected = 0
        for p in history.people:
            entry = _first_entry(p.steps, stage, PERIOD, AS_OF)
            if entry and any(
                s.stage == nxt and entry.at <= s.at <= min(AS_OF, entry.at + window)
                for s in p.steps
            ):
                expected += 1
        assert reached == expected, stage


def test_volume_per_month_and_routes(db: Database, history: History) -> None:
    with db.reading() as conn:
        report = funnel_report(conn, MODEL, Scope(PERIOD, AS_OF), top_routes=3)
    volume = {(v.bucket, v.stage): v.entered for v in report.volume}
    expected: Counter[tuple[str, str]] = Counter()
    for p in history.people:
        seen = set()
        for s in p.steps:
            key = (s.at.strftime("%Y-%m-01"), s.stage)
            if PERIOD.start_at <= s.at < PERIOD.end_at and s.at <= AS_OF and key not in seen:
                seen.add(key)
                expected[key] += 1
    assert volume == dict(expected)
    routes: Counter[tuple[str, ...]] = Counter()
    for p in history.people:
        known = [s.stage for s in p.steps if s.at <= AS_OF]
        if known and PERIOD.start_at <= p.steps[0].at < PERIOD.end_at:
            routes[tuple(known)] += 1
    top = sorted(routes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(r.stages, r.people) for r in report.routes] == top
    total = sum(routes.values())
    assert report.routes[0].share == pytest.approx(top[0][1] / total)


def test_cohorts(db: Database, history: History) -> None:
    with db.reading() as conn:
        report = cohort_report(conn, MODEL, Scope(PERIOD, AS_OF))
    sizes: Counter[str] = Counter()
    reached: Counter[tuple[str, str]] = Counter()
    for p in history.people:
        start = p.steps[0].at
        if not (PERIOD.start_at <= start < PERIOD.end_at) or start > AS_OF:
            continue
        month = start.strftime("%Y-%m-01")
        sizes[month] += 1
        for stage in {s.stage for s in p.steps if s.at <= AS_OF}:
            reached[(month, stage)] += 1
    assert {c.start: c.size for c in report.cohorts} == dict(sizes)
    for cohort in report.cohorts:
        for stage in report.stages:
            assert cohort.reached.get(stage, 0) == reached[(cohort.start, stage)]


def test_cohorts_from_a_stage(db: Database, history: History) -> None:
    with db.reading() as conn:
        report = cohort_report(conn, MODEL, Scope(PERIOD, AS_OF), from_stage="mql")
    sizes: Counter[str] = Counter()
    reached: Counter[tuple[str, str]] = Counter()
    for p in history.people:
        known = [s for s in p.steps if s.at <= AS_OF]
        start = next((s.at for s in known if s.stage == "mql"), None)
        if start is None or not (PERIOD.start_at <= start < PERIOD.end_at):
            continue
        month = start.strftime("%Y-%m-01")
        sizes[month] += 1
        for stage in {s.stage for s in known if s.at >= start}:
            reached[(month, stage)] += 1
    assert {c.start: c.size for c in report.cohorts} == dict(sizes)
    assert sum(sizes.values()) > 10
    for cohort in report.cohorts:
        assert cohort.reached.get("mql") == cohort.size
        for stage in report.stages:
            assert cohort.reached.get(stage, 0) == reached[(cohort.start, stage)], stage


def test_unknown_stage_or_segment_is_a_clear_error(db: Database) -> None:
    with db.reading() as conn:
        with pytest.raises(ValueError, match=r"unknown stage 'nope'.*known, engaged"):
            funnel_report(conn, MODEL, Scope(PERIOD, AS_OF), stages=["known", "nope"])
        with pytest.raises(ScopeError, match="cannot be split by colour"):
            funnel_report(conn, MODEL, Scope(PERIOD, AS_OF, group_by="colour"))
