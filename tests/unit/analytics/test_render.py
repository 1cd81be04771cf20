"""Renderers: cells read as people expect, JSON has no NaN or infinity, CSV is safe."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

from revmachine.analytics.intervals import wilson
from revmachine.analytics.render import to_plain, write_table_csv
from revmachine.analytics.render.cells import format_cell
from revmachine.analytics.tables import Column, table


def test_cells_by_kind() -> None:
    assert format_cell(1234567, Column("n", "n", kind="count")) == "1,234,567"
    assert format_cell(0.63149, Column("r", "r", kind="share")) == "63.1%"
    assert format_cell(47.985, Column("d", "d", kind="days")) == "48.0"
    assert format_cell(10005534.0, Column("m", "m", kind="money")) == "10,005,534.00"
    assert format_cell(None, Column("m", "m", kind="money")) == "–"


def test_plain_values_are_json() -> None:
    value = {
        "rate": wilson(3, 4),
        "money": Decimal("12.50"),
        "at": dt.datetime(2025, 1, 2, 3, tzinfo=dt.UTC),
        "never": float("inf"),
    }
    text = json.dumps(to_plain(value), allow_nan=False)
    back = json.loads(text)
    assert back["rate"]["successes"] == 3 and back["rate"]["value"] == 0.75
    assert back["money"] == 12.5
    assert back["at"] == "2025-01-02T03:00:00+00:00"
    assert back["never"] is None


def test_csv_cells_never_become_formulas() -> None:
    out = io.StringIO()
    rows = [("=HYPERLINK(1)", -3.5)]
    write_table_csv(out, table("t", "t", [Column("a", "a"), Column("b", "b")], rows))
    assert out.getvalue().splitlines() == ["a,b", "'=HYPERLINK(1),-3.5"]
