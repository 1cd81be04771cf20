"""Scoring: fit predicates, behaviour decay, caps, negative rules, and explanations."""

from __future__ import annotations

import datetime as dt

import pytest
from journey_helpers import ONE_STAGE, T0, activity, at, workspace

from revmachine.engine import (
    AccountFacts,
    AsOfBeforeUpdate,
    Engine,
    FactsChanged,
    Input,
    PersonFacts,
)
from revmachine.engine.instants import to_micros

SCORING = r"""
lists:
  personal: [gmail.com, yahoo.com]
fit:
  rules:
    - name: software
      when: {field: industry, one_of: [Software, SaaS]}
      points: 10
    - name: big
      when:
        any:
          - {field: employee_count, at_least: 200}
          - {field: account.employee_count, at_least: 200}
      points: 20
    - name: director
      when: {field: title, matches: '\bdirector\b'}
      points: 15
    - name: personal_email
      when: {field: email_domain, in_list: personal}
      points: -25
    - name: student
      when: {field: title, contains: student}
      points: -40
    - name: gold_partner
      when: {field: attributes.partner_tier, equals: gold}
      points: 5
behavior:
  half_life: 10d
  rules:
    - name: visit
      activity: web_visit
      points: 2
      cap: {points: 5, per: day}
    - name: click
      activity: email_click
      points: 3
      cap: {times: 2, per: week}
    - name: download
      activity: content_download
      points: 8
      half_life: 1d
    - name: whitepaper
      activity: content_download
      where: {asset: whitepaper}
      points: 4
    - name: webinar
      activity: webinar_attended
      program: Q1 Webinar
      points: 10
      cap: {points: 25, per: month}
    - name: unsubscribe
      activity: unsubscribe
      points: -50
      decay: false
    - name: bounce
      activity: email_bounce
      points: -10
      decay: false
      cap: {points: 15, per: month}
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(workspace(ONE_STAGE, SCORING))


def behavior(engine: Engine, inputs: list[Input], as_of: dt.datetime) -> float:
    replay = engine.replay(1, None, inputs, as_of)
    return engine.score_at(replay.state, as_of).behavior


def fit(engine: Engine, facts: PersonFacts) -> float:
    return engine.scoring.fit_of(facts)


def test_fit_adds_the_points_of_every_matching_rule(engine: Engine) -> None:
    facts = PersonFacts(
        email="ana@gmail.com",
        title="Director of Marketing",
        industry="software",  # case does not matter
        account=AccountFacts(employee_count=300),
    )
    assert fit(engine, facts) == 10 + 20 + 15 - 25


def test_negative_fit_rules(engine: Engine) -> None:
    assert fit(engine, PersonFacts(title="PhD Student", email="s@yahoo.com")) == -40 - 25
    assert fit(engine, PersonFacts(title="Directors' assistant")) == 0  # \b matters


def test_custom_attributes_and_missing_values(engine: Engine) -> None:
    assert fit(engine, PersonFacts(attributes={"partner_tier": "GOLD"})) == 5
    assert fit(engine, PersonFacts()) == 0


def test_facts_changed_updates_fit_from_that_moment(engine: Engine) -> None:
    change = FactsChanged("f1", at(1), PersonFacts(industry="SaaS"))
    replay = engine.replay(1, PersonFacts(), [change], at(2))
    assert engine.score_at(replay.state, at(2)).fit == 10
    (score_change,) = replay.result.score_changes
    assert (score_change.fit, score_change.occurred_at, score_change.rule) == (10, at(1), "fit")


def test_behaviour_halves_every_half_life(engine: Engine) -> None:
    inputs: list[Input] = [activity("d", "content_download", T0), activity("v", "web_visit", T0)]
    assert behavior(engine, inputs, T0) == 8 + 2
    assert behavior(engine, inputs, at(1)) == pytest.approx(4 + 2 * 0.5**0.1, abs=1e-12)
    assert behavior(engine, inputs, at(2)) == pytest.approx(2 + 2 * 0.5**0.2, abs=1e-12)
    assert behavior(engine, inputs, at(10)) == pytest.approx(8 * 0.5**10 + 1, abs=1e-12)


def test_points_cap_per_day(engine: Engine) -> None:
    visits: list[Input] = [activity(f"v{i}", "web_visit", at(hours=i)) for i in range(4)]
    replay = engine.replay(1, None, visits, at(hours=3))
    awarded = [c.reason for c in replay.result.score_changes]
    assert awarded == ["web_visit: visit +2", "web_visit: visit +2", "web_visit: visit +1"]
    next_day = [*visits, activity("v9", "web_visit", at(1))]
    explained = engine.explain_score(None, next_day, at(1))
    assert [c.points for c in explained.contributions] == [2, 2, 1, 2]


def test_times_cap_per_iso_week(engine: Engine) -> None:
    clicks: list[Input] = [
        activity("c1", "email_click", at(0)),  # Monday
        activity("c2", "email_click", at(1)),
        activity("c3", "email_click", at(6, hours=23)),  # Sunday: same week, capped
        activity("c4", "email_click", at(7)),  # next Monday: a new week
    ]
    explained = engine.explain_score(None, clicks, at(8))
    assert [(c.event_id, c.points) for c in explained.contributions] == [
        ("c1", 3),
        ("c2", 3),
        ("c4", 3),
    ]


def test_month_cap_and_program_filter(engine: Engine) -> None:
    webinars: list[Input] = [
        activity(f"w{i}", "webinar_attended", at(i), program="Q1 Webinar") for i in range(3)
    ]
    webinars.append(activity("other", "webinar_attended", at(3), program="Other"))
    webinars.append(activity("feb", "webinar_attended", at(27), program="q1 webinar"))
    explained = engine.explain_score(None, webinars, at(30))
    assert [(c.event_id, c.points) for c in explained.contributions] == [
        ("w0", 10),
        ("w1", 10),
        ("w2", 5),
        ("feb", 10),  # 2025-02-02: a new month
    ]


def test_attribute_filters_add_rules_together(engine: Engine) -> None:
    paper = activity("d1", "content_download", T0, asset="Whitepaper")
    video = activity("d2", "content_download", T0, asset="video")
    explained = engine.explain_score(None, [paper, video], T0)
    assert [(c.event_id, c.rule) for c in explained.contributions] == [
        ("d1", "download"),
        ("d1", "whitepaper"),
        ("d2", "download"),
    ]


def test_negative_behaviour_does_not_fade_and_can_be_capped(engine: Engine) -> None:
    inputs: list[Input] = [
        activity("v", "web_visit", T0),
        activity("u", "unsubscribe", T0),
        *(activity(f"b{i}", "email_bounce", at(i)) for i in range(3)),
    ]
    as_of = at(100)
    assert behavior(engine, inputs, as_of) == pytest.approx(2 * 0.5**10 - 50 - 10 - 5)


def test_unknown_activity_types_score_nothing(engine: Engine) -> None:
    replay = engine.replay(1, None, [activity("x", "partner_portal_login", T0)], T0)
    assert replay.result.score_changes == ()
    assert engine.score_at(replay.state, T0).behavior == 0


def test_explanation_sums_to_the_score(engine: Engine) -> None:
    facts = PersonFacts(industry="Software", title="Director", employee_count=500)
    types = ["web_visit", "email_click", "content_download", "webinar_attended", "email_bounce"]
    inputs: list[Input] = [
        activity(f"e{i}", types[i % len(types)], at(hours=7 * i), "Q1 Webinar", asset="whitepaper")
        for i in range(60)
    ]
    as_of = at(25)
    explained = engine.explain_score(facts, inputs, as_of)
    state = engine.replay(1, facts, inputs, as_of).state
    score = engine.score_at(state, as_of)
    assert (explained.fit, explained.behavior) == (score.fit, score.behavior)
    total = sum(c.value for c in explained.contributions)
    assert total == pytest.approx(score.total, abs=1e-9)
    for c in explained.contributions:
        if c.kind == "behavior" and c.rule == "download":
            assert c.occurred_at is not None
            age = (as_of - c.occurred_at) / dt.timedelta(days=1)
            assert c.value == pytest.approx(c.points * 0.5**age, rel=1e-12)


def test_explanation_only_counts_what_happened_by_as_of(engine: Engine) -> None:
    inputs: list[Input] = [activity("a", "web_visit", at(0)), activity("b", "web_visit", at(5))]
    explained = engine.explain_score(None, inputs, at(1))
    assert [c.event_id for c in explained.contributions] == ["a"]


def test_score_cannot_be_read_before_its_last_update(engine: Engine) -> None:
    state = engine.replay(1, None, [activity("a", "web_visit", at(5))]).state
    with pytest.raises(AsOfBeforeUpdate):
        engine.scoring.score_at(state.score, to_micros(at(4)))
