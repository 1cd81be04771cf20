"""Durations as people write them in a workspace: `24h`, `3d`, `2 weeks`, `90 days`.

A bare number is refused on purpose: "sla: 24" could mean hours or days, and a wrong guess
silently moves every SLA clock. The canonical spelling (used for the model version hash and
for diffs) is the largest whole unit up to days: 48h is written `2d`, 2w is written `14d`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_CANONICAL: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("m", 60))
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")


def parse_duration(value: object) -> dt.timedelta:
    """Read `24h`, `3d`, `1.5 days`, `2 weeks` (or a timedelta) as a positive timedelta."""
    if isinstance(value, dt.timedelta):
        result = value
    elif isinstance(value, str):
        match = _PATTERN.match(value.lower())
        if match is None or match.group(2) not in _UNITS:
            raise ValueError(
                f"'{value}' is not a duration; write a number and a unit, such as 24h, 3d or 2w"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        result = dt.timedelta(seconds=seconds)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"{value} has no unit; write it as {value}h or {value}d so nobody has to guess"
        )
    else:
        raise ValueError("a duration is text such as 24h, 3d or 2w")
    if result <= dt.timedelta(0):
        raise ValueError("a duration must be longer than zero")
    return result


def format_duration(value: dt.timedelta) -> str:
    """The canonical spelling: the largest unit that divides the duration exactly."""
    seconds = value.total_seconds()
    for unit, size in _CANONICAL:
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[
    dt.timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
