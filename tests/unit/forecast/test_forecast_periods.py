"""`analytics.forecast.periods_from`: the forecast's periods are ISO weeks, calendar months
or quarters, the first from the cut-off to its period's end."""

from __future__ import annotations

import datetime as dt

import pytest

from revmachine.analytics.forecast import periods_from
from revmachine.analytics.spec import Grain

UTC = dt.UTC


def test_weeks_run_monday_to_monday_from_the_cut_off() -> None:
    as_of = dt.datetime(2024, 12, 26, 15, 0, tzinfo=UTC)  # a Thursday in ISO week 52
    periods, labels = periods_from(as_of, Grain.WEEK, 3)
    assert labels == ["2024-W52", "2025-W01", "2025-W02"]  # 2024-12-30 is in 2025-W01
    assert periods[0] == (as_of, dt.datetime(2024, 12, 30, tzinfo=UTC))
    assert periods[1] == (
        dt.datetime(2024, 12, 30, tzinfo=UTC),
        dt.datetime(2025, 1, 6, tzinfo=UTC),
    )
    assert all(b - a == dt.timedelta(days=7) for a, b in periods[1:])


@pytest.mark.parametrize(
    ("grain", "labels", "second_start"),
    [
        (Grain.MONTH, ["2024-11", "2024-12"], dt.datetime(2024, 12, 1, tzinfo=UTC)),
        (Grain.QUARTER, ["2024-Q4", "2025-Q1"], dt.datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_months_and_quarters(grain: Grain, labels: list[str], second_start: dt.datetime) -> None:
    as_of = dt.datetime(2024, 11, 20, tzinfo=UTC)
    periods, got = periods_from(as_of, grain, 2)
    assert got == labels
    assert periods[0][0] == as_of and periods[0][1] == periods[1][0] == second_start


def test_other_grains_are_refused() -> None:
    with pytest.raises(ValueError, match="weeks, months or quarters"):
        periods_from(dt.datetime(2024, 1, 1, tzinfo=UTC), Grain.DAY, 3)
