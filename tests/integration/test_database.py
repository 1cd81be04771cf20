"""The SQLite store: readers never block writers (WAL, deferred read transactions)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from revmachine.store.database import SQLITE_PAGE_SIZE, Database
from revmachine.store.migrate import upgrade


def test_a_write_commits_while_a_long_read_is_open(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(db)
    db.engine.dispose()
    fast = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with fast.reading() as reader:
        before = reader.exec_driver_sql("SELECT count(*) FROM sales_teams").scalar_one()
        with fast.transaction() as writer:
            writer.exec_driver_sql(
                "INSERT INTO sales_teams (name, created_at) "
                "VALUES ('east', '2025-01-01 00:00:00.000000')"
            )
        # the reader keeps its snapshot; the write is in for everyone after
        again = reader.exec_driver_sql("SELECT count(*) FROM sales_teams").scalar_one()
        assert before == again == 0
    with fast.reading() as later:
        assert later.exec_driver_sql("SELECT count(*) FROM sales_teams").scalar_one() == 1


def _page_size(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())


def test_a_new_store_takes_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new = Database(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(new)
    assert _page_size(new) == SQLITE_PAGE_SIZE != 4096
    new.dispose()

    # A store written before the setting (SQLite's 4 KiB default) keeps working as it is:
    # WAL mode cannot change the page size, and the pragma must not make it try.
    old_path = tmp_path / "old.db"
    raw = sqlite3.connect(old_path)
    raw.execute("PRAGMA page_size=4096")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE kept (x INTEGER)")
    raw.execute("INSERT INTO kept VALUES (7)")
    raw.commit()
    raw.close()
    old = Database(f"sqlite:///{old_path}")
    assert _page_size(old) == 4096
    with old.transaction() as conn:
        conn.exec_driver_sql("INSERT INTO kept VALUES (8)")
    with old.reading() as conn:
        assert conn.exec_driver_sql("SELECT sum(x) FROM kept").scalar_one() == 15
    old.dispose()
