"""Loading and saving people as merge states: the store side of `ingest.merge`.

`absorb_batches` is the one way records reach `people` one person at a time: load the
stored people, load the field history of those a late observation touches (only those, in
chunks), merge, save. `save_results` also writes the people `ingest.merge_frame` built
column-wise. Writes go through `store.bulk` (raw multi-row statements on SQLite, COPY on
PostgreSQL): SQLAlchemy's per-row parameter processing was most of an import's time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import polars as pl
from pydantic_core import to_json
from sqlalchemy import Connection, Row, select

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.merge import (
    ATTR_PREFIX,
    FIRST_TOUCH_FIELDS,
    TRACKED_FIELDS,
    Batch,
    History,
    MergeResult,
    PersonState,
    absorb,
    needs_history,
)
from revmachine.ingest.merge_frame import (
    HISTORY_SEQ,
    PEOPLE_COLUMNS,
    SET_FIELDS,
    STORED_ATTRIBUTES,
    STORED_CREATED,
    STORED_FIELD_TIMES,
    STORED_ID,
    STORED_PREFIX,
    STORED_UPDATED,
)
from revmachine.model.person_history import FieldTimes, Observation
from revmachine.services.imports.common import LOOKUP_CHUNK, chunks
from revmachine.store import schema
from revmachine.store.bulk import (
    driver_rows,
    insert_frame,
    keys_in,
    lookup_keys,
    update_frame,
    update_frame_changes,
)

_P = schema.people
_STATE_FIELDS = (*TRACKED_FIELDS, *FIRST_TOUCH_FIELDS)
_UTC = pl.Datetime("us", "UTC")
_INT_FIELDS = ("account_id", "employee_count", "owner_id", "acquisition_program_id")
_PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    c: pl.Int64()
    if c in _INT_FIELDS
    else pl.Boolean()
    if c in ("email_opt_in", "unsubscribed")
    else _UTC
    if c in ("created_at", "updated_at")
    else pl.String()
    for c in PEOPLE_COLUMNS
}


class Saved(NamedTuple):
    inserted: int
    updated: int
    unchanged: int
    #: The id of every person created, by email.
    created_ids: dict[str, int]


def absorb_batches(
    conn: Connection,
    batches: Sequence[Batch],
    now: dt.datetime,
    source: str,
    *,
    create: bool = True,
    results: list[MergeResult] | None = None,
    order: Sequence[int] | None = None,
    fresh: pl.DataFrame | None = None,
    updated: pl.DataFrame | None = None,
    logged: pl.DataFrame | None = None,
) -> Saved:
    """Merge each batch (one per email) into the stored person and save the result; with
    `create=False`, batches of people not in the store are ignored. `order`, `fresh`,
    `updated` and `logged` are passed to `save_results`."""
    merged = merge_batches(conn, batches, create=create)
    if results is not None:
        results.extend(merged)
    if not create:
        order = None
    return save_results(
        conn, merged, now, source, fresh=fresh, order=order, updated=updated, logged=logged
    )


def merge_batches(
    conn: Connection, batches: Sequence[Batch], *, create: bool = True
) -> list[MergeResult]:
    """`merge.absorb` of each batch into the stored person (nothing is written)."""
    states = load_states(conn, [b.email for b in batches])
    if not create:
        batches = [b for b in batches if b.email in states]
    late = [
        state.id
        for b in batches
        if (state := states.get(b.email)) is not None and needs_history(state, b)
    ]
    history = load_history(conn, [i for i in late if i is not None])
    merged = []
    for b in batches:
        state = states.get(b.email)
        rows = history.get(state.id, {}) if state is not None and state.id is not None else {}
        merged.append(absorb(state, b, rows))
    return merged


def load_history(conn: Connection, person_ids: Iterable[int]) -> dict[int, History]:
    """The stored field history of these people, as observations by field."""
    ch = schema.person_changes
    found: dict[int, dict[str, list[Observation]]] = {}
    for batch in chunks(sorted(set(person_ids)), LOOKUP_CHUNK):
        stmt = select(ch.c.person_id, ch.c.field, ch.c.occurred_at, ch.c.new_value).where(
            ch.c.person_id.in_(batch)
        )
        for pid, key, at, new in conn.execute(stmt):
            found.setdefault(pid, {}).setdefault(key, []).append((at, (new or {}).get("v")))
    return dict(found)


def stored_people(conn: Connection, emails: Sequence[str]) -> pl.DataFrame:
    """The stored people of `emails` as a frame of `merge_frame`'s `STORED_*` columns (and
    `email`), the JSON documents as their text: what `merge_frame.updated_people` reads.

    One statement on the driver's cursor for all the emails (a JSON array on SQLite, an
    array parameter on PostgreSQL, as `bulk.lookup_keys`), the values converted column by
    column: SQLAlchemy's per-value result processing and an `IN` list of 1,000 bound
    emails were a tenth of the time of a 1,000-person batch of updates.
    """
    names = [STORED_ID, "email", *[STORED_PREFIX + f for f in _STATE_FIELDS]]
    names += [STORED_ATTRIBUTES, STORED_FIELD_TIMES, STORED_CREATED, STORED_UPDATED]
    types = [pl.Int64(), pl.String(), *[_PEOPLE_SCHEMA[f] for f in _STATE_FIELDS]]
    types += [pl.String(), pl.String(), _UTC, _UTC]
    wanted = dict(zip(names, types, strict=True))
    columns = list(_STORED_COLUMNS)
    if conn.dialect.name == "sqlite":
        # Booleans are stored as 0 and 1, times as UTC text (`types.UTCDateTime`).
        read = {
            n: pl.String() if t == _UTC else pl.Int64() if t == pl.Boolean() else t
            for n, t in wanted.items()
        }
    else:
        columns = [f"{c}::text" if c in _DOCUMENTS else c for c in columns]
        read = wanted
    where, param = keys_in(conn, sorted(set(emails)))
    sql = f"SELECT {', '.join(columns)} FROM {_P.name} WHERE email {where}"
    frame = pl.DataFrame(driver_rows(conn, sql, param), schema=read, orient="row")
    if read is wanted:
        return frame
    return frame.with_columns(
        pl.col(n).str.to_datetime(_SQLITE_TIME, time_unit="us", time_zone="UTC")
        if t == _UTC
        else pl.col(n).cast(t)
        for n, t in wanted.items()
        if read[n] != t
    )


#: The text `types.UTCDateTime` stores on SQLite (its `SQLITE_DATETIME_FORMAT`, read by
#: polars; a time written without microseconds reads as well).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.f"


#: The stored columns of a person that a merge reads (`load_states`, `stored_people`).
_DOCUMENTS = ("attributes", "field_times")
_STORED_COLUMNS = ("id", "email", *_STATE_FIELDS, *_DOCUMENTS, "created_at", "updated_at")


def load_states(conn: Connection, emails: Iterable[str]) -> dict[str, PersonState]:
    states: dict[str, PersonState] = {}
    cols = [_P.c[c] for c in _STORED_COLUMNS]
    stored: list[Row[Any]] = []
    for batch in chunks(sorted(set(emails)), LOOKUP_CHUNK):
        stored.extend(conn.execute(select(*cols).where(_P.c.email.in_(batch))).all())
    for found in stored:
        row = found._mapping
        doc = FieldTimes.from_json(row["field_times"])
        states[row["email"]] = PersonState(
            email=row["email"],
            values={f: row[f] for f in _STATE_FIELDS if row[f] is not None},
            attributes=dict(row["attributes"] or {}),
            times=doc.times,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            id=row["id"],
            initial=doc.initial,
            logged=doc.logged,
            stamped=doc.stamped,
        )
    return states


def _row(state: PersonState) -> dict[str, Any]:
    row: dict[str, Any] = {f: state.values.get(f) for f in _STATE_FIELDS}
    if row["unsubscribed"] is None:
        row["unsubscribed"] = False
    row.update(
        email=state.email,
        attributes=state.attributes,
        field_times=state.field_times().to_json(),
        created_at=state.created_at,
        updated_at=state.updated_at,
    )
    return row


def save_results(
    conn: Connection,
    results: Sequence[MergeResult],
    now: dt.datetime,
    source: str,
    *,
    fresh: pl.DataFrame | None = None,
    order: Sequence[int] | None = None,
    updated: pl.DataFrame | None = None,
    logged: pl.DataFrame | None = None,
) -> Saved:
    """Write merged people and their field history, in bulk statements.

    `fresh` holds `people` rows built column-wise (`merge_frame.new_people`, with
    `__line__`); they are inserted with the created `results`, all in the order of their
    first line (`order`, one per result; by default the results' own order), so that ids
    are handed out as if every person had been merged one by one. `updated` holds stored
    people merged column-wise (`merge_frame.updated_people`: `people` columns less
    `email`, with `id`) to rewrite, and `logged` their history rows (with `__line__` and
    `merge_frame.HISTORY_SEQ`): both are written with the results', the history rows in
    the order of their person's first line, as one merge after another would write them.
    """
    created = [r for r in results if r.created]
    changed = [r for r in results if not r.created and r.changed]
    unchanged = len(results) - len(created) - len(changed)
    # Same values, newer field times: saved (merges depend on them), counted as unchanged.
    rewrite = changed + [r for r in results if not r.created and not r.changed and r.retimed]
    positions = range(len(results)) if order is None else order
    new_rows = people_frame(
        [r.state for r in created],
        {LINE: [p for r, p in zip(results, positions, strict=True) if r.created]},
    )
    if fresh is not None and fresh.height:
        schema_ = fresh.schema
        if not created and all(schema_.get(c) == t for c, t in new_rows.schema.items()):
            # Only new people, already typed: their columns as they are (no query).
            new_rows = pl.DataFrame([fresh.get_column(c) for c in new_rows.columns])
        else:
            both = [new_rows.lazy(), fresh.lazy().select(new_rows.columns).cast(new_rows.schema)]
            # Each part is in line order already.
            new_rows = pl.concat(both).sort(LINE).collect() if created else both[1].collect()
    before = _last_id(conn) if new_rows.height else None
    # The columns themselves, not `drop` (a query with a fixed cost, ~0.1 ms).
    insert_frame(conn, _P, pl.DataFrame([new_rows.get_column(c) for c in PEOPLE_COLUMNS]))
    ids = _created_ids(conn, new_rows["email"].to_list(), before)
    for r in created:
        r.state.id = ids[r.state.email]
    if rewrite:
        update = people_frame([r.state for r in rewrite], {"id": [r.state.id for r in rewrite]})
        update_frame(conn, _P, update.drop("email"), "id")
    if updated is not None and updated.height:
        # Merged column-wise: the attributes and creation stay; the values in `SET_FIELDS`
        # and the field times change (`updated_at` with any value).
        columns = [c for c in PEOPLE_COLUMNS if c != "email"]
        update_frame_changes(
            conn,
            _P,
            updated.select(*columns, "id", SET_FIELDS).cast(
                {c: _PEOPLE_SCHEMA[c] for c in columns}
            ),
            "id",
            SET_FIELDS,
            ("field_times", "updated_at"),
        )
    history = [(r.state.id, c) for r in results for c in r.history]
    lines = [p for r, p in zip(results, positions, strict=True) for _ in r.history]
    if history or (logged is not None and logged.height):
        changes = pl.DataFrame(
            {
                "person_id": [pid for pid, _ in history],
                "field": [c.field for _, c in history],
                "old_value": [_json_text(_jsonable(c.old)) for _, c in history],
                "new_value": [_json_text(_jsonable(c.new)) for _, c in history],
                "occurred_at": [c.occurred_at for _, c in history],
            },
            schema={
                "person_id": pl.Int64,
                "field": pl.String,
                "old_value": pl.String,
                "new_value": pl.String,
                "occurred_at": _UTC,
            },
        )
        stamp = [
            pl.lit(now.astimezone(dt.UTC), _UTC).alias("recorded_at"),
            pl.lit(source).alias("source"),
        ]
        if logged is not None and logged.height:
            # One query: each step of its own costs ~0.2 ms, as much as the work itself.
            order_key = [LINE, HISTORY_SEQ]
            parts = [logged.lazy().select(*changes.columns, *order_key).cast(changes.schema)]
            if history:
                numbered = changes.lazy().with_columns(
                    pl.Series(LINE, lines, dtype=pl.Int64),
                    pl.int_range(pl.len(), dtype=pl.Int64).alias(HISTORY_SEQ),
                )
                parts.insert(0, numbered)
            query = pl.concat(parts).sort(order_key).select(*changes.columns, *stamp)
            changes = query.collect(engine="in-memory")
        else:
            changes = changes.with_columns(stamp)
        insert_frame(conn, schema.person_changes, changes)
    return Saved(
        len(created) + (fresh.height if fresh is not None else 0), len(changed), unchanged, ids
    )


def _last_id(conn: Connection) -> int | None:
    """On SQLite, the highest person id before an insert (None elsewhere)."""
    if conn.dialect.name != "sqlite":
        return None
    return int(_sqlite(conn).execute("SELECT coalesce(max(id), 0) FROM people").fetchone()[0])


def _sqlite(conn: Connection) -> Any:
    """The sqlite3 connection under `conn` (no SQLAlchemy statement overhead)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    return raw


def _created_ids(conn: Connection, emails: list[str], after: int | None) -> dict[str, int]:
    """The id of each person just inserted, by email.

    On SQLite this transaction holds the write lock, so the people with an id above the
    highest one before the insert are exactly those it inserted: read as one range of the
    table (half the CPU of looking 1,000 emails up in the index). Anything else, or a
    count that does not match, looks the emails up."""
    if after is not None:
        rows = _sqlite(conn).execute("SELECT email, id FROM people WHERE id > ?", (after,))
        found = dict(rows.fetchall())
        if len(found) == len(emails):
            return found
    return dict(lookup_keys(conn, _P, "email", emails))


def people_frame(
    states: Sequence[PersonState], extra: dict[str, Sequence[int | None]]
) -> pl.DataFrame:
    """`people` rows of `states` (JSON columns as JSON text), plus the `extra` columns."""
    rows = [_row(s) for s in states]
    data: dict[str, Any] = {c: [row[c] for row in rows] for c in PEOPLE_COLUMNS}
    for c in ("attributes", "field_times"):
        data[c] = [_json_text(doc) for doc in data[c]]
    data.update(extra)
    return pl.DataFrame(data, schema={**_PEOPLE_SCHEMA, **{k: pl.Int64 for k in extra}})


def _json_text(doc: Any) -> str:
    """JSON text for a JSON column written in bulk (pydantic-core: several times faster
    than `json.dumps`, which was the largest cost of saving updated people)."""
    return to_json(doc).decode()


def _jsonable(value: Any) -> Any:
    """History keeps values as JSON documents: {"v": value} so that None stays distinct."""
    return {"v": value}


def field_of(change_field: str) -> tuple[str, str | None]:
    """('attributes.plan') -> ('attributes', 'plan'); ('title') -> ('title', None)."""
    if change_field.startswith(ATTR_PREFIX):
        return "attributes", change_field.removeprefix(ATTR_PREFIX)
    return change_field, None
