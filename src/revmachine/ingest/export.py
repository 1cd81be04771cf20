"""Writing CSV that is safe to open in a spreadsheet.

Values are stored exactly as received (`=HYPERLINK(...)` stays text in the store); only on
the way out to a file a spreadsheet may open do we neutralise cells that would be read as
formulas, by prefixing a single quote as OWASP's CSV-injection guidance recommends.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from revmachine.ingest.errors import RowRejection

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        # A number such as -12.5 is not a formula: keep it as it is.
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        count += 1
    return count


def write_rejections(path: Path, rejections: Sequence[RowRejection]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        write_csv(
            out,
            ["line", "code", "column", "message"],
            ((r.line, r.code.value, r.field, r.message) for r in rejections),
        )
