"""Independent read queries run at once, each on a read connection of its own.

A report or a scoring run that needs several independent aggregates (a feature scan, the
spells that ended in a window, the deal snapshots) can run them side by side: SQLite runs
a statement with the GIL released and PostgreSQL in a backend of its own, so on two cores
two scans take the time of the longer one. Each connection reads its own snapshot: a
write committed while the parts run may be seen by some of them only. The callers ask
"as of" a time, and what is written meanwhile is, but for backdated imports, later than
that.

Given a connection instead of the store, the parts run one after the other on it (one
snapshot), which is also what happens for an in-memory SQLite store, where every
connection would see a database of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection

from revmachine.store.database import Database

T = TypeVar("T")

#: Read connections used at once (one per core of the 2-core machine the figures in the
#: docs come from).
READERS = 2


class ReadPool:
    """`submit(part)`: `part(connection)` as a future, run now or by a pool of readers."""

    def __init__(
        self, conn: Connection | None, pool: ThreadPoolExecutor | None, db: Database | None
    ):
        self._conn, self._pool, self._db = conn, pool, db

    @property
    def parallel(self) -> bool:
        """Whether parts run at once (worth splitting a scan for)."""
        return self._pool is not None

    def submit(self, part: Callable[[Connection], T]) -> Future[T]:
        if self._pool is None:
            assert self._conn is not None
            done: Future[T] = Future()
            done.set_result(part(self._conn))
            return done
        db = self._db
        assert db is not None

        def on_own_connection() -> T:
            with db.reading() as conn:
                return part(conn)

        return self._pool.submit(on_own_connection)


@contextmanager
def parallel_reads(source: Connection | Database, workers: int = READERS) -> Iterator[ReadPool]:
    """A `ReadPool` over `source`; leaving waits for the parts still running."""
    if isinstance(source, Connection):
        yield ReadPool(source, None, None)
        return
    if source.one_connection_only or workers < 2:
        with source.reading() as conn:
            yield ReadPool(conn, None, None)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="revmachine-reads") as pool:
        yield ReadPool(None, pool, source)
