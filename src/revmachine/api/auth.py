"""The one place every route's caller is identified, rate-limited and checked.

`require(permission)` is the only dependency routes use for access; each route names the
permission it needs and receives the `Principal`. A test walks every route of the app and
fails if one does not depend on `authenticate` (the token endpoint and the docs excepted).

Credentials: `Authorization: Bearer <secret or token>`, `X-API-Key: <secret>`, or, on the
Marketo-compatible paths only, `?access_token=<token>` as Marketo clients send it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from revmachine.api.limits import retry_after
from revmachine.api.permissions import Permission, allows
from revmachine.api.problems import ApiProblem, is_marketo
from revmachine.api.state import ApiContext, context
from revmachine.services.keys import (
    SECRET_PREFIX,
    TOKEN_PREFIX,
    ApiKey,
    Role,
    key_for_secret,
    key_for_token,
)


@dataclass(frozen=True)
class Principal:
    """The caller: its key, and the rep whose leads it is limited to (sales keys)."""

    key: ApiKey

    @property
    def role(self) -> Role:
        return self.key.role

    @property
    def owner_scope(self) -> int | None:
        """The rep id every read and write is limited to, or None for no limit."""
        return self.key.rep_id if self.key.role is Role.SALES else None


def credential(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    api_key = request.headers.get("x-api-key")
    if api_key:
        return api_key.strip()
    if is_marketo(request):
        return request.query_params.get("access_token")
    return None


def _unauthorized(detail: str, code: str = "601") -> ApiProblem:
    return ApiProblem(
        401,
        "unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="revmachine"'},
        marketo_code=code,
    )


def identify(request: Request, ctx: ApiContext) -> Principal:
    """Who is calling (cached on the request); raises 401 problems."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    value = credential(request)
    if not value:
        raise _unauthorized(
            "no credentials: send 'Authorization: Bearer <secret>' (see `revmachine keys create`)"
            if not is_marketo(request)
            else "Access token invalid"
        )
    key: ApiKey | None = None
    with ctx.db.reading() as conn:
        if value.startswith(TOKEN_PREFIX):
            key, expired = key_for_token(conn, value, ctx.now())
            if key is not None and expired:
                raise _unauthorized(
                    "Access token expired" if is_marketo(request) else "the token has expired",
                    "602",
                )
        elif value.startswith(SECRET_PREFIX):
            key = key_for_secret(conn, value)
    if key is None:
        raise _unauthorized(
            "Access token invalid" if is_marketo(request) else "unknown or revoked credentials"
        )
    principal = Principal(key)
    request.state.principal = principal
    return principal


def authenticate(request: Request, ctx: ApiContext = Depends(context)) -> Principal:
    """Identify the caller and spend one request of its rate (429 when it has none left)."""
    principal = identify(request, ctx)
    if getattr(request.state, "rate_checked", False):
        return principal
    request.state.rate_checked = True
    rate = principal.key.rate_per_minute or ctx.settings.rate_per_minute
    wait = ctx.limiter.acquire(principal.key.id, rate)
    if wait > 0:
        raise ApiProblem(
            429,
            "rate-limited",
            f"this key may make {rate} requests per minute; retry after {retry_after(wait)} s"
            if not is_marketo(request)
            else f"Max rate limit '{rate}' exceeded with in '60' secs",
            headers={"Retry-After": retry_after(wait)},
            marketo_code="606",
        )
    return principal


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """The dependency a route declares: the caller, if its role allows `permission`."""

    # Async: a check without I/O, spared the thread-pool hop of a sync dependency.
    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        if not allows(principal.role, permission):
            raise ApiProblem(
                403,
                "forbidden",
                f"a {principal.role.value} key may not do this (needs {permission.value})",
                marketo_code="603",
            )
        return principal

    dependency.__name__ = f"require_{permission.name.lower()}"
    return dependency
