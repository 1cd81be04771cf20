"""The Alembic migrations create exactly the schema `store.schema` defines, and undo it."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from revmachine.store import migrate, schema
from revmachine.store.database import Database


def drift(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": db.is_sqlite,
                "target_metadata": schema.metadata,
            },
        )
        return list(compare_metadata(context, schema.metadata))


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_upgrade_creates_the_schema_without_drift(empty_db: Database) -> None:
    assert tables(empty_db) == set()
    assert migrate.current_revision(empty_db) is None
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision(empty_db)
    assert migrate.is_up_to_date(empty_db)
    assert tables(empty_db) == {t.name for t in schema.metadata.sorted_tables} | {"alembic_version"}
    assert drift(empty_db) == []


def test_upgrade_is_idempotent(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    migrate.upgrade(empty_db)
    assert drift(empty_db) == []


def test_downgrade_to_base_then_upgrade_again(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    migrate.downgrade(empty_db, "base")
    assert migrate.current_revision(empty_db) is None
    assert tables(empty_db) <= {"alembic_version"}
    migrate.upgrade(empty_db)
    assert migrate.is_up_to_date(empty_db)
    assert drift(empty_db) == []


def test_indexes_and_constraints_match(empty_db: Database) -> None:
    """compare_metadata checks these too; spot-check the ones the imports rely on."""
    migrate.upgrade(empty_db)
    inspector = inspect(empty_db.engine)
    assert {"ix_activities_person_time"} <= {i["name"] for i in inspector.get_indexes("activities")}
    unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("activities")}
    assert ("event_id",) in unique
    people_unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("people")}
    assert ("email",) in people_unique


def test_drift_check_is_not_vacuous(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    with empty_db.transaction() as conn:
        conn.exec_driver_sql("DROP INDEX ix_people_created_at")
    found = drift(empty_db)
    assert [(d[0], d[1].name) for d in found] == [("add_index", "ix_people_created_at")]
