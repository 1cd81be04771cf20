"""What every `revmachine` command shares: consoles, the store and workspace options.

Kept apart from `cli.py` so that command modules (`cli_cycle`, `cli_report`, …) can use it
without importing each other.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from revmachine.services.imports.common import Progress as ProgressFn
from revmachine.settings import Settings
from revmachine.store.database import Database

if TYPE_CHECKING:
    from revmachine.config import Workspace

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: $REVMACHINE_DATABASE_URL or ./revmachine.db)"
    ),
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace directory with revenue_model.yml and scoring.yml (default: "
        "$REVMACHINE_WORKSPACE, else the current directory if it has them, else the "
        "built-in default model).",
    ),
]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_store(db_url: str | None) -> Database:
    """Open the store; a brand-new one is migrated, an outdated one is an error."""
    from revmachine.store import migrate

    settings = Settings() if db_url is None else Settings(database_url=db_url)
    db = Database(settings.database_url)
    current = migrate.current_revision(db)
    if current is None:
        migrate.upgrade(db)
    elif current != migrate.head_revision(db):
        err.print(
            f"[red]The store is at schema {current}; this revmachine needs "
            f"{migrate.head_revision(db)}. Run `revmachine db upgrade` first.[/red]"
        )
        raise typer.Exit(2)
    return db


def workspace_dir(option: Path | None) -> Path | None:
    """The workspace directory in use, or None for the built-in default model."""
    if option is not None:
        return option
    env = os.environ.get("REVMACHINE_WORKSPACE")
    if env:
        return Path(env)
    here = Path.cwd()
    return here if (here / "revenue_model.yml").is_file() else None


def open_workspace(option: Path | None) -> Workspace:
    """The validated workspace; every error is printed with file and line, then exit 2."""
    from revmachine.config import WorkspaceError, default_workspace, load_workspace

    directory = workspace_dir(option)
    if directory is None:
        return default_workspace()
    if not directory.is_dir():
        err.print(f"[red]No workspace at {directory}[/red] (create one with `revmachine init`)")
        raise typer.Exit(2)
    try:
        return load_workspace(directory)
    except WorkspaceError as exc:
        for issue in exc.issues:
            err.print(issue.describe(), markup=False, highlight=False)
        err.print(f"[red]{len(exc.issues)} error(s) in the workspace[/red]")
        raise typer.Exit(2) from exc


def parse_when(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    from revmachine.model.timestamps import TimestampError, parse_timestamp

    try:
        return parse_timestamp(text)
    except TimestampError as exc:
        raise typer.BadParameter(str(exc)) from exc


@contextmanager
def progress_bar(label: str) -> Iterator[ProgressFn]:
    """A Rich progress bar on stderr (hidden when stderr is not a terminal)."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
