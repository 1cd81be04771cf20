"""The app factory: `create_app(db, workspace)` builds the whole HTTP API.

Nothing is created at import time; `revmachine serve` and the tests call the factory with
the store and workspace they opened. Middleware: the body limit (413) wraps everything;
errors become problem+json (native) or Marketo envelopes (`problems.install`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from revmachine import __version__
from revmachine.api import marketo, problems
from revmachine.api.limits import BodyLimit, RateLimiter, Scope
from revmachine.api.marketo.envelope import error_envelope
from revmachine.api.routers import activities, analytics, keys, model, people, queue, records
from revmachine.api.settings import ApiSettings
from revmachine.api.state import ApiContext, utc_now
from revmachine.config import Workspace
from revmachine.store.database import Database

DESCRIPTION = """\
The revmachine HTTP API: everything the CLI does, for programs. Authenticate with
`Authorization: Bearer <secret>` (create a key with `revmachine keys create`). Errors are
`application/problem+json`. Lists page with `cursor` / `next_cursor`. Writes accept an
`Idempotency-Key` header. A Marketo-compatible subset lives under `/identity` and
`/rest/v1` (see docs/api.md).
"""


def _too_large(scope: Scope, limit: int) -> Any:
    path = str(scope.get("path", ""))
    detail = f"the request body is larger than {limit:,} bytes"
    if path.startswith(problems.MARKETO_PREFIXES):
        return JSONResponse(error_envelope("1003", detail), status_code=413)
    return JSONResponse(
        {
            "type": "urn:revmachine:problem:body-too-large",
            "title": "Body too large",
            "status": 413,
            "detail": detail,
            "instance": path,
        },
        status_code=413,
        media_type=problems.PROBLEM_JSON,
    )


def create_app(
    db: Database,
    workspace: Workspace,
    settings: ApiSettings | None = None,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> FastAPI:
    """The API over `db`, with `workspace` as the live revenue model."""
    settings = settings or ApiSettings()
    app = FastAPI(
        title="revmachine",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.api = ApiContext(db, workspace, settings, clock, RateLimiter())
    problems.install(app)
    for router in (
        people.router,
        activities.router,
        records.router,
        model.router,
        analytics.router,
        queue.router,
        keys.router,
        marketo.router,
    ):
        app.include_router(router)

    @app.get("/health", tags=["health"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, render=_too_large)
    return app
