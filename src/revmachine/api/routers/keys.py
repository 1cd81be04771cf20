"""API keys (admin): list them and revoke one. Keys are created with `revmachine keys
create`, where the secret can be shown once to the person who made it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from revmachine.api.auth import Principal, require
from revmachine.api.idempotency import IdempotentRoute
from revmachine.api.permissions import Permission
from revmachine.api.routers.common import not_found
from revmachine.api.state import Ctx
from revmachine.services.keys import list_keys, revoke_key

router = APIRouter(prefix="/v1/keys", tags=["keys"], route_class=IdempotentRoute)


@router.get("", summary="Every API key (never its secret)")
def keys(
    ctx: Ctx, principal: Annotated[Principal, Depends(require(Permission.KEYS))]
) -> list[dict[str, Any]]:
    return [
        {
            "client_id": k.client_id,
            "name": k.name,
            "role": k.role.value,
            "rep_id": k.rep_id,
            "rate_per_minute": k.rate_per_minute,
            "created_at": k.created_at,
            "revoked_at": k.revoked_at,
        }
        for k in list_keys(ctx.db)
    ]


@router.delete("/{client_id}", summary="Revoke a key and every token it was given")
def revoke(
    client_id: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.KEYS))],
) -> dict[str, Any]:
    if not revoke_key(ctx.db, client_id, now=ctx.now()):
        raise not_found(f"no live key {client_id!r}")
    return {"client_id": client_id, "revoked": True}
