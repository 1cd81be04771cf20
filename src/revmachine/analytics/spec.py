"""What every report is asked: a period, an `as_of` time, and which people (segments).

A `Scope` is the typed question shared by all reports (the habit from PostHog's insights:
a small spec object compiled to SQL). Periods are half-open UTC date ranges, `[start, end)`,
so that consecutive periods never count a day twice; `as_of` is inclusive and is compared
with each fact's own time (valid time), so a report as of last quarter sees what happened
by then even when it was imported later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class ScopeError(ValueError):
    """A report question that cannot be answered as asked (with a sentence saying why)."""


@dataclass(frozen=True)
class Period:
    """The UTC days `[start, end)`."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ScopeError(f"the period ends ({self.end}) on or before it starts ({self.start})")

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), dt.UTC)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), dt.UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def label(self) -> str:
        return f"{self.start.isoformat()} .. {(self.end - dt.timedelta(days=1)).isoformat()}"


@dataclass(frozen=True)
class Scope:
    """The common part of every report question.

    - `period`: which entries count (people entering a stage, costs, deals closed);
    - `as_of`: what is known (facts at or before it); inventory is measured at it;
    - `filters`: segment name -> allowed values (all must hold);
    - `group_by`: one segment name whose values split every figure, or None;
    - `model_version`: read only stage history recorded under this revenue model version
      (None: all of it).
    """

    period: Period
    as_of: dt.datetime
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    group_by: str | None = None
    model_version: str | None = None

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ScopeError("as_of must be a timezone-aware time (UTC)")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def default_period(as_of: dt.datetime, months: int = 12) -> Period:
    """The `months` whole calendar months up to and including the month of `as_of`."""
    first = month_start(as_of.astimezone(dt.UTC).date())
    return Period(add_months(first, 1 - months), add_months(first, 1))
