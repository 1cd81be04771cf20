"""The pure router: account owners, rules, round robin, least loaded, capacity, fallback,
escalation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revmachine.config.routing import Escalation, RoutingModel
from revmachine.engine.facts import AccountFacts, PersonFacts
from revmachine.engine.routing import Lead, Rep, Roster, Router


def model(**overrides: object) -> RoutingModel:
    spec: dict[str, object] = {
        "reject_reasons": ["not_a_fit"],
        "lists": {"dach": ["Germany", "Austria", "Switzerland"]},
        "teams": [
            {"name": "NA", "method": "round_robin"},
            {"name": "EU", "method": "least_loaded", "capacity": 2, "roles": ["rep", "lead"]},
        ],
        "rules": [
            {
                "name": "dach",
                "when": {"field": "country", "in_list": "dach"},
                "team": "EU",
                "territory": "DACH",
            },
            {"name": "eu", "when": {"field": "country", "one_of": ["France"]}, "team": "EU"},
            {"name": "rest", "team": "NA"},
        ],
    }
    spec.update(overrides)
    return RoutingModel.model_validate(spec)


def reps() -> dict[int, Rep]:
    team = [
        Rep(1, "a@x", "A", "NA"),
        Rep(2, "b@x", "B", "NA"),
        Rep(3, "c@x", "C", "NA"),
        Rep(4, "lead@x", "L", "NA", role="lead"),
        Rep(5, "gone@x", "G", "NA", active=False),
        Rep(6, "dach@x", "D", "EU", territory="DACH"),
        Rep(7, "fr@x", "F", "EU", territory="France", capacity=1),
        Rep(8, "eulead@x", "E", "EU", role="lead", territory="France"),
    ]
    return {r.rep_id: r for r in team}


def lead(pid: int, country: str = "United States", owner: int | None = None) -> Lead:
    account = AccountFacts(name="Acme") if owner else None
    return Lead(pid, PersonFacts(country=country, account=account), owner)


def router(**overrides: object) -> Router:
    routing = model(**overrides)
    return Router(routing, routing.lists)


def test_round_robin_rotates_from_the_least_recently_assigned() -> None:
    roster = Roster(reps(), last_assigned={1: 10, 2: 4})  # C never had one, then B, then A
    got = [router().route(lead(i), roster).rep for i in range(6)]
    assert [r.email if r else None for r in got] == ["c@x", "b@x", "a@x", "c@x", "b@x", "a@x"]
    assert roster.load == {3: 2, 2: 2, 1: 2}


def test_least_loaded_and_capacity_then_fallback() -> None:
    roster = Roster(reps(), load={6: 2, 7: 0, 8: 1})
    r = router()
    first = r.route(lead(1, "France"), roster)
    # D is full (2 of the team's 2); F has 0 of her own 1; E (a lead, allowed here) 1 of 2
    assert (first.rep.email if first.rep else None, first.rule) == ("fr@x", "eu")
    assert "least loaded" in first.reason
    second = r.route(lead(2, "France"), roster)
    assert second.rep is not None and second.rep.email == "eulead@x"
    third = r.route(lead(3, "France"), roster)
    assert (third.rep, third.queue, third.team, third.rule) == (
        None,
        "unassigned",
        "EU",
        "fallback",
    )
    assert "all 3 reps of team EU are at capacity" in third.reason


def test_territory_narrows_the_team_and_inactive_reps_never_get_leads() -> None:
    roster = Roster(reps())
    r = router()
    dach = r.route(lead(1, "Germany"), roster)
    assert dach.rep is not None and dach.rep.email == "dach@x"
    assert "territory DACH" in dach.reason
    for pid in range(2, 12):
        decision = r.route(lead(pid), roster)
        assert decision.rep is not None and decision.rep.rep_id in (1, 2, 3)


def test_account_owner_takes_the_lead_unless_inactive_or_switched_off() -> None:
    roster = Roster(reps())
    owned = router().route(lead(1, owner=6), roster)
    assert (owned.rep.email if owned.rep else None, owned.rule, owned.team) == (
        "dach@x",
        "account_owner",
        "EU",
    )
    assert owned.reason == "dach@x owns the account of Acme"
    assert router().route(lead(2, owner=5), roster).rule == "rest"  # the owner left
    assert router(account_owner=False).route(lead(3, owner=6), roster).rule == "rest"


def test_no_matching_rule_goes_to_the_fallback_queue() -> None:
    r = router(
        rules=[{"name": "eu", "when": {"field": "country", "equals": "France"}, "team": "EU"}]
    )
    decision = r.route(lead(1), Roster(reps()))
    assert (decision.rep, decision.queue, decision.rule, decision.team) == (
        None,
        "unassigned",
        "fallback",
        None,
    )


def test_escalation_reassigns_else_flags_the_team_lead() -> None:
    roster = Roster(reps(), load={1: 1})
    r = router()
    moved = r.escalate("NA", 1, roster)
    assert moved.action is Escalation.REASSIGN
    assert moved.rep is not None and moved.rep.rep_id in (2, 3)
    assert moved.flagged is not None and moved.flagged.email == "lead@x"
    assert roster.load[1] == 0 and roster.load[moved.rep.rep_id] == 1
    # nobody else with room: flagged instead
    full = Roster(reps(), load={6: 2, 7: 1, 8: 2})
    flagged = r.escalate("EU", 6, full)
    assert (flagged.action, flagged.rep, flagged.flagged.email if flagged.flagged else None) == (
        Escalation.FLAG,
        None,
        "eulead@x",
    )
    policy = router(sla={"escalation": "flag"})
    assert policy.escalate("NA", 1, Roster(reps())).action is Escalation.FLAG
    no_team = r.escalate(None, None, Roster(reps()))
    assert (no_team.action, no_team.flagged) == (Escalation.FLAG, None)


@given(st.lists(st.sampled_from(["United States", "Canada", "Brazil"]), max_size=40))
def test_round_robin_without_caps_is_fair(countries: list[str]) -> None:
    roster = Roster(reps())
    r = router()
    for pid, country in enumerate(countries):
        r.route(lead(pid, country), roster)
    counts = [roster.load.get(i, 0) for i in (1, 2, 3)]
    assert max(counts) - min(counts) <= 1
    assert sum(counts) == len(countries)


@pytest.mark.parametrize("method", ["round_robin", "least_loaded"])
def test_unknown_team_in_the_store_falls_back_with_a_reason(method: str) -> None:
    r = router(
        teams=[{"name": "Ghosts", "method": method}], rules=[{"name": "all", "team": "Ghosts"}]
    )
    decision = r.route(lead(1), Roster(reps()))
    assert decision.queue == "unassigned"
    assert "team Ghosts has no active reps (rep)" in decision.reason
