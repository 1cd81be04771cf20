"""Activities: batch writes (idempotent by `event_id`) and the feed since a cursor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from revmachine.api.auth import Principal, require
from revmachine.api.idempotency import IdempotentRoute
from revmachine.api.paging import decode_cursor
from revmachine.api.permissions import Permission
from revmachine.api.problems import ApiProblem
from revmachine.api.routers.common import (
    CursorQuery,
    LimitQuery,
    aware,
    feed_page,
    import_batch,
    page_limit,
)
from revmachine.api.schemas import ActivityFeed, BatchRequest, BatchResponse
from revmachine.api.state import ApiContext, Ctx
from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES
from revmachine.services import queries
from revmachine.services.queries.activities import position_at
from revmachine.store import schema

router = APIRouter(prefix="/v1", tags=["activities"], route_class=IdempotentRoute)

FEED = {"feed": "activities"}


def check_own_leads(ctx: ApiContext, principal: Principal, records: list[Any]) -> None:
    """A sales key may only log activities on leads its rep owns (403 naming the first)."""
    if principal.owner_scope is None:
        return
    emails = {
        str(r.get("email", "")).strip().lower()
        for r in records
        if isinstance(r, dict) and r.get("email")
    }
    p = schema.people
    with ctx.db.reading() as conn:
        owned = set(
            conn.execute(
                select(p.c.email).where(
                    p.c.email.in_(sorted(emails)), p.c.owner_id == principal.owner_scope
                )
            ).scalars()
        )
    foreign = sorted(emails - owned)
    if foreign:
        raise ApiProblem(
            403,
            "forbidden",
            f"a sales key may only add activities to its own leads; {foreign[0]!r} is not one",
            marketo_code="603",
        )


@router.post("/activities", response_model=BatchResponse, summary="Add up to 1,000 activities")
def add_activities(
    body: BatchRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_WRITE))],
) -> Response:
    """Each activity is stored once per `event_id` (sending it again is `unchanged`); an
    activity without one gets an id derived from its content, as in CSV imports."""
    check_own_leads(ctx, principal, body.records)
    return import_batch("activities", ctx, principal, body)


@router.get("/activities", response_model=ActivityFeed, summary="Activities since a cursor")
def activity_feed(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_READ))],
    cursor: str | None = CursorQuery,
    since: Annotated[
        dt.datetime | None,
        Query(description="start with what arrived at or after this time (no cursor)"),
    ] = None,
    type: Annotated[list[str] | None, Query(description="only these types")] = None,
    limit: int | None = LimitQuery,
) -> dict[str, Any]:
    """The event log in arrival order. Keep `next_cursor` and ask again later for what is
    new: nothing is skipped or repeated, also while others write."""
    filters = {**FEED, "types": sorted(type or []), "scope": principal.owner_scope}
    size = page_limit(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    with ctx.db.reading() as conn:
        if cursor is None and since is not None:
            after = position_at(conn, aware(since) or since)
        else:
            after = decode_cursor(cursor, filters)
        rows = queries.activity_feed(
            conn,
            after=after,
            limit=size + 1,
            owner_id=principal.owner_scope,
            types=type or None,
        )
    return feed_page(rows, size, after, filters)


@router.get("/activity-types", summary="Every activity type: built-in and seen in the log")
def activity_types(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_READ))],
) -> list[dict[str, Any]]:
    with ctx.db.reading() as conn:
        seen = {t["name"]: t for t in queries.activity_type_names(conn)}
    for name, builtin in BUILTIN_ACTIVITY_TYPES.items():
        seen.setdefault(
            name,
            {"name": name, "label": builtin.label, "category": builtin.category, "builtin": True},
        )
    return sorted(seen.values(), key=lambda t: t["name"])
