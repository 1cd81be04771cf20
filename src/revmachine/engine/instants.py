"""Time inside the engines: integer microseconds since the Unix epoch, UTC.

Integers make ordering and deadlines exact (a timer due at `last_engagement + 90d` fires at
precisely that instant, in a replay and in an incremental run alike) and convert back to
the same `datetime` without rounding. Decay uses them as floats only inside the formula.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from revmachine.config.scoring import Period

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
MICROS_PER_DAY = 86_400_000_000
Micros = int


def to_micros(at: dt.datetime) -> Micros:
    """Aware datetime → microseconds; a naive one is refused (the engines never guess zones)."""
    if at.tzinfo is None:
        raise ValueError(f"{at.isoformat()} has no time zone; engines take aware UTC times")
    return (at - EPOCH) // MICROSECOND


def from_micros(micros: Micros) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def span_micros(duration: dt.timedelta) -> Micros:
    return duration // MICROSECOND


def _day(t: Micros) -> int:
    return t // MICROS_PER_DAY


def _week(t: Micros) -> int:
    # 1970-01-01 was a Thursday; shifting by 3 days starts each week on a Monday.
    return (t // MICROS_PER_DAY + 3) // 7


def _month(t: Micros) -> int:
    at = from_micros(t)
    return at.year * 12 + at.month - 1


# The calendar period (in UTC) an instant falls in, as an integer that changes at each
# period boundary: what a cap counts within.
PERIOD_INDEX: dict[Period, Callable[[Micros], int]] = {
    Period.DAY: _day,
    Period.WEEK: _week,
    Period.MONTH: _month,
}
