"""The lifecycle's shortcuts change nothing: indexing a stage's transitions by the inputs
that can fire them, and skipping the decay when a score cannot reach a threshold, give
the same transitions (rule, reason and all) as trying every transition in order."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journey_helpers import T0
from test_engine_incremental import FACTS, GRID, engine_for, histories

from revmachine.config.revenue_model import OpportunityEventKind
from revmachine.engine import Engine, Event, OpportunityEvent, ScoreState
from revmachine.engine.conditions import TriggerKey
from revmachine.engine.lifecycle import CompiledLifecycle, CompiledTransition


class EveryTransition(CompiledLifecycle):
    """The lifecycle without its index: every transition leaving the stage is tried."""

    def _index(self, stage: str, key: TriggerKey) -> tuple[CompiledTransition, ...]:
        return self.outgoing[stage]


def unindexed(engine: Engine) -> Engine:
    plain = object.__new__(Engine)
    plain.__dict__.update(engine.__dict__)
    lifecycle = object.__new__(EveryTransition)
    lifecycle.__dict__.update(engine.lifecycle.__dict__)
    lifecycle._candidates = {stage: {} for stage in engine.lifecycle.stages}
    plain.lifecycle = lifecycle
    return plain


@pytest.mark.parametrize(
    ("model", "grid", "slots"), [("busy", GRID, 160), ("default", dt.timedelta(days=3), 150)]
)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_index_fires_what_trying_every_transition_fires(
    model: str, grid: dt.timedelta, slots: int, data: st.DataObject
) -> None:
    engine = engine_for(model)
    history = data.draw(histories(grid, slots))
    facts = data.draw(st.sampled_from(FACTS))
    end = T0 + grid * (slots + 100)

    fast = engine.replay(1, facts, history, end).result
    slow = unindexed(engine).replay(1, facts, history, end).result

    assert fast == slow


def test_an_index_skips_transitions_that_cannot_fire() -> None:
    lifecycle = engine_for("default").lifecycle

    def names(key: TriggerKey) -> list[str]:
        return [t.name for t in lifecycle._index("known", key)]

    score_only = ["started_engaging", "mql_by_score"]
    assert names(None) == score_only  # a timer: no activity, deal or decision
    assert names((Event, "email_open")) == score_only
    assert names((Event, "demo_request")) == [
        "started_engaging",
        "fast_track_demo",
        "mql_by_score",
    ]
    assert names((OpportunityEvent, OpportunityEventKind.CREATED)) == [
        *score_only,
        "opportunity_opened",
    ]


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.floats(-500, 500), min_size=1, max_size=3),
    permanent=st.floats(-100, 100),
    ages=st.lists(st.integers(0, 10**14), min_size=3, max_size=3),
)
def test_the_ceiling_bounds_the_behaviour_score(
    values: list[float], permanent: float, ages: list[int]
) -> None:
    scoring = engine_for("default").scoring
    groups = len(scoring.rates)
    state = ScoreState(
        fit=0.0,
        values=(values * groups)[:groups],
        updated=[0] * groups,
        permanent=permanent,
        cap_window=[],
        cap_points=[],
        cap_times=[],
    )
    for age in ages:
        assert scoring.behavior_at(state, age) <= scoring.behavior_ceiling(state)
