"""Report results as JSON: every field of the typed result, with the metric definitions.

Dataclasses become objects, Decimals numbers, times ISO 8601 strings, and an infinite or
missing figure `null`, so that any JSON reader gets the same numbers the tables show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from revmachine.analytics.definitions import METRICS


def to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def to_json(kind: str, result: Any) -> str:
    tables = result.tables()
    used = sorted({c.metric for t in tables for c in t.columns if c.metric})
    document = {
        "report": kind,
        "result": to_plain(result),
        "definitions": {name: METRICS[name].rule for name in used},
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
