"""The SQLite store: readers never block writers (WAL, deferred read transactions)."""

from __future__ import annotations

from pathlib import Path

from revmachine.store.database import Database
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
