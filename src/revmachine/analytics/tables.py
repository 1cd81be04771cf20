"""Reports as named tables: the one shape the console, CSV and HTML renderers share.

Each report result turns itself into `ReportTable`s whose columns name the metric they show
(`metric` links to `definitions.METRICS`), so every rendered number keeps its definition.
Cells are plain values (str, int, float, None); formatting is the renderer's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    metric: str | None = None
    kind: str = "text"  # text | count | share | days | money


@dataclass(frozen=True)
class ReportTable:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def records(self) -> list[dict[str, Cell]]:
        names = self.column_names()
        return [dict(zip(names, row, strict=True)) for row in self.rows]


def table(
    name: str, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]]
) -> ReportTable:
    return ReportTable(name, title, tuple(columns), tuple(tuple(r) for r in rows))
