"""The column-wise engine gives exactly what the scalar engine gives: the same transitions
(rule, reason, time), the same score changes (floats bit for bit, rule and reason) and the
same states afterwards, on random histories of several people processed together.

Each person first goes through a random prefix of mixed inputs (fields, deals, decisions,
activities) with the scalar engine, as a stored state would have; then their activity-only
tail goes through `process_columns` on one side and `Engine.process` on the other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journey_helpers import T0, workspace
from test_engine_incremental import FACTS, REVENUE, SCORING, histories

from revmachine.config import default_workspace
from revmachine.config.workspace import make_workspace
from revmachine.engine import Engine, Event, FactsChanged, Input, ScoreChange, to_dict
from revmachine.engine.columns import ActivityColumns, process_columns, supports
from revmachine.engine.instants import to_micros

# the models of test_engine_incremental without what the columns leave to the scalar engine
# (caps, counted activity windows)
SCORING_PLAIN = SCORING.replace(", cap: {points: 5, per: day}", "").replace(
    ", cap: {times: 2, per: week}", ""
)
TYPES = [
    "web_visit",
    "email_click",
    "content_download",
    "webinar_attended",
    "demo_request",
    "unsubscribe",
    "email_sent",
    "email_bounce",
    "form_fill",
    "pricing_page_visit",
    "chat",
]
ENGINES: dict[str, Engine] = {}


def engine_for(name: str) -> Engine:
    if name not in ENGINES:
        if name == "busy":
            ENGINES[name] = Engine(workspace(_without_burst(REVENUE), SCORING_PLAIN))
        else:
            live = default_workspace()
            rules = [r.model_copy(update={"cap": None}) for r in live.scoring.behavior.rules]
            behavior = live.scoring.behavior.model_copy(update={"rules": rules})
            scoring = live.scoring.model_copy(update={"behavior": behavior})
            ENGINES[name] = Engine(make_workspace(live.revenue, scoring))
        assert supports(ENGINES[name])
    return ENGINES[name]


def _without_burst(revenue: str) -> str:
    lines = revenue.splitlines()
    out: list[str] = []
    skip = 0
    for line in lines:
        if line.strip() == "- name: burst":
            skip = 3  # from, to, when
            continue
        if skip:
            skip -= 1
            continue
        out.append(line)
    return "\n".join(out) + "\n"


@st.composite
def tails(draw: st.DrawFn, start: dt.datetime, grid: dt.timedelta, slots: int) -> list[Event]:
    count = draw(st.integers(0, 30))
    items: list[Event] = []
    for i in range(count):
        when = start + grid * draw(st.integers(1, slots))
        attributes: dict[str, Any] = draw(
            st.sampled_from([{}, {"status": "attended"}, {"url": "/pricing"}, {"bounce": "hard"}])
        )
        program = draw(st.sampled_from([None, None, "Webinar Q1"]))
        event_id = f"t{draw(st.integers(0, 9))}{i:03d}"
        items.append(Event(event_id, draw(st.sampled_from(TYPES)), when, attributes, program))
    return sorted(items, key=lambda e: (e.occurred_at, e.event_id))


def changes_as_rows(changes: list[ScoreChange]) -> list[tuple[Any, ...]]:
    return [
        (
            c.person_id,
            to_micros(c.occurred_at),
            c.fit,
            c.behavior,
            c.total,
            c.rule,
            c.reason,
            c.event_id,
        )
        for c in changes
    ]


@pytest.mark.parametrize(
    ("model", "grid", "slots"),
    [("busy", dt.timedelta(hours=3), 160), ("default", dt.timedelta(days=3), 150)],
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_columns_give_what_the_scalar_engine_gives(
    model: str, grid: dt.timedelta, slots: int, data: st.DataObject
) -> None:
    engine = engine_for(model)
    people = data.draw(st.integers(1, 6))
    scalar_states, column_states = [], []
    tails_of: list[list[Event]] = []
    for k in range(people):
        facts = data.draw(st.sampled_from(FACTS))
        # what processing does: the person enters the cycle with their fields at creation
        # (or, with no input yet, at their first activity)
        prefix: list[Input] = []
        if data.draw(st.booleans()):
            prefix = [FactsChanged("facts:created", T0, facts), *data.draw(histories(grid, slots))]
        last = max((i.occurred_at for i in prefix), default=T0)
        pause = last + grid * data.draw(st.integers(0, 40))
        one, two = engine.new_state(k, facts), engine.new_state(k, facts)
        for state in (one, two):
            engine.process(state, prefix)
            engine.advance_to(state, pause)
        scalar_states.append(one)
        column_states.append(two)
        tails_of.append(data.draw(tails(pause, grid, slots)))

    expected_moves, expected_changes = [], []
    for state, tail in zip(scalar_states, tails_of, strict=True):
        result = engine.process(state, tail)
        expected_moves.append(list(result.transitions))
        expected_changes.extend(result.score_changes)

    flat = [(k, e) for k, tail in enumerate(tails_of) for e in tail]
    acts = ActivityColumns(
        owner=np.array([k for k, _ in flat], dtype=np.int64),
        t=np.array([to_micros(e.occurred_at) for _, e in flat], dtype=np.int64),
        type=[e.type for _, e in flat],
        event_id=[e.event_id for _, e in flat],
        attributes=[e.attributes for _, e in flat],
        program=[e.program for _, e in flat],
    )
    got = process_columns(engine, column_states, acts)

    assert got.transitions == expected_moves
    rows = [
        (column_states[o].person_id, t, f, b, total, rule, reason, eid)
        for o, t, f, b, total, rule, reason, eid in zip(
            got.owner.tolist(),
            got.t.tolist(),
            got.fit.tolist(),
            got.behavior.tolist(),
            got.total.tolist(),
            got.rule,
            got.reason,
            got.event_id,
            strict=True,
        )
    ]
    assert rows == changes_as_rows(expected_changes)
    for one, two in zip(scalar_states, column_states, strict=True):
        assert to_dict(two) == to_dict(one)
    end = T0 + grid * (2 * slots + 100)
    for one, two in zip(scalar_states, column_states, strict=True):
        assert engine.advance_to(two, end) == engine.advance_to(one, end)
        assert to_dict(two) == to_dict(one)
