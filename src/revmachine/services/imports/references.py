"""Side effects of importing events and records that other tables keep in step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, insert, select

from revmachine.ingest.merge import PersonRecord, merge
from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES
from revmachine.services.imports.person_store import load_states, save_results
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
        conn.execute(insert(schema.activity_types), rows)


def apply_unsubscribes(
    conn: Connection, frame: pl.DataFrame, now: dt.datetime, source: str
) -> None:
    """An unsubscribe event sets the person's flag as of the event's time (merge rules)."""
    latest = frame.group_by("email").agg(pl.col("occurred_at").max())
    states = load_states(conn, latest["email"].to_list())
    results = []
    for email, occurred in latest.iter_rows():
        record = PersonRecord(email, {"unsubscribed": True}, {}, None, occurred)
        results.append(merge(states.get(email), record))
    save_results(conn, [r for r in results if not r.created], now, source)
