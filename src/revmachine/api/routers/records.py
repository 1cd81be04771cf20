"""Accounts, opportunities, programs, costs and reps: batch upserts and paged lists.

Each write runs the same import as the CSV of that kind (`revmachine import KIND`), so the
fields, validation and rejection codes are the ones the README lists for imports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import Connection

from revmachine.api.auth import Principal, require
from revmachine.api.idempotency import IdempotentRoute
from revmachine.api.paging import decode_cursor
from revmachine.api.permissions import Permission
from revmachine.api.routers.common import (
    CursorQuery,
    IdQuery,
    LimitQuery,
    import_batch,
    list_page,
    not_found,
    page_limit,
)
from revmachine.api.schemas import BatchRequest, BatchResponse
from revmachine.api.state import ApiContext, Ctx
from revmachine.services import queries

router = APIRouter(prefix="/v1", tags=["records"], route_class=IdempotentRoute)

Lister = Callable[..., list[dict[str, Any]]]


def _list(
    ctx: ApiContext,
    lister: Callable[[Connection, int, int], list[dict[str, Any]]],
    filters: dict[str, Any],
    limit: int | None,
    cursor: str | None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, filters)
    size = page_limit(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    with ctx.db.reading() as conn:
        rows = lister(conn, after, size + 1)
    return list_page(rows, size, filters)


@router.post("/accounts", response_model=BatchResponse, tags=["accounts"])
def upsert_accounts(
    body: BatchRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACCOUNTS_WRITE))],
) -> Response:
    """Accounts keyed by domain (else by name)."""
    return import_batch("accounts", ctx, principal, body)


@router.get("/accounts", tags=["accounts"])
def list_accounts(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACCOUNTS_READ))],
    limit: int | None = LimitQuery,
    cursor: str | None = CursorQuery,
) -> dict[str, Any]:
    return _list(
        ctx,
        lambda c, a, n: queries.list_accounts(c, after=a, limit=n),
        {"list": "accounts"},
        limit,
        cursor,
    )


@router.post("/opportunities", response_model=BatchResponse, tags=["opportunities"])
def upsert_opportunities(
    body: BatchRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.OPPORTUNITIES_WRITE))],
) -> Response:
    """Each record is a snapshot of a deal at a time, kept as history (`opportunity_id` is
    the CRM's id)."""
    return import_batch("opportunities", ctx, principal, body)


@router.get("/opportunities", tags=["opportunities"])
def list_opportunities(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.OPPORTUNITIES_READ))],
    status: str | None = None,
    limit: int | None = LimitQuery,
    cursor: str | None = CursorQuery,
) -> dict[str, Any]:
    """Deals (a sales key: the ones its rep owns or one of its leads is a contact of)."""
    scope = principal.owner_scope
    return _list(
        ctx,
        lambda c, a, n: queries.list_opportunities(
            c, after=a, limit=n, status=status, owner_id=scope
        ),
        {"list": "opportunities", "status": status, "scope": scope},
        limit,
        cursor,
    )


@router.get("/opportunities/{external_id}", tags=["opportunities"])
def get_opportunity(
    external_id: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.OPPORTUNITIES_READ))],
) -> dict[str, Any]:
    """A deal with its history of snapshots and its contacts."""
    with ctx.db.reading() as conn:
        found = queries.get_opportunity(conn, external_id, principal.owner_scope)
    if found is None:
        raise not_found(f"no opportunity {external_id!r}")
    return found


@router.post("/programs", response_model=BatchResponse, tags=["programs"])
def upsert_programs(
    body: BatchRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PROGRAMS_WRITE))],
) -> Response:
    return import_batch("programs", ctx, principal, body)


@router.get("/programs", tags=["programs"])
def list_programs(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PROGRAMS_READ))],
    limit: int | None = LimitQuery,
    cursor: str | None = CursorQuery,
) -> dict[str, Any]:
    return _list(
        ctx,
        lambda c, a, n: queries.list_programs(c, after=a, limit=n),
        {"list": "programs"},
        limit,
        cursor,
    )


@router.post("/costs", response_model=BatchResponse, tags=["programs"])
def upsert_costs(
    body: BatchRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PROGRAMS_WRITE))],
) -> Response:
    """Program costs per period (`period_end` defaults to the end of the month)."""
    return import_batch("costs", ctx, principal, body)


@router.get("/costs", tags=["programs"])
def list_costs(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PROGRAMS_READ))],
    program_id: IdQuery = None,
    limit: int | None = LimitQuery,
    cursor: str | None = CursorQuery,
) -> dict[str, Any]:
    return _list(
        ctx,
        lambda c, a, n: queries.list_costs(c, after=a, limit=n, program_id=program_id),
        {"list": "costs", "program": program_id},
        limit,
        cursor,
    )


@router.post("/reps", response_model=BatchResponse, tags=["reps"])
def upsert_reps(
    body: BatchRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.REPS_WRITE))],
) -> Response:
    return import_batch("reps", ctx, principal, body)


@router.get("/reps", tags=["reps"])
def list_reps(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.REPS_READ))],
    limit: int | None = LimitQuery,
    cursor: str | None = CursorQuery,
) -> dict[str, Any]:
    return _list(
        ctx,
        lambda c, a, n: queries.list_reps(c, after=a, limit=n),
        {"list": "reps"},
        limit,
        cursor,
    )
