"""What the Marketo routes share: request parsing, paging tokens and the problem type."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from revmachine.api.jsonbody import parse_json
from revmachine.api.marketo.envelope import MarketoCode
from revmachine.api.problems import ApiProblem


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
