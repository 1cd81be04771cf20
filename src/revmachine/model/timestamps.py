"""Timestamps are timezone-aware UTC everywhere inside revmachine.

Inputs without an offset are read as UTC (documented in the README): a CSV export from a
CRM rarely carries one, and guessing the machine's local zone would make an import depend on
where it ran.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC


class TimestampError(ValueError):
    """A value that cannot be read as a date or a date-time."""


def to_utc(value: dt.datetime) -> dt.datetime:
    """Return `value` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(text: str) -> dt.datetime:
    """Parse ISO 8601 dates and date-times ('2025-03-01', '2025-03-01T10:00:00+02:00',
    '2025-03-01 10:00', trailing 'Z') into aware UTC."""
    raw = text.strip()
    if not raw:
        raise TimestampError("empty date")
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise TimestampError(f"'{raw}' is not an ISO 8601 date or date-time") from exc
    return to_utc(parsed)


def parse_date(text: str) -> dt.date:
    """Parse an ISO date ('2025-03-01'); a date-time is accepted and truncated to its UTC day."""
    raw = text.strip()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return parse_timestamp(raw).date()
