"""Batches of JSON records (the API's writes) through the same imports as CSV files.

`upsert_batch` turns the records into the table a CSV file becomes (`ingest.records`) and
runs the kind's import on it, asking for per-record outcomes: the same mapping, typed
conversion, merge rules, rejection codes and single transaction as `revmachine import`,
and an answer per record in input order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revmachine.ingest.errors import RowRejection
from revmachine.ingest.fields import KIND_FIELDS
from revmachine.ingest.records import records_table
from revmachine.services.imports.common import ImportReport
from revmachine.store.bulk import gc_relaxed
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
