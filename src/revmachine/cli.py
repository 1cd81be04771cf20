"""The `revmachine` command: a thin edge that parses, calls one service, renders the result."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from revmachine import (
    __version__,
    cli_api,
    cli_cycle,
    cli_demo,
    cli_forecast,
    cli_handoff,
    cli_predict,
)
from revmachine.cli_report import report_app
from revmachine.cli_support import (
    DbOption,
    WorkspaceOption,
    console,
    err,
    open_store,
    open_workspace,
    progress_bar,
)
from revmachine.cli_support import now as _now
from revmachine.cli_support import parse_when as _parse_when
from revmachine.ingest.errors import FileRejected, MappingError
from revmachine.ingest.mapping import parse_map_options
from revmachine.settings import Settings
from revmachine.store.database import Database

if TYPE_CHECKING:
    from revmachine.config import Workspace

app = typer.Typer(
    help="revmachine: one revenue cycle for marketing, sales and finance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create and migrate the store.", no_args_is_help=True)
app.add_typer(db_app, name="db")
cli_cycle.register(app)
cli_demo.register(app)
app.add_typer(report_app, name="report")
cli_handoff.register(app)
cli_api.register(app)
cli_predict.register(app)
cli_forecast.register(app)


class ImportKind(StrEnum):
    people = "people"
    accounts = "accounts"
    activities = "activities"
    opportunities = "opportunities"
    costs = "costs"
    programs = "programs"
    reps = "reps"
    decisions = "decisions"


class ExportKind(StrEnum):
    people = "people"
    activities = "activities"


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        console.print(f"revmachine {__version__}")
        raise typer.Exit()


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply every pending schema migration."""
    from revmachine.store import migrate

    settings = Settings() if db is None else Settings(database_url=db)
    store = Database(settings.database_url)
    migrate.upgrade(store)
    console.print(f"Store at schema {migrate.current_revision(store)} ({store.dialect}).")


@db_app.command("status")
def db_status(db: DbOption = None) -> None:
    """Show the schema revision of the store and the one this version needs."""
    from revmachine.store import migrate

    settings = Settings() if db is None else Settings(database_url=db)
    store = Database(settings.database_url)
    console.print(
        f"store: {migrate.current_revision(store) or 'empty'}; "
        f"needed: {migrate.head_revision(store)}"
    )


@app.command("import")
def import_file(
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="A CSV file (UTF-8, header row).", exists=False)],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="'CSV column=field', repeatable or comma-separated."),
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Write every rejected row to this CSV file.")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit with status 1 if any row is rejected.")
    ] = False,
    run_model: Annotated[
        bool,
        typer.Option(
            "--process/--no-process", help="Run the revenue model on what came in (default)."
        ),
    ] = True,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Import a CSV file: good rows go in, each bad row is reported with line and reason."""
    from revmachine.ingest.export import write_rejections
    from revmachine.services.imports import IMPORTERS

    try:
        mapping = parse_map_options(map_ or [])
    except MappingError as exc:
        raise typer.BadParameter(str(exc)) from exc
    store = open_store(db)
    importer = IMPORTERS[kind.value]
    with progress_bar(f"importing {kind.value}") as progress:
        try:
            report = importer(store, file, now=_now(), mapping=mapping or None, progress=progress)
        except (FileRejected, MappingError) as exc:
            err.print(f"[red]rejected:[/red] {exc}")
            raise typer.Exit(2) from exc
    _print_report(report)
    if rejects is not None:
        write_rejections(rejects, report.sorted_rejections())
        console.print(f"Rejected rows written to {rejects}")
    if run_model and kind.value in MODEL_INPUTS and report.inserted + report.updated:
        _run_model(store, open_workspace(workspace))
    if strict and report.rejected:
        raise typer.Exit(1)


MODEL_INPUTS = {"people", "activities", "opportunities", "decisions"}


def _run_model(store: Database, workspace: Workspace) -> None:
    cli_cycle.run_cycle(store, workspace, _now())


def _print_report(report: object) -> None:
    from revmachine.services.imports import ImportReport

    assert isinstance(report, ImportReport)
    table = Table(title=f"{report.kind} from {report.source_name}", show_header=True)
    for column in ("inserted", "updated", "unchanged", "rejected", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{report.inserted:,}",
        f"{report.updated:,}",
        f"{report.unchanged:,}",
        f"{report.rejected:,}",
        f"{report.seconds:.2f}",
    )
    console.print(table)
    shown = report.sorted_rejections()[:50]
    for rejection in shown:
        # markup=False: a message quotes the file's values, which may contain '[...]'.
        console.print(
            f"  {rejection.describe()}",
            style="yellow",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if len(report.rejections) > len(shown):
        console.print(f"  … and {len(report.rejections) - len(shown)} more (use --rejects FILE)")


@app.command("export")
def export(
    kind: Annotated[ExportKind, typer.Argument()],
    file: Annotated[Path, typer.Argument(help="CSV file to write ('-' for stdout).")],
    db: DbOption = None,
) -> None:
    """Export people or activities as spreadsheet-safe CSV (no cell becomes a formula)."""
    from revmachine.services.exports import export_activities, export_people

    store = open_store(db)
    fn = export_people if kind is ExportKind.people else export_activities
    if str(file) == "-":
        count = fn(store, sys.stdout)
    else:
        with file.open("w", newline="", encoding="utf-8") as out:
            count = fn(store, out)
        console.print(f"{count:,} {kind.value} written to {file}")


@app.command("person")
def person(
    email: Annotated[str, typer.Argument()],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO date-time; default now.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Show a person as known at a time, with their latest activities."""
    from revmachine.store.reads import activities_as_of, person_as_of

    when = _parse_when(as_of)
    store = open_store(db)
    with store.reading() as conn:
        snap = person_as_of(conn, email, when)
        if snap is None:
            err.print(f"No person {email!r}" + (f" as of {when.isoformat()}" if when else ""))
            raise typer.Exit(1)
        acts = activities_as_of(conn, snap.id, when or _now(), limit=10)
    table = Table(title=f"{snap.email}" + (f" as of {when:%Y-%m-%d %H:%M}" if when else ""))
    table.add_column("field")
    table.add_column("value")
    table.add_row("created_at", snap.created_at.isoformat())
    for key, value in snap.fields.items():
        if value is not None:
            table.add_row(key, str(value))
    for key, value in sorted(snap.attributes.items()):
        table.add_row(f"attributes.{key}", str(value))
    console.print(table)
    if acts:
        recent = Table(title="latest activities")
        for column in ("occurred_at", "type", "event_id"):
            recent.add_column(column)
        for act in acts:
            recent.add_row(act["occurred_at"].isoformat(), act["type"], act["event_id"])
        console.print(recent)


@app.command("status")
def status(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO date-time; default now.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Count what the store holds (as of a time)."""
    from revmachine.store.reads import counts

    when = _parse_when(as_of)
    store = open_store(db)
    with store.reading() as conn:
        c = counts(conn, when)
    table = Table(title="revmachine store" + (f" as of {when:%Y-%m-%d}" if when else ""))
    table.add_column("records")
    table.add_column("count", justify="right")
    for name, value in vars(c).items():
        table.add_row(name, f"{value:,}")
    console.print(table)


def main() -> None:
    app()
