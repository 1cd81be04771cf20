"""Marketo's response envelope and error codes, so that Marketo clients read our answers.

Every response carries `requestId` and `success`; data goes in `result`, problems in
`errors` (`[{"code": "601", "message": ...}]`, codes as strings, as Marketo sends them).
Per-record problems go in a record's `reasons` with the same shape.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from enum import StrEnum
from typing import Any


class MarketoCode(StrEnum):
    ACCESS_TOKEN_INVALID = "601"
    ACCESS_TOKEN_EXPIRED = "602"
    ACCESS_DENIED = "603"
    RATE_LIMIT = "606"
    INVALID_JSON = "609"
    NOT_FOUND = "610"
    INVALID_DATA = "1003"
    LEAD_NOT_FOUND = "1004"
    LEAD_EXISTS = "1005"
    FIELD_NOT_FOUND = "1006"
    MULTIPLE_MATCH = "1007"


def request_id() -> str:
    return f"{secrets.token_hex(2)}#{int(time.time() * 1000):x}"


def ok(result: list[Any], **extra: Any) -> dict[str, Any]:
    return {"requestId": request_id(), "result": result, "success": True, **extra}


def error_envelope(code: str, message: str) -> dict[str, Any]:
    return {"requestId": request_id(), "success": False, "errors": [reason(code, message)]}


def reason(code: str, message: str) -> dict[str, str]:
    return {"code": str(code), "message": message}


def skipped(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {**extra, "status": "skipped", "reasons": [reason(code, message)]}


def marketo_time(value: dt.datetime | None) -> str | None:
    """Marketo's timestamp form: UTC, seconds, trailing Z."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
