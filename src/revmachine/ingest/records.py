"""JSON records (an API batch) as the same table of text cells a CSV file becomes.

Every import validates text cells with `ingest.convert`; turning a batch of JSON objects
into that table — one column per key, the record's position as its line — lets the API
reuse the whole CSV path (mapping, typed conversion, merge rules, rejections with codes)
instead of validating JSON a second way. `line` is the record's 1-based position.

JSON scalars become the text a spreadsheet would hold (`true`, `42`, `12.5`); an object
is allowed only under `attributes` (kept as JSON); any other nested value rejects the
record with `bad_value`, so nothing is silently flattened.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import polars as pl

from revmachine.ingest.csvfile import LINE, CsvTable
from revmachine.ingest.errors import FileRejected, RejectCode, RowRejection
from revmachine.ingest.fields import FieldSpec
from revmachine.ingest.mapping import header_key as _key

ATTRIBUTES = "attributes"
#: Longest key accepted: longer ones are almost always data sent as a key by mistake.
MAX_KEY = 100


def _cell(key: str, value: Any) -> str | None:
    """The text of one value, or raise ValueError with a sentence for the caller."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"'{key}' is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, Mapping) and key == ATTRIBUTES:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    raise ValueError(
        f"'{key}' must be a string, number or true/false, not "
        f"{'an object' if isinstance(value, Mapping) else 'a list'}"
        + (" (only 'attributes' may be an object)" if isinstance(value, Mapping) else "")
    )


def records_table(
    records: Sequence[Any], specs: Sequence[FieldSpec], *, name: str = "<api>"
) -> CsvTable:
    """A `CsvTable` for `records`; a record that is not a valid object is rejected alone.

    A required field that no record names still gets a (empty) column, so that each record
    without it is rejected as `missing_required` instead of the whole batch.
    """
    if not records:
        raise FileRejected(f"{name}: the batch is empty: send at least one record.")
    columns = _column_wise(records)
    if columns is None:
        return _record_wise(records, specs, name=name)
    return _table(columns, list(range(1, len(records) + 1)), specs, name, [])


def _column_wise(records: Sequence[Any]) -> dict[str, list[str | None]] | None:
    """The cells of each column, one list per key; None when some record needs
    `_record_wise` (it is not an object, has a bad key or two keys for one column, or a
    value it must reject). The common batch, flat objects of strings, numbers and
    booleans, is converted a column at a time instead of a value at a time.
    """
    if not all(type(r) is dict for r in records):
        return None
    keys = list(dict.fromkeys(chain.from_iterable(records)))
    canonical = set()
    for key in keys:
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
            return None
        if key != key.strip() or _key(key) in canonical:
            return None
        canonical.add(_key(key))
    columns: dict[str, list[str | None]] = {}
    for key in keys:
        values = [r.get(key) for r in records]
        kinds = set(map(type, values))
        kinds.discard(type(None))
        cells: list[str | None]
        if kinds <= {str}:
            cells = [None if v is None or not v or v.isspace() else v for v in values]
            if any("\x00" in v for v in cells if v is not None):
                return None
        elif kinds == {bool}:
            cells = [None if v is None else "true" if v else "false" for v in values]
        elif kinds == {int}:
            cells = [None if v is None else str(v) for v in values]
        else:
            try:
                cells = [_cell(key, v) for v in values]
            except ValueError:
                return None
            if any("\x00" in v for v in cells if v is not None):
                return None
        columns[key] = cells
    return columns


def _record_wise(records: Sequence[Any], specs: Sequence[FieldSpec], *, name: str) -> CsvTable:
    """`records_table` one record at a time: each bad record is rejected on its own."""
    header: dict[str, None] = {}
    keys_by_lower: dict[str, str] = {}
    canonical_of: dict[str, str] = {}  # each distinct key is normalised once, not per record
    rows: list[dict[str, str | None]] = []
    lines: list[int] = []
    rejections: list[RowRejection] = []
    for line, record in enumerate(records, 1):
        if not isinstance(record, Mapping):
            rejections.append(
                RowRejection(line, RejectCode.BAD_VALUE, None, "each record must be a JSON object")
            )
            continue
        row: dict[str, str | None] = {}
        problem: RowRejection | None = None
        for key, value in record.items():
            canonical = canonical_of.get(key) if isinstance(key, str) else None
            if canonical is None:
                if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
                    problem = RowRejection(
                        line,
                        RejectCode.BAD_VALUE,
                        None,
                        f"'{str(key)[:MAX_KEY]}…' is not a field name",
                    )
                    break
                # Keys that differ only in case or spacing are one column (as in a CSV header).
                canonical = keys_by_lower.setdefault(_key(key), key.strip())
                canonical_of[key] = canonical
            try:
                text = _cell(canonical, value)
            except ValueError as exc:
                problem = RowRejection(line, RejectCode.BAD_VALUE, canonical, str(exc))
                break
            if "\x00" in (text or ""):
                problem = RowRejection(
                    line, RejectCode.BAD_VALUE, canonical, f"'{canonical}' contains a NUL character"
                )
                break
            row[canonical] = text
        if problem is not None:
            rejections.append(problem)
            continue
        for key in row:
            header.setdefault(key, None)
        rows.append(row)
        lines.append(line)
    columns = {c: [r.get(c) for r in rows] for c in header}
    return _table(columns, lines, specs, name, rejections)


def _table(
    columns: dict[str, list[str | None]],
    lines: list[int],
    specs: Sequence[FieldSpec],
    name: str,
    rejections: list[RowRejection],
) -> CsvTable:
    present = {_key(k) for k in columns}
    for spec in specs:
        if spec.required and not present & {_key(n) for n in (spec.name, *spec.aliases)}:
            columns[spec.name] = [None] * len(lines)
    frame = pl.DataFrame(
        {c: pl.Series(c, cells, dtype=pl.String) for c, cells in columns.items()}
        | {LINE: pl.Series(LINE, lines, dtype=pl.Int64)}
    )
    return CsvTable(frame, list(columns), name, rejections)
