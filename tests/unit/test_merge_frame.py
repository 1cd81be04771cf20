"""`ingest.merge_frame` writes times as `datetime.isoformat` does (the field_times form)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from revmachine.ingest.merge_frame import isoformat


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
