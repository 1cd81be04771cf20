"""Transition conditions compiled into evaluators: one compiler per condition kind.

`CONDITION_KINDS` is the visible table of every kind (the keys of a `when:` item in
revenue_model.yml). An evaluator answers, at an instant `t` and for the input being
processed (`trigger`, None when a timer fires), either None (does not hold) or a short
reason that the transition records. Conditions read the journey state but never change it;
the activity windows they count are kept up to date by the lifecycle engine through the
`WindowTracker`s that compiling registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from revmachine.config.durations import format_duration
from revmachine.config.revenue_model import Condition, ScoreThreshold
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


def _score(condition: Condition, ctx: CompileContext) -> Evaluator:
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
    score_at = ctx.scoring.score_at

    def holds(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        score = score_at(state.score, t)
        values = {"fit": score.fit, "behavior": score.behavior, "total": score.total}
        if all(values[name] >= bound for name, bound in minimums):
            return label + ", ".join(f"{n} {values[n]:.1f} ≥ {b:g}" for n, b in minimums)
        return None

    return holds


def _activity(condition: Condition, ctx: CompileContext) -> Evaluator:
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

        return triggered
    tracker = WindowTracker(len(ctx.trackers), types, match, spec.count)
    ctx.trackers.append(tracker)
    within = span_micros(spec.within)
    reason = f"{spec.count} × {shown} within {format_duration(spec.within)}"

    def windowed(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        times = state.windows[tracker.slot]
        if len(times) >= tracker.count and t - times[0] <= within:
            return reason
        return None

    return windowed


def _person(condition: Condition, ctx: CompileContext) -> Evaluator:
    assert condition.person is not None
    test = compile_predicate(condition.person, ctx.lists)
    shown = describe_predicate(condition.person)
    return lambda state, t, trigger: shown if test(state.facts) else None


def _opportunity(condition: Condition, ctx: CompileContext) -> Evaluator:
    spec = condition.opportunity
    assert spec is not None
    stage = spec.stage.casefold() if spec.stage is not None else None

    def holds(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        if not isinstance(trigger, OpportunityEvent) or trigger.kind is not spec.event:
            return None
        if stage is not None and (trigger.stage or "").casefold() != stage:
            return None
        return f"opportunity {trigger.opportunity_id} {spec.event.value}"

    return holds


def _sales(condition: Condition, ctx: CompileContext) -> Evaluator:
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

    return holds


def _no_engagement(condition: Condition, ctx: CompileContext) -> Evaluator:
    assert condition.no_engagement is not None
    quiet = span_micros(condition.no_engagement)
    ctx.inactivity.append(quiet)
    reason = f"no engagement for {format_duration(condition.no_engagement)}"

    def holds(state: JourneyState, t: Micros, trigger: Input | None) -> str | None:
        anchor = state.engagement_anchor()
        return reason if anchor is not None and t - anchor >= quiet else None

    return holds


# Every kind of condition, in the order of revmachine.config.revenue_model.CONDITION_KINDS.
CONDITION_KINDS: dict[str, Callable[[Condition, CompileContext], Evaluator]] = {
    "score": _score,
    "activity": _activity,
    "person": _person,
    "opportunity": _opportunity,
    "sales": _sales,
    "no_engagement": _no_engagement,
}


def compile_condition(condition: Condition, ctx: CompileContext) -> Evaluator:
    return CONDITION_KINDS[condition.kind](condition, ctx)
