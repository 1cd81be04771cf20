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
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    Float,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)

from revmachine.analytics.definitions import check_stages, detour_stages, velocity_pairs
from revmachine.analytics.history import in_period, transitions
from revmachine.analytics.intervals import Rate, wilson
from revmachine.analytics.spec import Scope
from revmachine.analytics.spells import (
    Source,
    first_in,
    per_person_segment,
    reads_spells,
    sp,
    spells,
    us,
    us_literal,
)
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
from revmachine.store.database import Database
from revmachine.store.parallel import ReadPool, parallel_reads

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
    store: Connection | Database,
    model: RevenueModel,
    scope: Scope,
    *,
    pairs: list[tuple[str, str]] | None = None,
    resolution: dt.timedelta = dt.timedelta(hours=1),
    source: Source | None = None,
) -> VelocityReport:
    chosen = list(dict.fromkeys(pairs or velocity_pairs(model)))
    check_stages(model, [s for pair in chosen for s in pair])
    detours = detour_stages(model)
    outcomes = [[b, *[d for d in detours if d not in (a, b)]] for a, b in chosen]
    step = resolution.total_seconds()
    with parallel_reads(store) as reads:
        if reads_spells(scope, source):
            rows = _tallies_spells(reads, scope, chosen, outcomes, step)
        else:
            everything = reads.submit(
                partial(_tallies, scope=scope, pairs=chosen, outcomes=outcomes, step=step)
            )
            rows = everything.result()
    results: list[Velocity] = []
    for i, (a, b) in enumerate(chosen):
        segments = sorted({seg for curve, k, seg in rows if k == i})
        for seg in segments:
            results.append(_velocity(seg, a, b, outcomes[i], rows, i))
    return VelocityReport(scope, resolution.total_seconds() / DAY, tuple(results))


Tallies = dict[tuple[str, int, str], list[tuple[float, str | None, int, float]]]


def _tallies(
    conn: Connection,
    scope: Scope,
    pairs: list[tuple[str, str]],
    outcomes: list[list[str]],
    step: float,
) -> Tallies:
    """(curve, pair index, segment) -> [(days, outcome or None if censored, people, exact
    seconds summed)], for every pair in one statement.

    One pass over the history: a window gives every row its person's first entry into each
    starting stage in the period; grouping by person then finds, per pair, the first later
    entry into B and into each competing stage. The per-person rows (one per person, not
    per transition) are then tallied by duration for each pair.
    """
    h = transitions(scope)
    inside = in_period(h.c.occurred_at, scope.period)
    starts = list(dict.fromkeys(a for a, _ in pairs))
    relevant = sorted(set(starts) | {o for group in outcomes for o in group})
    windowed = select(
        h.c.person_id,
        h.c.segment,
        h.c.to_stage,
        h.c.occurred_at,
        *[
            func.min(case((and_(h.c.to_stage == a, inside), h.c.occurred_at)))
            .over(partition_by=h.c.person_id)
            .label(f"e{k}")
            for k, a in enumerate(starts)
        ],
    ).where(h.c.to_stage.in_(relevant))
    w = windowed.subquery("windowed")
    columns: list[Any] = [func.max(w.c[f"e{k}"]).label(f"e{k}") for k in range(len(starts))]
    for i, (a, _) in enumerate(pairs):
        entered = w.c[f"e{starts.index(a)}"]
        after = w.c.occurred_at >= entered
        for j, stage in enumerate(outcomes[i]):
            columns.append(
                func.min(case((and_(w.c.to_stage == stage, after), w.c.occurred_at))).label(
                    f"p{i}_{j}"
                )
            )
        columns.append(
            func.min(case((and_(w.c.to_stage.in_(outcomes[i]), after), w.c.occurred_at))).label(
                f"p{i}_first"
            )
        )
    journeys = select(w.c.segment, *columns).group_by(w.c.person_id, w.c.segment).cte("journeys")
    as_of = literal(scope.as_of, type_=h.c.occurred_at.type)
    parts = []
    for i, (a, b) in enumerate(pairs):
        entered = journeys.c[f"e{starts.index(a)}"]
        reached = journeys.c[f"p{i}_0"]
        first = journeys.c[f"p{i}_first"]
        to_b = seconds_between(entered, func.coalesce(reached, as_of))
        to_first = seconds_between(entered, func.coalesce(first, as_of))
        first_outcome = case(
            *[(journeys.c[f"p{i}_{j}"] == first, literal(o)) for j, o in enumerate(outcomes[i])],
            else_=None,
        )
        for curve, duration, outcome in (
            ("km", to_b, case((reached.is_not(None), literal(b)), else_=None)),
            ("aj", to_first, first_outcome),
        ):
            k = func.round(duration / step)
            parts.append(
                select(
                    literal(curve).label("curve"),
                    literal(i).label("pair"),
                    journeys.c.segment,
                    k.label("k"),
                    outcome.label("outcome"),
                    func.count().label("n"),
                    func.sum(duration).label("seconds"),
                )
                .where(entered.is_not(None))
                .group_by(journeys.c.segment, k, outcome)
            )
    rows: Tallies = defaultdict(list)
    for curve, i, seg, k, outcome, n, seconds in conn.execute(union_all(*parts)):
        rows[(curve, int(i), seg)].append(
            (float(k) * step / DAY, outcome, int(n), float(seconds or 0.0))
        )
    return rows


def _tallies_spells(
    reads: ReadPool,
    scope: Scope,
    pairs: list[tuple[str, str]],
    outcomes: list[list[str]],
    step: float,
) -> Tallies:
    """`_tallies` from the spells, one statement per pair.

    The cohort entries are the spells that are each person's first entry into A in the
    period (no window needed). Each is joined to the same person's first known entry into
    each outcome stage at or after it (the outcome spell whose previous entry into that
    stage is before the cohort entry: at most one per outcome), so grouping by the cohort
    entry gives the time of B and of the first outcome. Durations are integer microseconds.
    """
    h = spells(scope)
    as_of = us_literal(scope.as_of)
    step_us = literal(step * 1e6, Float())
    rows: Tallies = defaultdict(list)
    pending: list[Future[list[tuple[Any, ...]]]] = []
    for i, (a, b) in enumerate(pairs):
        cohort = (
            select(h.c.person_id, h.c.segment, h.c.entered_us.label("entered"), h.c.prev_us)
            .where(h.c.stage == a, first_in(h, scope.period))
            .subquery("cohort")
        )
        later = sp.alias("later")
        segment, keys = per_person_segment(scope, cohort.c.segment)
        journeys = (
            select(
                segment,
                cohort.c.entered,
                *[
                    func.min(case((later.c.stage == o, later.c.entered_us))).label(f"o{j}")
                    for j, o in enumerate(outcomes[i])
                ],
                func.min(later.c.entered_us).label("first"),
            )
            .select_from(
                cohort.outerjoin(
                    later,
                    and_(
                        later.c.person_id == cohort.c.person_id,
                        later.c.entered_us >= cohort.c.entered,
                        later.c.entered_us <= us(scope.as_of),
                        later.c.stage.in_(outcomes[i]),
                        or_(later.c.prev_us.is_(None), later.c.prev_us < cohort.c.entered),
                    ),
                )
            )
            # In the order of the index the cohort is read by, so the grouping can stream.
            .group_by(cohort.c.entered, cohort.c.prev_us, cohort.c.person_id, *keys)
            .cte("journeys")
        )
        entered = journeys.c.entered
        reached = journeys.c.o0
        first = journeys.c.first
        first_outcome = case(
            *[(journeys.c[f"o{j}"] == first, literal(o)) for j, o in enumerate(outcomes[i])],
            else_=None,
        )
        parts = []
        for curve, end, outcome in (
            ("km", func.coalesce(reached, as_of), case((reached.is_not(None), literal(b)))),
            ("aj", func.coalesce(first, as_of), first_outcome),
        ):
            duration = end - entered
            k = func.round(duration / step_us)
            parts.append(
                select(
                    literal(curve).label("curve"),
                    journeys.c.segment,
                    k.label("k"),
                    outcome.label("outcome"),
                    func.count().label("n"),
                    func.sum(duration).label("micros"),
                ).group_by(journeys.c.segment, k, outcome)
            )
        pending.append(reads.submit(partial(_all_rows, union_all(*parts))))
    # One statement per pair, each over the same spells: on a store they run side by side
    # on the read pool's connections; the rows are taken in pair order.
    for i, part in enumerate(pending):
        for curve, seg, bucket, reached_stage, n, micros in part.result():
            rows[(curve, i, seg)].append(
                (float(bucket) * step / DAY, reached_stage, int(n), float(micros or 0) / 1e6)
            )
    return rows


def _all_rows(statement: Executable, conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(statement)]


def _velocity(seg: str, a: str, b: str, outcomes: list[str], rows: Tallies, i: int) -> Velocity:
    km_rows = rows[("km", i, seg)]
    km_tallies = merge_tallies((t, o, n) for t, o, n, _ in km_rows)
    curve = kaplan_meier(km_tallies)
    completed = sum(n for _, o, n, _ in km_rows if o is not None)
    exact = sum(sec for _, o, _, sec in km_rows if o is not None)
    done = sorted((t.time, t.total_events) for t in km_tallies if t.total_events)
    return Velocity(
        seg,
        a,
        b,
        curve.subjects,
        wilson(curve.events, curve.subjects),
        tuple(curve.quantile(p) for p in PERCENTILES),
        Naive(
            completed,
            exact / completed / DAY if completed else None,
            weighted_median(done),
        ),
        curve,
        tuple(outcomes),
        aalen_johansen(merge_tallies((t, o, n) for t, o, n, _ in rows[("aj", i, seg)]), outcomes),
    )


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
