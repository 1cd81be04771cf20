"""How a cell reads to a person, by column kind (count, share, days, money)."""

from __future__ import annotations

from revmachine.analytics.tables import Cell, Column


def format_cell(value: Cell, column: Column) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if column.kind == "count":
        return f"{int(value):,}"
    if column.kind == "share":
        return f"{float(value):.1%}"
    if column.kind == "days":
        return f"{float(value):,.1f}"
    if column.kind == "money":
        return f"{float(value):,.2f}"
    return str(value)
