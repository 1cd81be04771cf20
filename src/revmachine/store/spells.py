"""Stage spells: `stage_transitions` shaped for the stage reports, kept in step with it.

A spell is the time a person spends in a stage: it opens with a transition and ends with
the person's next one. The reports ask, for any `as_of`, questions that over raw
transitions need window functions across the whole history (which stage is each person
in, what was their first entry into a stage inside a period, what is their route); on a
million people those windows sort eight million rows per question. Each spell row carries
the answers that do not depend on the question:

- `entered_us`, `left_us`: the transition's time and the person's next transition's time
  (NULL while open), in integer microseconds so that durations are exact integer
  arithmetic on both databases;
- `next_stage`: the stage of that next transition (NULL while open), so where a spell led
  is read with the spell (the forecast's exits) rather than joined from the next one;
- `prev_us`: the person's previous entry into the same stage, so "first entry into the
  stage inside [start, end)" is the entry inside it whose `prev_us` is before `start`;
- `first_us`, `step`: the person's first transition and this row's place in their history.

Every column is a function of the person's transitions only, so a report stays exact as of
any time: a spell that opened after `as_of` is left out, one that ended after it is still
open. The table is a cache (habit 7): `refresh_spells` brings the spells of the people
whose transitions a processing batch wrote in step, in the same transaction, and
`rebuild_spells` recomputes all of them from `stage_transitions` (`revmachine process
--rebuild-spells`).

Both compute the spells with one definition (`_spells_of`, window functions over the
transitions). What differs is how they write:

- `refresh_spells` reads the spells the batch's people should have and the ones stored,
  and writes only the difference. The common case, a new transition later than the
  person's open spell, then costs one update (the open spell's `left_us` and
  `next_stage`) and one insert,
  instead of deleting and reinserting all of the person's spells; on a large table each
  of those rows is a random page in each of five B-trees. A replay that rewrote a
  person's history writes whatever changed (often only its tail).
- `rebuild_spells` empties the table, drops its secondary indexes, inserts every spell
  in one `INSERT … SELECT` and builds the indexes again (sorted builds rather than
  millions of random index inserts: PostgreSQL's "populating a database" advice, which
  the event-log import follows too), all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Connection, Select, delete, func, insert, inspect, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from revmachine.store import schema
from revmachine.store.bulk import create_index, drop_index, insert_frame, update_frame
from revmachine.store.database import Database

sp = schema.stage_spells

#: People per refresh statement (bound parameters stay under SQLite's limit).
CHUNK = 900


class epoch_us(FunctionElement[int]):
    """A stored UTC time as integer microseconds since the Unix epoch, exactly."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_us"


@compiles(epoch_us, "sqlite")
def _epoch_us_sqlite(element: epoch_us, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    # The stored text is 'YYYY-MM-DD HH:MM:SS.ffffff' (UTCDateTime): whole seconds from
    # strftime, the six fraction digits read as an integer, so no float rounding.
    return (
        f"(CAST(strftime('%s', {value}) AS INTEGER) * 1000000 "
        f"+ CAST(substr({value}, 21, 6) AS INTEGER))"
    )


@compiles(epoch_us, "postgresql")
def _epoch_us_pg(element: epoch_us, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    # EXTRACT returns numeric (exact) on PostgreSQL 14 and later.
    return f"(EXTRACT(EPOCH FROM {value}) * 1000000)::bigint"


def _spells_of(person_ids: Sequence[int] | None) -> Select[Any]:
    st = schema.stage_transitions
    inner = select(st.c.id, st.c.person_id, st.c.to_stage, epoch_us(st.c.occurred_at).label("at"))
    if person_ids is not None:
        inner = inner.where(st.c.person_id.in_(list(person_ids)))
    t = inner.subquery("t")
    order = (t.c.at, t.c.id)  # the order of `occurred_at, id`: the times are exact
    return select(
        t.c.id,
        t.c.person_id,
        t.c.to_stage.label("stage"),
        t.c.at.label("entered_us"),
        func.lead(t.c.at).over(partition_by=t.c.person_id, order_by=order).label("left_us"),
        func.lead(t.c.to_stage)
        .over(partition_by=t.c.person_id, order_by=order)
        .label("next_stage"),
        func.lag(t.c.at)
        .over(partition_by=(t.c.person_id, t.c.to_stage), order_by=order)
        .label("prev_us"),
        func.min(t.c.at).over(partition_by=t.c.person_id).label("first_us"),
        func.row_number().over(partition_by=t.c.person_id, order_by=order).label("step"),
    )


def refresh_spells(conn: Connection, person_ids: Sequence[int]) -> SpellWrites:
    """Bring the spells of `person_ids` in step with their transitions (after they changed),
    writing only the rows that differ. Returns what was written.

    All of the people are read before anything is written: on SQLite a deleted
    transition's id can be given to a new one (of the same or another person of the
    batch), so a spell must leave before its id is used again."""
    ids = sorted(set(person_ids))
    wants, haves = [], []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        wants.append(_frame(conn, _spells_of(chunk)))
        haves.append(
            _frame(conn, select(*[sp.c[c] for c in _COLUMNS]).where(sp.c.person_id.in_(chunk)))
        )
    if not ids:
        return SpellWrites()
    return _write_difference(conn, pl.concat(wants), pl.concat(haves))


@dataclass
class SpellWrites:
    """Rows `refresh_spells` wrote: inserted, deleted, and updated (only `left_us` and
    `next_stage`, the close of an open spell)."""

    inserted: int = 0
    deleted: int = 0
    closed: int = 0

    def __iadd__(self, other: SpellWrites) -> SpellWrites:
        self.inserted += other.inserted
        self.deleted += other.deleted
        self.closed += other.closed
        return self


_SCHEMA = {
    "id": pl.Int64,
    "person_id": pl.Int64,
    "stage": pl.String,
    "entered_us": pl.Int64,
    "left_us": pl.Int64,
    "next_stage": pl.String,
    "prev_us": pl.Int64,
    "first_us": pl.Int64,
    "step": pl.Int64,
}
#: A spell's columns, in the order `_spells_of` selects them.
_COLUMNS = list(_SCHEMA)
#: The columns that change when a person's open spell closes (updated in place).
_END = ("left_us", "next_stage")


def _frame(conn: Connection, stmt: Select[Any]) -> pl.DataFrame:
    rows = [tuple(r) for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def _write_difference(conn: Connection, want: pl.DataFrame, have: pl.DataFrame) -> SpellWrites:
    """Make the stored rows `have` equal `want` (both keyed by id)."""
    both = want.join(have, on="id", how="inner", suffix="_have")
    same_but_end = pl.all_horizontal(
        [pl.col(c).eq_missing(pl.col(f"{c}_have")) for c in _COLUMNS if c not in ("id", *_END)]
    )
    end_same = pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"{c}_have")) for c in _END])
    # Rows whose key columns changed are replaced; rows whose only change is the end of
    # the spell are updated in place (the one index holding `left_us` changes).
    replaced = both.filter(~same_but_end)["id"]
    closed = both.filter(same_but_end & ~end_same).select("id", *_END)
    gone = have.join(want, on="id", how="anti")["id"]
    new = want.join(have, on="id", how="anti")
    # A new row's id may still name the spell of a deleted transition whose id SQLite gave
    # again (possibly another person's, not refreshed here): that spell is stale, it goes.
    dropped = pl.concat([gone, replaced, new["id"]]).to_list()
    deleted = 0
    for start in range(0, len(dropped), CHUNK):
        result = conn.execute(delete(sp).where(sp.c.id.in_(dropped[start : start + CHUNK])))
        deleted += result.rowcount
    insert_frame(conn, sp, pl.concat([new, want.filter(pl.col("id").is_in(replaced.implode()))]))
    update_frame(conn, sp, closed, "id")
    return SpellWrites(new.height + replaced.len(), deleted - replaced.len(), closed.height)


def rebuild_spells(conn: Connection) -> int:
    """Recompute every spell from `stage_transitions`; returns the number of spells."""
    conn.execute(delete(sp))
    # The columns and indexes the database has: a migration may run this before a later
    # one adds more (0004a fills the table that 0006a gives `next_stage`).
    columns = {c["name"] for c in inspect(conn).get_columns(sp.name)}
    present = {i["name"] for i in inspect(conn).get_indexes(sp.name)}
    indexes = sorted((i for i in sp.indexes if i.name in present), key=lambda i: str(i.name))
    for index in indexes:
        drop_index(conn, index)
    names = [c for c in _COLUMNS if c in columns]
    spells = _spells_of(None).subquery("spells")
    conn.execute(insert(sp).from_select(names, select(*[spells.c[c] for c in names])))
    for index in indexes:
        create_index(conn, index)
    return int(conn.execute(select(func.count()).select_from(sp)).scalar_one())


def rebuild(db: Database) -> int:
    """`rebuild_spells` in its own transaction (the `--rebuild-spells` use case)."""
    with db.transaction() as conn:
        return rebuild_spells(conn)
