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
- `prev_us`: the person's previous entry into the same stage, so "first entry into the
  stage inside [start, end)" is the entry inside it whose `prev_us` is before `start`;
- `first_us`, `step`: the person's first transition and this row's place in their history.

Every column is a function of the person's transitions only, so a report stays exact as of
any time: a spell that opened after `as_of` is left out, one that ended after it is still
open. The table is a cache (habit 7): `refresh_spells` recomputes the spells of the people
whose transitions a processing batch wrote, in the same transaction, and `rebuild_spells`
recomputes all of them from `stage_transitions` (`revmachine process --rebuild-spells`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, Select, delete, func, insert, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from revmachine.store import schema
from revmachine.store.database import Database

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
        t.c.to_stage,
        t.c.at,
        func.lead(t.c.at).over(partition_by=t.c.person_id, order_by=order),
        func.lag(t.c.at).over(partition_by=(t.c.person_id, t.c.to_stage), order_by=order),
        func.min(t.c.at).over(partition_by=t.c.person_id),
        func.row_number().over(partition_by=t.c.person_id, order_by=order),
    )


_COLUMNS = ["id", "person_id", "stage", "entered_us", "left_us", "prev_us", "first_us", "step"]


def refresh_spells(conn: Connection, person_ids: Sequence[int]) -> None:
    """Recompute the spells of `person_ids` from their transitions (after they changed)."""
    sp = schema.stage_spells
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        conn.execute(delete(sp).where(sp.c.person_id.in_(chunk)))
        conn.execute(insert(sp).from_select(_COLUMNS, _spells_of(chunk)))


def rebuild_spells(conn: Connection) -> int:
    """Recompute every spell from `stage_transitions`; returns the number of spells."""
    sp = schema.stage_spells
    conn.execute(delete(sp))
    conn.execute(insert(sp).from_select(_COLUMNS, _spells_of(None)))
    return int(conn.execute(select(func.count()).select_from(sp)).scalar_one())


def rebuild(db: Database) -> int:
    """`rebuild_spells` in its own transaction (the `--rebuild-spells` use case)."""
    with db.transaction() as conn:
        return rebuild_spells(conn)
