"""The registry of report kinds: one visible table from name to runner.

The CLI, the HTML report and (later) the API list and run reports through `REPORTS`, so a
reader finds every kind here. `ReportOptions` holds the knobs some reports take; each
runner reads only its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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
OnConnection = Callable[[Connection, RevenueModel, Scope, ReportOptions], Any]


def _one_connection(run: OnConnection) -> Runner:
    """A runner reading on the connection it is given, or on a read connection of the
    store. Reports that run independent statements (velocity, forecast) take the store
    itself and spread them over the read pool (`store.parallel`)."""

    def on_source(source: Source, m: RevenueModel, s: Scope, o: ReportOptions) -> Any:
        if isinstance(source, Connection):
            return run(source, m, s, o)
        with source.reading() as conn:
            return run(conn, m, s, o)

    return on_source


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
            _one_connection(
                lambda c, m, s, o: funnel_report(
                    c, m, s, stages=list(o.stages) or None, window=o.window, grain=o.grain
                )
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
            _one_connection(
                lambda c, m, s, o: inventory_report(c, m, s, inactive_days=o.inactive_days)
            ),
        ),
        ReportKind(
            "cost",
            "Cost, new names, cost per name and per stage by program and channel.",
            _one_connection(lambda c, m, s, o: cost_report(c, m, s, stages=list(o.stages) or None)),
        ),
        ReportKind(
            "cohorts",
            "Entry month × stage reached.",
            _one_connection(
                lambda c, m, s, o: cohort_report(c, m, s, from_stage=o.from_stage, grain=o.grain)
            ),
        ),
        ReportKind(
            "deals",
            "Win rate, sales cycle, bookings and pipeline from the opportunity history.",
            _one_connection(lambda c, m, s, o: deal_report(c, s)),
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
