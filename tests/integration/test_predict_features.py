"""Features as of a cut-off see nothing that happened after it (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from sqlalchemy import Connection, insert, update

from revmachine.predict import synthetic
from revmachine.predict.feature_catalogue import FeatureConfig
from revmachine.predict.features import build_features, common_activity_types
from revmachine.store import schema
from revmachine.store.database import Database

HOUR = dt.timedelta(hours=1)


def _context(conn: Connection, data: synthetic.Company, cutoff: dt.datetime, p: list[int]) -> None:
    """An account with ten people and an open deal, a program, scores: all before the cut-off."""
    early = data.start + dt.timedelta(days=1)
    conn.execute(
        insert(schema.accounts).values(
            id=1, name="Acme", name_key="acme", attributes={}, created_at=early, updated_at=early
        )
    )
    conn.execute(update(schema.people).where(schema.people.c.id.in_(p[:10])).values(account_id=1))
    conn.execute(
        insert(schema.programs).values(
            id=1, name="Webinar", channel="webinar", attributes={}, created_at=early
        )
    )
    conn.execute(
        insert(schema.program_members).values(
            program_id=1, person_id=p[2], status="attended", first_touch_at=cutoff - 5 * HOUR
        )
    )
    conn.execute(
        insert(schema.opportunities).values(
            id=1,
            external_id="o1",
            account_id=1,
            status="open",
            created_at=cutoff - 48 * HOUR,
            attributes={},
            updated_at=cutoff - 48 * HOUR,
        )
    )
    _snapshot(conn, 1, "open", cutoff - 48 * HOUR)
    conn.execute(insert(schema.score_changes).values(_score(p[3], cutoff - 2 * HOUR, 40.0)))


def _snapshot(conn: Connection, opportunity: int, status: str, at: dt.datetime) -> None:
    conn.execute(
        insert(schema.opportunity_history).values(
            opportunity_id=opportunity, occurred_at=at, status=status, source="t", recorded_at=at
        )
    )


def _score(person: int, at: dt.datetime, fit: float) -> dict[str, Any]:
    return {
        "person_id": person,
        "occurred_at": at,
        "fit": fit,
        "behavior": fit / 2,
        "total": fit * 1.5,
        "reason": "t",
        "recorded_at": at,
    }


def _activity(person: int, kind: str, at: dt.datetime, n: int, program: int | None = None) -> Any:
    return {
        "event_id": f"x{person}-{kind}-{n}",
        "person_id": person,
        "type": kind,
        "occurred_at": at,
        "received_at": at,
        "program_id": program,
    }


def _later_events(
    conn: Connection, config: FeatureConfig, after: dt.datetime, p: list[int]
) -> None:
    """Everything a feature could leak from: each kind of fact, dated after the cut-off."""
    rows = [
        _activity(i, kind, after + HOUR * (k + 1), k, program=1 if k == 0 else None)
        for i in p
        for k, kind in enumerate(config.activity_types)
    ]
    conn.execute(insert(schema.activities), rows)
    conn.execute(
        insert(schema.stage_transitions),
        [
            {
                "person_id": i,
                "from_stage": "known",
                "to_stage": "opportunity",
                "occurred_at": after + HOUR,
                "reason": "later",
                "recorded_at": after + HOUR,
            }
            for i in p
        ],
    )
    conn.execute(insert(schema.score_changes), [_score(i, after + HOUR, 99.0) for i in p[3:5]])
    # Field changes after the cut-off: the current row holds the new value.
    for person, field, new in ((p[5], "seniority", "board"), (p[6], "account_id", None)):
        old = (
            conn.execute(schema.people.select().where(schema.people.c.id == person))
            .mappings()
            .one()[field]
        )
        conn.execute(update(schema.people).where(schema.people.c.id == person).values({field: new}))
        conn.execute(
            insert(schema.person_changes).values(
                person_id=person,
                field=field,
                old_value={"v": old},
                new_value={"v": new},
                occurred_at=after + 2 * HOUR,
                recorded_at=after + 2 * HOUR,
                source="t",
            )
        )
    conn.execute(
        insert(schema.program_members).values(
            program_id=1, person_id=p[7], status="attended", first_touch_at=after + HOUR
        )
    )
    _snapshot(conn, 1, "won", after + 3 * HOUR)
    conn.execute(
        insert(schema.opportunities).values(
            id=2,
            external_id="o2",
            account_id=1,
            status="open",
            created_at=after + HOUR,
            attributes={},
            updated_at=after + HOUR,
        )
    )
    _snapshot(conn, 2, "open", after + HOUR)
    conn.execute(
        insert(schema.people).values(
            email="late@example.com",
            account_id=1,
            attributes={},
            field_times={},
            created_at=after + HOUR,
            updated_at=after + HOUR,
        )
    )


def _row(frame: pl.DataFrame, person: int) -> dict[str, Any]:
    return frame.filter(pl.col("person_id") == person).row(0, named=True)


def _features(db: Database, config: FeatureConfig, at: dt.datetime) -> pl.DataFrame:
    """The features read on one connection, checked equal to those read on several at
    once (the activity scan split by id range), which scoring everyone uses."""
    with db.reading() as conn:
        one = build_features(conn, config, at).sort("person_id")
    several = build_features(db, config, at).sort("person_id")
    assert several.equals(one)
    return one


def test_no_feature_sees_an_event_after_its_cutoff(db: Database) -> None:
    data = synthetic.company(300, days=200, seed=5)
    cutoff = data.start + dt.timedelta(days=150)
    known = (
        data.people.filter(pl.col("created_at") < cutoff - dt.timedelta(days=10))
        .get_column("id")
        .to_list()[:40]
    )
    with db.transaction() as conn:
        synthetic.load(conn, data)
        # Only history up to the cut-off is kept, so that what is added later is all new.
        conn.execute(schema.activities.delete().where(schema.activities.c.occurred_at > cutoff))
        conn.execute(
            schema.stage_transitions.delete().where(schema.stage_transitions.c.occurred_at > cutoff)
        )
        _context(conn, data, cutoff, known)
        config = FeatureConfig(common_activity_types(conn, cutoff))
    before = _features(db, config, cutoff)
    assert before.height > 100
    acme = _row(before, known[2])
    assert acme["account_open_opportunities"] == 1 and acme["programs"] == 1
    assert acme["colleagues"] == 9
    assert _row(before, known[3])["fit_score"] == 40.0

    with db.transaction() as conn:
        _later_events(conn, config, cutoff, known)
    after = _features(db, config, cutoff)
    assert after.equals(before)

    # Not vacuous: the same features do move when the events are at the cut-off or before.
    moved = _features(db, config, cutoff + 4 * HOUR).sort("person_id")
    assert _row(moved, known[5])["seniority"] == "board"
    assert _row(before, known[5])["seniority"] != "board"
    assert _row(moved, known[2])["account_won_opportunities"] == 1
    assert _row(moved, known[3])["fit_score"] == 99.0
    assert _row(moved, known[7])["programs"] == 1
    assert _row(moved, known[1])["stage"] == "opportunity"
    kind = config.activity_types[0]
    assert _row(moved, known[1])[f"{kind}_7d"] == _row(before, known[1])[f"{kind}_7d"] + 1
    assert moved.height == before.height + 1  # the person created after the cut-off


def test_features_of_some_people_equal_those_of_everyone(db: Database) -> None:
    data = synthetic.company(200, days=120, seed=6)
    with db.transaction() as conn:
        synthetic.load(conn, data)
        config = FeatureConfig(common_activity_types(conn, data.end))
    at = data.start + dt.timedelta(days=100)
    everyone = _features(db, config, at)
    some_ids = everyone.get_column("person_id").to_list()[::7]
    with db.reading() as conn:
        some = build_features(conn, config, at, some_ids).sort("person_id")
    assert some.equals(everyone.filter(pl.col("person_id").is_in(some_ids)))


def test_features_read_on_several_connections_equal_one(db: Database) -> None:
    """Split scans give the very numbers of one scan, for everyone and for a few people."""
    data = synthetic.company(400, days=200, seed=11)
    with db.transaction() as conn:
        synthetic.load(conn, data)
        config = FeatureConfig(common_activity_types(conn, data.end))
    with db.reading() as conn:
        one = build_features(conn, config, data.end).sort("person_id")
        few_ids = one.get_column("person_id").to_list()[::37]
        few_one = build_features(conn, config, data.end, few_ids).sort("person_id")
    several = build_features(db, config, data.end).sort("person_id")
    assert one.height > 300 and several.equals(one)
    # Activities in both halves of the id range reached the same people's counts.
    assert several.get_column("activities_total").sum() > 0
    few = build_features(db, config, data.end, few_ids).sort("person_id")
    assert few.equals(few_one) and few.height == len(few_ids)
