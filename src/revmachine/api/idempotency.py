"""`Idempotency-Key` on writes: a retried request gets the first answer, not a second write.

The first request with a key claims it (an insert that only one request can win), runs,
and stores its status and body; a retry with the same key and the same request gets that
response back (`Idempotent-Replayed: true`). The same key with a different request is a
422; a retry while the first is still running is a 409 until its lease runs out (a crash
between the write and the record leaves a claim that expires rather than blocks forever).
Server errors release the claim so the request can be retried.

Keys are per API key: two clients may use the same Idempotency-Key without meeting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from revmachine.api.auth import identify
from revmachine.api.jsonbody import JsonRoute
from revmachine.api.problems import ApiProblem
from revmachine.api.state import ApiContext
from revmachine.store import schema

HEADER = "idempotency-key"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY = 200
_T = schema.idempotency_records


def request_hash(request: Request, body: bytes) -> str:
    h = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        h.update(part.encode())
        h.update(b"\x00")
    h.update(body)
    return h.hexdigest()


def _claim(ctx: ApiContext, key_id: int, key: str, digest: str) -> Response | None:
    """Claim `key`, or return what a retry should get instead of running again."""
    now = ctx.now()
    lease = dt.timedelta(seconds=ctx.settings.idempotency_lease_seconds)
    try:
        with ctx.db.transaction() as conn:
            conn.execute(
                insert(_T).values(
                    key_id=key_id, idempotency_key=key, request_hash=digest, created_at=now
                )
            )
        return None
    except IntegrityError:
        pass
    with ctx.db.transaction() as conn:
        row = conn.execute(
            select(_T).where(_T.c.key_id == key_id, _T.c.idempotency_key == key)
        ).first()
        if row is None:  # released meanwhile: take it
            conn.execute(
                insert(_T).values(
                    key_id=key_id, idempotency_key=key, request_hash=digest, created_at=now
                )
            )
            return None
        if row.request_hash != digest:
            raise ApiProblem(
                422,
                "idempotency-key-reused",
                "this Idempotency-Key was already used for a different request; use a new "
                "key for a new request",
            )
        if row.status_code is not None:
            return Response(
                content=row.body or b"",
                status_code=row.status_code,
                media_type=row.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        if row.created_at + lease > now:
            raise ApiProblem(
                409,
                "request-in-progress",
                "a request with this Idempotency-Key is still running; retry shortly",
                headers={"Retry-After": "1"},
            )
        conn.execute(  # a stale claim (its request died): take it over
            update(_T)
            .where(_T.c.key_id == key_id, _T.c.idempotency_key == key)
            .values(created_at=now)
        )
    return None


def _finish(ctx: ApiContext, key_id: int, key: str, response: Response) -> None:
    with ctx.db.transaction() as conn:
        where = (_T.c.key_id == key_id, _T.c.idempotency_key == key)
        if response.status_code >= 500:
            conn.execute(delete(_T).where(*where))
            return
        conn.execute(
            update(_T)
            .where(*where)
            .values(
                status_code=response.status_code,
                content_type=response.headers.get("content-type"),
                body=bytes(response.body),
                completed_at=ctx.now(),
            )
        )


class IdempotentRoute(JsonRoute):
    """A route class that honours `Idempotency-Key` on its write methods (and parses
    JSON bodies with `jsonbody.parse_json`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if key is None or request.method not in WRITES:
                return await original(request)
            if not key.strip() or len(key) > MAX_KEY:
                raise ApiProblem(
                    400, "bad-idempotency-key", f"Idempotency-Key must be 1 to {MAX_KEY} chars"
                )
            ctx = request.app.state.api
            principal = await run_in_threadpool(identify, request, ctx)
            digest = request_hash(request, await request.body())
            replay = await run_in_threadpool(_claim, ctx, principal.key.id, key, digest)
            if replay is not None:
                return replay
            try:
                response = await original(request)
            except BaseException:
                await run_in_threadpool(_release, ctx, principal.key.id, key)
                raise
            await run_in_threadpool(_finish, ctx, principal.key.id, key, response)
            return response

        return handler


def _release(ctx: ApiContext, key_id: int, key: str) -> None:
    with ctx.db.transaction() as conn:
        conn.execute(delete(_T).where(_T.c.key_id == key_id, _T.c.idempotency_key == key))
