"""Batches of JSON records (the API's writes) through the same imports as CSV files.

`upsert_batch` turns the records into the table a CSV file becomes (`ingest.records`) and
runs the kind's import on it, asking for per-record outcomes: the same mapping, typed
conversion, merge rules, rejection codes and single transaction as `revmachine import`,
and an answer per record in input order.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from revmachine.ingest.errors import RowRejection
from revmachine.ingest.fields import KIND_FIELDS
from revmachine.ingest.records import records_table
from revmachine.services.imports.common import ImportReport
from revmachine.store.database import Database

#: Largest batch one call may send: bounded work per transaction and per response.
MAX_BATCH = 1000


@dataclass(slots=True)
class RecordResult:
    """What became of one record: `created`, `updated`, `unchanged` or `rejected`.

    Not frozen: one is made per record of every batch, and a frozen dataclass costs four
    times as much to build (~1 ms of a 1,000-record batch)."""

    index: int  # 0-based position in the batch
    status: str
    id: int | None
    errors: tuple[RowRejection, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    kind: str
    results: list[RecordResult]
    report: ImportReport

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


class BatchTooLarge(ValueError):
    pass


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = (0, 0, 0)
#: The youngest generation's threshold while a batch runs (Python's default is 700).
BATCH_GC_THRESHOLD = 200_000


@contextmanager
def gc_relaxed() -> Iterator[None]:
    """Python's cyclic collector runs less often while any batch runs (in any thread).

    Merging a batch of stored people makes tens of thousands of small objects, and the
    collections they trigger at the default threshold were a third of the CPU time of a
    1,000-record batch of existing people; at `BATCH_GC_THRESHOLD` they cost about what
    turning the collector off saves. It is not turned off: a busy server whose batches
    overlap without a gap still collects, so cyclic garbage stays bounded. The previous
    thresholds come back when the last batch in flight ends.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] < BATCH_GC_THRESHOLD:
                gc.set_threshold(BATCH_GC_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


def upsert_batch(
    kind: str,
    db: Database,
    records: Sequence[Any],
    *,
    now: dt.datetime,
    name: str = "api",
    max_batch: int = MAX_BATCH,
) -> BatchResult:
    """Import `records` of `kind` in one transaction; one result per record, in order.

    Raises `FileRejected` for an empty batch and `BatchTooLarge` above `max_batch`;
    nothing is written then.
    """
    from revmachine.services.imports import IMPORTERS

    if len(records) > max_batch:
        raise BatchTooLarge(f"{len(records)} records in one batch; the limit is {max_batch}")
    with gc_relaxed():
        table = records_table(records, KIND_FIELDS[kind], name=name)
        report = IMPORTERS[kind](db, table, now=now, name=name, outcomes=True)
    return BatchResult(kind, results_in_order(len(records), report), report)


def results_in_order(count: int, report: ImportReport) -> list[RecordResult]:
    by_line: dict[int, list[RowRejection]] = {}
    for rejection in report.sorted_rejections():
        by_line.setdefault(rejection.line, []).append(rejection)
    outcomes = report.outcomes or {}
    results = []
    for line in range(1, count + 1):
        if line in by_line:
            results.append(RecordResult(line - 1, "rejected", None, tuple(by_line[line])))
        else:
            outcome = outcomes[line]
            results.append(RecordResult(line - 1, outcome.status, outcome.id))
    return results
