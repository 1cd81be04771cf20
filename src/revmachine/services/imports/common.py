"""What every import shares: the report, the run record, reference look-ups, progress."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import polars as pl
from sqlalchemy import Connection, CursorResult, Table, insert, select, update

from revmachine.ingest.convert import Converted, convert
from revmachine.ingest.csvfile import LINE, CsvTable, read_csv
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.ingest.fields import KEEPS_EXTRA_COLUMNS, KIND_FIELDS
from revmachine.ingest.mapping import resolve_mapping
from revmachine.store import schema

if TYPE_CHECKING:
    from revmachine.store.database import Database

#: Rows per statement batch: large enough to amortise round trips, small enough for memory.
CHUNK = 50_000
#: Parameters per IN (...) look-up; under SQLite's and PostgreSQL's limits.
LOOKUP_CHUNK = 5_000


#: What an import reads: a CSV file (path or bytes) or a table already built from records.
Source = Path | bytes | CsvTable


class Progress(Protocol):
    def __call__(self, done: int, total: int) -> None: ...


def no_progress(done: int, total: int) -> None:
    return None


class Importer(Protocol):
    """The contract of every import (`services.imports.IMPORTERS`): one source of one kind,
    in one transaction, reported."""

    def __call__(
        self,
        db: Database,
        source: Source,
        *,
        now: dt.datetime,
        name: str | None = None,
        mapping: dict[str, str] | None = None,
        progress: Progress = no_progress,
        outcomes: bool = False,
    ) -> ImportReport: ...


class RecordOutcome(NamedTuple):
    """What became of one accepted row: `created`, `updated` or `unchanged`, and its id.

    A named tuple: a batch makes one per record, and a frozen dataclass costs several
    times more to build."""

    status: str
    id: int | None


@dataclass
class ImportReport:
    """The summary every import prints: counts by outcome and each rejected row."""

    kind: str
    source_name: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[RowRejection] = field(default_factory=list)
    run_id: int | None = None
    seconds: float = 0.0
    #: Per accepted line, when the caller asked for it (an API batch answers per record).
    outcomes: dict[int, RecordOutcome] | None = None

    def note(self, line: int, status: str, id_: int | None) -> None:
        """Remember what became of `line` (a no-op unless outcomes were asked for)."""
        if self.outcomes is not None:
            self.outcomes[line] = RecordOutcome(status, id_)

    @property
    def rejected(self) -> int:
        """Rejected rows (a row with two problems counts once)."""
        return len({r.line for r in self.rejections})

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def sorted_rejections(self) -> list[RowRejection]:
        return sorted(self.rejections, key=lambda r: (r.line, r.field or ""))


@dataclass(frozen=True)
class ImportSource:
    """A parsed, mapped and typed file, ready for a kind's apply step."""

    table: CsvTable
    converted: Converted

    @property
    def frame(self) -> pl.DataFrame:
        return self.converted.frame


def prepare(
    kind: str,
    source: Source,
    *,
    name: str | None,
    mapping: dict[str, str] | None,
    delimiter: str | None = None,
) -> ImportSource:
    """File-level checks, mapping and typed conversion; raises before anything is written."""
    if isinstance(source, CsvTable):
        table = source
    else:
        table = read_csv(source, name=name, delimiter=delimiter)
    specs = KIND_FIELDS[kind]
    resolved = resolve_mapping(
        table.header,
        specs,
        mapping,
        keep_extra=kind in KEEPS_EXTRA_COLUMNS,
        source_name=table.source_name,
    )
    return ImportSource(table, convert(table, resolved, specs))


def new_report(kind: str, prepared: ImportSource, outcomes: bool) -> ImportReport:
    """The report of an import, holding the rows the reading and conversion rejected."""
    report = ImportReport(kind, prepared.table.source_name, outcomes={} if outcomes else None)
    report.rejections.extend(prepared.table.rejections)
    report.rejections.extend(prepared.converted.rejections)
    return report


def start_run(conn: Connection, report: ImportReport, now: dt.datetime) -> int:
    result = conn.execute(
        insert(schema.import_runs).values(
            kind=report.kind, source_name=report.source_name[:500], started_at=now
        )
    )
    report.run_id = new_id(result)
    return report.run_id


def finish_run(conn: Connection, report: ImportReport, now: dt.datetime) -> None:
    assert report.run_id is not None
    conn.execute(
        update(schema.import_runs)
        .where(schema.import_runs.c.id == report.run_id)
        .values(
            finished_at=now,
            inserted=report.inserted,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=report.rejected,
        )
    )
    rows = [
        {
            "run_id": report.run_id,
            "line": r.line,
            "code": r.code.value,
            "field": r.field,
            "message": r.message[:2000],
        }
        for r in report.sorted_rejections()
    ]
    for batch in chunks(rows, CHUNK):
        conn.execute(insert(schema.import_rejections), batch)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lookup(
    conn: Connection, table: Table, key: str, values: Iterable[str], value_column: str = "id"
) -> dict[str, Any]:
    """Map each distinct key value to the row's `value_column`, in chunked IN queries."""
    distinct = sorted({v for v in values if v is not None})
    found: dict[str, Any] = {}
    kcol, vcol = table.c[key], table.c[value_column]
    for batch in chunks(distinct, LOOKUP_CHUNK):
        for k, v in conn.execute(select(kcol, vcol).where(kcol.in_(batch))):
            found[k] = v
    return found


def reject_rows(
    frame: pl.DataFrame,
    mask: pl.Expr,
    code: RejectCode,
    field: str | None,
    message: Callable[[dict[str, Any]], str],
) -> tuple[pl.DataFrame, list[RowRejection]]:
    """Split off the rows matching `mask`, each with a rejection built from its values."""
    bad = frame.filter(mask)
    if bad.height == 0:
        return frame, []
    rejections = [
        RowRejection(row[LINE], code, field, message(row)) for row in bad.iter_rows(named=True)
    ]
    return frame.filter(~mask), rejections


def new_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None and key[0] is not None
    return int(key[0])


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start
