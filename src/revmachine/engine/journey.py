"""The engine a caller uses: score and lifecycle together, over one person's inputs.

    engine = Engine(workspace)
    state = engine.new_state(person_id, facts)
    result = engine.process(state, new_inputs)    # transitions and score changes
    result += engine.advance_to(state, now)       # fire timers due by now
    engine.score_at(state, now)                   # decayed score as of now

Processing is incremental: the state carries the stored score and its update times, so each
input costs O(1) whatever the length of the history, and feeding the history in any number
of batches (with `advance_to` between them) gives exactly what one replay of it gives. A
batch must not reach back before what the state has already seen: such an input raises
`OutOfOrderInput`, and the caller replays the person's history instead. The same holds for
a state built under another model version (`ModelMismatch`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from revmachine.config.workspace import Workspace
from revmachine.engine.explain import ScoreExplanation, explain_score
from revmachine.engine.facts import PersonFacts
from revmachine.engine.inputs import TIMER_RANK, Event, FactsChanged, Input, OrderKey, in_order
from revmachine.engine.instants import Micros, from_micros, to_micros
from revmachine.engine.lifecycle import CompiledLifecycle, compile_lifecycle
from revmachine.engine.records import ProcessResult, ScoreChange, Transition
from revmachine.engine.scoring import Award, CompiledScoring, Score, compile_scoring
from revmachine.engine.state import JourneyState


class OutOfOrderInput(ValueError):
    """An input at or before what the state has processed; replay from history instead."""

    def __init__(self, key: OrderKey, watermark: OrderKey) -> None:
        super().__init__(
            f"input {key[2]!r} at {from_micros(key[0]).isoformat()} is not after the last "
            f"processed input {watermark[2]!r} at {from_micros(watermark[0]).isoformat()}"
        )
        self.key = key
        self.watermark = watermark


class ModelMismatch(ValueError):
    """A state built under another model version; replay the history under this one."""


@dataclass(frozen=True)
class Replay:
    state: JourneyState
    result: ProcessResult


class Engine:
    """Compiled revenue model and scoring of one workspace version."""

    def __init__(self, workspace: Workspace) -> None:
        self.version = workspace.version
        self.scoring: CompiledScoring = compile_scoring(workspace.scoring)
        self.lifecycle: CompiledLifecycle = compile_lifecycle(
            workspace.revenue, self.scoring, workspace.scoring.lists, self.version
        )
        # (activity type, awards) → the rule names and reason of its score change: a few
        # distinct ones cover a whole history, and formatting them was a fifth of a replay
        self._described: dict[tuple[str, tuple[Award, ...]], tuple[str, str]] = {}

    def new_state(self, person_id: int, facts: PersonFacts | None = None) -> JourneyState:
        facts = facts if facts is not None else PersonFacts()
        return JourneyState(
            person_id=person_id,
            model_version=self.version,
            facts=facts,
            score=self.scoring.new_state(facts),
            windows=self.lifecycle.new_windows(),
        )

    def process(self, state: JourneyState, inputs: Iterable[Input]) -> ProcessResult:
        """Apply `inputs` (any order within the batch; they are sorted) to `state`."""
        self._check_version(state)
        batch = in_order(inputs)
        previous = state.watermark
        for key, _ in batch:
            if previous is not None and key <= previous:
                raise OutOfOrderInput(key, previous)
            previous = key
        transitions: list[Transition] = []
        changes: list[ScoreChange] = []
        lifecycle = self.lifecycle
        for key, item in batch:
            t = key[0]
            lifecycle.fire_timers(state, t, transitions)
            state.watermark = key
            if state.stage is None:
                lifecycle.enter(state, t, transitions)
            change = self._apply(state, item, t)
            if change is not None:
                changes.append(change)
            lifecycle.evaluate(state, t, item, transitions)
        return ProcessResult(tuple(transitions), tuple(changes))

    def advance_to(self, state: JourneyState, as_of: dt.datetime) -> ProcessResult:
        """Let time pass up to `as_of`: fire the timers due by then. Later inputs must not
        be before `as_of` (they would have come before the timers that fired)."""
        self._check_version(state)
        t = to_micros(as_of)
        transitions: list[Transition] = []
        self.lifecycle.fire_timers(state, t, transitions)
        # The stored score is left as it is: it changes only when an activity scores, so
        # that any split of the history into batches does the same float operations as
        # one replay (decaying here too would round differently and break exactness).
        mark: OrderKey = (t, TIMER_RANK, "")
        if state.watermark is None or mark > state.watermark:
            state.watermark = mark
        return ProcessResult(tuple(transitions))

    def score_at(self, state: JourneyState, as_of: dt.datetime) -> Score:
        """The score as of `as_of`, which must not be before the state's last update."""
        return self.scoring.score_at(state.score, to_micros(as_of))

    def next_deadline(self, state: JourneyState) -> dt.datetime | None:
        """When this person next needs `advance_to` (a `no_engagement` timer), if ever."""
        due = self.lifecycle.next_deadline(state)
        return from_micros(due) if due is not None else None

    def sla_due_at(self, state: JourneyState) -> dt.datetime | None:
        """When the current stage's SLA runs out, for stages that have one."""
        if state.stage is None or state.stage_entered_at is None:
            return None
        sla = self.lifecycle.stages[state.stage].sla
        return from_micros(state.stage_entered_at + sla) if sla is not None else None

    def replay(
        self,
        person_id: int,
        facts: PersonFacts | None,
        inputs: Iterable[Input],
        as_of: dt.datetime | None = None,
    ) -> Replay:
        """Process a person's whole history from scratch (up to `as_of`, timers included)."""
        state = self.new_state(person_id, facts)
        items = list(inputs)
        if as_of is not None:
            items = [i for i in items if i.occurred_at <= as_of]
        result = self.process(state, items)
        if as_of is not None:
            result += self.advance_to(state, as_of)
        return Replay(state, result)

    def explain_score(
        self, facts: PersonFacts | None, inputs: Iterable[Input], as_of: dt.datetime
    ) -> ScoreExplanation:
        return explain_score(self.scoring, facts or PersonFacts(), inputs, as_of)

    def describe_awards(self, activity_type: str, awards: Sequence[Award]) -> tuple[str, str]:
        """The rule names and the reason of the score change an activity's awards make."""
        key = (activity_type, tuple(awards))
        described = self._described.get(key)
        if described is None:
            rules = ", ".join(rule.name for rule, _ in awards)
            reason = ", ".join(f"{rule.name} {points:+g}" for rule, points in awards)
            described = self._described[key] = (rules, f"{activity_type}: {reason}")
        return described

    def _check_version(self, state: JourneyState) -> None:
        if state.model_version != self.version:
            raise ModelMismatch(
                f"state of person {state.person_id} was built under model "
                f"{state.model_version}, not {self.version}; replay the history"
            )

    def _apply(self, state: JourneyState, item: Input, t: Micros) -> ScoreChange | None:
        if isinstance(item, Event):
            awards: list[Award] = []
            self.scoring.apply_activity(
                state.score, item.type, t, item.attributes, item.program, awards
            )
            self.lifecycle.record_activity(state, item, t)
            if not awards:
                return None
            return self._change(
                state, item, t, item.event_id, *self.describe_awards(item.type, awards)
            )
        if isinstance(item, FactsChanged):
            # the same facts object (a person's first FactsChanged carries the facts the
            # state was created with) has the fit already computed
            same = item.facts is state.facts
            state.facts = item.facts
            fit = state.score.fit if same else self.scoring.fit_of(item.facts)
            if fit == state.score.fit:
                return None
            before = state.score.fit
            state.score.fit = fit
            return self._change(state, item, t, item.event_id, "fit", f"fit {before:g} → {fit:g}")
        return None

    def _change(
        self, state: JourneyState, item: Input, t: Micros, event_id: str, rule: str, reason: str
    ) -> ScoreChange:
        score = self.scoring.score_at(state.score, t)
        at = item.occurred_at
        return ScoreChange(
            state.person_id,
            at if at.tzinfo is dt.UTC else from_micros(t),
            score.fit,
            score.behavior,
            score.total,
            rule,
            event_id,
            self.version,
            reason,
        )
