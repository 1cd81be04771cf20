"""Bulk writes that bypass per-row ORM work, one fast path per database.

SQLAlchemy Core `executemany` costs several microseconds per row in parameter processing;
a million-event import would spend most of its time there. So the event log's bulk path
talks to the driver directly, inside the same transaction the service opened:
- SQLite: `executemany` on the raw sqlite3 cursor with `INSERT … ON CONFLICT DO NOTHING`,
  values already in the storage format `UTCDateTime` reads back;
- PostgreSQL: `COPY` into a temporary staging table, then one `INSERT … SELECT … ON
  CONFLICT DO NOTHING`, the loading path PostgreSQL's own documentation recommends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Column, Connection, Index, MetaData, Table

from revmachine.store.types import sqlite_datetime_text


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return sqlite_datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def insert_ignoring_conflicts(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict_column: str,
    *,
    prepared_for_sqlite: bool = False,
) -> int:
    """Insert `rows` (tuples in `columns` order), skipping conflicts; return rows inserted.

    `prepared_for_sqlite` says the values are already SQLite storage text (datetimes
    formatted by `sqlite_datetime_text`), which lets a caller format a whole column at once.
    `rows` may be an iterator (e.g. `zip` over column lists): the driver consumes it row by
    row, so a million-row batch never exists as a list of tuples.
    """
    if isinstance(rows, Sequence) and not rows:
        return 0
    if conn.dialect.name == "sqlite":
        return _sqlite_insert(conn, table, columns, rows, conflict_column, prepared_for_sqlite)
    if conn.dialect.name == "postgresql":
        return _postgres_copy_insert(conn, table, columns, rows, conflict_column)
    raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


def _sqlite_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict_column: str,
    prepared: bool,
) -> int:
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    sql = (
        f"INSERT INTO {table.name} ({cols}) VALUES ({marks}) "
        f"ON CONFLICT ({conflict_column}) DO NOTHING"
    )
    values = rows if prepared else [tuple(_sqlite_value(v) for v in row) for row in rows]
    before = raw.total_changes
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, values)
    finally:
        cursor.close()
    return int(raw.total_changes - before)


def _postgres_copy_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict_column: str,
) -> int:
    stage = _stage(conn, table, columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(columns)
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {stage.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {stage.name} "
            f"ON CONFLICT ({conflict_column}) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"DROP TABLE {stage.name}")
    return int(inserted)


def insert_frame_ignoring_conflicts(
    conn: Connection, table: Table, frame: pl.DataFrame, conflict_column: str
) -> int:
    """Insert the rows of `frame` (columns named as in `table`), skipping conflicts.

    Returns the rows inserted. Datetime columns must be time-zone aware; they are written in
    the storage format `UTCDateTime` reads back. The column-wise form is the fast one: no
    Python object is made per row on PostgreSQL, and only one per value on SQLite.
    """
    if frame.height == 0:
        return 0
    cols = ", ".join(frame.columns)
    if conn.dialect.name == "sqlite":
        return _sqlite_many(
            conn,
            f"INSERT INTO {table.name} ({cols})",
            f"ON CONFLICT ({conflict_column}) DO NOTHING",
            frame,
        )
    if conn.dialect.name == "postgresql":
        return _postgres_copy_select(
            conn, table, frame, f"ON CONFLICT ({conflict_column}) DO NOTHING"
        )
    raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


def upsert_frame_keeping_earliest(
    conn: Connection,
    table: Table,
    frame: pl.DataFrame,
    key_columns: Sequence[str],
    time_column: str,
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
        _sqlite_many(conn, f"INSERT INTO {table.name} ({', '.join(frame.columns)})", upsert, frame)
    elif conn.dialect.name == "postgresql":
        _postgres_copy_select(conn, table, frame, upsert)
    else:
        raise NotImplementedError(f"no bulk path for {conn.dialect.name}")


#: Bound values per SQLite statement: the historic default limit, valid on every build.
_SQLITE_MAX_PARAMS = 999


def sqlite_storage(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with datetimes and dates as the text SQLite stores (`UTCDateTime`, `Date`)."""
    return frame.with_columns(
        [
            pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Datetime)
        ]
        + [
            pl.col(name).dt.strftime("%Y-%m-%d")
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Date)
        ]
    )


def _sqlite_many(conn: Connection, head: str, tail: str, frame: pl.DataFrame) -> int:
    """`head VALUES (…), (…), … tail` for all rows, ~140 rows per statement.

    The sqlite3 module's per-row cost (a statement step and reset, the GIL released and
    taken back) is about half of a plain single-row `executemany`; multi-row VALUES pay it
    once per statement. The parameters are laid out row-major by slice assignment from the
    column lists, so no tuple is built per row.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    width, height = frame.width, frame.height
    flat: list[Any] = [None] * (width * height)
    for i, series in enumerate(sqlite_storage(frame).get_columns()):
        flat[i::width] = series.to_list()
    per = max(1, _SQLITE_MAX_PARAMS // width)
    one = "(" + ", ".join("?" * width) + ")"
    step, full = per * width, height // per * per * width
    before = raw.total_changes
    cursor = raw.cursor()
    try:
        if full:
            sql = f"{head} VALUES {', '.join([one] * per)} {tail}"
            cursor.executemany(sql, (flat[i : i + step] for i in range(0, full, step)))
        if full < len(flat):
            rest = (len(flat) - full) // width
            cursor.execute(f"{head} VALUES {', '.join([one] * rest)} {tail}", flat[full:])
    finally:
        cursor.close()
    return int(raw.total_changes - before)


def _postgres_copy_select(conn: Connection, table: Table, frame: pl.DataFrame, tail: str) -> int:
    """COPY `frame` (as CSV written by polars) into a staging table, then INSERT … SELECT.

    polars writes NULL as an empty field and an empty string as `""`, which is exactly how
    PostgreSQL's CSV format tells them apart.
    """
    stage = _stage(conn, table, frame.columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(frame.columns)
    data = frame.write_csv(
        include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z", date_format="%Y-%m-%d"
    )
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {stage.name} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(data.encode())
        cursor.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {stage.name} {tail}")
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


def drop_index(conn: Connection, index: Index) -> None:
    index.drop(conn)


def create_index(conn: Connection, index: Index) -> None:
    index.create(conn)
