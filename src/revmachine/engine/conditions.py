"""Transition conditions compiled into evaluators: one compiler per condition kind.

`CONDITION_KINDS` is the visible table of every kind (the keys of a `when:` item in
revenue_model.yml). An evaluator answers, at an instant `t` and for the input being
processed (`trigger`, None when a timer fires), either None (does not hold) or a short
reason that the transition records. Conditions read the journey state but never change it;
the activity windows they count are kept up to date by the lifecycle engine through the
`WindowTracker`s that compiling registers.

Some conditions can only hold for one kind of input (an activity of a type, an
opportunity event, a sales decision): each compiled condition says so with `can_fire_on`,
a test of the input's `trigger_key`, which lets the lifecycle engine index a stage's
transitions by the inputs that can fire them (most inputs then try none or one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from revmachine.config.durations import format_duration
from revmachine.config.revenue_model import Condition, ScoreThreshold
from revmachine.engine.facts import PersonFacts
from revmachine.engine.inputs import Event, Input, OpportunityEvent, SalesDecision
from revmachine.engine.instants import Micros, span_micros
from revmachine.engine.predicates import (
    AttributeTest,
    compile_attribute_filters,
    compile_predicate,
    describe_predicate,
)
from revmachine.engine.scoring import CompiledScoring
from revmachine.engine.state import JourneyState


class Evaluator(Protocol):
    def __call__(self, state: JourneyState, t: Micros, trigger: Input | None) -> str | None: ...


# What kind of input a trigger is: (input class, activity type / opportunity event kind /
# sales decision), or None for a timer. Two inputs with the same key fire the same
# transitions' trigger conditions, up to their attribute filters and reasons.
TriggerKey = tuple[type, str] | None


def trigger_key(trigger: Input | None) -> TriggerKey:
    if trigger is None:
        return None
    if isinstance(trigger, Event):
        return (Event, trigger.type)
    if isinstance(trigger, OpportunityEvent):
        return (OpportunityEvent, trigger.kind)
    if isinstance(trigger, SalesDecision):
        return (SalesDecision, trigger.decision)
    return (type(trigger), "")


def _any_input(key: TriggerKey) -> bool:
    return True


@dataclass(frozen=True)
class Shape:
    """What a condition tests, for the column-wise engine (`engine/columns.py`) to tell,
    for whole columns of activities at once, where the condition cannot hold. Each field
    is a sufficient reason for "does not hold" that `evaluate` agrees with; a condition
    with no shape is assumed to hold."""

    # score: does not hold when fit < bounds[0], or ceiling < bounds[1], or
    # fit + ceiling < bounds[2] (the same shortcut `evaluate` takes)
    bounds: tuple[float, float, float] | None = None
    quiet: Micros | None = None  # no_engagement: does not hold within `quiet` of the anchor
    person: Callable[[PersonFacts], bool] | None = None  # person: holds only when true
    match: AttributeTest | None = None  # activity: holds only when its filter matches
    windowed: bool = False  # counts activity windows (the column-wise engine leaves these)


@dataclass(frozen=True)
class CompiledCondition:
    evaluate: Evaluator
    # False when no input with that key can make the condition hold (whatever the state)
    can_fire_on: Callable[[TriggerKey], bool] = _any_input
    shape: Shape = field(default_factory=Shape)


@dataclass(frozen=True)
class WindowTracker:
    """Keeps the times of the last `count` matching activities in `state.windows[slot]`."""

    slot: int
    types: frozenset[str] | None  # None: any engagement activity
    match: AttributeTest | None
    count: int


@dataclass
class CompileContext:
    thresholds: Mapping[str, ScoreThreshold]
    lists: Mapping[str, Sequence[str]]
    scoring: CompiledScoring
    is_engagement: Callable[[str], bool]
    trackers: list[WindowTracker] = field(default_factory=list)
    inactivity: list[Micros] = field(default_factory=list)  # of the transition being compiled


def _score(condition: Condition, ctx: CompileContext) -> CompiledCondition:
    spec = condition.score
    threshold = ctx.thresholds[spec] if isinstance(spec, str) else spec
    assert threshold is not None
    label = f"score {spec}: " if isinstance(spec, str) else "score: "
    minimums = [
        (name, bound)
        for name, bound in (
            ("fit", threshold.fit),
            ("behavior", threshold.behavior),
            ("total", threshold.total),
        )
        if bound is not None
    ]
    behavior_at = ctx.scoring.behavior_at
    behavior_ceiling = ctx.scoring.behavior_ceiling
    fit_bound, behavior_bound, total_bound = (
        -math.inf if bound is None else bound
        for bound in (threshold.fit, threshold.behavior, threshold.total)
    )

    def holds(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        # Checked after nearly every input: plain comparisons, the reason only on success.
        fit = state.score.fit
        if fit < fit_bound:
            return None
        if behavior_bound > -math.inf or total_bound > -math.inf:
            # most people, most of the time, are well below the bar: skip the decay
            ceiling = behavior_ceiling(state.score)
            if ceiling < behavior_bound or fit + ceiling < total_bound:
                return None
        behavior = behavior_at(state.score, t)
        if behavior < behavior_bound or fit + behavior < total_bound:
            return None
        values = {"fit": fit, "behavior": behavior, "total": fit + behavior}
        return label + ", ".join(f"{n} {values[n]:.1f} ≥ {b:g}" for n, b in minimums)

    return CompiledCondition(holds, shape=Shape(bounds=(fit_bound, behavior_bound, total_bound)))


def _activity(condition: Condition, ctx: CompileContext) -> CompiledCondition:
    spec = condition.activity
    assert spec is not None
    types = frozenset(spec.types()) or None
    match = compile_attribute_filters(spec.where, spec.program, ctx.lists)
    shown = "/".join(sorted(types)) if types else "engagement"
    if spec.within is None:
        is_engagement = ctx.is_engagement

        def triggered(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
            if not isinstance(trigger, Event):
                return None
            if (trigger.type not in types) if types else not is_engagement(trigger.type):
                return None
            if match is not None and not match(trigger.attributes, trigger.program):
                return None
            return f"{trigger.type} {trigger.event_id}"

        def can_fire_on(key: TriggerKey) -> bool:
            if key is None or key[0] is not Event:
                return False
            return key[1] in types if types else is_engagement(key[1])

        return CompiledCondition(triggered, can_fire_on, Shape(match=match))
    tracker = WindowTracker(len(ctx.trackers), types, match, spec.count)
    ctx.trackers.append(tracker)
    within = span_micros(spec.within)
    reason = f"{spec.count} × {shown} within {format_duration(spec.within)}"

    def windowed(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        times = state.windows[tracker.slot]
        if len(times) >= tracker.count and t - times[0] <= within:
            return reason
        return None

    return CompiledCondition(windowed, shape=Shape(windowed=True))


def _person(condition: Condition, ctx: CompileContext) -> CompiledCondition:
    assert condition.person is not None
    test = compile_predicate(condition.person, ctx.lists)
    shown = describe_predicate(condition.person)
    return CompiledCondition(
        lambda state, t, trigger: shown if test(state.facts) else None, shape=Shape(person=test)
    )


def _opportunity(condition: Condition, ctx: CompileContext) -> CompiledCondition:
    spec = condition.opportunity
    assert spec is not None
    stage = spec.stage.casefold() if spec.stage is not None else None

    def holds(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        if not isinstance(trigger, OpportunityEvent) or trigger.kind is not spec.event:
            return None
        if stage is not None and (trigger.stage or "").casefold() != stage:
            return None
        return f"opportunity {trigger.opportunity_id} {spec.event.value}"

    return CompiledCondition(holds, lambda key: key == (OpportunityEvent, spec.event))


def _sales(condition: Condition, ctx: CompileContext) -> CompiledCondition:
    spec = condition.sales
    assert spec is not None
    reasons = frozenset(r.casefold() for r in spec.reasons) if spec.reasons is not None else None

    def holds(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        if not isinstance(trigger, SalesDecision) or trigger.decision is not spec.decision:
            return None
        if reasons is not None and (trigger.reason or "").casefold() not in reasons:
            return None
        why = f" ({trigger.reason})" if trigger.reason else ""
        return f"sales {spec.decision.value}{why}"

    return CompiledCondition(holds, lambda key: key == (SalesDecision, spec.decision))


def _no_engagement(condition: Condition, ctx: CompileContext) -> CompiledCondition:
    assert condition.no_engagement is not None
    quiet = span_micros(condition.no_engagement)
    ctx.inactivity.append(quiet)
    reason = f"no engagement for {format_duration(condition.no_engagement)}"

    def holds(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        anchor = state.engagement_anchor()
        return reason if anchor is not None and t - anchor >= quiet else None

    return CompiledCondition(holds, shape=Shape(quiet=quiet))


# Every kind of condition, in the order of revmachine.config.revenue_model.CONDITION_KINDS.
CONDITION_KINDS: dict[str, Callable[[Condition, CompileContext], CompiledCondition]] = {
    "score": _score,
    "activity": _activity,
    "person": _person,
    "opportunity": _opportunity,
    "sales": _sales,
    "no_engagement": _no_engagement,
}


def compile_condition(condition: Condition, ctx: CompileContext) -> CompiledCondition:
    return CONDITION_KINDS[condition.kind](condition, ctx)
