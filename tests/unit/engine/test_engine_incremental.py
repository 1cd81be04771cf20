"""The invariant behind incremental processing: feeding a person's history in pieces (with
time passing and the state stored in between) gives exactly what one replay gives.

Times fall on a coarse grid so that simultaneous inputs, and timers falling due at the very
instant of an input, happen often; the models' durations are multiples of the grid.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journey_helpers import T0, workspace

from revmachine.config import Workspace, default_workspace
from revmachine.config.revenue_model import OpportunityEventKind, SalesDecisionKind
from revmachine.engine import (
    Engine,
    Event,
    FactsChanged,
    Input,
    OpportunityEvent,
    PersonFacts,
    SalesDecision,
    from_dict,
    order_key,
    to_dict,
)

REVENUE = """
name: busy
stages:
  - {name: known}
  - {name: engaged}
  - {name: mql, sla: 1d}
  - {name: sal}
  - {name: opportunity}
  - {name: customer, kind: success}
  - {name: recycled, kind: detour}
  - {name: disqualified, kind: detour}
  - {name: lost, kind: detour}
thresholds:
  engaged: {behavior: 5}
  mql: {fit: 10, behavior: 15}
engagement:
  ignore: [email_sent]
transitions:
  - {name: engage, from: [known], to: engaged, when: [score: engaged]}
  - name: fast
    from: [known, engaged, recycled]
    to: mql
    when: [activity: {type: demo_request}]
  - name: burst
    from: [known, engaged]
    to: mql
    when: [activity: {type: email_click, count: 3, within: 1d}]
  - {name: by_score, from: [known, engaged], to: mql, when: [score: mql]}
  - name: vip
    from: [known, engaged]
    to: mql
    when: [person: {field: title, matches: chief}]
  - {name: back, from: [recycled], to: engaged, when: [activity: {}, score: engaged]}
  - {name: accept, from: [mql], to: sal, when: [sales: {decision: accept}]}
  - name: spam
    from: [mql, sal]
    to: disqualified
    when: [sales: {decision: reject, reasons: [spam]}]
  - {name: reject, from: [mql, sal], to: recycled, when: [sales: {decision: reject}]}
  - name: opened
    from: [known, engaged, mql, sal, recycled, lost]
    to: opportunity
    when: [opportunity: {event: created}]
  - {name: won, from: [opportunity], to: customer, when: [opportunity: {event: won}]}
  - {name: lost, from: [opportunity], to: lost, when: [opportunity: {event: lost}]}
  - {name: quiet, from: [engaged, mql, sal], to: recycled, when: [no_engagement: 3d]}
  - {name: cooled, from: [mql], to: engaged, when: [no_engagement: 1d, score: {total: 40}]}
  - {name: nurture, from: [lost], to: recycled, when: [no_engagement: 5d]}
"""

SCORING = """
fit:
  rules:
    - {name: chief, when: {field: title, matches: chief}, points: 20}
    - {name: software, when: {field: industry, equals: software}, points: 10}
    - {name: student, when: {field: title, contains: student}, points: -15}
behavior:
  half_life: 2d
  rules:
    - {name: visit, activity: web_visit, points: 2, cap: {points: 5, per: day}}
    - {name: click, activity: email_click, points: 3, cap: {times: 2, per: week}}
    - {name: download, activity: content_download, points: 5, half_life: 12h}
    - {name: webinar, activity: webinar_attended, where: {status: attended}, points: 8}
    - {name: demo, activity: demo_request, points: 20}
    - {name: unsubscribe, activity: unsubscribe, points: -10, decay: false}
"""

GRID = dt.timedelta(hours=3)
TYPES = [
    "web_visit",
    "email_click",
    "content_download",
    "webinar_attended",
    "demo_request",
    "unsubscribe",
    "email_sent",
    "chat",
]
FACTS = [
    PersonFacts(email="ana@example.org"),
    PersonFacts(email="ben@contoso.com", title="Chief Marketing Officer", employee_count=900),
    PersonFacts(email="cy@gmail.com", industry="Software"),
    PersonFacts(email="di@uni.edu", title="Student", industry="software"),
    PersonFacts(),  # not known yet: stays anonymous under the default model
]
ENGINES: dict[str, Engine] = {}


def engine_for(name: str) -> Engine:
    if name not in ENGINES:
        source: Workspace = workspace(REVENUE, SCORING) if name == "busy" else default_workspace()
        ENGINES[name] = Engine(source)
    return ENGINES[name]


@st.composite
def histories(draw: st.DrawFn, grid: dt.timedelta, slots: int) -> list[Input]:
    count = draw(st.integers(0, 45))
    items: list[Input] = []
    for i in range(count):
        when = T0 + grid * draw(st.integers(0, slots))
        event_id = f"e{draw(st.integers(0, 9))}{i:03d}"  # ids that do not sort by index
        kind = draw(st.sampled_from(["activity"] * 6 + ["sales", "opportunity", "facts"]))
        if kind == "activity":
            attributes: dict[str, Any] = draw(
                st.sampled_from([{}, {"status": "attended"}, {"status": "registered"}])
            )
            items.append(Event(event_id, draw(st.sampled_from(TYPES)), when, attributes))
        elif kind == "sales":
            decision = draw(st.sampled_from(list(SalesDecisionKind)))
            reason = draw(st.sampled_from([None, "spam", "bad_timing"]))
            items.append(SalesDecision(event_id, decision, when, reason))
        elif kind == "opportunity":
            kind_ = draw(st.sampled_from(list(OpportunityEventKind)))
            stage = "Proposal" if kind_ is OpportunityEventKind.STAGE_REACHED else None
            items.append(OpportunityEvent(event_id, "OPP-1", kind_, when, stage))
        else:
            items.append(FactsChanged(event_id, when, draw(st.sampled_from(FACTS))))
    return sorted(items, key=order_key)


def run_in_pieces(
    engine: Engine,
    facts: PersonFacts,
    history: list[Input],
    cuts: list[int],
    waits: list[int],
    end: dt.datetime,
) -> tuple[Any, list[Any], list[Any]]:
    """Process the history in pieces; between pieces, let time pass up to some instant no
    later than the next piece, and store and reload the state as the wiring will."""
    state = engine.new_state(1, facts)
    transitions: list[Any] = []
    changes: list[Any] = []
    bounds = [0, *sorted(set(cuts)), len(history)]
    for n, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        result = engine.process(state, history[lo:hi])
        if hi < len(history) and hi > 0:
            start, stop = history[hi - 1].occurred_at, history[hi].occurred_at
            step = waits[n % len(waits)] if waits else 0
            pause = min(start + (stop - start) * step / 4, stop)
            result += engine.advance_to(state, pause)
        transitions.extend(result.transitions)
        changes.extend(result.score_changes)
        state = from_dict(json.loads(json.dumps(to_dict(state))))
    result = engine.advance_to(state, end)
    transitions.extend(result.transitions)
    return state, transitions, changes


@pytest.mark.parametrize(
    ("model", "grid", "slots"),
    [
        ("busy", GRID, 160),  # 20 days in 3-hour steps; timers of 12h, 1d, 3d, 5d
        ("default", dt.timedelta(days=3), 150),  # 450 days in 3-day steps; 90d and 180d timers
    ],
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_incremental_equals_replay(
    model: str, grid: dt.timedelta, slots: int, data: st.DataObject
) -> None:
    engine = engine_for(model)
    history = data.draw(histories(grid, slots))
    facts = data.draw(st.sampled_from(FACTS))
    cuts = data.draw(st.lists(st.integers(0, len(history)), max_size=6))
    waits = data.draw(st.lists(st.integers(0, 4), max_size=6))
    end = T0 + grid * (slots + 100)

    replay = engine.replay(1, facts, history, end)
    state, transitions, changes = run_in_pieces(engine, facts, history, cuts, waits, end)

    assert transitions == list(replay.result.transitions)
    assert changes == list(replay.result.score_changes)
    assert to_dict(state) == to_dict(replay.state)
    for moment in (end, end + dt.timedelta(days=7)):
        a, b = engine.score_at(state, moment), engine.score_at(replay.state, moment)
        assert abs(a.fit - b.fit) <= 1e-9 and abs(a.behavior - b.behavior) <= 1e-9
        explained = engine.explain_score(facts, history, moment)
        assert sum(c.value for c in explained.contributions) == pytest.approx(a.total, abs=1e-9)
