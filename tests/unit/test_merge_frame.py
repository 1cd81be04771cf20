"""`ingest.merge_frame` writes times as `datetime.isoformat` does (the field_times form)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from revmachine.ingest.merge_frame import RECORD_TIME, STAMPED, isoformat, record_times


@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        min_size=1,
        max_size=20,
    )
)
def test_isoformat_is_pythons(times: list[dt.datetime]) -> None:
    aware = [t.replace(tzinfo=dt.UTC) for t in times]
    series = pl.Series("t", aware, dtype=pl.Datetime("us", "UTC"))
    written = series.to_frame().select(isoformat(pl.col("t"))).to_series().to_list()
    assert written == [t.isoformat() for t in aware]


@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))
def test_a_row_without_times_is_stamped_with_now_exactly(now: dt.datetime) -> None:
    utc = pl.Datetime("us", "UTC")
    frame = pl.DataFrame(
        {"created_at": [None], "updated_at": [None]}, schema={"created_at": utc, "updated_at": utc}
    )
    aware = now.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    row = record_times(frame.lazy(), aware).collect().row(0, named=True)
    assert row[RECORD_TIME] == aware.astimezone(dt.UTC)
    assert row[STAMPED] is True
