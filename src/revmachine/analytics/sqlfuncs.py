"""The few SQL expressions whose spelling differs between SQLite and PostgreSQL.

Reports are written once in SQLAlchemy Core; these constructs compile to each dialect's
own functions (SQLAlchemy's documented `@compiles` extension), so a report never branches
on the database. Timestamps are `UTCDateTime`: UTC text on SQLite, TIMESTAMPTZ on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from revmachine.analytics.spec import Grain


class seconds_between(FunctionElement[float]):
    """`end - start` in seconds, as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # julianday() reads SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff' text; 86400 s a day.
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start}))::float8)"


class bucket_start(FunctionElement[str]):
    """The first day ('YYYY-MM-DD', UTC) of the day/week/month/quarter/year holding a time.

    Weeks start on Monday (ISO 8601). The text form sorts and groups the same on both
    databases and is what the result objects carry.
    """

    type = String()
    inherit_cache = True
    name = "bucket_start"

    def __init__(self, grain: Grain, value: ColumnElement[Any]) -> None:
        self.grain = grain
        super().__init__(value)


_SQLITE_BUCKETS = {
    Grain.DAY: "strftime('%Y-%m-%d', {v})",
    # date(x, 'weekday 1') is the next Monday on or after x; six days back first gives the
    # Monday on or before x.
    Grain.WEEK: "date({v}, '-6 days', 'weekday 1')",
    Grain.MONTH: "strftime('%Y-%m-01', {v})",
    Grain.QUARTER: (
        "printf('%s-%02d-01', strftime('%Y', {v}), "
        "((CAST(strftime('%m', {v}) AS INTEGER) - 1) / 3) * 3 + 1)"
    ),
    Grain.YEAR: "strftime('%Y-01-01', {v})",
}


@compiles(bucket_start, "sqlite")
def _bucket_sqlite(element: bucket_start, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return _SQLITE_BUCKETS[element.grain].format(v=value)


@compiles(bucket_start, "postgresql")
def _bucket_pg(element: bucket_start, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    # timezone('UTC', timestamptz) is the UTC wall time, so buckets do not depend on the
    # session's TimeZone setting.
    return f"to_char(date_trunc('{element.grain.value}', timezone('UTC', {value})), 'YYYY-MM-DD')"


class whole_days(FunctionElement[int]):
    """A non-negative number of seconds as whole days, rounded down.

    CAST to an integer truncates on SQLite (the floor for a non-negative value; floor()
    exists only on builds with the math functions) but rounds on PostgreSQL, so each
    dialect gets its own spelling."""

    type = Integer()
    inherit_cache = True
    name = "whole_days"


@compiles(whole_days, "sqlite")
def _whole_days_sqlite(element: whole_days, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(({value}) / 86400.0 AS INTEGER)"


@compiles(whole_days, "postgresql")
def _whole_days_pg(element: whole_days, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"FLOOR(({value}) / 86400.0)::bigint"


class unindexed(FunctionElement[int]):
    """A column the SQLite planner must not look up through an index (`+column`).

    The spells that ended inside the window are a third of the table: SQLite reads them
    faster in one scan of the table than through the `left_us` index with a row lookup
    each (measured: 2.6 s against 5.0 s of CPU on the benchmark). PostgreSQL plans this
    itself."""

    type = BigInteger()
    inherit_cache = True
    name = "unindexed"


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"+{value}"


@compiles(unindexed, "postgresql")
def _unindexed_pg(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return str(value)
