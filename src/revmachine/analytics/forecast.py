"""The revenue forecast as a report, and its backtest.

`forecast_report` reads the inputs as of `as_of` (`forecast_inputs`, SQL aggregates),
simulates them (`revmachine.forecast`, pure) and returns bookings per period with their
intervals, the contribution of the open pipeline and of new deals, the funnel's entries
per stage, and the drivers. `backtest` does the same at each past cut-off — with the
inputs as of the cut-off only — and scores each forecast against what the store knows
happened by `known_at`. Definitions: `forecast_bookings`, `forecast_contribution`,
`forecast_entries`, `forecast_interval`, `forecast_driver`, `wape`, `forecast_bias`,
`pinball_loss`, `interval_coverage`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection, select

from revmachine.analytics.deals import deal_states
from revmachine.analytics.definitions import funnel_stages
from revmachine.analytics.forecast_inputs import (
    Window,
    deal_inputs,
    funnel_from,
    funnel_queries,
    period_counts,
)
from revmachine.analytics.forecast_plan import name_plan
from revmachine.analytics.spec import Grain, Period, Scope, add_months
from revmachine.analytics.tables import Column, ReportTable, table
from revmachine.config.revenue_model import RevenueModel
from revmachine.forecast.chain import Bands
from revmachine.forecast.montecarlo import (
    QUANTILES,
    Forecast,
    ForecastInput,
    RateChange,
    Scenario,
    forecast,
    simulate,
    summarise,
)
from revmachine.forecast.plan import NamePlan
from revmachine.forecast.scoring import Score, ScoredPoint, score
from revmachine.store.database import Database
from revmachine.store.parallel import parallel_reads

#: The series a backtest scores.
SCORED = ("bookings", "pipeline_bookings", "new_deal_bookings", "wins", "pipeline_wins")


@dataclass(frozen=True)
class ForecastOptions:
    grain: Grain = Grain.MONTH
    horizon: int = 6  # periods
    lookback_days: int = 365
    paths: int = 10_000
    seed: int = 7
    use_stage: bool = True  # deal stages as states (off: age only)
    amount_classes: int = 3  # deal size classes as part of the state (1: none)
    segments: bool = True  # the deal's account segment as part of the state
    plans: bool = True  # new names from program plans where there are some (forecast.plan)
    #: False: the open deals' amounts are not trusted (see `OpenDeals.amounts_known`);
    #: also turns the size classes off, which would carry the same leak.
    amounts_known: bool = True
    #: The store's history is complete only from here: the look-back never starts earlier.
    history_from: dt.datetime | None = None
    funnel: bool = True  # people and new names (off: new deals from the deal run rate)
    bands: Bands = field(default_factory=Bands)


def periods_from(
    as_of: dt.datetime, grain: Grain, horizon: int
) -> tuple[list[tuple[dt.datetime, dt.datetime]], list[str]]:
    """`horizon` ISO weeks (Monday to Monday), calendar months or quarters, the first from
    `as_of` to its period's end."""
    if grain not in (Grain.WEEK, Grain.MONTH, Grain.QUARTER):
        raise ValueError("forecast periods are weeks, months or quarters")
    if horizon < 1:
        raise ValueError("the horizon is at least one period")
    day = as_of.astimezone(dt.UTC).date()
    first = day - dt.timedelta(days=day.weekday()) if grain is Grain.WEEK else day.replace(day=1)
    if grain is Grain.QUARTER:
        first = first.replace(month=(first.month - 1) // 3 * 3 + 1)
    out: list[tuple[dt.datetime, dt.datetime]] = []
    labels: list[str] = []
    start = first
    for _ in range(horizon):
        if grain is Grain.WEEK:
            end = start + dt.timedelta(days=7)
            year, week, _ = start.isocalendar()
            labels.append(f"{year}-W{week:02d}")
        elif grain is Grain.MONTH:
            end = add_months(start, 1)
            labels.append(f"{start:%Y-%m}")
        else:
            end = add_months(start, 3)
            labels.append(f"{start.year}-Q{(start.month - 1) // 3 + 1}")
        lo = max(as_of, dt.datetime.combine(start, dt.time(), dt.UTC))
        out.append((lo, dt.datetime.combine(end, dt.time(), dt.UTC)))
        start = end
    return out, labels


def load_input(
    source: Connection | Database,
    model: RevenueModel,
    as_of: dt.datetime,
    options: ForecastOptions,
) -> ForecastInput:
    """The forecast's inputs as of `as_of`. Given the store rather than a connection, the
    deal snapshots and the people's three statements run at once on read connections of
    their own (`store.parallel`): on two cores, about the time of the longest."""
    start = as_of - dt.timedelta(days=options.lookback_days)
    if options.history_from is not None:
        start = min(max(start, options.history_from), as_of - dt.timedelta(days=1))
    window = Window(start, as_of)
    bands = options.bands
    with parallel_reads(source) as reads:
        people = funnel_queries(window, bands)
        exits = reads.submit(people.exits) if options.funnel else None
        deals = reads.submit(
            lambda conn: deal_inputs(
                conn,
                window,
                bands,
                use_stage=options.use_stage,
                amount_classes=options.amount_classes if options.amounts_known else 1,
                segments=options.segments,
            )
        )
        periods, labels = periods_from(as_of, options.grain, options.horizon)
        plan = (
            reads.submit(lambda conn: name_plan(conn, window, periods[-1][1]))
            if options.funnel and options.plans
            else None
        )
        if exits is not None:
            opened, arrived = reads.submit(people.open), reads.submit(people.arrivals)
            funnel = funnel_from(
                model, window, bands, opened.result(), exits.result(), arrived.result()
            )
        else:
            funnel = None
        history, open_deals = deals.result()
        planned = plan.result() if plan is not None else None
    if not options.amounts_known:
        open_deals = replace(open_deals, amounts_known=False)
    return ForecastInput(as_of, tuple(periods), tuple(labels), history, open_deals, funnel, planned)


def drivers_for(data: ForecastInput, model: RevenueModel) -> tuple[tuple[str, Scenario], ...]:
    """What an extra 1,000 names a month, each stage-to-stage conversion 10 % better
    (relative) and a 10 % better win rate would add."""
    found: list[tuple[str, Scenario]] = []
    funnel = data.funnel
    if funnel is not None and funnel.opportunity_entries:
        found.append(("+1,000 names per month", Scenario(extra_names_per_month=1000.0)))
        path = funnel_stages(model)
        last = path.index(funnel.opportunity_stage) if funnel.opportunity_stage in path else 0
        for a, b in itertools.pairwise(path[: last + 1]):
            if a in funnel.tallies.stages and b in funnel.tallies.stages:
                found.append((f"{a} → {b} +10%", Scenario(rates=(RateChange(a, b, 1.1),))))
    if data.deals.tallies.stages:
        found.append(("win rate +10%", Scenario(rates=(RateChange("*", "won", 1.1),))))
    return tuple(found)


@dataclass(frozen=True)
class ForecastReport:
    scope: Scope
    options: ForecastOptions
    forecast: Forecast
    plan: NamePlan | None = None
    periods: tuple[tuple[dt.datetime, dt.datetime], ...] = ()

    def tables(self) -> list[ReportTable]:
        f = self.forecast
        series = f.series
        money = [
            Column("period", "Period"),
            Column("bookings", "Mean", "forecast_bookings", "money"),
            Column("p10", "p10", "forecast_interval", "money"),
            Column("p25", "p25", "forecast_interval", "money"),
            Column("p50", "median", "forecast_interval", "money"),
            Column("p75", "p75", "forecast_interval", "money"),
            Column("p90", "p90", "forecast_interval", "money"),
            Column("pipeline", "Pipeline", "forecast_contribution", "money"),
            Column("new_deals", "New deals", "forecast_contribution", "money"),
            Column("wins", "Wins", "forecast_bookings", "count"),
        ]
        b = series["bookings"]
        rows = [
            (
                label,
                b.mean[k],
                b.quantiles[0.1][k],
                b.quantiles[0.25][k],
                b.quantiles[0.5][k],
                b.quantiles[0.75][k],
                b.quantiles[0.9][k],
                series["pipeline_bookings"].mean[k],
                series["new_deal_bookings"].mean[k],
                series["wins"].mean[k],
            )
            for k, label in enumerate(f.labels)
        ]
        out = [table("forecast", "Bookings forecast", money, rows)]
        flows = [n for n in series if n == "names" or n.startswith("entries:")] + ["new_deals"]
        flow_cols = [
            Column("period", "Period"),
            Column("what", "Entering"),
            Column("mean", "Mean", "forecast_entries", "count"),
            Column("p10", "p10", "forecast_interval", "count"),
            Column("p90", "p90", "forecast_interval", "count"),
        ]
        flow_rows = [
            (
                label,
                name.removeprefix("entries:").replace("_", " "),
                series[name].mean[k],
                series[name].quantiles[0.1][k],
                series[name].quantiles[0.9][k],
            )
            for k, label in enumerate(f.labels)
            for name in flows
        ]
        out.append(table("funnel", "Funnel forecast", flow_cols, flow_rows))
        if f.drivers:
            driver_cols = [
                Column("driver", "Driver"),
                Column("added", "Added (all periods)", "forecast_driver", "money"),
                *[
                    Column(f"p{k + 1}", label, "forecast_driver", "money")
                    for k, label in enumerate(f.labels)
                ],
            ]
            driver_rows = [(d.name, d.total_delta, *d.bookings_delta) for d in f.drivers]
            out.append(table("drivers", "Drivers", driver_cols, driver_rows))
        if self.plan is not None:
            out.append(self._plan_table(self.plan))
        return out

    def _plan_table(self, plan: NamePlan) -> ReportTable:
        """The program plans the new names follow, beside what each channel's spend bought
        over the window (empty periods: no plan, the run rate)."""
        cols = [
            Column("channel", "Channel"),
            Column("names", "Names in window", "new_names", "count"),
            Column("spend", "Spend in window", "program_cost", "money"),
            Column("per_name", "Cost per name", "cost_per_name", "money"),
            *[
                Column(f"p{k + 1}", f"Planned {label}", "program_cost", "money")
                for k, label in enumerate(self.forecast.labels)
            ],
        ]

        def day(when: dt.datetime) -> int:  # the plan's days are calendar days (UTC)
            return (
                when.astimezone(dt.UTC).date() - self.scope.as_of.astimezone(dt.UTC).date()
            ).days

        per_period = [plan.planned_between(day(lo), day(hi)) for lo, hi in self.periods]
        rows = [
            (
                channel,
                int(plan.names[c]),
                float(plan.spend[c]),
                float(plan.spend[c] / plan.names[c]) if plan.names[c] else None,
                *[spends[c] for spends in per_period],
            )
            for c, channel in enumerate(plan.channels)
        ]
        return table("plans", "Program plans (new names)", cols, rows)


def forecast_report(
    source: Connection | Database,
    model: RevenueModel,
    as_of: dt.datetime,
    options: ForecastOptions,
    scenario: Scenario = Scenario(),
    *,
    with_drivers: bool = True,
) -> ForecastReport:
    data = load_input(source, model, as_of, options)
    check_scenario(data, scenario)
    drivers = drivers_for(data, model) if with_drivers else ()
    result = forecast(
        data,
        paths=options.paths,
        seed=options.seed,
        scenario=scenario,
        drivers=drivers,
        driver_paths=min(options.paths, 2000),
    )
    start, end = data.periods[0][0], data.periods[-1][1]
    period = Period(start.date(), max(end.date(), start.date() + dt.timedelta(days=1)))
    return ForecastReport(Scope(period, as_of), options, result, data.name_plan, data.periods)


def check_scenario(data: ForecastInput, scenario: Scenario) -> None:
    """Refuse rate changes between stages the chains do not have, naming those they do."""
    for change in scenario.rates:
        if change.to_stage == "won":
            continue
        if data.funnel is None:
            raise ValueError(
                f"--rate {change.from_stage}_to_{change.to_stage}: the store has no stage "
                "history to change (only win_rate applies)"
            )
        stages = data.funnel.tallies.stages
        for name in (change.from_stage, change.to_stage):
            if name not in stages:
                raise ValueError(f"unknown stage {name!r}; the stages are: {', '.join(stages)}")


@dataclass(frozen=True)
class Backtest:
    scope: Scope
    cutoffs: tuple[dt.datetime, ...]
    points: tuple[ScoredPoint, ...]
    scores: tuple[Score, ...]
    options: ForecastOptions
    known_at: dt.datetime

    def tables(self) -> list[ReportTable]:
        cols = [
            Column("series", "Series"),
            Column("points", "Periods scored", None, "count"),
            Column("actual", "Actual total", None, "money"),
            Column("wape", "WAPE", "wape", "share"),
            Column("bias", "Bias", "forecast_bias", "share"),
            Column("pinball", "Pinball loss", "pinball_loss", "share"),
            Column("coverage_50", "In 50% interval", "interval_coverage", "share"),
            Column("coverage_80", "In 80% interval", "interval_coverage", "share"),
        ]
        rows = [
            (
                s.series,
                s.points,
                s.actual_total,
                s.wape,
                s.bias,
                s.pinball,
                s.coverage_50,
                s.coverage_80,
            )
            for s in self.scores
        ]
        point_cols = [
            Column("cutoff", "Cut-off"),
            Column("period", "Period"),
            Column("series", "Series"),
            Column("actual", "Actual", None, "money"),
            Column("mean", "Forecast", "forecast_bookings", "money"),
            Column("p10", "p10", "forecast_interval", "money"),
            Column("p90", "p90", "forecast_interval", "money"),
        ]
        point_rows = [
            (p.cutoff, p.label, p.series, p.actual, p.mean, p.quantiles[0.1], p.quantiles[0.9])
            for p in self.points
        ]
        return [
            table("scores", "Backtest scores", cols, rows),
            table("points", "Forecast and actual per cut-off and period", point_cols, point_rows),
        ]


def actuals(
    conn: Connection,
    periods: Sequence[tuple[dt.datetime, dt.datetime]],
    open_ids: set[int],
    known_at: dt.datetime,
) -> dict[str, list[float]]:
    """Bookings and wins per period as known at `known_at`: all, and those of the deals
    that were open at the cut-off."""
    d = deal_states(Scope(Period(dt.date(1970, 1, 1), dt.date(1970, 1, 2)), known_at))
    lo, hi = periods[0][0], periods[-1][1]
    rows = conn.execute(
        select(d.c.opportunity_id, d.c.amount, d.c.closed_at).where(
            d.c.status == "won", d.c.closed_at >= lo, d.c.closed_at < hi
        )
    ).all()
    k = len(periods)
    out = {name: [0.0] * k for name in SCORED}
    for opp, amount, closed in rows:
        for i, (start, end) in enumerate(periods):
            if start <= closed < end:
                value = float(amount or 0)
                out["bookings"][i] += value
                out["wins"][i] += 1
                if opp in open_ids:
                    out["pipeline_bookings"][i] += value
                    out["pipeline_wins"][i] += 1
                else:
                    out["new_deal_bookings"][i] += value
    return out


def backtest(
    conn: Connection,
    model: RevenueModel,
    cutoffs: Sequence[dt.datetime],
    options: ForecastOptions,
    known_at: dt.datetime,
) -> Backtest:
    """Forecast from each cut-off with only what was known then, and score the periods
    that have ended by `known_at` against what happened."""
    points: list[ScoredPoint] = []
    if not cutoffs:
        raise ValueError("a backtest needs at least one cut-off")
    for cutoff in cutoffs:
        if cutoff >= known_at:
            raise ValueError(f"cut-off {cutoff:%Y-%m-%d} is not before {known_at:%Y-%m-%d}")
        data = load_input(conn, model, cutoff, options)
        periods = [p for p in data.periods if p[1] <= known_at]
        if not periods:
            continue
        ids = data.open_deals.ids
        truth = actuals(conn, periods, set(ids.tolist()) if ids is not None else set(), known_at)
        if data.funnel is not None:
            truth.update(period_counts(conn, periods, known_at))
        samples = simulate(data, paths=options.paths, seed=options.seed)
        summary = summarise(samples)
        names = [n for n in summary if n in truth or n.startswith("entries:") or n == "names"]
        for name in names:
            s = summary[name]
            actual = truth.get(name, [0.0] * len(periods))
            for i in range(len(periods)):
                points.append(
                    ScoredPoint(
                        cutoff.date().isoformat(),
                        i + 1,
                        data.labels[i],
                        name,
                        float(actual[i]),
                        s.mean[i],
                        {q: s.quantiles[q][i] for q in QUANTILES},
                    )
                )
    series = list(dict.fromkeys(p.series for p in points))
    first = min(cutoffs)
    scope = Scope(Period(first.date(), known_at.date() + dt.timedelta(days=1)), known_at)
    return Backtest(
        scope,
        tuple(cutoffs),
        tuple(points),
        tuple(score(name, points) for name in series),
        options,
        known_at,
    )


def month_starts(first: dt.date, last: dt.date) -> list[dt.datetime]:
    out = []
    day = first.replace(day=1)
    if day < first:
        day = add_months(day, 1)
    while day <= last:
        out.append(dt.datetime.combine(day, dt.time(), dt.UTC))
        day = add_months(day, 1)
    return out
