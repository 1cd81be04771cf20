"""Deals: win rate, sales cycle, bookings and open pipeline from the opportunity history.

Every figure is as of `as_of`, read from `opportunity_history` (each deal's latest snapshot
at or before it), so last quarter's win rate does not move when a deal closes today. The
time to close is also given censoring-correct: deals created in the period that are still
open at `as_of` are censored (Kaplan–Meier), and won and lost compete (Aalen–Johansen).
Definitions: `win_rate`, `sales_cycle`, `bookings`, `pipeline`, `velocity`,
`cumulative_incidence`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Subquery,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)

from revmachine.analytics.history import in_period
from revmachine.analytics.intervals import Rate, wilson
from revmachine.analytics.segments import ALL_LABEL, deal_segments
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
from revmachine.store import schema

DAY = 86400.0
OUTCOMES = ("won", "lost")


@dataclass(frozen=True)
class DealFigures:
    segment: str
    created: int
    won: int
    lost: int
    win_rate: Rate
    cycle_days: float | None  # mean, deals closed in the period
    won_cycle_days: float | None
    lost_cycle_days: float | None
    bookings: Decimal
    average_won: Decimal | None
    open_deals: int
    pipeline: Decimal
    time_to_close: KaplanMeier
    median_to_close: Quantile
    incidence: CumulativeIncidence


@dataclass(frozen=True)
class DealReport:
    scope: Scope
    groups: tuple[DealFigures, ...]

    def tables(self) -> list[ReportTable]:
        cols = [
            Column("segment", "Segment"),
            Column("created", "Created", None, "count"),
            Column("won", "Won", "win_rate", "count"),
            Column("lost", "Lost", "win_rate", "count"),
            Column("win_rate", "Win rate", "win_rate", "share"),
            Column("win_rate_low", "low", "win_rate", "share"),
            Column("win_rate_high", "high", "win_rate", "share"),
            Column("cycle", "Cycle", "sales_cycle", "days"),
            Column("won_cycle", "Won cycle", "sales_cycle", "days"),
            Column("lost_cycle", "Lost cycle", "sales_cycle", "days"),
            Column("bookings", "Bookings", "bookings", "money"),
            Column("average_won", "Avg won", "bookings", "money"),
            Column("open", "Open", "pipeline", "count"),
            Column("pipeline", "Pipeline", "pipeline", "money"),
            Column("km_median", "KM median to close", "velocity", "days"),
        ]
        rows = [
            (
                g.segment,
                g.created,
                g.won,
                g.lost,
                g.win_rate.value,
                g.win_rate.lower,
                g.win_rate.upper,
                g.cycle_days,
                g.won_cycle_days,
                g.lost_cycle_days,
                float(g.bookings),
                float(g.average_won) if g.average_won is not None else None,
                g.open_deals,
                float(g.pipeline),
                g.median_to_close.time,
            )
            for g in self.groups
        ]
        return [table("deals", "Deals", cols, rows)]


def deal_states(scope: Scope) -> Subquery:
    """`(opportunity_id, segment, created_at, status, amount, closed_at)` as of `as_of`.

    closed_at is the first won or lost snapshot after the deal's last open snapshot (a
    reopened deal closes again later); it is None for deals open at `as_of`.
    """
    h, o = schema.opportunity_history, schema.opportunities
    known = h.c.occurred_at <= scope.as_of
    agg = (
        select(
            h.c.opportunity_id,
            func.max(h.c.occurred_at).label("last_at"),
            func.max(case((h.c.status == "open", h.c.occurred_at))).label("last_open"),
        )
        .where(known)
        .group_by(h.c.opportunity_id)
        .subquery("agg")
    )
    latest = (
        select(h.c.opportunity_id, func.max(h.c.id).label("hid"))
        .join(
            agg, and_(agg.c.opportunity_id == h.c.opportunity_id, agg.c.last_at == h.c.occurred_at)
        )
        .group_by(h.c.opportunity_id)
        .subquery("latest")
    )
    closed = (
        select(h.c.opportunity_id, func.min(h.c.occurred_at).label("closed_at"))
        .join(agg, agg.c.opportunity_id == h.c.opportunity_id)
        .where(
            known,
            h.c.status != "open",
            or_(agg.c.last_open.is_(None), h.c.occurred_at > agg.c.last_open),
        )
        .group_by(h.c.opportunity_id)
        .subquery("closed")
    )
    now = schema.opportunity_history.alias("now")
    segments = deal_segments(scope)
    segment = segments.c.segment if segments is not None else literal(ALL_LABEL)
    source = o.join(latest, latest.c.opportunity_id == o.c.id).join(now, now.c.id == latest.c.hid)
    source = source.outerjoin(closed, closed.c.opportunity_id == o.c.id)
    if segments is not None:
        source = source.join(segments, segments.c.opportunity_id == o.c.id)
    return (
        select(
            o.c.id.label("opportunity_id"),
            segment.label("segment"),
            o.c.created_at,
            now.c.status,
            now.c.amount,
            case((now.c.status != "open", closed.c.closed_at)).label("closed_at"),
        )
        .select_from(source)
        .where(o.c.created_at <= scope.as_of)
        .subquery("deals")
    )


def deal_report(
    conn: Connection, scope: Scope, *, resolution: dt.timedelta = dt.timedelta(hours=1)
) -> DealReport:
    d = deal_states(scope)
    cycle = seconds_between(d.c.created_at, d.c.closed_at)
    closed_in = and_(d.c.status != "open", in_period(d.c.closed_at, scope.period))

    def when(cond: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return case((cond, value))

    summary = select(
        d.c.segment,
        func.count(when(in_period(d.c.created_at, scope.period), 1)).label("created"),
        func.count(when(and_(closed_in, d.c.status == "won"), 1)).label("won"),
        func.count(when(and_(closed_in, d.c.status == "lost"), 1)).label("lost"),
        func.avg(when(closed_in, cycle)).label("cycle"),
        func.avg(when(and_(closed_in, d.c.status == "won"), cycle)).label("won_cycle"),
        func.avg(when(and_(closed_in, d.c.status == "lost"), cycle)).label("lost_cycle"),
        func.sum(when(and_(closed_in, d.c.status == "won"), d.c.amount)).label("bookings"),
        func.count(when(d.c.status == "open", 1)).label("open"),
        func.sum(when(d.c.status == "open", d.c.amount)).label("pipeline"),
    ).group_by(d.c.segment)
    step = resolution.total_seconds()
    as_of = literal(scope.as_of, type_=d.c.created_at.type)
    to_close = seconds_between(d.c.created_at, func.coalesce(d.c.closed_at, as_of))
    outcome = case((d.c.status != "open", d.c.status), else_=None).label("outcome")
    k = func.round(to_close / step).label("k")
    tallies_stmt = (
        select(d.c.segment, k, outcome, func.count())
        .where(in_period(d.c.created_at, scope.period))
        .group_by(d.c.segment, k, outcome)
    )
    tallies: dict[str, list[tuple[float, str | None, int]]] = defaultdict(list)
    for seg, steps, out, n in conn.execute(tallies_stmt):
        tallies[seg].append((float(steps) * step / DAY, out, int(n)))
    groups = []
    for row in conn.execute(summary.order_by(d.c.segment)):
        rows = tallies.get(row.segment, [])
        closed_rows = [(t, "closed" if o else None, n) for t, o, n in rows]
        curve = kaplan_meier(merge_tallies(closed_rows))
        bookings = Decimal(row.bookings or 0)
        groups.append(
            DealFigures(
                row.segment,
                row.created,
                row.won,
                row.lost,
                wilson(row.won, row.won + row.lost),
                _days(row.cycle),
                _days(row.won_cycle),
                _days(row.lost_cycle),
                bookings,
                (bookings / row.won).quantize(Decimal("0.01")) if row.won else None,
                row.open,
                Decimal(row.pipeline or 0),
                curve,
                curve.quantile(0.5),
                aalen_johansen(merge_tallies(rows), OUTCOMES),
            )
        )
    return DealReport(scope, tuple(groups))


def _days(seconds: float | None) -> float | None:
    return float(seconds) / DAY if seconds is not None else None
