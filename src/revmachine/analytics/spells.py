"""The stage history read from `stage_spells`: the building blocks of the fast report path.

`stage_spells` (see `store/spells.py`) holds one row per transition with what would
otherwise take window functions over the whole history: when the spell ended, the person's
previous entry into the stage, their first transition and the row's step. Times are integer
microseconds, so a duration is integer arithmetic and a comparison with `as_of` needs no
date parsing. The reports read it whenever they can (`reads_spells`); a scope restricted
to one model version reads the transitions themselves (`history.py`), because spells link
each transition to its neighbours across versions. Both readings give the same numbers (a
property test checks it on random histories).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    and_,
    literal,
    or_,
    select,
    union_all,
)

from revmachine.analytics.segments import ALL_LABEL, person_segments
from revmachine.analytics.spec import Grain, Period, Scope
from revmachine.engine.instants import MICROS_PER_DAY, to_micros
from revmachine.store import schema

sp = schema.stage_spells
DAY_US = MICROS_PER_DAY


class Source(StrEnum):
    """Where a stage report reads the history: the spells (default) or the transitions."""

    SPELLS = "spells"
    TRANSITIONS = "transitions"


def reads_spells(scope: Scope, source: Source | None) -> bool:
    return source is not Source.TRANSITIONS and scope.model_version is None


def us(at: dt.datetime) -> int:
    return to_micros(at)


def us_literal(at: dt.datetime) -> ColumnElement[int]:
    return literal(to_micros(at), BigInteger())


#: Every column of a spell, in the order the subqueries below give them.
COLUMNS = ("person_id", "stage", "entered_us", "left_us", "prev_us", "first_us", "step")


def _select(
    scope: Scope, *where: ColumnElement[bool], columns: tuple[str, ...] = COLUMNS
) -> Select[Any]:
    """The spells known at `as_of` of the people the scope admits, with `segment` and
    `columns`. Asking for fewer columns matters on SQLite: it does not drop unused columns
    of a compound subquery, and a column outside the index being read costs a table row
    look-up per spell (five times the cost of the covering read)."""
    segments = person_segments(scope)
    cols = [sp.c[c] for c in columns]
    known = sp.c.entered_us <= us(scope.as_of)
    if segments is None:
        return select(literal(ALL_LABEL).label("segment"), *cols).where(known, *where)
    return (
        select(segments.c.segment, *cols)
        .join(segments, segments.c.person_id == sp.c.person_id)
        .where(known, *where)
    )


def per_person_segment(
    scope: Scope, column: ColumnElement[str]
) -> tuple[ColumnElement[str], list[ColumnElement[str]]]:
    """What a per-person grouping selects as `segment`, and the segment keys it groups by.

    Without filters or a group the segment is one constant: grouping by it too (a
    constant SQLite does not see through the subquery) makes SQLite sort the rows in a
    temporary B-tree instead of streaming them in the order of the index it reads."""
    if not scope.filters and scope.group_by is None:
        return literal(ALL_LABEL).label("segment"), []
    return column.label("segment"), [column]


def spells(scope: Scope) -> Subquery:
    """`(segment, person_id, stage, entered_us, left_us, prev_us, first_us, step)`: the
    spells that opened at or before `as_of`, of the people the scope admits."""
    return _select(scope).subquery("spells")


def open_spells(scope: Scope, at: dt.datetime, columns: tuple[str, ...] = COLUMNS) -> Subquery:
    """The spells (`segment` and `columns`, by default as `spells`) that hold `at` (at or
    before `as_of`).

    Written as two index ranges, still open (`left_us IS NULL`) and ended after `at`,
    because an OR of the two makes SQLite scan the whole table. Ask only for the columns
    used: `(person_id, stage, entered_us)` are read from the `left_us` index alone."""
    t = us(at)
    return union_all(
        _select(scope, sp.c.left_us.is_(None), sp.c.entered_us <= t, columns=columns),
        _select(scope, sp.c.left_us > t, sp.c.entered_us <= t, columns=columns),
    ).subquery("open")


def in_period_us(column: ColumnElement[int], period: Period) -> ColumnElement[bool]:
    return and_(column >= us(period.start_at), column < us(period.end_at))


def first_in(s: Subquery, period: Period) -> ColumnElement[bool]:
    """The spell is the person's first entry into its stage inside `period`."""
    return and_(
        in_period_us(s.c.entered_us, period),
        or_(s.c.prev_us.is_(None), s.c.prev_us < us(period.start_at)),
    )


def later_spells(scope: Scope) -> Subquery:
    """`(person_id, to_stage, occurred_at)`: every known entry, without segments (the side a
    report joins to find what happened after an entry), named as `history.later_transitions`."""
    return (
        select(sp.c.person_id, sp.c.stage.label("to_stage"), sp.c.entered_us.label("occurred_at"))
        .where(sp.c.entered_us <= us(scope.as_of))
        .subquery("later")
    )


def current_spells(scope: Scope) -> Subquery:
    """`(person_id, segment, stage, entered)`: the spell each person is in at `as_of`
    (`entered` in microseconds), as `history.current_stages`."""
    h = open_spells(scope, scope.as_of, ("person_id", "stage", "entered_us"))
    return select(h.c.person_id, h.c.segment, h.c.stage, h.c.entered_us.label("entered")).subquery(
        "current"
    )


EPOCH_DAY = dt.date(1970, 1, 1)


def day_of(day_number: int) -> dt.date:
    return EPOCH_DAY + dt.timedelta(days=int(day_number))


def bucket_of(grain: Grain, day: dt.date) -> dt.date:
    """The first day of the bucket holding `day`, as `sqlfuncs.bucket_start` (weeks start
    on Monday)."""
    if grain is Grain.DAY:
        return day
    if grain is Grain.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    if grain is Grain.QUARTER:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, 1, 1)
