"""Small query helpers shared by the feature queries (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, Float, Select, func, type_coerce

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
