"""`revmachine forecast`: bookings ahead with honest intervals, scenarios, and the backtest.

    revmachine forecast --horizon 6                       # months, 10,000 paths
    revmachine forecast --grain quarter --horizon 4 --format json
    revmachine forecast --names-per-month 3000 --rate mql_to_sal=+10%
    revmachine forecast --html out/                       # with the fan chart
    revmachine forecast backtest --from 2025-01-01 --to 2025-09-01

A thin edge: options become `ForecastOptions` and a `Scenario`, one read-only connection
runs `analytics.forecast`, and the result is rendered like every report.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from revmachine.cli_support import (
    DbOption,
    WorkspaceOption,
    console,
    err,
    now,
    open_store,
    open_workspace,
    parse_when,
)

if TYPE_CHECKING:
    from revmachine.analytics.forecast import ForecastOptions
    from revmachine.forecast import RateChange

forecast_app = typer.Typer(
    help="Revenue forecast: open pipeline plus funnel, with intervals; and its backtest.",
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(forecast_app, name="forecast")


class Period(StrEnum):
    week = "week"
    month = "month"
    quarter = "quarter"


class Format(StrEnum):
    table = "table"
    json = "json"


GrainOption = Annotated[
    Period, typer.Option("--grain", help="week (ISO, Monday to Monday), month or quarter.")
]
HorizonOption = Annotated[int, typer.Option("--horizon", min=1, max=52, help="Periods ahead.")]
LookbackOption = Annotated[
    int, typer.Option("--lookback-days", min=30, help="Learn the rates from this many days.")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Same seed, same paths.")]
StagesOption = Annotated[
    bool,
    typer.Option(
        "--deal-stages/--no-deal-stages",
        help="Deal stages as states (off: by age only, for CRMs whose history lacks stages).",
    ),
]
SegmentsOption = Annotated[
    bool,
    typer.Option(
        "--deal-segments/--no-deal-segments",
        help="The deal's account segment as part of its state (segments with 20+ deals).",
    ),
]
PlansOption = Annotated[
    bool,
    typer.Option(
        "--plans/--no-plans",
        help="New names from program costs planned after the cut-off (off: the run rate).",
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", help="table or json.")]

_RATE = re.compile(r"^\s*(?P<name>[a-z0-9_*]+)\s*=\s*(?P<sign>[+-])\s*(?P<pct>\d+(\.\d+)?)\s*%\s*$")


def parse_rate(text: str) -> RateChange:
    """`mql_to_sal=+10%` (the rate from stage mql to stage sal, 10 % higher) or
    `win_rate=-5%` (every deal stage's rate to won)."""
    from revmachine.forecast import RateChange

    match = _RATE.match(text.lower())
    if match is None:
        raise typer.BadParameter(
            f"{text!r}: write FROM_to_TO=+10% (e.g. mql_to_sal=+10%) or win_rate=+10%",
            param_hint="--rate",
        )
    pct = float(match["pct"]) * (1 if match["sign"] == "+" else -1)
    factor = 1.0 + pct / 100.0
    if factor < 0:
        raise typer.BadParameter(f"{text!r}: a rate cannot fall below zero", param_hint="--rate")
    name = match["name"]
    if name in ("win_rate", "win"):
        return RateChange("*", "won", factor)
    source, sep, target = name.partition("_to_")
    if not sep or not source or not target:
        raise typer.BadParameter(
            f"{text!r}: name the two stages as FROM_to_TO (e.g. mql_to_sal)", param_hint="--rate"
        )
    return RateChange(source, target, factor)


def _options(
    grain: Period,
    horizon: int,
    lookback: int,
    paths: int,
    seed: int,
    stages: bool,
    segments: bool,
    plans: bool,
) -> ForecastOptions:
    from revmachine.analytics.forecast import ForecastOptions
    from revmachine.analytics.spec import Grain

    return ForecastOptions(
        grain=Grain(grain.value),
        horizon=horizon,
        lookback_days=lookback,
        paths=paths,
        seed=seed,
        use_stage=stages,
        segments=segments,
        plans=plans,
    )


def _emit(kind: str, result: Any, fmt: Format) -> None:
    from revmachine.analytics.render import print_tables, to_json

    if fmt is Format.json:
        sys.stdout.write(to_json(kind, result) + "\n")
    else:
        print_tables(console, result.tables())


@forecast_app.callback(invoke_without_command=True)
def forecast(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Forecast from this time (default: now).")
    ] = None,
    grain: GrainOption = Period.month,
    horizon: HorizonOption = 6,
    lookback: LookbackOption = 365,
    paths: Annotated[int, typer.Option("--paths", min=100, help="Simulated futures.")] = 10_000,
    seed: SeedOption = 7,
    names_per_month: Annotated[
        float | None,
        typer.Option(
            "--names-per-month", min=0, help="Scenario: new names a month (default: measured)."
        ),
    ] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option("--rate", help="Scenario: mql_to_sal=+10% or win_rate=-5% (repeatable)."),
    ] = None,
    drivers: Annotated[
        bool, typer.Option("--drivers/--no-drivers", help="Also simulate the drivers.")
    ] = True,
    stages: StagesOption = True,
    segments: SegmentsOption = True,
    plans: PlansOption = True,
    fmt: FormatOption = Format.table,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML report with the fan chart.")
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Forecast bookings per week, month or quarter from the open pipeline and the funnel."""
    if ctx.invoked_subcommand is not None:
        return
    from revmachine.analytics.forecast import forecast_report
    from revmachine.analytics.spec import ScopeError
    from revmachine.forecast import Scenario

    when = parse_when(as_of) or now()
    scenario = Scenario(
        names_per_month=names_per_month, rates=tuple(parse_rate(r) for r in rate or [])
    )
    options = _options(grain, horizon, lookback, paths, seed, stages, segments, plans)
    ws = open_workspace(workspace)
    store = open_store(db)
    try:
        result = forecast_report(store, ws.revenue, when, options, scenario, with_drivers=drivers)
    except (ScopeError, ValueError) as exc:
        err.print(f"[red]cannot forecast:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    finally:
        store.dispose()
    if not scenario.is_baseline():
        parts = [f"{names_per_month:,.0f} names per month"] if names_per_month is not None else []
        parts += [r.label() for r in scenario.rates]
        err.print("scenario: " + "; ".join(parts), highlight=False)
    _emit("forecast", result, fmt)
    if html is not None:
        from revmachine.analytics.render.html import render_html, write_html_report

        page = render_html(
            {"forecast": result},
            scope=result.scope,
            model_name=ws.revenue.name,
            generated_at=dt.datetime.now(dt.UTC),
        )
        err.print(f"HTML report written to {write_html_report(html, page)}")


@forecast_app.command("backtest")
def backtest_command(
    from_: Annotated[
        str, typer.Option("--from", help="First cut-off month (its first day is used).")
    ],
    to: Annotated[
        str | None, typer.Option("--to", help="Last cut-off (default: --known-at).")
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option("--known-at", help="Score against what was known then (default: now)."),
    ] = None,
    grain: GrainOption = Period.month,
    horizon: HorizonOption = 3,
    lookback: LookbackOption = 365,
    paths: Annotated[int, typer.Option("--paths", min=100, help="Paths per cut-off.")] = 2000,
    seed: SeedOption = 7,
    stages: StagesOption = True,
    segments: SegmentsOption = True,
    plans: PlansOption = True,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Replay the store at each month start between --from and --to (seeing only what was
    known then), forecast the next periods, and score them: WAPE, bias, pinball loss,
    50 % and 80 % interval coverage."""
    from revmachine.analytics.forecast import backtest, month_starts

    end = parse_when(known_at) or now()
    first = parse_when(from_)
    assert first is not None
    last = parse_when(to) or end
    cutoffs = [c for c in month_starts(first.date(), last.date()) if c < end]
    if not cutoffs:
        raise typer.BadParameter("no month start between --from and --to before --known-at")
    options = _options(grain, horizon, lookback, paths, seed, stages, segments, plans)
    ws = open_workspace(workspace)
    store = open_store(db)
    try:
        with store.reading() as conn:
            result = backtest(conn, ws.revenue, cutoffs, options, end)
    except ValueError as exc:
        err.print(f"[red]cannot backtest:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    finally:
        store.dispose()
    if fmt is Format.json:
        _emit("forecast_backtest", result, fmt)
        return
    from revmachine.analytics.render import print_tables

    print_tables(console, [t for t in result.tables() if t.name == "scores"])
