"""Reading a CSV file into a table of text cells with the line number of every record.

Fast path: polars' multi-threaded reader (every column as text, never inferred, so a cell
such as `=HYPERLINK(...)` or `00123` stays exactly what the file said). Exact path: the
standard `csv` module, used when polars cannot parse the file as a whole (a row with more
fields than the header): it rejects such rows one by one with their line numbers and keeps
the rest. Rows with fewer fields than the header are accepted with the missing trailing
cells empty, as spreadsheet exports often drop them.

Invalid UTF-8 is decoded lossily and every row holding a replacement character is then
rejected as `bad_encoding`, so one bad row never sinks a file.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from revmachine.ingest.errors import FileRejected, RejectCode, RowRejection

LINE = "__line__"
REPLACEMENT_CHAR = "\ufffd"
DELIMITERS = (",", ";", "\t", "|")

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?); save it as CSV (UTF-8) first"),
    (b"\xd0\xcf\x11\xe0", "a legacy Excel/Office file; save it as CSV (UTF-8) first"),
    (b"%PDF", "a PDF document, not a CSV file"),
    (b"\x1f\x8b", "gzip-compressed; decompress it first"),
    (b"\xff\xfe", "UTF-16 encoded; save it as CSV (UTF-8)"),
    (b"\xfe\xff", "UTF-16 encoded; save it as CSV (UTF-8)"),
)


@dataclass(frozen=True)
class CsvTable:
    """All cells as text (None for empty), the header, and rows already rejected."""

    frame: pl.DataFrame
    header: list[str]
    source_name: str
    rejections: list[RowRejection] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return self.frame.height + len(self.rejections)


def _check_signature(data: bytes, name: str) -> None:
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            raise FileRejected(f"{name}: not a CSV file: it is {what}.")
    # Anywhere in the file, not only at the start: PostgreSQL cannot store NUL in text.
    if b"\x00" in data:
        raise FileRejected(f"{name}: not a CSV file: it contains binary (NUL) bytes.")


def _pick_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _parse_header(text: str, delimiter: str, name: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    if not first or all(not cell.strip() for cell in first):
        raise FileRejected(f"{name}: no header row: the first line is empty.")
    header = [cell.strip() for cell in first]
    blank = [str(i + 1) for i, cell in enumerate(header) if not cell]
    if blank:
        raise FileRejected(
            f"{name}: header column(s) {', '.join(blank)} have no name; every column needs one."
        )
    counts = Counter(h.lower() for h in header)
    dupes = sorted({h for h in header if counts[h.lower()] > 1})
    if dupes:
        raise FileRejected(
            f"{name}: duplicate column names in the header: {', '.join(dupes)}. "
            "Rename or remove the duplicates so each value has one meaning."
        )
    return header


def read_csv(
    source: Path | bytes, *, name: str | None = None, delimiter: str | None = None
) -> CsvTable:
    """Read `source` or raise FileRejected (nothing has been written at that point)."""
    if isinstance(source, Path):
        name = name or source.name
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise FileRejected(f"{name}: cannot read file: {exc.strerror}") from exc
    else:
        data = source
        name = name or "<upload>"
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data or data.isspace():
        raise FileRejected(f"{name}: the file is empty: expected a header row and data rows.")
    _check_signature(data, name)

    end = data.find(b"\n")
    first_line = (data if end < 0 else data[:end]).decode("utf-8", errors="replace").rstrip("\r")
    if REPLACEMENT_CHAR in first_line:
        raise FileRejected(f"{name}: the header is not valid UTF-8; save the file as UTF-8.")
    sep = delimiter or _pick_delimiter(first_line)
    header = _parse_header(first_line, sep, name)

    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            has_header=True,
            separator=sep,
            infer_schema=False,
            encoding="utf8-lossy",
            new_columns=header,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return _read_exact(data, header, sep, name)
    frame = _clean(frame, header)
    if _may_span_lines(data) and _spans_lines(frame, header):
        # Quoted cells span lines: count physical lines with the csv module.
        lines = _record_lines(data, sep)
        frame = frame.with_columns(pl.Series(LINE, lines[: frame.height], dtype=pl.Int64))
    else:
        frame = frame.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))
    frame = _drop_blank(frame, header)
    table = CsvTable(frame, header, name)
    return _reject_bad_encoding(table, header) if _may_be_lossy(data) else table


def _may_span_lines(data: bytes) -> bool:
    """False when no cell can hold a line break, so that records and lines are one to one.

    polars ends a record at every `\n` outside quotes, so without a quote character in the
    file each record is one physical line. One byte scan instead of a scan of every cell.
    """
    return b'"' in data


def _spans_lines(frame: pl.DataFrame, header: list[str]) -> bool:
    return bool(
        frame.select(
            pl.any_horizontal(pl.col(h).str.contains("[\r\n]").fill_null(False) for h in header)
        )
        .to_series()
        .any()
    )


def _may_be_lossy(data: bytes) -> bool:
    """False when lossy decoding cannot have put a replacement character in any cell."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return REPLACEMENT_CHAR.encode() in data


def _clean(frame: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    # Empty cells and whitespace-only cells are "no value"; values are kept as written.
    return frame.with_columns(
        pl.when(pl.col(h).str.strip_chars() == "").then(None).otherwise(pl.col(h)).alias(h)
        for h in header
    )


def _drop_blank(frame: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    return frame.filter(pl.any_horizontal(pl.col(h).is_not_null() for h in header))


def _record_lines(data: bytes, sep: str) -> list[int]:
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    next(reader, None)
    lines: list[int] = []
    start = reader.line_num + 1
    for _ in reader:
        lines.append(start)
        start = reader.line_num + 1
    return lines


def _read_exact(data: bytes, header: list[str], sep: str, name: str) -> CsvTable:
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    next(reader, None)
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    rejections: list[RowRejection] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                rejections.append(
                    RowRejection(
                        start,
                        RejectCode.EXTRA_FIELDS,
                        None,
                        f"the row has {len(row)} fields but the header has {width}; "
                        "check for an unquoted delimiter in a value",
                    )
                )
            else:
                padded = row[:width] + [""] * (width - len(row))
                for col, cell in zip(columns, padded, strict=True):
                    col.append(cell if cell.strip() else None)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileRejected(f"{name}: not a readable CSV file near line {start}: {exc}") from exc
    frame = pl.DataFrame(
        {h: pl.Series(h, col, dtype=pl.String) for h, col in zip(header, columns, strict=True)}
    ).with_columns(pl.Series(LINE, lines, dtype=pl.Int64))
    frame = _drop_blank(frame, header)
    table = CsvTable(frame, header, name, rejections)
    return _reject_bad_encoding(table, header) if _may_be_lossy(data) else table


def _reject_bad_encoding(table: CsvTable, header: list[str]) -> CsvTable:
    bad_mask = pl.any_horizontal(
        pl.col(h).str.contains(REPLACEMENT_CHAR, literal=True).fill_null(False) for h in header
    )
    bad = table.frame.filter(bad_mask)
    if bad.height == 0:
        return table
    rejections = list(table.rejections)
    for row in bad.iter_rows(named=True):
        column = next(h for h in header if row[h] is not None and REPLACEMENT_CHAR in row[h])
        rejections.append(
            RowRejection(
                row[LINE],
                RejectCode.BAD_ENCODING,
                column,
                "the value is not valid UTF-8 (was the file saved as Latin-1 or Windows-1252?); "
                "save the file as CSV UTF-8",
            )
        )
    return CsvTable(table.frame.filter(~bad_mask), header, table.source_name, rejections)
