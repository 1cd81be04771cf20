"""Locks that keep the append-only logs readable as feeds in id order.

A reader that pages the event log "since" a row id relies on ids becoming visible in
order. PostgreSQL hands out sequence values at insert time, not at commit, so two writers
could commit ids out of order and a reader between the commits would skip the lower ones.
Writers of the event log therefore take one transaction-level advisory lock before they
insert: appends are serialised (they are bulk statements, so the wait is short) and ids
commit in order. SQLite needs nothing: `BEGIN IMMEDIATE` already serialises writers.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

#: Advisory lock keys (any 64-bit number unique within this application).
EVENT_LOG_LOCK = 0x7265_766D_0001  # "revm" + 1


def lock_event_log(conn: Connection) -> None:
    """Hold the event log's append lock until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK})
