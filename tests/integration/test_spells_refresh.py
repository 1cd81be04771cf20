"""`refresh_spells` writes only what changed and leaves the table equal to its rebuild.

Processing appends transitions for most people (a new transition later than their open
spell: one spell closed, one opened) and rewrites the history of a few (late data, a model
change). On random histories, both kinds are applied after the spells were built, and the
table must equal what `rebuild_spells` computes from the transitions; an append must not
delete or rewrite a stored spell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.spells import rebuild_spells, refresh_spells

ORIGIN = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
STAGES = ["known", "engaged", "mql", "sal", "opportunity", "recycled"]

# (stage, hours after the previous step; 0 = simultaneous)
path = st.lists(st.tuples(st.sampled_from(STAGES), st.integers(0, 200)), min_size=1, max_size=6)
# Per person: the history stored first, what is appended later, and whether the person's
# history is rewritten instead (deleted from a step on, then a different tail written).
person = st.tuples(
    path,
    st.lists(st.tuples(st.sampled_from(STAGES), st.integers(0, 200)), max_size=3),
    st.booleans(),
)


def _people(db: Database, n: int) -> list[int]:
    with db.transaction() as conn:
        conn.execute(
            insert(schema.people),
            [
                {
                    "email": f"s{i}@example.com",
                    "attributes": {},
                    "field_times": {},
                    "unsubscribed": False,
                    "created_at": ORIGIN,
                    "updated_at": ORIGIN,
                }
                for i in range(n)
            ],
        )
        return [int(i) for (i,) in conn.execute(select(schema.people.c.id).order_by("id"))]


def _rows(pid: int, steps: list[tuple[str, int]], after: dt.datetime) -> list[dict[str, Any]]:
    out, at = [], after
    for stage, gap in steps:
        at = at + dt.timedelta(hours=gap, microseconds=gap * 7)
        out.append(
            {
                "person_id": pid,
                "from_stage": None,
                "to_stage": stage,
                "occurred_at": at,
                "reason": "test",
                "recorded_at": NOW,
            }
        )
    return out


def _spells(db: Database) -> list[tuple[Any, ...]]:
    sp = schema.stage_spells
    with db.reading() as conn:
        return [tuple(r) for r in conn.execute(select(sp).order_by(sp.c.id))]


@settings(max_examples=30)
@given(people=st.lists(person, min_size=1, max_size=6))
def test_refresh_after_appends_and_rewrites_equals_rebuild(
    db: Database,
    reset_store: Callable[[Database], None],
    people: list[tuple[list[tuple[str, int]], list[tuple[str, int]], bool]],
) -> None:
    reset_store(db)
    ids = _people(db, len(people))
    st_ = schema.stage_transitions
    last: dict[int, dt.datetime] = {}
    with db.transaction() as conn:
        for pid, (first, _, _) in zip(ids, people, strict=True):
            rows = _rows(pid, first, ORIGIN)
            conn.execute(insert(st_), rows)
            last[pid] = rows[-1]["occurred_at"]
        refresh_spells(conn, ids)
    assert _spells(db) == _rebuilt(db)

    appended = rewritten = 0
    with db.transaction() as conn:
        for pid, (first, more, rewrite) in zip(ids, people, strict=True):
            if rewrite:
                # Replay from the first step's time on: that history is replaced.
                conn.execute(delete(st_).where(st_.c.person_id == pid))
                conn.execute(insert(st_), _rows(pid, [*reversed(first), *more], ORIGIN))
                rewritten += 1
            elif more:
                conn.execute(insert(st_), _rows(pid, more, last[pid]))
                appended += len(more)
        written = refresh_spells(conn, ids)
    assert _spells(db) == _rebuilt(db)
    if not rewritten:
        # Appends only: no stored spell is deleted or rewritten, one spell per new
        # transition is written, and each person with an append has one spell closed.
        assert written.deleted == 0
        assert written.inserted == appended
        assert written.closed == sum(1 for _, more, _ in people if more)


def _rebuilt(db: Database) -> list[tuple[Any, ...]]:
    """The spells `rebuild_spells` computes, in a transaction rolled back afterwards."""
    sp = schema.stage_spells
    with db.engine.connect() as conn, conn.begin() as tx:
        rebuild_spells(conn)
        rows = [tuple(r) for r in conn.execute(select(sp).order_by(sp.c.id))]
        tx.rollback()
    return rows


def test_refresh_of_unchanged_people_writes_nothing(
    db: Database, reset_store: Callable[[Database], None]
) -> None:
    reset_store(db)
    ids = _people(db, 3)
    with db.transaction() as conn:
        for pid in ids:
            conn.execute(
                insert(schema.stage_transitions),
                _rows(pid, [("known", 0), ("mql", 5), ("known", 0)], ORIGIN),
            )
        first = refresh_spells(conn, ids)
        again = refresh_spells(conn, ids)
    assert (first.inserted, first.deleted, first.closed) == (9, 0, 0)
    assert (again.inserted, again.deleted, again.closed) == (0, 0, 0)
    assert _spells(db) == _rebuilt(db)


def test_refresh_when_a_deleted_transitions_id_is_given_again(
    db: Database, reset_store: Callable[[Database], None], monkeypatch: Any
) -> None:
    """SQLite gives the highest deleted rowid again: person b's history (the newest rows)
    is deleted and person a's new transitions take its ids; one refresh of both people,
    read in separate chunks, must not trip over b's stale spells."""
    import revmachine.store.spells as spells_module

    monkeypatch.setattr(spells_module, "CHUNK", 1)
    reset_store(db)
    a, b = _people(db, 2)
    st_ = schema.stage_transitions
    with db.transaction() as conn:
        conn.execute(insert(st_), _rows(a, [("known", 0), ("mql", 3)], ORIGIN))
        conn.execute(insert(st_), _rows(b, [("known", 0), ("sal", 3), ("lost", 4)], ORIGIN))
        refresh_spells(conn, [a, b])
    with db.transaction() as conn:
        conn.execute(delete(st_).where(st_.c.person_id == b))
        late = ORIGIN + dt.timedelta(days=30)
        conn.execute(insert(st_), _rows(a, [("sal", 1), ("opportunity", 2), ("lost", 3)], late))
        refresh_spells(conn, [a, b])
    assert _spells(db) == _rebuilt(db)
    with db.reading() as conn:
        people = {p for (p,) in conn.execute(select(schema.stage_spells.c.person_id))}
    assert people == {a}
