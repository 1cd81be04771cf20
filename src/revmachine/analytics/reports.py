"""The registry of report kinds: one visible table from name to runner.

The CLI, the HTML report and (later) the API list and run reports through `REPORTS`, so a
reader finds every kind here. `ReportOptions` holds the knobs some reports take; each
runner reads only its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from revmachine.analytics.cohorts import cohort_report
from revmachine.analytics.cost import cost_report
from revmachine.analytics.deals import deal_report
from revmachine.analytics.forecast import ForecastOptions, forecast_report
from revmachine.analytics.funnel import funnel_report
from revmachine.analytics.inventory import inventory_report
from revmachine.analytics.spec import Grain, Scope
from revmachine.analytics.tables import ReportTable
from revmachine.analytics.velocity import velocity_report
from revmachine.config.revenue_model import RevenueModel
from revmachine.store.database import Database


class ReportResult(Protocol):
    scope: Scope

    def tables(self) -> list[ReportTable]: ...


@dataclass(frozen=True)
class ReportOptions:
    grain: Grain = Grain.MONTH
    window: dt.timedelta | None = None  # funnel: conversion within this long of entry
    pairs: tuple[tuple[str, str], ...] = ()  # velocity: (from, to); default from the model
    inactive_days: int = 30  # inventory
    stages: tuple[str, ...] = ()  # funnel and cost: which stages; default from the model
    from_stage: str | None = None  # cohorts: start at the first entry into this stage


#: The forecast in the all-reports HTML: fewer paths than `revmachine forecast` (10,000).
REPORT_FORECAST = ForecastOptions(paths=2000)

Source = Connection | Database
Runner = Callable[[Source, RevenueModel, Scope, ReportOptions], Any]
T = TypeVar("T")


def _on_connection(source: Source, read: Callable[[Connection], T]) -> T:
    """`read` on `source`, or on a read connection of it. Reports that run independent
    statements (velocity, forecast) take the store itself and spread them over the read
    pool (`store.parallel`); the others read on one connection."""
    if isinstance(source, Connection):
        return read(source)
    with source.reading() as conn:
        return read(conn)


@dataclass(frozen=True)
class ReportKind:
    name: str
    description: str
    run: Runner


REPORTS: dict[str, ReportKind] = {
    k.name: k
    for k in (
        ReportKind(
            "funnel",
            "Volume into each stage, inventory, cohort conversion with intervals, routes.",
            lambda c, m, s, o: _on_connection(
                c,
                lambda conn: funnel_report(
                    conn, m, s, stages=list(o.stages) or None, window=o.window, grain=o.grain
                ),
            ),
        ),
        ReportKind(
            "velocity",
            "Days from stage to stage: Kaplan–Meier beside completed-only, and competing "
            "outcomes by days since entry.",
            lambda c, m, s, o: velocity_report(c, m, s, pairs=list(o.pairs) or None),
        ),
        ReportKind(
            "inventory",
            "Who is in each stage at as_of, age, past SLA, inactive, freshness trend.",
            lambda c, m, s, o: _on_connection(
                c, lambda conn: inventory_report(conn, m, s, inactive_days=o.inactive_days)
            ),
        ),
        ReportKind(
            "cost",
            "Cost, new names, cost per name and per stage by program and channel.",
            lambda c, m, s, o: _on_connection(
                c, lambda conn: cost_report(conn, m, s, stages=list(o.stages) or None)
            ),
        ),
        ReportKind(
            "cohorts",
            "Entry month × stage reached.",
            lambda c, m, s, o: _on_connection(
                c,
                lambda conn: cohort_report(conn, m, s, from_stage=o.from_stage, grain=o.grain),
            ),
        ),
        ReportKind(
            "deals",
            "Win rate, sales cycle, bookings and pipeline from the opportunity history.",
            lambda c, m, s, o: _on_connection(c, lambda conn: deal_report(conn, s)),
        ),
        ReportKind(
            "forecast",
            "Bookings in the next six months from the open pipeline and the funnel, with "
            "80 % and 50 % intervals, contributions and drivers (`revmachine forecast` for "
            "the options and the backtest).",
            lambda c, m, s, o: forecast_report(c, m, s.as_of, REPORT_FORECAST),
        ),
    )
}
