"""`revmachine report …`: the analytics reports at the command line (a thin edge).

    revmachine report funnel --from 2025-01-01 --to 2025-06-30 --as-of 2025-07-01
    revmachine report velocity --group-by channel --format json
    revmachine report cost --format csv --table months > months.csv
    revmachine report --html out/            # every report in one self-contained file

Each command parses its options into a `Scope` and `ReportOptions`, runs one report from
`analytics.REPORTS` in a read-only connection and renders it. `cli.py` mounts this app with
`app.add_typer(report_app, name="report")`; the store is opened with the same
`open_store` (imported when a command runs, so that either module can import the other).
"""

from __future__ import annotations

import datetime as dt
import inspect
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from revmachine.analytics.reports import REPORTS, ReportOptions
from revmachine.analytics.segments import SEGMENTS
from revmachine.analytics.spec import Grain, Period, Scope, ScopeError, default_period
from revmachine.cli_support import (
    DbOption,
    WorkspaceOption,
    console,
    err,
    open_store,
    open_workspace,
    parse_when,
)
from revmachine.config.revenue_model import RevenueModel

report_app = typer.Typer(
    help="Revenue cycle reports: funnel, velocity, inventory, cost, cohorts, deals.",
    no_args_is_help=False,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FromOption = Annotated[
    str | None, typer.Option("--from", help="First day of the period (default: 12 months).")
]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day of the period, inclusive.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="ISO date-time the report is as of; default now.")
]
GroupOption = Annotated[
    str | None,
    typer.Option("--group-by", help=f"Split by a segment: {', '.join(SEGMENTS)}."),
]
WhereOption = Annotated[
    list[str] | None,
    typer.Option(
        "--where", help="Keep a segment's values: 'industry=Software|Retail' (repeatable)."
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
TableOption = Annotated[
    str | None, typer.Option("--table", help="With --format csv: which table (default: first).")
]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
]


def _day(text: str | None, name: str) -> dt.date | None:
    when = parse_when(text)
    if when is not None and when.time() != dt.time():
        raise typer.BadParameter(f"{name} takes a date such as 2025-01-31, not a time")
    return when.date() if when else None


def build_scope(
    from_: str | None,
    to: str | None,
    as_of: str | None,
    group_by: str | None,
    where: list[str] | None,
    now: dt.datetime,
) -> Scope:
    when = parse_when(as_of) or now
    start, last = _day(from_, "--from"), _day(to, "--to")
    default = default_period(when)
    period = Period(
        start or (default.start if last is None else last.replace(day=1)),
        last + dt.timedelta(days=1) if last else default.end,
    )
    filters: dict[str, tuple[str, ...]] = {}
    for item in where or []:
        name, sep, values = item.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise typer.BadParameter(f"--where {item!r}: write SEGMENT=VALUE or SEGMENT=A|B")
        filters[name.strip()] = tuple(v.strip() for v in values.split("|"))
    return Scope(period, when, filters, group_by)


def _model(workspace: Path | None) -> tuple[RevenueModel, str]:
    ws = open_workspace(workspace)
    return ws.revenue, ws.revenue.name


def _run(
    kinds: list[str],
    scope: Scope,
    options: ReportOptions,
    workspace: Path | None,
    db: str | None,
    *,
    keep_going: bool = False,
) -> tuple[dict[str, Any], dict[str, str], str]:
    """Run the reports; a question a report cannot answer (an unknown stage, a segment it
    cannot split by) exits with status 2, or with `keep_going` is returned as its error."""
    model, name = _model(workspace)
    store = open_store(db)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    try:
        for kind in kinds:
            try:
                results[kind] = REPORTS[kind].run(store, model, scope, options)
            except (ScopeError, ValueError) as exc:
                if not keep_going:
                    err.print(f"[red]cannot run the report:[/red] {exc}", highlight=False)
                    raise typer.Exit(2) from exc
                errors[kind] = str(exc)
    finally:
        store.dispose()
    return results, errors, name


def _write_html(
    out: Path,
    results: dict[str, Any],
    scope: Scope,
    model_name: str,
    errors: dict[str, str] | None = None,
) -> Path:
    from revmachine.analytics.render.html import render_html, write_html_report

    html = render_html(
        results,
        scope=scope,
        model_name=model_name,
        generated_at=dt.datetime.now(dt.UTC),
        errors=errors,
    )
    return write_html_report(out, html)


def _emit(kind: str, result: Any, fmt: OutputFormat, table_name: str | None) -> None:
    from revmachine.analytics.render import print_tables, to_json, write_table_csv

    if fmt is OutputFormat.json:
        sys.stdout.write(to_json(kind, result) + "\n")
        return
    tables = result.tables()
    if fmt is OutputFormat.csv:
        names = [t.name for t in tables]
        chosen = table_name or names[0]
        if chosen not in names:
            err.print(f"[red]no table {chosen!r}[/red]; {kind} has: {', '.join(names)}")
            raise typer.Exit(2)
        write_table_csv(sys.stdout, next(t for t in tables if t.name == chosen))
        return
    if table_name:
        tables = [t for t in tables if t.name == table_name]
    print_tables(console, tables)


def _one(
    kind: str,
    options: ReportOptions,
    *,
    from_: str | None,
    to: str | None,
    as_of: str | None,
    group_by: str | None,
    where: list[str] | None,
    fmt: OutputFormat,
    table: str | None,
    html: Path | None,
    workspace: Path | None,
    db: str | None,
) -> None:
    try:
        scope = build_scope(from_, to, as_of, group_by, where, dt.datetime.now(dt.UTC))
    except ScopeError as exc:
        raise typer.BadParameter(str(exc)) from exc
    results, _, model_name = _run([kind], scope, options, workspace, db)
    _emit(kind, results[kind], fmt, table)
    if html is not None:
        path = _write_html(html, results, scope, model_name)
        err.print(f"HTML report written to {path}")


def _shared_options(
    from_: FromOption = None,
    to: ToOption = None,
    as_of: AsOfOption = None,
    group_by: GroupOption = None,
    where: WhereOption = None,
    fmt: FormatOption = OutputFormat.table,
    table: TableOption = None,
    html: HtmlOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """The options every report command takes: a signature only, never called."""


OptionsOf = Callable[..., ReportOptions]


def _report_command(kind: str, *, segments: bool = True) -> Callable[[OptionsOf], OptionsOf]:
    """Register `revmachine report KIND` from a function that turns the report's own
    options into `ReportOptions`.

    The options every report shares (`_shared_options`: period, as-of, segments, output,
    store) are appended to that function's signature here, once, instead of being declared
    again by each of the six commands; Typer reads the command's `__signature__`.
    `segments=False` leaves out `--group-by` (a report that cannot split by segment).
    """

    def register(options_of: OptionsOf) -> OptionsOf:
        own = list(inspect.signature(options_of, eval_str=True).parameters.values())
        shared = [
            p
            for p in inspect.signature(_shared_options, eval_str=True).parameters.values()
            if segments or p.name != "group_by"
        ]
        names = [p.name for p in own]

        def command(**values: Any) -> None:
            options = options_of(**{name: values.pop(name) for name in names})
            _one(kind, options, **({"group_by": None} | values))

        command.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
        command.__doc__ = options_of.__doc__
        report_app.command(kind)(command)
        return options_of

    return register


@report_app.callback(invoke_without_command=True)
def report_all(
    ctx: typer.Context,
    html: HtmlOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    as_of: AsOfOption = None,
    group_by: GroupOption = None,
    where: WhereOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Run one report (see the commands below), or every report into one HTML file with
    `revmachine report --html OUT/`."""
    if ctx.invoked_subcommand is not None:
        return
    if html is None:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    try:
        scope = build_scope(from_, to, as_of, group_by, where, dt.datetime.now(dt.UTC))
    except ScopeError as exc:
        raise typer.BadParameter(str(exc)) from exc
    results, errors, model_name = _run(
        list(REPORTS), scope, ReportOptions(), workspace, db, keep_going=True
    )
    path = _write_html(html, results, scope, model_name, errors)
    console.print(f"HTML report written to {path}")


@_report_command("funnel")
def funnel(
    window_days: Annotated[
        float | None,
        typer.Option("--window-days", help="Count conversions within this many days of entry."),
    ] = None,
    stage: Annotated[
        list[str] | None, typer.Option("--stage", help="Stages to show (default: the model's).")
    ] = None,
    grain: Annotated[
        Grain, typer.Option(help="Volume per day/week/month/quarter/year.")
    ] = Grain.MONTH,
) -> ReportOptions:
    """Volume into each stage, inventory at as_of, cohort conversion (Wilson 95%), routes."""
    if window_days is not None and window_days <= 0:
        raise typer.BadParameter("--window-days must be above zero")
    return ReportOptions(
        grain=grain,
        window=dt.timedelta(days=window_days) if window_days else None,
        stages=tuple(stage or ()),
    )


def _pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(":")
    if not sep or not a or not b:
        raise typer.BadParameter(f"--pair {text!r}: write FROM:TO, such as mql:sal")
    return a.strip(), b.strip()


@_report_command("velocity")
def velocity(
    pair: Annotated[
        list[str] | None,
        typer.Option("--pair", help="FROM:TO stages, repeatable (default: the model's path)."),
    ] = None,
) -> ReportOptions:
    """Days from stage to stage: Kaplan–Meier (censoring-correct) beside completed-only."""
    return ReportOptions(pairs=tuple(_pair(p) for p in pair or ()))


@_report_command("inventory")
def inventory(
    inactive_days: Annotated[
        int, typer.Option("--inactive-days", min=1, help="No engagement for this long = stalled.")
    ] = 30,
) -> ReportOptions:
    """Who is in each stage at as_of: age, past SLA, inactive, freshness trend."""
    return ReportOptions(inactive_days=inactive_days)


@_report_command("cost", segments=False)
def cost(
    stage: Annotated[
        list[str] | None, typer.Option("--stage", help="Cost per these stages (default: model).")
    ] = None,
) -> ReportOptions:
    """Cost, new names and cost per name / MQL / … / won deal by program and channel."""
    return ReportOptions(stages=tuple(stage or ()))


@_report_command("cohorts")
def cohorts(
    from_stage: Annotated[
        str | None,
        typer.Option("--from-stage", help="Start cohorts at the first entry into this stage."),
    ] = None,
    grain: Annotated[Grain, typer.Option(help="Cohort size: week, month, quarter…")] = Grain.MONTH,
) -> ReportOptions:
    """Entry month × stage reached."""
    return ReportOptions(grain=grain, from_stage=from_stage)


@_report_command("deals")
def deals() -> ReportOptions:
    """Win rate, sales cycle, bookings and open pipeline as of a date."""
    return ReportOptions()
