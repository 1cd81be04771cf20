"""Request limits: the body size (413) and each key's rate (429 with Retry-After).

The rate is a token bucket per key, held in memory: one `revmachine serve` process is one
limiter. Several processes behind a balancer would each allow the rate (documented in
docs/api.md); a shared store for the buckets is a later step if that is ever needed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RateLimiter:
    """Token buckets: `rate` requests per minute, bursts of up to ten seconds' worth."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._monotonic = monotonic

    def acquire(self, key: int, rate_per_minute: int) -> float:
        """Take one request; 0.0 if allowed, else the seconds until one would be."""
        per_second = rate_per_minute / 60.0
        capacity = max(1.0, rate_per_minute / 6.0)
        now = self._monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / per_second


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class BodyLimit:
    """Reject bodies over `limit` bytes with 413, before any route parses them.

    A declared Content-Length over the limit is refused at once; a body sent without one
    is counted as it streams in and refused when it passes the limit (routes read the
    whole body before answering, so no response has started by then).
    """

    def __init__(self, app: ASGIApp, limit: int, render: Callable[[Scope, int], Any]) -> None:
        self.app = app
        self.limit = limit
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self.render(scope, self.limit)(scope, receive, send)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self.render(scope, self.limit)(scope, receive, send)


class _TooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTP exceptions through body parsing."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes")
