"""Shared fixtures: a migrated store on SQLite and, when configured, on PostgreSQL.

`db` is parametrised over both backends:
- SQLite: a fresh file in the test's `tmp_path`, migrated with `revmachine.store.migrate`;
- PostgreSQL: runs when `REVMACHINE_TEST_POSTGRES_URL` is set (skipped otherwise). One fresh
  database is created per session (`revmachine_t_<random>`), migrated once, emptied with
  TRUNCATE … RESTART IDENTITY CASCADE before each test and dropped at the end. When `CI` is
  set, an unreachable server fails the PostgreSQL tests instead of skipping them.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import select
from sqlalchemy.engine import make_url

from revmachine.store import migrate, schema
from revmachine.store.database import Database

PG_URL_ENV = "REVMACHINE_TEST_POSTGRES_URL"

settings.register_profile(
    "revmachine",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("revmachine")

#: Tables whose rows describe import runs rather than the business state.
RUN_TABLES = frozenset({"import_runs", "import_rejections"})
#: Columns that record when something was written, not what was written.
WRITE_TIME_COLUMNS = frozenset({"received_at", "recorded_at"})


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _libpq_url(url: str, database: str | None = None) -> str:
    """A URL psycopg accepts (SQLAlchemy's '+psycopg' suffix removed), optionally re-pointed."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _truncate_statement() -> str:
    names = ", ".join(t.name for t in schema.metadata.sorted_tables)
    return f"TRUNCATE {names} RESTART IDENTITY CASCADE"


def clear_store(db: Database) -> None:
    """Empty every table of the store (not `alembic_version`) and restart its ids."""
    if db.is_sqlite:
        with db.transaction() as conn:
            for table in reversed(schema.metadata.sorted_tables):
                conn.execute(table.delete())
    else:
        with db.transaction() as conn:
            conn.exec_driver_sql(_truncate_statement())


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[Database]:
    """One migrated PostgreSQL database for the whole session."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(f"{PG_URL_ENV} is not set")
    admin_url = _libpq_url(url)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_URL_ENV} is unreachable: {exc}".strip()
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"revmachine_t_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
    store = Database(_libpq_url(url, name))
    try:
        migrate.upgrade(store)
        yield store
    finally:
        store.dispose()
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        store = Database(f"sqlite:///{tmp_path / 'store.db'}")
        migrate.upgrade(store)
        yield store
        store.dispose()
    else:
        store = request.getfixturevalue("postgres_store")
        clear_store(store)
        yield store


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A store with no schema at all (for migration tests): its own database on PostgreSQL."""
    if request.param == "sqlite":
        store = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield store
        store.dispose()
        return
    request.getfixturevalue("postgres_store")  # skips or fails exactly like `db`
    url = os.environ[PG_URL_ENV]
    admin_url = _libpq_url(url)
    name = f"revmachine_t_{secrets.token_hex(6)}_m"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    store = Database(_libpq_url(url, name))
    try:
        yield store
    finally:
        store.dispose()
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- helpers shared by the integration tests ------------------------------------------------


def _comparable(value: Any) -> Any:
    """Values as plain, backend-independent Python objects for equality checks."""
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def dump_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every business table, every row, every column except write times, in a stable order."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    with db.reading() as conn:
        for table in schema.metadata.sorted_tables:
            if table.name in RUN_TABLES:
                continue
            cols = [c for c in table.columns if c.name not in WRITE_TIME_COLUMNS]
            rows = conn.execute(select(*cols)).all()
            state[table.name] = sorted(
                (tuple(_comparable(v) for v in row) for row in rows), key=repr
            )
    return state


@pytest.fixture
def state_of() -> Callable[[Database], dict[str, list[tuple[Any, ...]]]]:
    return dump_state


@pytest.fixture
def reset_store() -> Callable[[Database], None]:
    """Empty a store between the examples of a property test that shares one `db`."""
    return clear_store
