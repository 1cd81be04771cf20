"""ingest.export: CSV that a spreadsheet opens without running anything."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.ingest.export import FORMULA_PREFIXES, safe_cell, write_csv, write_rejections


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("=1+1", "'=1+1"),
        ("+1-800-CALL", "'+1-800-CALL"),
        ("-2+3", "'-2+3"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
    ],
)
def test_formula_like_text_gets_a_leading_quote(value: str, expected: str) -> None:
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-12.5", "-12.5"),
        (-12.5, "-12.5"),
        (-3, "-3"),
        ("+42", "+42"),
        (Decimal("-1000.00"), "-1000.00"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("ann@x.com", "ann@x.com"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
    ],
)
def test_numbers_and_ordinary_values_are_untouched(value: Any, expected: str) -> None:
    assert safe_cell(value) == expected


def test_json_values_are_written_as_sorted_json_and_made_safe() -> None:
    assert safe_cell({"b": 1, "a": "é"}) == '{"a": "é", "b": 1}'
    assert safe_cell(["=x"]) == '["=x"]'  # starts with '[', not a formula


def test_datetimes_are_written_in_iso_form() -> None:
    moment = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert safe_cell(moment) == "2025-03-01 10:00:00+00:00"


@given(st.text(max_size=40))
def test_no_written_cell_starts_a_formula_unless_it_is_a_number(text: str) -> None:
    cell = safe_cell(text)
    if cell.startswith(FORMULA_PREFIXES):
        float(cell)  # the only cells left as they are: numbers such as -12.5
    # Nothing is lost: the quote is the only change.
    assert cell in (text, "'" + text)


def test_write_csv_makes_header_and_cells_safe() -> None:
    out = io.StringIO()
    count = write_csv(out, ["email", "=evil"], [("a@x.com", "=1+1"), ("b@x.com", -5)])
    assert count == 2
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["email", "'=evil"],
        ["a@x.com", "'=1+1"],
        ["b@x.com", "-5"],
    ]


def test_write_rejections(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    write_rejections(
        path,
        [
            # A column name comes from the uploaded header: it is made safe like any cell.
            RowRejection(3, RejectCode.BAD_EMAIL, "=cmd", "'=x' is not a valid email"),
            RowRejection(7, RejectCode.EXTRA_FIELDS, None, "the row has 3 fields"),
        ],
    )
    with path.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["line", "code", "column", "message"],
            ["3", "bad_email", "'=cmd", "'=x' is not a valid email"],
            ["7", "extra_fields", "", "the row has 3 fields"],
        ]
