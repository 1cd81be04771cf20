"""What the routers share: page-size and batch helpers."""

from __future__ import annotations

from fastapi import Query

from revmachine.api.problems import ApiProblem


def page_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > maximum:
        raise ApiProblem(422, "invalid-request", f"limit must be between 1 and {maximum}")
    return limit


LimitQuery = Query(None, description="page size (default 100, at most 1000)")
CursorQuery = Query(None, description="`next_cursor` of the previous page")


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "not-found", what, marketo_code="610")
