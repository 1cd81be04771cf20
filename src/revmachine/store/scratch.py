"""Throw-away stores for benchmarks and validation scripts: one definition of "a fresh
database", so every script measures on the same kind of store and cleans up the same way."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from revmachine.store.database import Database, normalise_url
from revmachine.store.migrate import upgrade


@contextmanager
def scratch_store(url: str | None, folder: Path, *, migrate: bool = True) -> Iterator[Database]:
    """A fresh store: a SQLite file in `folder` (or the SQLite URL given), or a new
    PostgreSQL database next to the one `url` names, dropped afterwards (the server's
    CREATEDB privilege is needed). `migrate=False` leaves the schema to the caller."""
    if url is None:
        url = f"sqlite:///{folder / 'bench.db'}"
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "postgresql":
        db = Database(url)
        try:
            if migrate:
                upgrade(db)
            yield db
        finally:
            db.dispose()
        return
    import psycopg

    name = f"revmachine_bench_{uuid.uuid4().hex[:12]}"
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db = Database(parsed.set(database=name).render_as_string(hide_password=False))
    try:
        if migrate:
            upgrade(db)
        yield db
    finally:
        db.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
