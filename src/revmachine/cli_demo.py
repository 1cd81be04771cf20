"""`revmachine demo`: a realistic company in a fresh workspace, run through the whole cycle.

A new user's first five minutes: one command generates the demo company (`revmachine.demo`),
writes it through the same imports a user's files go through, runs the revenue model over
it and prints what a CRO reads first, computed by the same analytics as `revmachine report`.
"""

from __future__ import annotations

import datetime as dt
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revmachine.cli_support import console, err, progress_bar

if TYPE_CHECKING:
    from revmachine.config import Workspace
    from revmachine.store.database import Database


class DemoSize(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    directory: Annotated[
        Path, typer.Argument(help="Workspace directory to create (model files, database).")
    ] = Path("revmachine-demo"),
    size: Annotated[DemoSize, typer.Option(help="small: seconds; medium: ~50k people.")] = (
        DemoSize.medium
    ),
    seed: Annotated[int, typer.Option(help="Same seed, same company.")] = 7,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: DIRECTORY/revmachine.db).")
    ] = None,
) -> None:
    """Generate a demo B2B company, run its revenue cycle, and summarise it."""
    from revmachine.cli_cycle import run_cycle
    from revmachine.cli_support import open_store, open_workspace
    from revmachine.config import write_default_workspace
    from revmachine.demo import generate, load_demo, write_ground_truth
    from revmachine.store import schema

    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    write_default_workspace(directory)
    workspace = open_workspace(directory)
    url = db or f"sqlite:///{directory / 'revmachine.db'}"
    store = open_store(url)
    with store.reading() as conn:
        if conn.execute(schema.people.select().limit(1)).first() is not None:
            err.print(
                f"[red]{url} already holds data.[/red] Give a new directory or --db, or "
                "delete the old demo first."
            )
            raise typer.Exit(2)
    today = dt.datetime.now(dt.UTC).date()
    start = (today.replace(day=1) - dt.timedelta(days=730)).replace(day=1)
    with progress_bar(f"generating the {size.value} company") as bar:
        world = generate(size.value, seed, start, lambda step, done, total: bar(done, total))
    console.print(
        f"Generated {world.tables['people'].height:,} people, "
        f"{world.tables['activities'].height:,} activities, "
        f"{world.tables['accounts'].height:,} accounts from {world.start} to {world.end}."
    )
    with progress_bar("importing") as bar:
        loaded = load_demo(store, world, lambda kind, done, total: bar(done, total))
    for kind, report in loaded.reports.items():
        console.print(
            f"  {kind:14s} {report.inserted:>9,} in, {report.rejected:,} rejected "
            f"({report.seconds:.1f} s)"
        )
    write_ground_truth(world, directory / "truth")
    as_of = dt.datetime.combine(world.end, dt.time(), dt.UTC)
    run_cycle(store, workspace, as_of)
    print_summary(store, workspace, as_of)
    console.print(
        f"\nDone in {time.perf_counter() - started:.0f} s. The workspace is {directory}/."
    )
    w = f"-w {directory} --db {url}"
    console.print(
        "Try next:\n"
        f"  revmachine report funnel {w}\n"
        f"  revmachine report --html out/ {w}\n"
        f"  revmachine whatif --sweep mql.behavior=30..90:10 {w}\n"
        f"  revmachine explain EMAIL {w}   (any email from `revmachine export people -`)\n"
        f"  edit {directory}/scoring.yml, then `revmachine validate {directory}`"
    )


def print_summary(store: Database, workspace: Workspace, as_of: dt.datetime) -> None:
    """The CRO's page, from the same analytics as `revmachine report` (same numbers)."""
    from revmachine.analytics.render.console import print_tables
    from revmachine.analytics.reports import REPORTS, ReportOptions
    from revmachine.analytics.spec import Scope, default_period

    scope = Scope(period=default_period(as_of), as_of=as_of)
    options = ReportOptions()
    results = {
        kind: REPORTS[kind].run(store, workspace.revenue, scope, options) for kind in SUMMARY
    }
    console.rule(f"The last 12 months, as of {as_of:%Y-%m-%d}")
    for kind, wanted in SUMMARY.items():
        tables = [t for t in results[kind].tables() if not wanted or t.name in wanted]
        print_tables(console, tables)


#: The reports (and their tables) on the demo's summary page; empty: every table.
SUMMARY: dict[str, tuple[str, ...]] = {
    "funnel": ("funnel",),
    "velocity": ("velocity",),
    "inventory": ("inventory",),
    "cost": ("channels",),
    "deals": ("deals",),
}
