"""One report table as spreadsheet-safe CSV (raw values, not formatted text)."""

from __future__ import annotations

from typing import IO

from revmachine.analytics.tables import ReportTable
from revmachine.ingest.export import write_csv


def write_table_csv(out: IO[str], report: ReportTable) -> int:
    return write_csv(out, report.column_names(), report.rows)
