"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: Attributes bags: JSONB on PostgreSQL (indexable), JSON text on SQLite.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")

#: Surrogate keys: BIGINT on PostgreSQL; INTEGER on SQLite so that it aliases the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

#: The text form SQLite stores datetimes in (SQLAlchemy's own storage format), so that the
#: bulk paths that bypass SQLAlchemy write values it reads back identically.
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in Python; TIMESTAMPTZ on PostgreSQL, UTC text on SQLite.

    SQLite has no time zone support, so values are converted to UTC before they are written
    and marked as UTC when they are read: the same aware datetime comes back on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def sqlite_datetime_text(value: dt.datetime) -> str:
    """The exact text UTCDateTime stores on SQLite, for bulk paths that bypass SQLAlchemy."""
    return value.astimezone(dt.UTC).strftime(SQLITE_DATETIME_FORMAT)
