"""Velocity: how long people take from one stage to another, censoring-correct.

For each pair (A, B) the cohort is the people whose first entry into A is in the period.
SQL finds, per person, the first later transition into B and into each competing stage
(the model's detours), then groups the durations into (duration, outcome, count) rows; the
Kaplan–Meier curve (time to B, everyone else censored at `as_of`) and the Aalen–Johansen
cumulative incidence (B against each detour) are computed from those few rows. The naive
completed-only mean and median are shown beside them so the bias is visible.
Definitions: `velocity`, `velocity_naive`, `cumulative_incidence`, `conversion`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, Subquery, and_, case, func, literal, select

from revmachine.analytics.definitions import check_stages, detour_stages, velocity_pairs
from revmachine.analytics.history import first_entries, later_transitions
from revmachine.analytics.intervals import Rate, wilson
from revmachine.analytics.spec import Scope
from revmachine.analytics.sqlfuncs import seconds_between
from revmachine.analytics.survival import (
    CumulativeIncidence,
    KaplanMeier,
    Quantile,
    aalen_johansen,
    kaplan_meier,
    merge_tallies,
)
from revmachine.analytics.tables import Column, ReportTable, table
from revmachine.config.revenue_model import RevenueModel

PERCENTILES = (0.25, 0.5, 0.75, 0.9)
MILESTONE_DAYS = (1, 7, 14, 30, 60, 90, 180)
DAY = 86400.0


@dataclass(frozen=True)
class Naive:
    """Completed-only figures (definition `velocity_naive`)."""

    completed: int
    mean_days: float | None
    median_days: float | None


@dataclass(frozen=True)
class Velocity:
    segment: str
    from_stage: str
    to_stage: str
    cohort: int
    conversion: Rate
    percentiles: tuple[Quantile, ...]
    naive: Naive
    curve: KaplanMeier
    outcomes: tuple[str, ...]
    incidence: CumulativeIncidence

    def percentile(self, p: float) -> Quantile:
        return next(q for q in self.percentiles if q.p == p)


@dataclass(frozen=True)
class VelocityReport:
    scope: Scope
    resolution_days: float
    pairs: tuple[Velocity, ...]

    def tables(self) -> list[ReportTable]:
        cols = [
            Column("segment", "Segment"),
            Column("from_stage", "From"),
            Column("to_stage", "To"),
            Column("cohort", "Cohort", "conversion", "count"),
            Column("reached", "Reached", "conversion", "count"),
            Column("conversion", "Conversion", "conversion", "share"),
            Column("km_median", "KM median", "velocity", "days"),
            Column("km_median_low", "low", "velocity", "days"),
            Column("km_median_high", "high", "velocity", "days"),
            *[
                Column(f"km_p{round(p * 100)}", f"KM p{round(p * 100)}", "velocity", "days")
                for p in PERCENTILES
                if p != 0.5
            ],
            Column("naive_mean", "Completed mean", "velocity_naive", "days"),
            Column("naive_median", "Completed median", "velocity_naive", "days"),
        ]
        rows = []
        for v in self.pairs:
            median = v.percentile(0.5)
            rows.append(
                (
                    v.segment,
                    v.from_stage,
                    v.to_stage,
                    v.cohort,
                    v.conversion.successes,
                    v.conversion.value,
                    median.time,
                    median.lower,
                    median.upper,
                    *[v.percentile(p).time for p in PERCENTILES if p != 0.5],
                    v.naive.mean_days,
                    v.naive.median_days,
                )
            )
        milestones = []
        for v in self.pairs:
            for outcome in v.outcomes:
                if v.incidence.final(outcome) == 0.0 and outcome != v.to_stage:
                    continue
                milestones.append(
                    (
                        v.segment,
                        v.from_stage,
                        outcome,
                        *[v.incidence.at(outcome, d) for d in MILESTONE_DAYS],
                    )
                )
        return [
            table("velocity", "Velocity (days)", cols, rows),
            table(
                "incidence",
                "Reached by days since entry (competing outcomes)",
                [
                    Column("segment", "Segment"),
                    Column("from_stage", "From"),
                    Column("outcome", "Outcome"),
                    *[
                        Column(f"day_{d}", f"{d}d", "cumulative_incidence", "share")
                        for d in MILESTONE_DAYS
                    ],
                ],
                milestones,
            ),
        ]


def velocity_report(
    conn: Connection,
    model: RevenueModel,
    scope: Scope,
    *,
    pairs: list[tuple[str, str]] | None = None,
    resolution: dt.timedelta = dt.timedelta(hours=1),
) -> VelocityReport:
    chosen = pairs or velocity_pairs(model)
    check_stages(model, [s for pair in chosen for s in pair])
    detours = detour_stages(model)
    results: list[Velocity] = []
    for a, b in chosen:
        competing = [d for d in detours if d not in (a, b)]
        results.extend(_pair(conn, scope, a, b, competing, resolution))
    return VelocityReport(scope, resolution.total_seconds() / DAY, tuple(results))


def outcome_times(scope: Scope, a: str, outcomes: list[str]) -> tuple[Subquery, list[str]]:
    """Per person of A's cohort: entry time and first later time of each outcome stage,
    plus `first_at` and `first_outcome` (ties go to the earlier-listed outcome)."""
    e = first_entries(scope, [a])
    t = later_transitions(scope)
    names = [f"at_{i}" for i in range(len(outcomes))]
    per_outcome = [
        func.min(case((t.c.to_stage == stage, t.c.occurred_at))).label(name)
        for stage, name in zip(outcomes, names, strict=True)
    ]
    per_person = (
        select(
            e.c.person_id,
            e.c.segment,
            e.c.entered,
            *per_outcome,
            func.min(t.c.occurred_at).label("first_at"),
        )
        .select_from(
            e.outerjoin(
                t,
                and_(
                    t.c.person_id == e.c.person_id,
                    t.c.occurred_at >= e.c.entered,
                    t.c.to_stage.in_(outcomes),
                ),
            )
        )
        .group_by(e.c.person_id, e.c.segment, e.c.entered)
        .subquery("outcomes")
    )
    return per_person, names


def _pair(
    conn: Connection,
    scope: Scope,
    a: str,
    b: str,
    competing: list[str],
    resolution: dt.timedelta,
) -> list[Velocity]:
    outcomes = [b, *competing]
    r, names = outcome_times(scope, a, outcomes)
    step = resolution.total_seconds()
    as_of = literal(scope.as_of, type_=r.c.entered.type)
    to_b = seconds_between(r.c.entered, func.coalesce(r.c[names[0]], as_of))
    km = select(
        literal("km").label("curve"),
        r.c.segment,
        func.round(to_b / step).label("k"),
        case((r.c[names[0]].is_not(None), literal(b)), else_=None).label("outcome"),
        func.count().label("n"),
        func.sum(to_b).label("seconds"),
    ).group_by(r.c.segment, "k", "outcome")
    first = case(
        *[(r.c[n] == r.c.first_at, literal(o)) for n, o in zip(names, outcomes, strict=True)],
        else_=None,
    )
    to_first = seconds_between(r.c.entered, func.coalesce(r.c.first_at, as_of))
    aj = select(
        literal("aj").label("curve"),
        r.c.segment,
        func.round(to_first / step).label("k"),
        first.label("outcome"),
        func.count().label("n"),
        func.sum(to_first).label("seconds"),
    ).group_by(r.c.segment, "k", "outcome")
    rows: dict[tuple[str, str], list[tuple[float, str | None, int]]] = defaultdict(list)
    exact: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for curve, seg, k, outcome, n, seconds in conn.execute(km.union_all(aj)):
        rows[(curve, seg)].append((float(k) * step / DAY, outcome, int(n)))
        if curve == "km" and outcome is not None:
            count, total = exact[seg]
            exact[seg] = (count + int(n), total + float(seconds))
    results = []
    for seg in sorted({seg for _, seg in rows}):
        km_tallies = merge_tallies(rows[("km", seg)])
        curve = kaplan_meier(km_tallies)
        completed, total_seconds = exact[seg]
        done = sorted((t.time, t.total_events) for t in km_tallies if t.total_events)
        results.append(
            Velocity(
                seg,
                a,
                b,
                curve.subjects,
                wilson(curve.events, curve.subjects),
                tuple(curve.quantile(p) for p in PERCENTILES),
                Naive(
                    completed,
                    total_seconds / completed / DAY if completed else None,
                    weighted_median(done),
                ),
                curve,
                tuple(outcomes),
                aalen_johansen(merge_tallies(rows[("aj", seg)]), outcomes),
            )
        )
    return results


def weighted_median(values: list[tuple[float, int]]) -> float | None:
    """The median of values given with counts (the mean of the two middle ones if even)."""
    total = sum(n for _, n in values)
    if total == 0:
        return None
    ordered = sorted(values)

    def nth(k: int) -> float:  # the k-th smallest, 0-based
        seen = 0
        for value, n in ordered:
            seen += n
            if k < seen:
                return value
        raise AssertionError("k out of range")

    if total % 2:
        return nth(total // 2)
    return (nth(total // 2 - 1) + nth(total // 2)) / 2.0
