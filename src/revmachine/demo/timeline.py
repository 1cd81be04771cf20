"""The demo's calendar: a grid of weeks from `start`, seasonality, and times within a week.

Behaviour is simulated week by week (one row per person, one column per week), then each
event gets a time inside its week: on a working day, in local business hours. Times are
integer seconds since the epoch (UTC) until the tables are built.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

WEEK = 7 * 86_400
DAY = 86_400

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Relative activity by month of year: busy Q1 and autumn, quiet August and December.
MONTH_SEASON = (1.10, 1.10, 1.15, 1.00, 1.00, 0.95, 0.85, 0.70, 1.10, 1.15, 1.05, 0.75)
#: The weeks around Christmas and New Year are quieter still.
HOLIDAY_FACTOR = 0.45
#: Marketing grows over the window: this much more activity at the end than at the start.
GROWTH = 0.35
#: Relative weight of each weekday (Mon..Sun) for an event's day.
WEEKDAY_WEIGHT = (1.0, 1.05, 1.05, 1.0, 0.85, 0.12, 0.10)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def epoch_seconds(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


@dataclass(frozen=True)
class Timeline:
    start: dt.date
    end: dt.date  # exclusive: nothing happens on or after it
    weeks: int
    season: FloatArray  # per week: seasonality x growth, mean about 1

    @classmethod
    def build(cls, start: dt.date, months: int) -> Timeline:
        end = add_months(start, months)
        weeks = -(-(end - start).days // 7)
        mids = [start + dt.timedelta(days=7 * w + 3) for w in range(weeks)]
        season = np.array(
            [
                MONTH_SEASON[d.month - 1]
                * (
                    HOLIDAY_FACTOR
                    if (d.month == 12 and d.day >= 20) or (d.month == 1 and d.day <= 3)
                    else 1.0
                )
                for d in mids
            ]
        )
        growth = 1.0 + GROWTH * np.arange(weeks) / max(weeks - 1, 1)
        return cls(start, end, weeks, season * growth)

    @property
    def start_s(self) -> int:
        return epoch_seconds(self.start)

    @property
    def end_s(self) -> int:
        return epoch_seconds(self.end)

    def week_start(self, week: IntArray) -> IntArray:
        return self.start_s + week.astype(np.int64) * WEEK

    def week_of(self, seconds: IntArray) -> IntArray:
        return np.floor_divide(seconds - self.start_s, WEEK).astype(np.int64)

    def month_starts(self) -> list[dt.date]:
        months, day = [], self.start.replace(day=1)
        while day < self.end:
            months.append(day)
            day = add_months(day, 1)
        return months

    def times_in_weeks(
        self, rng: np.random.Generator, weeks: IntArray, utc_offset_hours: FloatArray
    ) -> IntArray:
        """A time in each given week: a weighted weekday, local business hours, to UTC."""
        n = weeks.size
        first_weekday = self.start.weekday()
        weights = np.array([WEEKDAY_WEIGHT[(first_weekday + d) % 7] for d in range(7)])
        day = rng.choice(7, size=n, p=weights / weights.sum())
        local_hour = np.clip(rng.normal(13.0, 3.0, n), 6.0, 22.0)
        seconds = day * DAY + (local_hour - utc_offset_hours) * 3600.0
        return self.week_start(weeks) + seconds.astype(np.int64)
