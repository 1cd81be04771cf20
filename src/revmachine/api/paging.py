"""Opaque cursors for keyset paging.

A cursor holds the last row id a page returned and a fingerprint of the query it belongs
to. Pages are ordered by id, which never changes and is never reused, so paging neither
skips nor repeats a row that existed when paging began, whatever is inserted or updated
meanwhile (offset paging would do both). A cursor from another query is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from revmachine.api.problems import ApiProblem

Row = TypeVar("Row")


def fingerprint(filters: Mapping[str, Any]) -> str:
    text = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(last_id: int, filters: Mapping[str, Any]) -> str:
    doc = json.dumps({"after": last_id, "q": fingerprint(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(doc.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, filters: Mapping[str, Any]) -> int:
    """The id to continue after (0 without a cursor); 400 for a foreign or broken one."""
    if cursor is None or cursor == "":
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        doc = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = int(doc["after"])
        query = str(doc["q"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiProblem(400, "bad-cursor", "the cursor is not one this API gave out") from exc
    if query != fingerprint(filters) or not 0 <= after < 2**63:
        raise ApiProblem(
            400,
            "bad-cursor",
            "the cursor belongs to a query with other filters; start again without a cursor",
        )
    return after


def page(rows: list[Row], size: int) -> tuple[list[Row], bool]:
    """Rows read with `limit=size + 1`: the first `size`, and whether there are more."""
    return rows[:size], len(rows) > size
