"""The lifecycle engine: the revenue model's stages as a state machine over a person.

At each instant something happens (an input, or a timer falling due) the transitions
leaving the person's stage are tried in the order written; the first whose conditions all
hold moves the person and records a `Transition`. The new stage's transitions are then
tried at the same instant with the same trigger (so one demo request can take someone from
known to mql), except that a stage already visited in this chain is never re-entered,
which bounds the chain by the number of stages and makes back-and-forth impossible.

Timers: a `no_engagement: N` condition on a transition leaving stage S is due at exactly
anchor + N, where anchor is the later of the last engagement and entering S. Due timers
fire before any input at the same instant (they say "N days passed with nothing"), and a
timer fires once per anchor: `timers_checked_until` remembers the last instant one fired.
Because timers fire at those exact instants whether the history is replayed at once or fed
in pieces with `advance_to` in between, both give the same transitions.

Most inputs can fire few of a stage's transitions: a transition that needs a demo request
cannot fire on an email open, nor one that needs a sales decision on a timer. So the
transitions leaving a stage are indexed, lazily, by the inputs' `trigger_key`: for each
key, those whose conditions can all hold on such an input, still in the order written
(so "the first that holds" picks the same one). A typical activity then costs one dict
look-up and the few score checks of the stage.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from revmachine.config.revenue_model import RevenueModel, StageKind
from revmachine.engine.conditions import (
    CompileContext,
    CompiledCondition,
    Evaluator,
    TriggerKey,
    WindowTracker,
    trigger_key,
)
from revmachine.engine.conditions import compile_condition as _compile_condition
from revmachine.engine.inputs import Event, Input
from revmachine.engine.instants import Micros, from_micros, span_micros
from revmachine.engine.predicates import Lists
from revmachine.engine.records import ENTRY_RULE, Transition
from revmachine.engine.scoring import CompiledScoring
from revmachine.engine.state import JourneyState


@dataclass(frozen=True)
class CompiledTransition:
    name: str
    target: str
    conditions: tuple[Evaluator, ...]
    compiled: tuple[CompiledCondition, ...]

    def can_fire_on(self, key: TriggerKey) -> bool:
        return all(c.can_fire_on(key) for c in self.compiled)


@dataclass(frozen=True)
class StageInfo:
    name: str
    kind: StageKind
    sla: Micros | None


class CompiledLifecycle:
    """A revenue model ready to run; build with `compile_lifecycle`."""

    def __init__(
        self, model: RevenueModel, scoring: CompiledScoring, lists: Lists, version: str
    ) -> None:
        self.version = version
        self.entry = model.entry
        self.stages = {
            s.name: StageInfo(s.name, s.kind, span_micros(s.sla) if s.sla else None)
            for s in model.stages
        }
        ignored = frozenset(model.engagement.ignore)
        self.ignored_activity_types = ignored
        ctx = CompileContext(model.thresholds, lists, scoring, self.is_engagement)
        outgoing: dict[str, list[CompiledTransition]] = {name: [] for name in self.stages}
        timers: dict[str, set[Micros]] = {name: set() for name in self.stages}
        for rule in model.transitions:
            ctx.inactivity = []
            conditions = tuple(_compile_condition(c, ctx) for c in rule.when)
            compiled = CompiledTransition(
                rule.name, rule.to, tuple(c.evaluate for c in conditions), conditions
            )
            for source in dict.fromkeys(rule.from_):
                outgoing[source].append(compiled)
                timers[source].update(ctx.inactivity)
        self.outgoing = {name: tuple(ts) for name, ts in outgoing.items()}
        # stage → trigger key → the outgoing transitions such an input can fire, filled
        # on first use (activity types are open-ended)
        self._candidates: dict[str, dict[TriggerKey, tuple[CompiledTransition, ...]]] = {
            name: {} for name in self.stages
        }
        self.timers = {name: tuple(sorted(ds)) for name, ds in timers.items()}
        self.window_sizes = tuple(t.count for t in ctx.trackers)
        self.engagement_trackers = tuple(t for t in ctx.trackers if t.types is None)
        by_type: dict[str, list[WindowTracker]] = {}
        for tracker in ctx.trackers:
            for type_ in tracker.types or ():
                by_type.setdefault(type_, []).append(tracker)
        self.trackers_by_type = {t: tuple(ts) for t, ts in by_type.items()}

    def is_engagement(self, activity_type: str) -> bool:
        return activity_type not in self.ignored_activity_types

    def new_windows(self) -> list[deque[Micros]]:
        return [deque(maxlen=size) for size in self.window_sizes]

    def record_activity(self, state: JourneyState, event: Event, t: Micros) -> None:
        """Note an activity's effect on engagement and on the counted windows."""
        trackers = self.trackers_by_type.get(event.type, ())
        if self.is_engagement(event.type):
            state.last_engagement_at = t
            trackers += self.engagement_trackers
        for tracker in trackers:
            if tracker.match is None or tracker.match(event.attributes, event.program):
                state.windows[tracker.slot].append(t)

    def enter(self, state: JourneyState, t: Micros, out: list[Transition]) -> None:
        """Place a person seen for the first time in the entry stage."""
        self._move(state, self.entry, t, ENTRY_RULE, "first seen", out)

    def next_deadline(self, state: JourneyState) -> Micros | None:
        """When the next `no_engagement` timer of the current stage falls due, if any."""
        anchor = state.engagement_anchor()
        if state.stage is None or anchor is None:
            return None
        checked = state.timers_checked_until
        for quiet in self.timers[state.stage]:
            if checked is None or anchor + quiet > checked:
                return anchor + quiet
        return None

    def fire_timers(self, state: JourneyState, until: Micros, out: list[Transition]) -> None:
        """Fire, in time order, every timer due at or before `until`."""
        if state.stage is None or not self.timers[state.stage]:
            return
        while (due := self.next_deadline(state)) is not None and due <= until:
            state.timers_checked_until = due
            self.evaluate(state, due, None, out)

    def evaluate(
        self, state: JourneyState, t: Micros, trigger: Input | None, out: list[Transition]
    ) -> None:
        """Try the current stage's transitions at `t`, following the chain they start."""
        stage = state.stage
        if stage is None:
            return
        key = trigger_key(trigger)
        tried = self._candidates[stage].get(key)
        if tried is None:
            tried = self._index(stage, key)
        if not tried:  # the common case: nothing leaving the stage reacts to such an input
            return
        visited = {stage}
        while True:
            for transition in tried:
                if transition.target in visited:
                    continue
                reasons = []
                for condition in transition.conditions:
                    reason = condition(state, t, trigger)
                    if reason is None:
                        break
                    reasons.append(reason)
                else:
                    self._move(
                        state, transition.target, t, transition.name, " and ".join(reasons), out
                    )
                    visited.add(transition.target)
                    break
            else:
                return
            stage = transition.target
            tried = self._candidates[stage].get(key) or self._index(stage, key)

    def _index(self, stage: str, key: TriggerKey) -> tuple[CompiledTransition, ...]:
        """The transitions leaving `stage` that an input with `key` can fire, in order."""
        tried = tuple(t for t in self.outgoing[stage] if t.can_fire_on(key))
        self._candidates[stage][key] = tried
        return tried

    def _move(
        self,
        state: JourneyState,
        target: str,
        t: Micros,
        rule: str,
        reason: str,
        out: list[Transition],
    ) -> None:
        out.append(
            Transition(
                state.person_id, state.stage, target, from_micros(t), rule, self.version, reason
            )
        )
        state.stage = target
        state.stage_entered_at = t


def compile_lifecycle(
    model: RevenueModel, scoring: CompiledScoring, lists: Lists, version: str
) -> CompiledLifecycle:
    return CompiledLifecycle(model, scoring, lists, version)
