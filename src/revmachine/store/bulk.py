"""Bulk reads and writes that bypass per-row ORM work, one fast path per database.

SQLAlchemy Core `executemany` costs several microseconds per row in parameter processing;
a million-event import would spend most of its time there. So the event log's bulk path
talks to the driver directly, inside the same transaction the service opened:
- SQLite: multi-row `INSERT … VALUES (…), (…) … ON CONFLICT …` on the raw sqlite3 cursor,
  values already in the storage format `UTCDateTime` reads back;
- PostgreSQL: `COPY` into a temporary staging table, then one `INSERT … SELECT … ON
  CONFLICT …`, the loading path PostgreSQL's own documentation recommends.
Key look-ups (email -> person id for a million events) send all keys in one statement
(a JSON array on SQLite, an array parameter on PostgreSQL) instead of thousands of `IN`
lists.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import operator
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy import Column, Connection, Index, MetaData, Table

from revmachine.store.types import sqlite_datetime_text


def insert_frame_ignoring_conflicts(
    conn: Connection,
    table: Table,
    frame: pl.DataFrame,
    conflict_column: str,
    *,
    constants: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Insert the rows of `frame` (columns named as in `table`), skipping conflicts.

    Returns the rows inserted. Datetime columns must be time-zone aware; they are written in
    the storage format `UTCDateTime` reads back. `constants` are columns with one value for
    every row (such as `received_at`): bound once per statement, not once per row. The
    column-wise form is the fast one: no Python object is made per row on PostgreSQL, and
    only one per value on SQLite. `progress(done, total)` is called as rows go in.
    """
    if frame.height == 0:
        return 0
    tail = f"ON CONFLICT ({conflict_column}) DO NOTHING"
    if conn.dialect.name == "sqlite":
        return _sqlite_many(conn, table, tail, frame, constants or {}, progress)
    if conn.dialect.name == "postgresql":
        return _postgres_copy_select(conn, table, frame, tail, constants or {}, progress)
    raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


def upsert_frame_keeping_earliest(
    conn: Connection,
    table: Table,
    frame: pl.DataFrame,
    key_columns: Sequence[str],
    time_column: str,
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert the rows of `frame`; where the key exists, keep the earlier `time_column`.

    For first-touch records such as program membership: the result does not depend on the
    order files arrive in. Keys must be distinct within `frame` (PostgreSQL refuses to update
    a row twice in one statement). On SQLite the comparison is on the storage text, whose
    fixed-width UTC form sorts in time order.
    """
    if frame.height == 0:
        return
    keys = ", ".join(key_columns)
    upsert = (
        f"ON CONFLICT ({keys}) DO UPDATE SET {time_column} = excluded.{time_column} "
        f"WHERE excluded.{time_column} < {table.name}.{time_column}"
    )
    if conn.dialect.name == "sqlite":
        _sqlite_many(conn, table, upsert, frame, constants or {})
    elif conn.dialect.name == "postgresql":
        _postgres_copy_select(conn, table, frame, upsert, constants or {})
    else:
        raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


def lookup_frame(
    conn: Connection, table: Table, key: str, values: pl.Series, value_column: str = "id"
) -> pl.DataFrame:
    """Columns `key` and `value_column` of the rows whose `key` is one of `values`.

    One statement for any number of keys: the distinct keys go to the database as a single
    JSON array (SQLite, read back with `json_each`) or array parameter (PostgreSQL).
    """
    keys = values.drop_nulls().unique()
    kcol, vcol = table.c[key], table.c[value_column]
    out_schema = {key: pl.String, value_column: pl.Int64}
    if keys.len() == 0:
        return pl.DataFrame(schema=out_schema)
    if conn.dialect.name == "sqlite":
        # Keys in index order, driving the join: each look-up lands next to the previous
        # one in the unique index (a third of the CPU of an unordered `IN` on 100k keys).
        sql = (
            f"SELECT t.{kcol.name}, t.{vcol.name} FROM json_each(?) AS k "
            f"JOIN {table.name} AS t ON t.{kcol.name} = k.value"
        )
        rows = driver_rows(conn, sql, json.dumps(keys.sort().to_list()))
    else:
        where, param = keys_in(conn, keys.to_list())
        sql = f"SELECT {kcol.name}, {vcol.name} FROM {table.name} WHERE {kcol.name} {where}"
        rows = driver_rows(conn, sql, param)
    return pl.DataFrame(rows, schema=out_schema, orient="row")


def lookup_keys(
    conn: Connection, table: Table, key: str, keys: Sequence[str], value_column: str = "id"
) -> list[tuple[str, Any]]:
    """`(key, value_column)` of the rows whose `key` is one of `keys` (distinct, no None):
    `lookup_frame` for callers that hold the keys as a list. One statement for any number
    of keys; none when `keys` is empty."""
    if not keys:
        return []
    kcol, vcol = table.c[key].name, table.c[value_column].name
    where, param = keys_in(conn, keys)
    sql = f"SELECT {kcol}, {vcol} FROM {table.name} WHERE {kcol} {where}"
    return [(k, v) for k, v in driver_rows(conn, sql, param)]


def keys_in(conn: Connection, keys: Sequence[Any]) -> tuple[str, Any]:
    """The end of a `WHERE column …` clause matching any of `keys`, and its one parameter:
    all the keys in one value (a JSON array read by `json_each` on SQLite, an array on
    PostgreSQL) instead of an `IN` list compiled and bound key by key."""
    if conn.dialect.name == "sqlite":
        return "IN (SELECT value FROM json_each(?))", json.dumps(list(keys))
    if conn.dialect.name == "postgresql":
        return "= ANY(%s)", list(keys)
    raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


def driver_rows(conn: Connection, sql: str, param: Any) -> list[Any]:
    """Every row of `sql` with its one parameter, run on the driver's cursor inside the
    caller's transaction: no SQLAlchemy result processing per value."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(sql, (param,))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def sqlite_storage(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with datetimes and dates as the text SQLite stores (`UTCDateTime`, `Date`)."""
    # A naive microsecond datetime cast to text is exactly 'YYYY-MM-DD HH:MM:SS.ffffff'
    # (a test holds it to `sqlite_datetime_text`), and a third cheaper than strftime.
    return frame.with_columns(
        [
            pl.col(name)
            .dt.convert_time_zone("UTC")
            .dt.replace_time_zone(None)
            .dt.cast_time_unit("us")
            .cast(pl.String)
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Datetime)
        ]
        + [
            pl.col(name).dt.strftime("%Y-%m-%d")
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Date)
        ]
    )


def _sqlite_constant(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return sqlite_datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


#: What the SQLite bulk path binds for a missing value. SQLite stores a NaN double as NULL
#: (`sqlite3VdbeMemSetDouble` leaves the value NULL), and the sqlite3 module binds a float
#: on its fast path, ~50 ns, while None goes through its adapter look-ups, ~400 ns: 0.4 s
#: per million missing values, and an event log has a few per row. A test checks that
#: such values are stored as NULL.
_SQLITE_NULL = math.nan

#: Rows per multi-row statement. Past ~100 rows the per-statement cost is amortised; the
#: statement must also stay under SQLite's bound-parameter limit (999 on old builds).
_SQLITE_ROWS = 128
#: Statements' worth of rows turned into parameters at a time (~51k rows): bounds the
#: memory the Python parameter lists take, and is the unit the two threads hand over.
_SQLITE_STATEMENTS_PER_CHUNK = 400
#: Rows written to PostgreSQL's COPY stream at a time (between progress reports).
_COPY_ROWS = 50_000


def _sqlite_parameters(frame: pl.DataFrame) -> list[Any]:
    """All values of `frame` in storage form, laid out row-major in one flat list.

    Slice assignment from the column lists: no tuple is built per row. Missing values are
    `_SQLITE_NULL`.
    """
    width = frame.width
    flat: list[Any] = [None] * (width * frame.height)
    for i, series in enumerate(sqlite_storage(frame).get_columns()):
        values = series.to_list()
        if series.null_count():
            values = [_SQLITE_NULL if v is None else v for v in values]
        flat[i::width] = values
    return flat


def _sqlite_many(
    conn: Connection,
    table: Table,
    tail: str,
    frame: pl.DataFrame,
    constants: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """`INSERT INTO table (…) VALUES (…), (…), … tail` for all rows, ~128 rows per statement.

    The sqlite3 module's per-row cost (a statement step and reset, the GIL released and
    taken back) is about half of a plain single-row `executemany`; multi-row VALUES pay it
    once per statement (measured on a million events: ~2.3 s CPU against ~4.7 s for a
    single-row `executemany` of the same rows into the same table). Constants are numbered
    parameters (`?1`, …) that every row of a statement refers to.

    Rows go in chunks of ~51k. While SQLite executes one chunk (`sqlite3_step` runs with
    the GIL released), a helper thread turns the next chunk into parameters (polars
    formatting, `to_list`): on two free cores the conversion costs no wall time. Only this
    thread touches the connection; the helper sees nothing but the frame.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    width, height = frame.width, frame.height
    fixed = [_sqlite_constant(v) for v in constants.values()]
    per = max(1, min(_SQLITE_ROWS, (999 - len(fixed)) // width))
    chunk = per * _SQLITE_STATEMENTS_PER_CHUNK
    head = f"INSERT INTO {table.name} ({', '.join([*frame.columns, *constants])}) VALUES "
    shared = "".join(f", ?{k + 1}" for k in range(len(fixed)))

    def statement(rows: int) -> str:
        first = len(fixed) + 1
        values = (
            "(" + ", ".join(f"?{first + r * width + c}" for c in range(width)) + shared + ")"
            for r in range(rows)
        )
        return head + ", ".join(values) + " " + tail

    full_statement = statement(per)
    step = per * width

    def parameters(offset: int) -> list[Any]:
        return _sqlite_parameters(frame.slice(offset, chunk))

    before = raw.total_changes
    cursor = raw.cursor()
    try:
        with _ahead(parameters, range(0, height, chunk)) as prepared:
            for offset, flat in prepared:
                full = len(flat) // step * step
                if full:
                    cursor.executemany(
                        full_statement, (fixed + flat[i : i + step] for i in range(0, full, step))
                    )
                if full < len(flat):
                    cursor.execute(statement((len(flat) - full) // width), fixed + flat[full:])
                if progress is not None:
                    progress(min(offset + chunk, height), height)
    finally:
        cursor.close()
    return int(raw.total_changes - before)


@contextmanager
def _ahead(
    work: Callable[[int], list[Any]], keys: Sequence[int]
) -> Iterator[Iterator[tuple[int, list[Any]]]]:
    """`(key, work(key))` for each key, computing the next one in a helper thread.

    One item ahead at most (memory stays at two chunks). A single key runs inline. An error
    in `work` is raised where its item is taken; leaving early waits for the item in flight.
    """
    if len(keys) <= 1:
        yield ((key, work(key)) for key in keys)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="revmachine-bulk") as pool:

        def items() -> Iterator[tuple[int, list[Any]]]:
            pending: Future[list[Any]] = pool.submit(work, keys[0])
            for index, key in enumerate(keys):
                result = pending.result()
                if index + 1 < len(keys):
                    pending = pool.submit(work, keys[index + 1])
                yield key, result

        yield items()


def _postgres_copy_select(
    conn: Connection,
    table: Table,
    frame: pl.DataFrame,
    tail: str,
    constants: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """COPY `frame` (as CSV written by polars) into a staging table, then INSERT … SELECT.

    polars writes NULL as an empty field and an empty string as `""`, which is exactly how
    PostgreSQL's CSV format tells them apart. The whole frame goes through one staging
    table and one INSERT … SELECT; the COPY stream is written in chunks.
    """
    stage = _stage(conn, table, frame.columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(frame.columns)
    targets = ", ".join([*frame.columns, *constants])
    sources = ", ".join([*frame.columns, *("%s" for _ in constants)])
    height = frame.height
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {stage.name} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
            for offset in range(0, height, _COPY_ROWS):
                data = frame.slice(offset, _COPY_ROWS).write_csv(
                    include_header=False,
                    datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z",
                    date_format="%Y-%m-%d",
                )
                copy.write(data.encode())
                if progress is not None:
                    progress(min(offset + _COPY_ROWS, height), height)
        cursor.execute(
            f"INSERT INTO {table.name} ({targets}) SELECT {sources} FROM {stage.name} {tail}",
            list(constants.values()),
        )
        changed = cursor.rowcount
        cursor.execute(f"DROP TABLE {stage.name}")
    return int(changed)


def _stage(conn: Connection, table: Table, columns: Sequence[str]) -> Table:
    """An empty temporary table with `columns` of `table`, dropped at commit at the latest."""
    stage = Table(
        f"stage_{table.name}",
        MetaData(),
        *[Column(name, table.c[name].type) for name in columns],
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    stage.create(conn, checkfirst=False)
    return stage


@contextmanager
def sqlite_page_cache(conn: Connection, extra_bytes: int) -> Iterator[None]:
    """Give this connection's SQLite page cache `extra_bytes` more room, for one bulk load.

    A transaction keeps every page it writes until it commits. When they outgrow the page
    cache, SQLite spills them to the WAL mid-transaction (pages written again later are
    written twice) and evicts clean pages, such as the parent rows that foreign keys check
    or the index pages the next chunk goes to, only to read them back. On a million-event
    import that was ~1 s of the time. The setting is restored on the way out (the pages
    stay in memory until the commit writes them). No-op on other databases.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    (previous,) = raw.execute("PRAGMA cache_size").fetchone()
    (page_size,) = raw.execute("PRAGMA page_size").fetchone()
    # Negative sizes are KiB, positive ones pages (SQLite's convention).
    kib = -previous if previous < 0 else previous * page_size // 1024
    raw.execute(f"PRAGMA cache_size = {-(kib + extra_bytes // 1024)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(previous)}")


def drop_index(conn: Connection, index: Index) -> None:
    index.drop(conn)


def create_index(conn: Connection, index: Index) -> None:
    index.create(conn)


def insert_frame(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    """Insert every row of `frame` (columns named as in `table`); a conflict is an error.

    The same fast paths as `insert_frame_ignoring_conflicts`, without the conflict clause:
    for rows whose keys were looked up in this transaction, where a duplicate means a
    concurrent writer got there first and must fail the transaction rather than be
    skipped. On PostgreSQL the rows are copied straight into the table. Rows are inserted
    in frame order, so generated ids follow it. Text columns of JSON columns hold the
    JSON text.
    """
    if frame.height == 0:
        return 0
    if conn.dialect.name == "sqlite":
        return _sqlite_many(conn, table, "", frame, {})
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            sql = f"COPY {table.name} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv)"
            with cursor.copy(sql) as copy:
                copy.write(_csv(frame))
        return frame.height
    raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


def update_frame(conn: Connection, table: Table, frame: pl.DataFrame, key: str) -> None:
    """`UPDATE table SET … WHERE key = …` for every row of `frame` (keys distinct).

    SQLite: one prepared statement stepped per row on the raw cursor (no SQLAlchemy
    parameter processing); PostgreSQL: COPY into a staging table, then one `UPDATE … FROM`.
    """
    if frame.height == 0:
        return
    columns = [c for c in frame.columns if c != key]
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        assert raw is not None
        stored = sqlite_storage(frame.select(*columns, key))
        sets = ", ".join(f"{c} = ?" for c in columns)
        cursor = raw.cursor()
        try:
            cursor.executemany(
                f"UPDATE {table.name} SET {sets} WHERE {key} = ?", stored.iter_rows()
            )
        finally:
            cursor.close()
        return
    if conn.dialect.name == "postgresql":
        stage = _stage(conn, table, frame.columns)
        raw = conn.connection.driver_connection
        assert raw is not None
        sets = ", ".join(f"{c} = s.{c}" for c in columns)
        with raw.cursor() as cursor:
            sql = f"COPY {stage.name} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv)"
            with cursor.copy(sql) as copy:
                copy.write(_csv(frame))
            cursor.execute(
                f"UPDATE {table.name} AS t SET {sets} FROM {stage.name} AS s "
                f"WHERE t.{key} = s.{key}"
            )
            cursor.execute(f"DROP TABLE {stage.name}")
        return
    raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


def update_frame_changes(
    conn: Connection,
    table: Table,
    frame: pl.DataFrame,
    key: str,
    changed: str,
    always: Sequence[str],
) -> None:
    """`update_frame` for rows that each change only some columns: `frame[changed]` names
    them per row (comma-separated, possibly none), `always` are set on every row.

    SQLite: one statement per distinct set of columns, setting only those (and `always`).
    Setting every column of `people` cost about three times as much as setting the few
    that changed (measured on 1,000 people: ~10 ms against ~3 ms): each value is bound and
    compared, and the entries of the indexed columns set are rewritten. PostgreSQL writes a
    new version of the whole row whatever is set: one `update_frame` of every column.
    """
    if frame.height == 0:
        return
    if conn.dialect.name != "sqlite":
        update_frame(conn, table, frame.drop(changed), key)
        return
    # One conversion and one tuple per row, bucketed in Python: a polars `group_by` and a
    # conversion per group cost as much as the statements.
    values = frame.drop(changed)
    position = {name: i for i, name in enumerate(values.columns)}
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for names, row in zip(frame.get_column(changed), sqlite_storage(values).rows(), strict=True):
        groups.setdefault(names or "", []).append(row)
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        for names, rows in groups.items():
            columns = [*(names.split(",") if names else ()), *always]
            pick = operator.itemgetter(*[position[c] for c in (*columns, key)])
            sets = ", ".join(f"{c} = ?" for c in columns)
            sql = f"UPDATE {table.name} SET {sets} WHERE {key} = ?"
            cursor.executemany(sql, map(pick, rows))
    finally:
        cursor.close()


def _csv(frame: pl.DataFrame) -> bytes:
    """`frame` as the CSV PostgreSQL's COPY reads (NULL empty, an empty string quoted)."""
    return frame.write_csv(
        include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z", date_format="%Y-%m-%d"
    ).encode()


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = (0, 0, 0)
#: The youngest generation's threshold while a bulk step runs (Python's default is 700).
BATCH_GC_THRESHOLD = 200_000


@contextmanager
def gc_relaxed() -> Iterator[None]:
    """Python's cyclic collector runs less often while any bulk step runs (in any thread).

    Steps that materialise many small objects at once trigger collections that find
    nothing to free. Merging a batch of stored people makes tens of thousands of them, and
    the collections they trigger at the default threshold were a third of the CPU time of
    a 1,000-record batch of existing people; at `BATCH_GC_THRESHOLD` they cost about what
    turning the collector off saves. It is not turned off: a busy server whose batches
    overlap without a gap still collects, so cyclic garbage stays bounded. The previous
    thresholds come back when the last step in flight ends. Reading half a million deal
    snapshots as tuples for the forecast (`analytics.forecast_inputs`) spent 0.45 of its
    1.1 CPU seconds in collections at the default threshold.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] < BATCH_GC_THRESHOLD:
                gc.set_threshold(BATCH_GC_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)
