"""Lifecycle under the default B2B model: journeys, fast track, timers, sales decisions."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from journey_helpers import T0, accept, activity, at, opportunity, reject

from revmachine.config import default_workspace
from revmachine.engine import (
    Engine,
    Input,
    ModelMismatch,
    OutOfOrderInput,
    PersonFacts,
    Transition,
    from_dict,
    to_dict,
)

BUYER = PersonFacts(
    email="ava@contoso.com",
    title="VP Marketing",
    industry="Technology",
    employee_count=8500,
    country="United States",
)
COMPETITOR = PersonFacts(email="spy@competitor.example", title="Analyst")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(default_workspace())


def path(transitions: tuple[Transition, ...]) -> list[tuple[str | None, str, str]]:
    return [(t.from_stage, t.to_stage, t.rule) for t in transitions]


def test_a_webinar_attendee_becomes_mql_is_accepted_and_wins(engine: Engine) -> None:
    inputs: list[Input] = [
        activity("e1", "webinar_registered", at(0)),
        activity("e2", "webinar_attended", at(1)),
        activity("e3", "content_download", at(2)),
        activity("e4", "pricing_page_visit", at(3)),
        activity("e5", "webinar_attended", at(4)),
        activity("e6", "content_download", at(5)),
        accept("s1", at(5, hours=3)),
        opportunity("o1", "created", at(9)),
        opportunity("o2", "won", at(60)),
    ]
    result = engine.replay(7, BUYER, inputs, at(61)).result
    assert path(result.transitions) == [
        (None, "anonymous", "entry"),
        ("anonymous", "known", "identified"),
        ("known", "engaged", "started_engaging"),
        ("engaged", "mql", "mql_by_score"),
        ("mql", "sal", "sales_accepted"),
        ("sal", "opportunity", "opportunity_opened"),
        ("opportunity", "customer", "won"),
    ]
    mql = result.transitions[3]
    assert mql.occurred_at == at(4)  # the second webinar tips behaviour over 50
    assert mql.person_id == 7
    assert mql.model_version == engine.version
    assert mql.reason.startswith("score mql: fit 55.0 ≥ 40, behavior")


def test_demo_request_fast_tracks_to_mql(engine: Engine) -> None:
    result = engine.replay(1, BUYER, [activity("d", "demo_request", at(0))]).result
    assert path(result.transitions)[-2:] == [
        ("known", "engaged", "started_engaging"),
        ("engaged", "mql", "fast_track_demo"),
    ]
    assert result.transitions[-1].reason == "demo_request d and score fast_track: fit 55.0 ≥ 0"


def test_a_pricing_request_form_fast_tracks(engine: Engine) -> None:
    plain = PersonFacts(email="x@example.org")
    form = activity("f", "form_fill", at(0), url="https://example.com/pricing")
    result = engine.replay(1, plain, [form]).result
    assert path(result.transitions)[-1] == ("known", "mql", "fast_track_pricing")


def test_no_fast_track_for_a_negative_fit(engine: Engine) -> None:
    result = engine.replay(1, COMPETITOR, [activity("d", "demo_request", at(0))]).result
    assert [t.to_stage for t in result.transitions] == ["anonymous", "known", "engaged"]


def test_recycle_fires_at_exactly_ninety_days_without_engagement(engine: Engine) -> None:
    inputs: list[Input] = [
        activity("d", "demo_request", at(0)),
        activity("o", "web_visit", at(10)),
        activity("s", "email_sent", at(50)),  # something we did, not engagement
    ]
    state = engine.replay(1, BUYER, inputs).state
    assert state.stage == "mql"
    deadline = at(100)
    assert engine.next_deadline(state) == deadline
    assert engine.advance_to(state, deadline - dt.timedelta(microseconds=1)).transitions == ()
    (recycled,) = engine.advance_to(state, deadline).transitions
    assert (recycled.from_stage, recycled.to_stage, recycled.rule) == (
        "mql",
        "recycled",
        "gone_quiet",
    )
    assert recycled.occurred_at == deadline
    assert recycled.reason == "no engagement for 90d"


def test_timers_fire_before_inputs_at_the_same_instant(engine: Engine) -> None:
    inputs: list[Input] = [
        activity("d", "demo_request", at(0)),
        activity("w", "webinar_attended", at(90)),  # exactly at the deadline
    ]
    result = engine.replay(1, BUYER, inputs, at(91)).result
    assert path(result.transitions)[-2:] == [
        ("mql", "recycled", "gone_quiet"),
        ("recycled", "engaged", "reengaged"),
    ]


def test_engagement_restarts_the_clock(engine: Engine) -> None:
    inputs: list[Input] = [activity("d", "demo_request", at(0)), activity("v", "chat", at(89))]
    state = engine.replay(1, BUYER, inputs, at(178)).state
    assert state.stage == "mql"
    assert engine.next_deadline(state) == at(179)


def test_sales_rejections_by_reason(engine: Engine) -> None:
    base: list[Input] = [activity("d", "demo_request", at(0))]
    spam = engine.replay(1, BUYER, [*base, reject("r", at(1), "spam")]).state
    timing = engine.replay(1, BUYER, [*base, reject("r", at(1), "bad_timing")]).state
    assert (spam.stage, timing.stage) == ("disqualified", "recycled")


def test_an_accept_and_an_opportunity_at_the_same_instant(engine: Engine) -> None:
    inputs: list[Input] = [
        activity("d", "demo_request", at(0)),
        opportunity("o", "created", at(1)),  # given first; sales decisions go first
        accept("s", at(1)),
    ]
    result = engine.replay(1, BUYER, inputs).result
    assert path(result.transitions)[-2:] == [
        ("mql", "sal", "sales_accepted"),
        ("sal", "opportunity", "opportunity_opened"),
    ]


def test_sla_due_time(engine: Engine) -> None:
    state = engine.replay(1, BUYER, [activity("d", "demo_request", at(2))]).state
    assert engine.sla_due_at(state) == at(3)
    engine.process(state, [accept("s", at(2, hours=5))])
    assert engine.sla_due_at(state) == at(7, hours=5)


def test_lost_deal_returns_to_nurture_after_half_a_year(engine: Engine) -> None:
    inputs: list[Input] = [opportunity("o1", "created", at(0)), opportunity("o2", "lost", at(30))]
    result = engine.replay(1, BUYER, inputs, at(300)).result
    assert path(result.transitions)[-2:] == [
        ("opportunity", "lost", "lost"),
        ("lost", "recycled", "back_to_nurture"),
    ]
    assert result.transitions[-1].occurred_at == at(210)


def test_customers_expand(engine: Engine) -> None:
    inputs: list[Input] = [
        opportunity("o1", "created", at(0)),
        opportunity("o2", "won", at(30)),
        opportunity("o3", "created", at(200), opp="OPP-2"),
        opportunity("o4", "lost", at(260), opp="OPP-2"),
    ]
    stages = [t.to_stage for t in engine.replay(1, BUYER, inputs).result.transitions]
    assert stages[-4:] == ["opportunity", "customer", "expansion", "customer"]


def test_inputs_before_the_watermark_are_refused(engine: Engine) -> None:
    state = engine.new_state(1, BUYER)
    engine.process(state, [activity("b", "web_visit", at(5))])
    with pytest.raises(OutOfOrderInput):
        engine.process(state, [activity("a", "web_visit", at(4))])
    with pytest.raises(OutOfOrderInput):
        engine.process(state, [activity("b", "web_visit", at(5))])  # the same input again
    engine.advance_to(state, at(8))
    with pytest.raises(OutOfOrderInput):
        engine.process(state, [activity("c", "web_visit", at(7))])
    engine.process(state, [activity("c", "web_visit", at(8))])  # the same instant is fine


def test_a_refused_batch_changes_nothing(engine: Engine) -> None:
    state = engine.new_state(1, BUYER)
    engine.process(state, [activity("b", "web_visit", at(5))])
    before = to_dict(state)
    with pytest.raises(OutOfOrderInput):
        engine.process(state, [activity("c", "web_visit", at(6)), activity("a", "chat", at(1))])
    assert to_dict(state) == before


def test_state_of_another_model_version_is_refused(engine: Engine) -> None:
    state = engine.new_state(1, BUYER)
    state.model_version = "0000000000000000"
    with pytest.raises(ModelMismatch):
        engine.process(state, [activity("a", "web_visit", T0)])


def test_state_survives_a_json_round_trip(engine: Engine) -> None:
    inputs: list[Input] = [activity("d", "demo_request", at(0)), activity("v", "web_visit", at(3))]
    state = engine.replay(1, BUYER, inputs).state
    copy = from_dict(json.loads(json.dumps(to_dict(state))))
    assert to_dict(copy) == to_dict(state)
    assert engine.score_at(copy, at(20)) == engine.score_at(state, at(20))
