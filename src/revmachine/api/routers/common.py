"""What the routers share: page-size and batch helpers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query, Response

from revmachine.api.auth import Principal
from revmachine.api.paging import encode_cursor, page
from revmachine.api.problems import ApiProblem
from revmachine.api.schemas import BatchRequest, BatchResponse
from revmachine.api.state import ApiContext
from revmachine.services.imports.batch import upsert_batch


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


def import_batch(kind: str, ctx: ApiContext, principal: Principal, body: BatchRequest) -> Response:
    """A batch write: the import of `kind` (as `revmachine import KIND` runs it) under the
    client's name, one result per record."""
    batch = upsert_batch(
        kind,
        ctx.db,
        body.records,
        now=ctx.now(),
        name=f"api:{principal.key.client_id}",
        max_batch=ctx.settings.max_batch,
    )
    return BatchResponse.render(batch)


def list_page(rows: list[dict[str, Any]], size: int, filters: dict[str, Any]) -> dict[str, Any]:
    """A page of a list read with `limit=size + 1`: its rows, and a `next_cursor` after the
    last of them when there are more."""
    rows, more = page(rows, size)
    return {"data": rows, "next_cursor": encode_cursor(rows[-1]["id"], filters) if more else None}


def feed_page(
    rows: list[dict[str, Any]], size: int, after: int, filters: dict[str, Any]
) -> dict[str, Any]:
    """A page of an activity feed read with `limit=size + 1`: always a `next_cursor` (after
    the last row, or where the page began), so a client can poll it for news."""
    rows, more = page(rows, size)
    last = rows[-1]["id"] if rows else after
    return {"data": rows, "next_cursor": encode_cursor(last, filters), "has_more": more}
