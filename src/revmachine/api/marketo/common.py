"""What the Marketo routes share: request parsing, paging, the native import of a planned
batch, and the problem type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from sqlalchemy import select

from revmachine.api.auth import Principal
from revmachine.api.jsonbody import parse_json
from revmachine.api.marketo.envelope import MarketoCode, ok, skipped
from revmachine.api.paging import encode_cursor
from revmachine.api.problems import ApiProblem
from revmachine.api.state import ApiContext
from revmachine.services.imports.batch import RecordResult, upsert_batch
from revmachine.store import schema


def marketo_problem(code: MarketoCode, message: str) -> ApiProblem:
    """An error answered as `success: false` with `code` (HTTP 200, as Marketo does)."""
    return ApiProblem(400, "marketo-error", message, marketo_code=code.value)


async def params(request: Request) -> dict[str, str]:
    """Query parameters, plus a form-encoded body (the `_method=GET` query style)."""
    pairs = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        body = (await request.body()).decode("utf-8", errors="replace")
        pairs.extend(parse_qsl(body, keep_blank_values=True))
    # A list sent as repeated keys (`fields=a&fields=b`, what `requests` makes of a Python
    # list) means the same as Marketo's comma-separated form (`fields=a,b`).
    found: dict[str, str] = {}
    for key, value in pairs:
        found[key] = f"{found[key]},{value}" if key in found else value
    return found


async def json_body(request: Request) -> dict[str, Any]:
    try:
        doc = parse_json(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise marketo_problem(MarketoCode.INVALID_JSON, "Invalid JSON") from exc
    if not isinstance(doc, dict):
        raise marketo_problem(MarketoCode.INVALID_JSON, "the body must be a JSON object")
    return doc


def input_list(doc: dict[str, Any], limit: int) -> list[Any]:
    records = doc.get("input")
    if not isinstance(records, list) or not records:
        raise marketo_problem(MarketoCode.INVALID_DATA, "'input' must be a non-empty list")
    if len(records) > limit:
        raise marketo_problem(
            MarketoCode.INVALID_DATA, f"Batch size of {len(records)} exceeds the limit of {limit}"
        )
    return records


def split_values(text: str | None, name: str, limit: int = 300) -> list[str]:
    values = [v.strip() for v in (text or "").split(",") if v.strip()]
    if not values:
        raise marketo_problem(MarketoCode.INVALID_DATA, f"'{name}' is required")
    if len(values) > limit:
        raise marketo_problem(
            MarketoCode.INVALID_DATA, f"'{name}' holds {len(values)} values; at most {limit}"
        )
    return values


def batch_size(text: str | None, default: int = 300, maximum: int = 300) -> int:
    if text is None or text == "":
        return default
    try:
        size = int(text)
    except ValueError as exc:
        raise marketo_problem(MarketoCode.INVALID_DATA, "batchSize must be a number") from exc
    if not 1 <= size <= maximum:
        raise marketo_problem(
            MarketoCode.INVALID_DATA, f"batchSize must be between 1 and {maximum}"
        )
    return size


MAX_ID = 2**63 - 1


def is_id(value: object) -> bool:
    """A JSON value that can name a row (an int within the 64-bit id range)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_ids(values: list[str], name: str) -> list[int]:
    try:
        found = [int(v) for v in values]
    except ValueError as exc:
        raise marketo_problem(MarketoCode.INVALID_DATA, f"{name} must be numbers") from exc
    if not all(is_id(v) for v in found):
        raise marketo_problem(MarketoCode.INVALID_DATA, f"{name} must be ids (1 to {MAX_ID})")
    return found


def ok_page(
    result: list[Any], filters: Mapping[str, Any], more_after: int | None
) -> dict[str, Any]:
    """`ok`, with a `nextPageToken` to continue after row id `more_after` when there is more:
    Marketo sends a token only then (clients loop on its presence)."""
    if more_after is None:
        return ok(result)
    return ok(result, nextPageToken=encode_cursor(more_after, filters))


def import_planned(
    ctx: ApiContext, principal: Principal, kind: str, plan: list[tuple[int, dict[str, Any]]]
) -> list[tuple[int, RecordResult]]:
    """Import the planned (position, record) pairs in one native batch of `kind`, under the
    client's name; what became of each, by its position in the request."""
    if not plan:
        return []
    batch = upsert_batch(
        kind,
        ctx.db,
        [record for _, record in plan],
        now=ctx.now(),
        name=f"marketo:{principal.key.client_id}",
        max_batch=ctx.settings.marketo_max_batch,
    )
    return [(i, outcome) for (i, _), outcome in zip(plan, batch.results, strict=True)]


def rejected(outcome: RecordResult, **extra: Any) -> dict[str, Any]:
    """A record the native import rejected, skipped with the import's reasons."""
    message = "; ".join(e.message for e in outcome.errors)
    return skipped(MarketoCode.INVALID_DATA, message, **extra)


def lead_emails(ctx: ApiContext, records: list[Any]) -> dict[int, str]:
    """Email by lead id, for the `leadId`s of `records` that name a lead."""
    ids = [r.get("leadId") for r in records if isinstance(r, dict)]
    ids = [i for i in ids if is_id(i)]
    p = schema.people
    with ctx.db.reading() as conn:
        rows = conn.execute(select(p.c.id, p.c.email).where(p.c.id.in_(ids)))
        return {int(i): e for i, e in rows}
