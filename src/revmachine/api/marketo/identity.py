"""`GET /identity/oauth/token`: Marketo's client-credentials flow.

The one route that needs no credentials (it is how a client gets them): the client id
and secret of a revmachine key buy an access token valid for `token_ttl_seconds`.
Errors use OAuth's shape (`error`, `error_description`) with HTTP 401, as Marketo does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from revmachine.api.marketo.common import params
from revmachine.api.state import Ctx
from revmachine.services.keys import issue_token

router = APIRouter(tags=["marketo"])


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=401)


async def token(request: Request, ctx: Ctx) -> Any:
    """`grant_type=client_credentials&client_id=…&client_secret=…` (query or form)."""
    from starlette.concurrency import run_in_threadpool

    p = await params(request)
    if p.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "use grant_type=client_credentials")
    client_id, secret = p.get("client_id"), p.get("client_secret")
    if not client_id or not secret:
        return _oauth_error("invalid_request", "client_id and client_secret are required")
    ttl = dt.timedelta(seconds=ctx.settings.token_ttl_seconds)
    issued = await run_in_threadpool(issue_token, ctx.db, client_id, secret, now=ctx.now(), ttl=ttl)
    if issued is None:
        return _oauth_error("invalid_client", "Bad client credentials")
    return {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "scope": issued.key.name,
    }


router.add_api_route("/identity/oauth/token", token, methods=["GET"], summary="Access token")
router.add_api_route(
    "/identity/oauth/token",
    token,
    methods=["POST"],
    summary="Access token (form-encoded)",
    operation_id="token_post",
)
