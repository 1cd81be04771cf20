"""Engines and transactions: the only place that knows how to open the store.

SQLite is the embedded default and runs in WAL mode so that readers (the API, reports) do
not block the importer. PostgreSQL is chosen by URL. A `Database` is created at an edge
(CLI, app factory, test fixture) from `Settings` and passed down; nothing opens a
connection at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Accept plain 'postgresql://' URLs and pick the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


READ_ONLY = "revmachine_read_only"
#: Bytes per page of a new SQLite store (see `_configure_sqlite`).
SQLITE_PAGE_SIZE = 16384


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
        # DDL in migrations and bulk inserts are inside real transactions (SQLAlchemy's
        # documented recipe for pysqlite).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # Only a new, empty file takes a page size (an existing store keeps its own, and WAL
        # mode fixes it): 16 KiB instead of SQLite's 4 KiB default, so bulk loads and scans
        # touch a quarter as many pages. Measured a few per cent faster for the import and
        # the funnel reports (docs/architecture.md, "Decisions and why").
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: index builds stay in memory
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (no deadlock upgrading a read lock); readers
        # begin deferred, so that a long report in WAL mode never blocks an import.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """One store: an engine plus the unit of work every service function runs in."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(self.url, echo=echo)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def one_connection_only(self) -> bool:
        """True for an in-memory SQLite store: each connection would see its own empty
        database, so work must not be spread over several connections."""
        return self.is_sqlite and make_url(self.url).database in (None, "", ":memory:")

    @contextmanager
    def transaction(self, *, references_resolved: bool = False) -> Iterator[Connection]:
        """One use case, one transaction: commit on success, roll back on any error.

        `references_resolved=True` is for bulk loads that look up every foreign key they
        write (person, program) in the parent tables inside this same transaction. On
        SQLite the transaction holds the write lock from its first statement, so no parent
        row can disappear before the commit and the per-row foreign-key check can never
        fail; it is skipped for this transaction only (it was ~1.5 s of a million-event
        import). SQLite only lets the setting change outside a transaction, so it is set
        before BEGIN and restored after the commit or rollback; a connection that cannot be
        restored is discarded. PostgreSQL always checks.
        """
        if not (references_resolved and self.is_sqlite):
            with self.engine.begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    yield conn
            finally:
                try:
                    raw.execute("PRAGMA foreign_keys=ON")
                except Exception:
                    conn.invalidate()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection (rolled back at the end, never commits)."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
