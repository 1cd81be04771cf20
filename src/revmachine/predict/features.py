"""Features of people as of a cut-off time, computed by the database with SQL aggregates.

Every query filters on the fact's own time (`occurred_at`, `created_at`,
`first_touch_at`) at or before the cut-off, and a person's fields are rolled back to the
cut-off by undoing the later `person_changes`: nothing known only after the cut-off can
reach a feature (tests/integration/test_predict_features.py proves it by adding later
events and checking that no feature moves). The scans, joins and group-bys run in SQL on
SQLite and PostgreSQL alike; polars joins the per-person aggregates into one frame.

The feature list and its words are in `feature_catalogue.py`, the account-level queries
in `account_features.py`. Account firmographics are left out on purpose: `accounts` keeps
no history, so today's
values could tell the model what was learned later (a segment set after a deal closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, Integer, case, cast, func, select

from revmachine.predict.account_features import account_features
from revmachine.predict.encode import FeatureKind
from revmachine.predict.feature_catalogue import (
    AS_OF_FIELDS,
    CATEGORY_FIELDS,
    FLAG_FIELDS,
    ID,
    MAX_ACTIVITY_TYPES,
    WINDOWS,
    FeatureConfig,
)
from revmachine.predict.sql import DAY, epoch, fetch_frame, latest_per_person, restrict
from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.parallel import READERS, ReadPool, parallel_reads

Part = Callable[[Connection], pl.DataFrame]


def common_activity_types(conn: Connection, until: dt.datetime) -> tuple[str, ...]:
    """The most frequent activity types up to `until`: those get counts of their own."""
    a = schema.activities
    rows = conn.execute(
        select(a.c.type, func.count().label("n"))
        .where(a.c.occurred_at <= until)
        .group_by(a.c.type)
        .order_by(func.count().desc(), a.c.type)
        .limit(MAX_ACTIVITY_TYPES)
    )
    return tuple(sorted(r.type for r in rows))


def build_features(
    source: Connection | Database,
    config: FeatureConfig,
    as_of: dt.datetime,
    person_ids: Sequence[int] | None = None,
) -> pl.DataFrame:
    """One row per person who existed at `as_of` (of `person_ids`, if given), every feature
    of `config.specs()` as a column, plus `person_id`.

    Given a connection, the queries run one after the other on it (one snapshot). Given
    the store, they run at once on read connections of their own (`store.parallel`), the
    activity scan split by id range among them: about half the wall time of scoring
    everyone on two cores.
    """
    ids = None if person_ids is None else sorted(set(person_ids))
    t = as_of.timestamp()
    with parallel_reads(source) as reads:
        submit = reads.submit
        people = submit(lambda conn: _people(conn, as_of, ids))
        shards = _activity_shards(reads, ids)
        recent = [submit(_recent_activities(as_of, ids, shard)) for shard in shards]
        parts = [
            submit(lambda conn: _activity_totals(conn, as_of, ids)),
            submit(lambda conn: _stages(conn, as_of, ids, t)),
            submit(lambda conn: _scores(conn, as_of, ids)),
            submit(lambda conn: _programs(conn, as_of, ids)),
        ]
        base = people.result()
        accounts = submit(lambda conn: account_features(conn, as_of, base))
        if base.height == 0:
            return _empty(config)
        by_type = _combine_shards([part.result() for part in recent])
        frame = base.join(
            _activity_features(config, parts[0].result(), by_type, t), on=ID, how="left"
        )
        for part in parts[1:]:
            frame = frame.join(part.result(), on=ID, how="left")
        frame = frame.join(accounts.result(), on="account_id", how="left")
    counts = [
        c
        for c in frame.columns
        if c.endswith("d") and c[:-1].split("_")[-1].isdigit() and not c.startswith("account_")
    ]
    frame = frame.with_columns(
        pl.col(*counts, "activities_total", "activity_types_90d", "programs", "stage_moves")
        .fill_null(0)
        .cast(pl.Float64),
        # A colleague count of the person's own account leaves the person out.
        (pl.col("colleagues") - 1).alias("colleagues"),
    )
    names = [s.name for s in config.specs()]
    return frame.select(ID, *names)


def _empty(config: FeatureConfig) -> pl.DataFrame:
    schema_ = {ID: pl.Int64} | {
        s.name: pl.String if s.kind is FeatureKind.CATEGORY else pl.Float64 for s in config.specs()
    }
    return pl.DataFrame(schema=schema_)


def _people(conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None) -> pl.DataFrame:
    """Fields as at `as_of`: current values, with later changes undone."""
    p, prog = schema.people, schema.programs
    stmt = (
        select(
            p.c.id,
            epoch(conn, p.c.created_at),
            *(cast(p.c[f], Integer) if f in FLAG_FIELDS else p.c[f] for f in AS_OF_FIELDS),
            prog.c.channel,
        )
        .select_from(p.outerjoin(prog, prog.c.id == p.c.acquisition_program_id))
        .where(p.c.created_at <= as_of)
    )
    stmt = restrict(stmt, p.c.id, ids)
    types: dict[str, Any] = {ID: pl.Int64, "created": pl.Float64}
    types |= {f: pl.String for f in CATEGORY_FIELDS}
    types |= {"employee_count": pl.Float64, "email_opt_in": pl.Float64}
    types |= {"unsubscribed": pl.Float64, "account_id": pl.Int64, "acquisition_channel": pl.String}
    frame = fetch_frame(conn, stmt, types)
    frame = _undo_later_changes(conn, frame, as_of, ids)
    return frame.with_columns(
        ((as_of.timestamp() - pl.col("created")) / DAY).alias("days_known"),
    ).drop("created")


def _undo_later_changes(
    conn: Connection, frame: pl.DataFrame, as_of: dt.datetime, ids: Sequence[int] | None
) -> pl.DataFrame:
    """Replace a field by the old value of its first change after `as_of`, if any."""
    ch = schema.person_changes
    ranked = restrict(
        select(
            ch.c.person_id,
            ch.c.field,
            ch.c.old_value,
            func.row_number()
            .over(partition_by=(ch.c.person_id, ch.c.field), order_by=(ch.c.occurred_at, ch.c.id))
            .label("rn"),
        ).where(ch.c.occurred_at > as_of, ch.c.field.in_(AS_OF_FIELDS)),
        ch.c.person_id,
        ids,
    ).subquery()
    rows = conn.execute(
        select(ranked.c.person_id, ranked.c.field, ranked.c.old_value).where(ranked.c.rn == 1)
    ).all()
    if not rows:
        return frame
    old: dict[str, dict[int, Any]] = {}
    for person_id, field, doc in rows:
        old.setdefault(field, {})[person_id] = (doc or {}).get("v")
    updates = []
    for field, values in old.items():
        dtype = frame.schema[field]
        changed = pl.DataFrame(
            {
                ID: list(values),
                f"{field}__old": pl.Series(
                    [_typed(v, dtype) for v in values.values()], dtype=dtype, strict=False
                ),
            },
            schema={ID: pl.Int64, f"{field}__old": dtype},
        ).with_columns(pl.lit(True).alias(f"{field}__changed"))
        frame = frame.join(changed, on=ID, how="left")
        updates.append(
            pl.when(pl.col(f"{field}__changed"))
            .then(pl.col(f"{field}__old"))
            .otherwise(pl.col(field))
            .alias(field)
        )
    frame = frame.with_columns(updates)
    return frame.drop([c for c in frame.columns if "__" in c])


def _typed(value: Any, dtype: Any) -> Any:
    if value is None:
        return None
    if dtype == pl.String:
        return str(value)
    if dtype == pl.Boolean:
        return bool(value)
    try:
        return int(value) if dtype == pl.Int64 else float(value)
    except (TypeError, ValueError):
        return None


def _activity_shards(reads: ReadPool, ids: Sequence[int] | None) -> list[tuple[int, int] | None]:
    """Ranges of activity ids the recent-activity scan is split into, one per reader.

    Only a scan of everyone is split (a few people's rows are found by the person index),
    and only when the readers run at once. `None`: the whole table in one query.
    """
    if not reads.parallel or ids is not None:
        return [None]
    a = schema.activities
    low, high = reads.submit(
        lambda conn: conn.execute(select(func.min(a.c.id), func.max(a.c.id))).one()
    ).result()
    if low is None:
        return [None]
    step = (high - low) // READERS + 1
    return [(start, start + step - 1) for start in range(low, high + 1, step)]


def _activity_totals(
    conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None
) -> pl.DataFrame:
    """Per person, all time: count and last time (the `(person_id, occurred_at)` index
    covers it)."""
    a = schema.activities
    totals = restrict(
        select(a.c.person_id, func.count(), epoch(conn, func.max(a.c.occurred_at)))
        .where(a.c.occurred_at <= as_of)
        .group_by(a.c.person_id),
        a.c.person_id,
        ids,
    )
    return fetch_frame(
        conn,
        totals,
        {ID: pl.Int64, "activities_total": pl.Float64, "last_activity": pl.Float64},
    )


_WINDOW_COLUMNS = [f"w{w}" for w in WINDOWS]


def _recent_activities(
    as_of: dt.datetime, ids: Sequence[int] | None, shard: tuple[int, int] | None
) -> Part:
    """Per person and type, the last 90 days (counts by window, last, program touches) of
    the activities with ids in `shard`: a few aggregates per row, pivoted by polars. One row
    per person with an aggregate per type and window costs SQLite several times more (each
    CASE is evaluated for every row)."""

    def query(conn: Connection) -> pl.DataFrame:
        a = schema.activities
        # For everyone, `+ 0` keeps SQLite from walking the person index (a table lookup
        # per row) for the grouping order: a plain scan and one sort are faster. For a
        # few people the index is what finds their rows.
        everyone = ids is None and conn.dialect.name == "sqlite"
        person = a.c.person_id + 0 if everyone else a.c.person_id
        since = {w: as_of - dt.timedelta(days=w) for w in WINDOWS}
        stmt = select(
            person,
            a.c.type,
            *(func.sum(case((a.c.occurred_at > since[w], 1), else_=0)) for w in WINDOWS[:-1]),
            func.count(),
            epoch(conn, func.max(a.c.occurred_at)),
            func.sum(case((a.c.program_id.is_not(None), 1), else_=0)),
        ).where(a.c.occurred_at <= as_of, a.c.occurred_at > since[WINDOWS[-1]])
        if shard is not None:
            stmt = stmt.where(a.c.id.between(*shard))
        return fetch_frame(
            conn,
            restrict(stmt.group_by(person, a.c.type), a.c.person_id, ids),
            {ID: pl.Int64, "type": pl.String}
            | {w: pl.Float64 for w in _WINDOW_COLUMNS}
            | {"last": pl.Float64, "program": pl.Float64},
        )

    return query


def _combine_shards(shards: list[pl.DataFrame]) -> pl.DataFrame:
    """The per-(person, type) aggregates of the shards as if from one scan: counts add up,
    the last time is the latest (all exact: counts are whole numbers)."""
    if len(shards) == 1:
        return shards[0]
    return (
        pl.concat(shards)
        .group_by(ID, "type")
        .agg(
            *(pl.col(w).sum() for w in _WINDOW_COLUMNS),
            pl.col("last").max(),
            pl.col("program").sum(),
        )
    )


def _activity_features(
    config: FeatureConfig, totals: pl.DataFrame, by_type: pl.DataFrame, t: float
) -> pl.DataFrame:
    """Activity counts and recencies per person, from the two grouped scans."""
    windows = _WINDOW_COLUMNS
    overall = by_type.group_by(ID).agg(
        *(pl.col(w).sum().alias(f"activities_{w[1:]}d") for w in windows),
        pl.len().cast(pl.Float64).alias("activity_types_90d"),
        pl.col("program").sum().alias("program_activities_90d"),
    )
    frame = totals.join(overall, on=ID, how="left")
    for kind in config.activity_types:
        one = by_type.filter(pl.col("type") == kind).select(
            ID,
            *(pl.col(w).alias(f"{kind}_{w[1:]}d") for w in windows),
            ((t - pl.col("last")) / DAY).alias(f"{kind}_days_since"),
        )
        frame = frame.join(one, on=ID, how="left")
    return frame.with_columns(
        ((t - pl.col("last_activity")) / DAY).alias("days_since_activity")
    ).drop("last_activity")


def _programs(conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None) -> pl.DataFrame:
    m = schema.program_members
    stmt = restrict(
        select(m.c.person_id, func.count())
        .where(m.c.first_touch_at <= as_of)
        .group_by(m.c.person_id),
        m.c.person_id,
        ids,
    )
    return fetch_frame(conn, stmt, {ID: pl.Int64, "programs": pl.Float64})


def _stages(
    conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None, t: float
) -> pl.DataFrame:
    """The stage at `as_of` (the latest move at or before it), how long, how many moves."""
    st = schema.stage_transitions
    frame = latest_per_person(
        conn,
        st,
        as_of,
        ids,
        {"stage": st.c.to_stage, "entered": epoch(conn, st.c.occurred_at)},
        {"stage": pl.String, "entered": pl.Float64},
    )
    return (
        frame.rename({"records": "stage_moves"})
        .with_columns(((t - pl.col("entered")) / DAY).alias("days_in_stage"))
        .drop("entered")
    )


def _scores(conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None) -> pl.DataFrame:
    """The rules-based fit and behaviour scores as last recorded at or before `as_of`."""
    sc = schema.score_changes
    frame = latest_per_person(
        conn,
        sc,
        as_of,
        ids,
        {"fit_score": sc.c.fit, "behavior_score": sc.c.behavior},
        {"fit_score": pl.Float64, "behavior_score": pl.Float64},
    )
    return frame.drop("records")
