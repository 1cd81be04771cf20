"""Reports as Rich tables in the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from revmachine.analytics.render.cells import format_cell
from revmachine.analytics.tables import ReportTable


def rich_table(report: ReportTable, *, hide_all_segment: bool = True) -> Table:
    """One Rich table; the segment column is left out when there is no grouping."""
    columns = list(report.columns)
    keep = list(range(len(columns)))
    if (
        hide_all_segment
        and columns
        and columns[0].name == "segment"
        and all(row[0] == "(all)" for row in report.rows)
    ):
        keep = keep[1:]
    table = Table(title=report.title, title_justify="left")
    for i in keep:
        column = columns[i]
        table.add_column(column.label, justify="left" if column.kind == "text" else "right")
    for row in report.rows:
        table.add_row(*[format_cell(row[i], columns[i]) for i in keep])
    return table


def print_tables(console: Console, tables: Sequence[ReportTable]) -> None:
    for report in tables:
        if report.rows:
            console.print(rich_table(report))
        else:
            console.print(f"[dim]{report.title}: nothing in this period[/dim]")
