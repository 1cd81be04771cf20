"""The scoring engine: fit from predicates, behaviour with decay, caps and negative rules.

Behaviour is a sum of decayed contributions, value(t) = Σ points · 0.5^((t − tᵢ) / half_life).
Because every contribution of a half-life group decays by the same factor, the sum can be
kept as one number per group plus the time it was last brought up to date; a new event
decays it to its own time and adds its points (O(1) per event), and reading the score at a
later time decays once more. Rules that never decay keep a plain running sum. Caps count
what a rule awarded in the current calendar period (UTC day, ISO week or month).

This module is the hot path of scoring (the bench target is ≥ 500,000 events/s): rules are
compiled to slotted objects, dispatched by activity type through one dict, and attribute
filters are skipped entirely when a rule has none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from revmachine.config.scoring import BehaviorRule, ScoringModel
from revmachine.engine.facts import PersonFacts
from revmachine.engine.instants import PERIOD_INDEX, Micros, span_micros
from revmachine.engine.predicates import AttributeTest, PersonTest, compile_attribute_filters
from revmachine.engine.predicates import compile_predicate as _compile_predicate

NO_WINDOW = -(1 << 62)  # a cap slot that has counted nothing yet
PERMANENT = -1  # the group of rules whose points never fade


class AsOfBeforeUpdate(ValueError):
    """A score was asked for before the state's last update; replay the history instead."""


@dataclass(frozen=True, slots=True)
class Score:
    fit: float
    behavior: float

    @property
    def total(self) -> float:
        return self.fit + self.behavior


@dataclass(slots=True)
class ScoreState:
    """A person's score, kept incrementally: O(1) to update, O(groups) to read."""

    fit: float
    values: list[float]  # one decaying sum per half-life group, as of `updated[g]`
    updated: list[Micros]
    permanent: float
    cap_window: list[int]  # per capped rule: the period being counted
    cap_points: list[float]  # … the points it awarded in that period
    cap_times: list[int]  # … and how many times


class CompiledBehaviorRule:
    __slots__ = (
        "cap_points",
        "cap_slot",
        "cap_times",
        "group",
        "match",
        "name",
        "period",
        "points",
        "rate",
    )

    def __init__(
        self,
        rule: BehaviorRule,
        group: int,
        rate: float,
        cap_slot: int,
        match: AttributeTest | None,
    ) -> None:
        self.name = rule.name
        self.points = rule.points
        self.group = group
        self.rate = rate  # 1 / half-life in microseconds (0 for permanent rules)
        self.match = match
        self.cap_slot = cap_slot  # -1: no cap
        self.cap_points = rule.cap.points if rule.cap and rule.cap.points else math.inf
        self.cap_times = rule.cap.times if rule.cap and rule.cap.times else 1 << 62
        self.period: Callable[[Micros], int] = PERIOD_INDEX[rule.cap.per] if rule.cap else _never


@dataclass(frozen=True, slots=True)
class CompiledFitRule:
    name: str
    points: float
    test: PersonTest


Award = tuple[CompiledBehaviorRule, float]  # a rule and the points it actually awarded


class CompiledScoring:
    """Scoring rules ready to run; build with `compile_scoring`."""

    def __init__(self, model: ScoringModel) -> None:
        lists = model.lists
        self.fit_rules = tuple(
            CompiledFitRule(r.name, r.points, _compile_predicate(r.when, lists))
            for r in model.fit.rules
        )
        half_lives: list[int] = []
        by_type: dict[str, list[CompiledBehaviorRule]] = {}
        caps = 0
        for rule in model.behavior.rules:
            group, rate = PERMANENT, 0.0
            if rule.decay:
                half_life = span_micros(rule.half_life or model.behavior.half_life)
                if half_life not in half_lives:
                    half_lives.append(half_life)
                group, rate = half_lives.index(half_life), 1.0 / half_life
            slot = caps if rule.cap else -1
            caps += rule.cap is not None
            match = compile_attribute_filters(rule.where, rule.program, lists)
            compiled = CompiledBehaviorRule(rule, group, rate, slot, match)
            by_type.setdefault(rule.activity, []).append(compiled)
        self.rules_by_type: dict[str, tuple[CompiledBehaviorRule, ...]] = {
            t: tuple(rules) for t, rules in by_type.items()
        }
        self.rates = tuple(1.0 / h for h in half_lives)
        self.cap_slots = caps

    def new_state(self, facts: PersonFacts | None = None) -> ScoreState:
        groups = len(self.rates)
        return ScoreState(
            fit=self.fit_of(facts) if facts is not None else 0.0,
            values=[0.0] * groups,
            updated=[0] * groups,
            permanent=0.0,
            cap_window=[NO_WINDOW] * self.cap_slots,
            cap_points=[0.0] * self.cap_slots,
            cap_times=[0] * self.cap_slots,
        )

    def fit_contributions(self, facts: PersonFacts) -> list[tuple[str, float]]:
        return [(r.name, r.points) for r in self.fit_rules if r.test(facts)]

    def fit_of(self, facts: PersonFacts) -> float:
        return math.fsum(r.points for r in self.fit_rules if r.test(facts))

    def apply_activity(
        self,
        state: ScoreState,
        type_: str,
        t: Micros,
        attributes: Mapping[str, Any],
        program: str | None,
        awards: list[Award] | None = None,
    ) -> float:
        """Score one activity at time `t` (not before the state's last update); returns the
        points awarded and, when `awards` is given, appends each rule's award to it."""
        rules = self.rules_by_type.get(type_)
        if rules is None:
            return 0.0
        gained = 0.0
        for rule in rules:
            match = rule.match
            if match is not None and not match(attributes, program):
                continue
            points = rule.points
            if rule.cap_slot >= 0:
                points = _capped(rule, state, t)
                if points == 0.0:
                    continue
            group = rule.group
            if group < 0:
                state.permanent += points
            else:
                values = state.values
                updated = state.updated
                values[group] = values[group] * 0.5 ** ((t - updated[group]) * rule.rate) + points
                updated[group] = t
            gained += points
            if awards is not None:
                awards.append((rule, points))
        return gained

    def behavior_at(self, state: ScoreState, t: Micros) -> float:
        total = state.permanent
        updated = state.updated
        values = state.values
        for g, rate in enumerate(self.rates):
            if t < updated[g]:
                raise AsOfBeforeUpdate("the score was updated after the time asked for")
            total += values[g] * 0.5 ** ((t - updated[g]) * rate)
        return total

    def behavior_ceiling(self, state: ScoreState) -> float:
        """A bound that `behavior_at` never exceeds at any time from the last update on
        until the next activity: positive sums only fade and negative ones stay below 0.
        In floats too: each decayed term rounds to at most its bound (0.5**x ≤ 1, rounding
        is monotonic) and the terms are added in the same order. No power to compute."""
        total = state.permanent
        for value in state.values:
            if value > 0.0:
                total += value
        return total

    def score_at(self, state: ScoreState, t: Micros) -> Score:
        return Score(state.fit, self.behavior_at(state, t))


def _never(t: Micros) -> int:
    return 0


def _capped(rule: CompiledBehaviorRule, state: ScoreState, t: Micros) -> float:
    """The points a capped rule may still award in the period containing `t`."""
    slot = rule.cap_slot
    window = rule.period(t)
    if state.cap_window[slot] != window:
        state.cap_window[slot] = window
        state.cap_points[slot] = 0.0
        state.cap_times[slot] = 0
    if state.cap_times[slot] >= rule.cap_times:
        return 0.0
    magnitude = min(abs(rule.points), rule.cap_points - state.cap_points[slot])
    if magnitude <= 0.0:
        return 0.0
    state.cap_times[slot] += 1
    state.cap_points[slot] += magnitude
    return math.copysign(magnitude, rule.points)


def compile_scoring(model: ScoringModel) -> CompiledScoring:
    return CompiledScoring(model)
