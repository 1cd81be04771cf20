"""What the routers share: page-size and batch helpers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query

from revmachine.api.problems import ApiProblem


def page_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > maximum:
        raise ApiProblem(422, "invalid-request", f"limit must be between 1 and {maximum}")
    return limit


LimitQuery = Query(None, description="page size (default 100, at most 1000)")
CursorQuery = Query(None, description="`next_cursor` of the previous page")


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "not-found", what, marketo_code="610")


#: The largest id a store column can hold (64-bit); larger numbers cannot name a row.
MAX_ID = 2**63 - 1
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ScoreQuery = Annotated[float | None, Query(allow_inf_nan=False)]


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A query time in UTC (one without an offset is UTC, as everywhere in revmachine)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ApiProblem(422, "invalid-request", f"{value.isoformat()} is out of range") from exc
