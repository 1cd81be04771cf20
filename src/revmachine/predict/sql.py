"""Small query helpers shared by the feature queries (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Select,
    Table,
    and_,
    func,
    select,
    type_coerce,
)

DAY = 86_400.0


def epoch(conn: Connection, value: ColumnElement[Any]) -> ColumnElement[float]:
    """Seconds since 1970 of a stored time, in the database (one number to fetch)."""
    if conn.dialect.name == "sqlite":
        # UTCDateTime is UTC text on SQLite; julianday reads it.
        return type_coerce((func.julianday(value) - 2440587.5) * DAY, Float)
    return type_coerce(func.extract("epoch", value), Float)


def restrict(stmt: Select[Any], column: Any, ids: Sequence[int] | None) -> Select[Any]:
    return stmt if ids is None else stmt.where(column.in_(ids))


def fetch_frame(conn: Connection, stmt: Select[Any], schema_: dict[str, Any]) -> pl.DataFrame:
    """The rows of `stmt` as a frame, fetched from the driver's cursor: every column of
    these queries is a number or text that needs no conversion, and SQLAlchemy's row
    objects would cost a fifth of the time of a million-person scoring run."""
    rows = conn.execute(stmt).cursor.fetchall()
    return pl.DataFrame(rows, schema=schema_, orient="row")


def latest_per_person(
    conn: Connection,
    table: Table,
    as_of: dt.datetime,
    ids: Sequence[int] | None,
    columns: dict[str, ColumnElement[Any]],
    types: dict[str, Any],
) -> pl.DataFrame:
    """Per person, `columns` of their latest row of `table` at or before `as_of` (ties on
    time: the row written last), and how many rows they had by then (`records`).

    The latest time per person comes from the `(person_id, occurred_at)` index and its rows
    are joined back through it: on SQLite about twice as fast as a window function.
    """
    last = restrict(
        select(
            table.c.person_id,
            func.max(table.c.occurred_at).label("at"),
            func.count().label("records"),
        )
        .where(table.c.occurred_at <= as_of)
        .group_by(table.c.person_id),
        table.c.person_id,
        ids,
    ).subquery()
    stmt = select(
        table.c.person_id, table.c.id, last.c.records, *(c.label(n) for n, c in columns.items())
    ).join(last, and_(last.c.person_id == table.c.person_id, last.c.at == table.c.occurred_at))
    frame = fetch_frame(
        conn,
        stmt,
        {"person_id": pl.Int64, "row_id": pl.Int64, "records": pl.Float64} | types,
    )
    return frame.sort("row_id").unique("person_id", keep="last").drop("row_id")
