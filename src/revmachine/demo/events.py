"""Batches of generated activities as polars frames, before they become the activities CSV.

Each step of the simulation (first touches, everyday behaviour, webinars, sales) returns a
batch with the same columns; the world concatenates them, drops what falls outside a
person's known life or the window, and numbers the events.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

SCHEMA = {
    "person": pl.Int64,
    "type": pl.String,
    "at": pl.Int64,  # epoch seconds, UTC
    "program": pl.Int64,  # index into the program list, null for none
    "url": pl.String,
    "bounce": pl.String,
    "rep": pl.String,
    "opportunity": pl.String,
}


def batch(
    person: npt.NDArray[np.int64],
    type_: str | npt.NDArray[np.str_] | pl.Series,
    at: npt.NDArray[np.int64],
    *,
    program: npt.NDArray[np.int64] | None = None,
    url: object = None,
    **extra: object,
) -> pl.DataFrame:
    """A batch of events; `program` -1 means none; a `str` is repeated for every row."""
    n = person.size
    columns: dict[str, object] = {
        "person": person.astype(np.int64),
        "type": pl.repeat(type_, n, eager=True) if isinstance(type_, str) else type_,
        "at": at.astype(np.int64),
    }
    if program is not None:
        columns["program"] = pl.Series(program.astype(np.int64)).replace(-1, None)
    if url is not None:
        columns["url"] = pl.repeat(url, n, eager=True) if isinstance(url, str) else url
    for key, value in extra.items():
        columns[key] = pl.repeat(value, n, eager=True) if isinstance(value, str) else value
    frame = pl.DataFrame(columns)
    return frame.select(
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
        for c, t in SCHEMA.items()
    )


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)
