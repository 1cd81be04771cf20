"""store.bulk: the driver-level paths give what SQLAlchemy would have written and read."""

from __future__ import annotations

import datetime as dt
import sqlite3

import polars as pl
import psycopg
import pytest
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError

from revmachine.services.imports import import_people, import_programs
from revmachine.store import bulk, schema
from revmachine.store.database import Database
from revmachine.store.types import sqlite_datetime_text

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
EARLY = dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
LATE = dt.datetime(2025, 3, 4, 5, 6, 7, 8, tzinfo=dt.UTC)


def _people_and_program(db: Database, people: int) -> tuple[list[int], int]:
    """`people` people (p0@x.com, p1@x.com, …) and one program, through the public imports."""
    emails = "".join(f"p{i}@x.com\n" for i in range(people))
    import_people(db, f"email\n{emails}".encode(), now=NOW)
    import_programs(db, b"name,channel\nWebinar,webinar\n", now=NOW)
    p = schema.people
    with db.reading() as conn:
        by_email = {email: id_ for email, id_ in conn.execute(select(p.c.email, p.c.id))}
        program = conn.execute(select(schema.programs.c.id)).scalar_one()
    return [by_email[f"p{i}@x.com"] for i in range(people)], program


def test_insert_frame_stores_nulls_as_null_constants_once_and_skips_conflicts(
    db: Database,
) -> None:
    (ann, bo), program = _people_and_program(db, 2)
    frame = pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "person_id": [ann, bo, ann],
            "type": ["web_visit", "webinar_attended", "web_visit"],
            "program_id": [None, program, None],
            "occurred_at": [EARLY, LATE, LATE],
            "attributes": ['{"url":"/a"}', None, None],
        },
        schema_overrides={"program_id": pl.Int64},
    )
    received = {"received_at": NOW}
    with db.transaction() as conn:
        first = bulk.insert_frame_ignoring_conflicts(
            conn, schema.activities, frame, "event_id", constants=received
        )
    with db.transaction() as conn:
        again = bulk.insert_frame_ignoring_conflicts(
            conn, schema.activities, frame.slice(1), "event_id", constants=received
        )
    assert (first, again) == (3, 0)

    a = schema.activities
    with db.reading() as conn:
        rows = conn.execute(
            select(
                a.c.event_id, a.c.program_id, a.c.occurred_at, a.c.received_at, a.c.attributes
            ).order_by(a.c.event_id)
        ).all()
        # Real SQL NULLs, not a stand-in value that reads back as None.
        nulls = conn.execute(
            text("SELECT count(*) FROM activities WHERE program_id IS NULL AND attributes IS NULL")
        ).scalar()
    assert [tuple(r) for r in rows] == [
        ("e1", None, EARLY, NOW, {"url": "/a"}),
        ("e2", program, LATE, NOW, None),
        ("e3", None, LATE, NOW, None),
    ]
    assert nulls == 1


def test_upsert_keeps_the_earliest_time_whatever_the_order(db: Database) -> None:
    (ann, bo), program = _people_and_program(db, 2)
    pm = schema.program_members

    def upsert(person: int, when: dt.datetime) -> None:
        frame = pl.DataFrame(
            {"program_id": [program], "person_id": [person], "first_touch_at": [when]}
        )
        with db.transaction() as conn:
            bulk.upsert_frame_keeping_earliest(
                conn,
                pm,
                frame,
                ("program_id", "person_id"),
                "first_touch_at",
                constants={"status": "touched"},
            )

    upsert(ann, LATE)
    upsert(ann, EARLY)
    upsert(bo, EARLY)
    upsert(bo, LATE)
    with db.reading() as conn:
        rows = conn.execute(
            select(pm.c.person_id, pm.c.status, pm.c.first_touch_at).order_by(pm.c.person_id)
        ).all()
    assert [tuple(r) for r in rows] == [(ann, "touched", EARLY), (bo, "touched", EARLY)]


def test_lookup_frame_finds_every_key_in_one_statement(db: Database) -> None:
    ids, _ = _people_and_program(db, 6_000)
    wanted = [f"p{i}@x.com" for i in range(0, 6_000, 2)] + ["nobody@x.com", None, "p0@x.com"]
    with db.reading() as conn:
        found = bulk.lookup_frame(conn, schema.people, "email", pl.Series(wanted))
        none = bulk.lookup_frame(conn, schema.people, "email", pl.Series([None], dtype=pl.String))
    assert found.columns == ["email", "id"]
    assert dict(found.iter_rows()) == {f"p{i}@x.com": ids[i] for i in range(0, 6_000, 2)}
    assert none.height == 0


def test_a_transaction_with_resolved_references_leaves_foreign_keys_enforced(
    db: Database,
) -> None:
    def enforced(conn: Connection) -> bool:
        if not db.is_sqlite:
            return True  # PostgreSQL always checks
        return bool(conn.exec_driver_sql("PRAGMA foreign_keys").scalar())

    with db.transaction(references_resolved=True) as conn:
        assert enforced(conn) is not db.is_sqlite
    with pytest.raises(RuntimeError), db.transaction(references_resolved=True):
        raise RuntimeError("an import that fails half-way")
    # The pooled connection is back to checking every reference.
    with pytest.raises(IntegrityError), db.transaction() as conn:
        assert enforced(conn)
        conn.execute(
            insert(schema.activities).values(
                event_id="e1", person_id=999, type="web_visit", occurred_at=NOW, received_at=NOW
            )
        )


def _events(people: list[int], count: int, *, prefix: str = "e") -> pl.DataFrame:
    """`count` events spread over `people`, every third one without a program or attributes."""
    return pl.DataFrame(
        {
            "event_id": [f"{prefix}{i:06d}" for i in range(count)],
            "person_id": [people[i % len(people)] for i in range(count)],
            "type": ["web_visit"] * count,
            "occurred_at": [EARLY + dt.timedelta(seconds=i, microseconds=i) for i in range(count)],
            "attributes": [None if i % 3 == 0 else f'{{"n":{i}}}' for i in range(count)],
        }
    )


def test_a_frame_of_several_chunks_goes_in_whole_with_progress(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 5 statements (640 rows here): 2,000 rows make three full chunks and a
    # remainder that is not a whole statement, so the helper thread hands over four times.
    monkeypatch.setattr(bulk, "_SQLITE_STATEMENTS_PER_CHUNK", 5)
    monkeypatch.setattr(bulk, "_COPY_ROWS", 640)
    people, _ = _people_and_program(db, 7)
    frame = _events(people, 2_000)
    seen: list[tuple[int, int]] = []
    with db.transaction() as conn:
        inserted = bulk.insert_frame_ignoring_conflicts(
            conn,
            schema.activities,
            frame,
            "event_id",
            constants={"received_at": NOW},
            progress=lambda done, total: seen.append((done, total)),
        )
    assert inserted == 2_000
    assert seen == [(640, 2_000), (1_280, 2_000), (1_920, 2_000), (2_000, 2_000)]
    a = schema.activities
    with db.reading() as conn:
        stored = conn.execute(
            select(a.c.event_id, a.c.person_id, a.c.occurred_at, a.c.attributes).order_by(a.c.id)
        ).all()
    expected = [
        (e, p, t, None if j is None else {"n": int(j[5:-1])})
        for e, p, t, j in frame.select(
            "event_id", "person_id", "occurred_at", "attributes"
        ).iter_rows()
    ]
    assert [tuple(r) for r in stored] == expected


def test_a_failure_in_a_later_chunk_leaves_nothing_written(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "_SQLITE_STATEMENTS_PER_CHUNK", 2)
    monkeypatch.setattr(bulk, "_COPY_ROWS", 256)
    people, _ = _people_and_program(db, 3)
    frame = _events(people, 1_000)
    # A missing type breaks NOT NULL, in the last of several chunks.
    frame = frame.with_columns(
        pl.when(pl.col("event_id") == "e000990").then(None).otherwise(pl.col("type")).alias("type")
    )
    # The bulk path talks to the driver, so the driver's own error comes through.
    driver_errors = (sqlite3.IntegrityError, psycopg.IntegrityError)
    with pytest.raises(driver_errors), db.transaction() as conn:
        bulk.insert_frame_ignoring_conflicts(
            conn, schema.activities, frame, "event_id", constants={"received_at": NOW}
        )
    with db.reading() as conn:
        assert conn.execute(text("SELECT count(*) FROM activities")).scalar() == 0


def test_sqlite_storage_text_is_what_utcdatetime_writes() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    values = [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 1, 14, 30, 0, 5, tzinfo=plus_two),
        dt.datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(1990, 6, 15, 1, 2, 3, 456_000, tzinfo=dt.UTC),
    ]
    for unit in ("us", "ms", "ns"):
        frame = pl.DataFrame({"t": values}).with_columns(
            pl.col("t").dt.cast_time_unit(unit).dt.convert_time_zone("Europe/Berlin")
        )
        stored = bulk.sqlite_storage(frame)["t"].to_list()
        expected = [
            sqlite_datetime_text(v.replace(microsecond=v.microsecond // 1000 * 1000))
            if unit == "ms"
            else sqlite_datetime_text(v)
            for v in values
        ]
        assert stored == expected, unit


def test_update_frame_changes_sets_each_row_s_changed_columns_and_keeps_the_rest(
    db: Database,
) -> None:
    """Each row sets the columns its `changed` entry names (none, one, several) plus the
    `always` columns; what it does not name keeps its stored value, even where the frame
    holds another (on SQLite those columns are not set at all; on PostgreSQL the frame
    must then hold the stored value, as `updated_people` gives it: checked on both)."""
    ann, bo, cy = _people_and_program(db, 3)[0]
    p = schema.people
    with db.transaction() as conn:
        conn.execute(p.update().values(title="VP", employee_count=10, updated_at=EARLY))
    frame = pl.DataFrame(
        {
            "id": [ann, bo, cy],
            "title": ["CMO", "VP", "CTO"],
            "employee_count": [10, 250, 99],
            "updated_at": [LATE, LATE, EARLY],
            "changed": ["title", "employee_count", ""],
        },
        schema_overrides={"updated_at": pl.Datetime("us", "UTC")},
    )
    with db.transaction() as conn:
        if conn.dialect.name != "sqlite":
            # PostgreSQL sets every column: unchanged ones must carry the stored value.
            frame = frame.with_columns(
                pl.Series("title", ["CMO", "VP", "VP"]),
                pl.Series("employee_count", [10, 250, 10]),
            )
        bulk.update_frame_changes(conn, p, frame, "id", "changed", ("updated_at",))
    with db.reading() as conn:
        rows = conn.execute(
            select(p.c.id, p.c.title, p.c.employee_count, p.c.updated_at).order_by(p.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (ann, "CMO", 10, LATE),
        (bo, "VP", 250, LATE),
        (cy, "VP", 10, EARLY),
    ]
