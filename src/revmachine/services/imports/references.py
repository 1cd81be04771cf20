"""Side effects of importing events and records that other tables keep in step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from revmachine.ingest.merge import Batch, PersonRecord
from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES
from revmachine.services.imports.person_store import absorb_batches
from revmachine.store import schema


def ensure_activity_types(conn: Connection, names: Iterable[str], now: dt.datetime) -> None:
    """Record every activity type used in the event log (custom ones on first sight)."""
    wanted = set(names)
    known = set(conn.execute(select(schema.activity_types.c.name)).scalars())
    rows = []
    for name in sorted(wanted - known):
        builtin = BUILTIN_ACTIVITY_TYPES.get(name)
        rows.append(
            {
                "name": name,
                "label": builtin.label if builtin else name.replace("_", " ").capitalize(),
                "category": builtin.category if builtin else "custom",
                "builtin": builtin is not None,
                "created_at": now,
            }
        )
    if rows:
        # Two writers may meet the same new type at once: the second one's insert is a no-op.
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(schema.activity_types).on_conflict_do_nothing(index_elements=["name"])
        conn.execute(stmt, rows)


def apply_unsubscribes(
    conn: Connection, frame: pl.DataFrame, now: dt.datetime, source: str
) -> None:
    """An unsubscribe event sets the person's flag as of the event's time (merge rules).

    Every unsubscribe counts, not only each person's latest: each is an observation that an
    as-of read between it and a later one may need."""
    batches: dict[str, Batch] = {}
    for email, occurred in frame.select("email", "occurred_at").unique().iter_rows():
        record = PersonRecord(email, {"unsubscribed": True}, {}, None, occurred)
        if email in batches:
            batches[email].add(record)
        else:
            batches[email] = Batch.of(record)
    absorb_batches(conn, list(batches.values()), now, source, create=False)
