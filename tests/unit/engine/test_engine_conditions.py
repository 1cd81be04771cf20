"""Condition kinds on a purpose-built model: counted windows, chains, fields, CRM stages."""

from __future__ import annotations

import pytest
from journey_helpers import T0, activity, at, workspace

from revmachine.config.revenue_model import CONDITION_KINDS as CONFIG_CONDITION_KINDS
from revmachine.config.revenue_model import OpportunityEventKind
from revmachine.engine import Engine, FactsChanged, Input, OpportunityEvent, PersonFacts
from revmachine.engine.conditions import CONDITION_KINDS

REVENUE = """
name: conditions
stages:
  - name: known
  - name: warm
  - name: hot
  - name: vip
  - name: proposal
  - name: won
    kind: success
thresholds:
  warm: {total: 5}
engagement:
  ignore: [email_sent]
transitions:
  - name: three_clicks
    from: [known, warm]
    to: hot
    when:
      - activity: {type: email_click, count: 3, within: 7d}
  - name: warm_up
    from: [known]
    to: warm
    when: [{score: warm}]
  - name: cool_down
    description: always true while warm; the chain must not bounce back and forth
    from: [warm]
    to: known
    when: [{score: warm}]
  - name: chief
    from: [known, warm, hot]
    to: vip
    when:
      - person: {field: title, matches: '\\bchief\\b'}
  - name: in_proposal
    from: [known, warm, hot, vip]
    to: proposal
    when:
      - opportunity: {event: stage_reached, stage: Proposal}
  - name: any_engagement
    from: [proposal]
    to: won
    when:
      - activity: {}
"""

SCORING = """
behavior:
  half_life: 30d
  rules:
    - name: visit
      activity: web_visit
      points: 6
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(workspace(REVENUE, SCORING))


def stages(engine: Engine, inputs: list[Input], facts: PersonFacts | None = None) -> list[str]:
    return [t.to_stage for t in engine.replay(1, facts, inputs).result.transitions]


def test_the_condition_registries_agree() -> None:
    assert tuple(CONDITION_KINDS) == CONFIG_CONDITION_KINDS


def test_a_count_within_a_window(engine: Engine) -> None:
    spread = [activity(f"c{i}", "email_click", at(4 * i)) for i in range(3)]
    assert stages(engine, list(spread)) == ["known"]  # days 0, 4, 8: never 3 within 7 days
    close = [*spread, activity("c3", "email_click", at(9))]  # days 4, 8, 9
    result = engine.replay(1, None, list(close)).result
    assert [t.to_stage for t in result.transitions] == ["known", "hot"]
    assert result.transitions[-1].occurred_at == at(9)
    assert result.transitions[-1].reason == "3 × email_click within 7d"


def test_a_chain_never_returns_to_a_stage_it_visited(engine: Engine) -> None:
    assert stages(engine, [activity("v", "web_visit", T0)]) == ["known", "warm"]
    # at the next input the warm stage's rules run again, and cool_down may fire once
    two = [activity("v", "web_visit", T0), activity("w", "web_visit", at(1))]
    assert stages(engine, list(two)) == ["known", "warm", "known"]


def test_a_field_condition_fires_when_the_fields_change(engine: Engine) -> None:
    promoted = FactsChanged("f", at(3), PersonFacts(title="Chief Revenue Officer"))
    result = engine.replay(1, PersonFacts(title="Analyst"), [promoted]).result
    assert [t.to_stage for t in result.transitions] == ["known", "vip"]
    assert result.transitions[-1].reason == r"title matches '\bchief\b'"


def test_crm_stage_reached_and_any_engagement(engine: Engine) -> None:
    reached = OpportunityEvent(
        "o", "OPP-1", OpportunityEventKind.STAGE_REACHED, at(1), stage="proposal"
    )
    other = OpportunityEvent("p", "OPP-1", OpportunityEventKind.STAGE_REACHED, at(1), "Demo")
    sent = activity("s", "email_sent", at(2))
    opened = activity("e", "email_open", at(3))
    assert stages(engine, [other, reached, sent]) == ["known", "proposal"]
    assert stages(engine, [reached, sent, opened]) == ["known", "proposal", "won"]
