"""Every error the API returns, in one place: problem+json (RFC 9457) for the native API,
Marketo's envelope for the Marketo-compatible paths.

Routes and services raise; the handlers registered by `install` render. A domain error is
mapped here once (`FileRejected` → 422, `BatchTooLarge` → 422, …), never in a route.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from revmachine.ingest.errors import FileRejected, MappingError
from revmachine.services.imports.batch import BatchTooLarge

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("revmachine.api")

#: Paths answered in Marketo's envelope instead of problem+json.
MARKETO_PREFIXES = ("/rest/", "/identity/")


class ApiProblem(Exception):
    """An error with an HTTP status, a stable slug, and a sentence the caller can act on.

    `marketo_code` is the code the Marketo-compatible API reports for the same problem.
    """

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        marketo_code: str = "1003",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or slug.replace("-", " ").capitalize()
        self.headers = dict(headers or {})
        self.marketo_code = marketo_code
        self.extra = dict(extra or {})


def is_marketo(request: Request) -> bool:
    return request.url.path.startswith(MARKETO_PREFIXES)


def problem_response(request: Request, problem: ApiProblem) -> JSONResponse:
    if is_marketo(request):
        from revmachine.api.marketo.envelope import error_envelope

        # Marketo answers API errors with HTTP 200 and success=false; keep transport-level
        # statuses (413, 429) so HTTP-aware clients and proxies still see them.
        status = problem.status if problem.status in (413, 429) else 200
        return JSONResponse(
            error_envelope(problem.marketo_code, problem.detail),
            status_code=status,
            headers=problem.headers,
        )
    body: dict[str, Any] = {
        "type": f"urn:revmachine:problem:{problem.slug}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.extra,
    }
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


_HTTP_SLUGS = {
    400: ("bad-request", "1003"),
    401: ("unauthorized", "601"),
    403: ("forbidden", "603"),
    404: ("not-found", "610"),
    405: ("method-not-allowed", "610"),
    413: ("body-too-large", "1003"),
    415: ("unsupported-media-type", "612"),
}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem (or an envelope)."""

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, code = _HTTP_SLUGS.get(exc.status_code, ("http-error", "1003"))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            detail = f"no such resource: {request.method} {request.url.path}"
            if is_marketo(request):
                detail = "Requested resource not found"
        return problem_response(
            request,
            ApiProblem(exc.status_code, slug, detail, headers=exc.headers or {}, marketo_code=code),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": ".".join(str(p) for p in e.get("loc", ())),
                "message": e.get("msg", ""),
            }
            for e in exc.errors()
        ]
        json_error = any(e.get("type") == "json_invalid" for e in exc.errors())
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        detail = (
            "the request body is not valid JSON"
            if json_error
            else f"{first['location']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        )
        return problem_response(
            request,
            ApiProblem(
                422 if not json_error else 400,
                "invalid-json" if json_error else "invalid-request",
                detail,
                marketo_code="609" if json_error else "1003",
                extra={"errors": errors},
            ),
        )

    @app.exception_handler(FileRejected)
    async def _rejected(request: Request, exc: FileRejected) -> JSONResponse:
        return problem_response(request, ApiProblem(422, "batch-rejected", str(exc)))

    @app.exception_handler(MappingError)
    async def _mapping(request: Request, exc: MappingError) -> JSONResponse:
        return problem_response(request, ApiProblem(422, "batch-rejected", str(exc)))

    @app.exception_handler(BatchTooLarge)
    async def _too_many(request: Request, exc: BatchTooLarge) -> JSONResponse:
        return problem_response(request, ApiProblem(422, "batch-too-large", str(exc)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            ApiProblem(
                500,
                "internal-error",
                "the server failed to answer this request (the error is in its log); "
                "writes are idempotent, so the request can be retried",
                marketo_code="611",
            ),
        )
