"""The reports read from `stage_spells` give exactly what they give from the transitions.

`stage_spells` is a cache of `stage_transitions` that the fast report path reads; the
transition scan is the reference reading of every definition. On random histories (repeat
entries, simultaneous transitions, entries either side of the period and of `as_of`) and
random questions (period, as_of, a filter, a group), the funnel, velocity and inventory
reports must be equal from both sources, and the table must equal its rebuild.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from revmachine.analytics import Period, Scope, funnel_report, inventory_report, velocity_report
from revmachine.analytics.spells import Source
from revmachine.config import default_workspace
from revmachine.services.imports import import_people
from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.spells import rebuild_spells, refresh_spells

MODEL = default_workspace().revenue
ORIGIN = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
INDUSTRIES = ("Software", "Retail")

# A person: an industry, the day of their first step, and steps of (stage, hours after the
# previous step, microseconds). Gaps of 0 are simultaneous transitions; the microseconds
# keep durations off exact half-hours, where float and integer arithmetic may round an
# hour differently.
# Few stages and short gaps, so that repeat entries inside one period are common.
STEP_STAGES = ["known", "engaged", "mql", "sal", "opportunity", "customer", "recycled", "lost"]
steps = st.lists(
    st.tuples(
        st.sampled_from(STEP_STAGES),
        st.one_of(st.just(0), st.integers(1, 24 * 30)),
        st.integers(1, 999_999),
    ),
    min_size=2,
    max_size=10,
)
people = st.lists(
    st.tuples(st.sampled_from(INDUSTRIES), st.integers(-20, 200), steps), min_size=3, max_size=10
)
questions = st.tuples(
    st.integers(0, 120),  # period start, days after ORIGIN
    st.integers(10, 200),  # period length in days
    st.integers(0, 300 * 86400),  # as_of, seconds after ORIGIN
    st.sampled_from(["none", "filter", "group"]),
)


Journey = tuple[str, int, list[tuple[str, int, int]]]


def _load(db: Database, journeys: list[Journey]) -> None:
    lines = ["email,industry"] + [
        f"p{i}@example.com,{ind}" for i, (ind, _, _) in enumerate(journeys)
    ]
    report = import_people(db, ("\n".join(lines) + "\n").encode(), now=NOW)
    assert report.rejected == 0
    with db.transaction() as conn:
        ids = dict(conn.execute(select(schema.people.c.email, schema.people.c.id)).all())
        rows: list[dict[str, Any]] = []
        for i, (_, day, path) in enumerate(journeys):
            at = ORIGIN + dt.timedelta(days=day)
            previous: str | None = None
            for stage, gap, micros in path:
                at = at + dt.timedelta(hours=gap) if gap else at
                rows.append(
                    {
                        "person_id": ids[f"p{i}@example.com"],
                        "from_stage": previous,
                        "to_stage": stage,
                        "occurred_at": at.replace(microsecond=micros) if gap else at,
                        "reason": "test",
                        "rule": "test",
                        "model_version": "test",
                        "recorded_at": NOW,
                    }
                )
                at = rows[-1]["occurred_at"]
                previous = stage
        conn.execute(insert(schema.stage_transitions), rows)
        refresh_spells(conn, sorted({r["person_id"] for r in rows}))


def _same(a: Any, b: Any, where: str = "") -> None:
    """Equal, floats to 1e-9 relative (sums of exact microseconds against float seconds)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), f"{where}: {a} != {b}"
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{k}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _spell_rows(db: Database) -> list[tuple[Any, ...]]:
    sp = schema.stage_spells
    with db.reading() as conn:
        return [tuple(r) for r in conn.execute(select(sp).order_by(sp.c.id))]


@settings(max_examples=25)
@given(journeys=people, question=questions)
def test_reports_from_spells_equal_reports_from_transitions(
    db: Database,
    reset_store: Callable[[Database], None],
    journeys: list[Journey],
    question: tuple[int, int, int, str],
) -> None:
    reset_store(db)
    _load(db, journeys)
    start, length, as_of_seconds, split = question
    first = ORIGIN.date() + dt.timedelta(days=start)
    scope = Scope(
        Period(first, first + dt.timedelta(days=length)),
        ORIGIN + dt.timedelta(seconds=as_of_seconds, microseconds=1),
        filters={"industry": ("Software",)} if split == "filter" else {},
        group_by="industry" if split == "group" else None,
    )
    with db.reading() as conn:
        for report, options in (
            (funnel_report, {}),
            (funnel_report, {"window": dt.timedelta(days=20)}),
            (velocity_report, {}),
            (inventory_report, {"trend_points": 4}),
        ):
            fast = report(conn, MODEL, scope, source=Source.SPELLS, **options)  # type: ignore[operator]
            slow = report(conn, MODEL, scope, source=Source.TRANSITIONS, **options)  # type: ignore[operator]
            _same(fast, slow, report.__name__)
    kept = _spell_rows(db)
    with db.transaction() as conn:
        rebuild_spells(conn)
    assert _spell_rows(db) == kept
