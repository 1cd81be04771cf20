"""The Alembic migrations create exactly the schema `store.schema` defines, and undo it."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

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


def _insert_people(conn: Connection, count: int, now: str) -> None:
    """People 1..count with only the columns every schema version requires."""
    conn.execute(
        text(
            "INSERT INTO people (id, email, created_at, updated_at, unsubscribed, "
            "attributes, field_times) VALUES (:id, :email, :t, :t, false, '{}', '{}')"
        ),
        [{"id": i, "email": f"p{i}@x.example", "t": now} for i in range(1, count + 1)],
    )


def test_0004c_carries_the_latest_predictions_over_and_back(empty_db: Database) -> None:
    """`predictions` (one row per person) becomes `prediction_history` with deciles, and the
    downgrade keeps each person's latest."""
    migrate.upgrade(empty_db, "0003c")
    now = "2025-01-01 00:00:00.000000"
    with empty_db.engine.begin() as conn:
        _insert_people(conn, 20, now)
        conn.execute(
            text(
                "INSERT INTO prediction_models (id, target, horizon_days, algorithm, "
                "trained_at, train_from, train_to, calibrated_at, validated_at, features, "
                "metrics, content) VALUES (1, 'opportunity', 30, 'lightgbm', :t, :t, :t, :t, "
                ":t, '[]', '{}', '{}')"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO predictions (person_id, model_id, probability, as_of, scored_at) "
                "VALUES (:id, 1, :p, :t, :t)"
            ),
            [{"id": i, "p": i / 100, "t": now} for i in range(1, 21)],
        )
    migrate.upgrade(empty_db)
    with empty_db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT person_id, probability, decile FROM prediction_history ORDER BY 1")
        ).all()
    assert [(r[0], r[1]) for r in rows] == [(i, i / 100) for i in range(1, 21)]
    assert [r[2] for r in rows] == [1 + (i - 1) // 2 for i in range(1, 21)]  # 2 per decile
    with empty_db.engine.begin() as conn:  # a later run for person 1
        conn.execute(
            text(
                "INSERT INTO prediction_history (person_id, model_id, probability, decile, "
                "as_of, scored_at) VALUES (1, 1, 0.5, 10, :t, :t)"
            ),
            {"t": "2025-02-01 00:00:00.000000"},
        )
    migrate.downgrade(empty_db, "0003c")
    assert "prediction_history" not in tables(empty_db)
    with empty_db.engine.connect() as conn:
        back = dict(conn.execute(text("SELECT person_id, probability FROM predictions")).all())
    assert back == {i: (0.5 if i == 1 else i / 100) for i in range(1, 21)}


def test_0006a_fills_next_stage_as_a_rebuild_would(empty_db: Database) -> None:
    """Spells stored before `next_stage` existed get the stage each one led to: equal to
    recomputing every spell from the transitions."""
    from revmachine.store.spells import rebuild_spells

    migrate.upgrade(empty_db, "0005b")
    now = "2025-01-01 00:00:00.000000"
    route = ["known", "engaged", "mql", "engaged", "mql", "sal"]
    with empty_db.engine.begin() as conn:
        _insert_people(conn, 6, now)
        conn.execute(
            text(
                "INSERT INTO stage_transitions (person_id, from_stage, to_stage, occurred_at, "
                "reason, recorded_at) VALUES (:p, :a, :b, :at, 'test', :at)"
            ),
            [
                {
                    "p": p,
                    "a": route[k - 1] if k else None,
                    "b": route[k],
                    "at": f"2025-01-{k + 1:02d} 0{p}:00:00.000000",
                }
                for p in range(1, 7)
                for k in range(p)  # person p has p transitions
            ],
        )
        rebuild_spells(conn)  # as 0004a filled it: no next_stage column yet
    migrate.upgrade(empty_db)
    query = text(
        "SELECT stage, next_stage, id, person_id, entered_us, left_us, prev_us, first_us, "
        "step FROM stage_spells ORDER BY id"
    )
    with empty_db.engine.connect() as conn:
        migrated = [tuple(r) for r in conn.execute(query)]
    with empty_db.engine.begin() as conn:
        rebuild_spells(conn)
        rebuilt = [tuple(r) for r in conn.execute(query)]
    assert migrated == rebuilt
    led = {(r[0], r[1]) for r in migrated}
    assert ("known", "engaged") in led and ("engaged", "mql") in led and ("sal", None) in led
    migrate.downgrade(empty_db, "0005b")
    assert "next_stage" not in {
        c["name"] for c in inspect(empty_db.engine).get_columns("stage_spells")
    }
