"""A sales rep's queue: their leads awaiting a decision, and accepting or rejecting one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from revmachine.api.auth import Principal, require
from revmachine.api.idempotency import IdempotentRoute
from revmachine.api.permissions import Permission
from revmachine.api.problems import ApiProblem
from revmachine.api.routers.common import not_found
from revmachine.api.state import ApiContext, Ctx
from revmachine.config.revenue_model import SalesDecisionKind
from revmachine.services import queries
from revmachine.services.queue import record_decision, sales_queue
from revmachine.store import schema

router = APIRouter(prefix="/v1/queue", tags=["sales queue"], route_class=IdempotentRoute)


class DecisionRequest(BaseModel):
    decision: SalesDecisionKind
    reason: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=4000)
    event_id: str | None = Field(None, max_length=128, description="makes a retry harmless")


def _rep(ctx: ApiContext, principal: Principal, rep: str | None) -> int:
    """A sales key's own rep; an admin names one by email."""
    if principal.owner_scope is not None:
        return principal.owner_scope
    if rep is None:
        raise ApiProblem(422, "invalid-request", "give ?rep=EMAIL: whose queue?")
    r = schema.sales_reps
    with ctx.db.reading() as conn:
        found = conn.execute(select(r.c.id).where(r.c.email == rep.strip().lower())).scalar()
    if found is None:
        raise not_found(f"no sales rep {rep!r}")
    return int(found)


@router.get("", summary="Leads waiting for a sales decision")
def my_queue(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.QUEUE))],
    rep: Annotated[str | None, Query(description="admin only: the rep's email")] = None,
) -> list[dict[str, Any]]:
    rep_id = _rep(ctx, principal, rep)
    with ctx.db.reading() as conn:
        return sales_queue(conn, ctx.workspace, rep_id)


@router.post("/{ref}/decision", summary="Accept or reject a lead")
def decide(
    ref: str,
    body: DecisionRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.QUEUE))],
) -> dict[str, Any]:
    """Recorded as an input of the revenue model; the next processing run moves the lead."""
    with ctx.db.reading() as conn:
        person_id = queries.person_id_for(conn, ref, principal.owner_scope)
    if person_id is None:
        raise not_found(f"no person {ref!r}")
    decision = record_decision(
        ctx.db,
        person_id=person_id,
        rep_id=principal.owner_scope,
        decision=body.decision,
        reason=body.reason,
        note=body.note,
        event_id=body.event_id,
        now=ctx.now(),
    )
    return {
        "event_id": decision.event_id,
        "person_id": decision.person_id,
        "decision": decision.decision.value,
        "recorded": decision.recorded,
    }
