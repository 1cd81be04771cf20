"""What the app holds for its lifetime: the store, the workspace, settings and limiters.

Built once by `create_app` and kept on `app.state.api`; routes reach it through the
`context` dependency, never through globals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from revmachine.api.limits import RateLimiter
from revmachine.api.settings import ApiSettings
from revmachine.config import Workspace
from revmachine.store.database import Database


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class ApiContext:
    db: Database
    workspace: Workspace
    settings: ApiSettings
    clock: Callable[[], dt.datetime] = utc_now
    limiter: RateLimiter = field(default_factory=RateLimiter)

    def now(self) -> dt.datetime:
        return self.clock()


async def context(request: Request) -> ApiContext:
    """The app's context (async: it does no I/O, and a sync dependency costs a hop to the
    thread pool on every request)."""
    ctx = request.app.state.api
    assert isinstance(ctx, ApiContext)
    return ctx


#: A route's parameter for the app's context.
Ctx = Annotated[ApiContext, Depends(context)]
