"""The column-wise engine: many people's activities at once, exactly what `Engine.process`
gives event by event (the scalar engine stays the reference; a property test compares them
on random histories, transition by transition and score change by score change).

Why: processing a store spends most of its time on per-event Python (an `Event` object,
its order key, the score update, a `ScoreChange`, the lifecycle's look-ups), while most
events move nobody. So the work is split:

1. Scoring, vectorised across people by event position: the k-th activity of every person
   is applied in one numpy step, in the order and with the float operations the scalar
   engine uses (`v · 0.5^((t − u)·rate) + points`, rule after rule), so every value is
   bit-for-bit the scalar one. The power itself is Python's `0.5 ** x` (C `pow`) per
   element: numpy's vectorised `power` rounds differently on some inputs (measured: 5% of
   random exponents differ in the last bit), which would break the exactness.
2. Where the lifecycle can act: for each stage and activity, whether any transition that
   can leave the stage on such an input might hold, judged from columns (the score's
   ceiling against its thresholds, the person's fit and fields, the time since the last
   engagement, attribute filters). Each test is a sufficient reason for "does not hold"
   that the scalar conditions agree with (`conditions.Shape`).
3. The scalar lifecycle, run only at those activities (and at timers due before them),
   on a state set from the columns to exactly what the scalar engine would hold there.

Models with capped behaviour rules or counted activity windows (`activity … within`) are
not handled here (`supports` says so); callers use the scalar engine for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from revmachine.engine.collector import cyclic_gc_paused
from revmachine.engine.inputs import Event
from revmachine.engine.instants import from_micros
from revmachine.engine.journey import Engine, OutOfOrderInput
from revmachine.engine.lifecycle import CompiledTransition
from revmachine.engine.records import Transition
from revmachine.engine.scoring import PERMANENT, CompiledBehaviorRule
from revmachine.engine.state import JourneyState

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

NEVER = -(1 << 62)  # "no time yet" (an engagement, an anchor) in int64 columns
EVENT_RANK = 2  # an activity's rank in the order key (engine/inputs.py)


@dataclass
class ActivityColumns:
    """Activities of several people, one entry per activity, sorted by owner, then time,
    then event id (the engine's order within one instant)."""

    owner: Ints  # index of the person's state in the list given with the columns
    t: Ints  # occurred_at, microseconds since the epoch
    type: list[str]
    event_id: list[str]
    attributes: list[Mapping[str, Any]]
    program: list[str | None]

    def __len__(self) -> int:
        return len(self.type)


@dataclass
class ColumnResult:
    """Per person (in the order of the states given) their transitions; the score changes
    as columns, one row per scoring activity, in input order."""

    transitions: list[list[Transition]]
    owner: Ints
    t: Ints
    fit: Floats
    behavior: Floats
    total: Floats
    rule: list[str]
    reason: list[str]
    event_id: list[str]


def supports(engine: Engine) -> bool:
    """Whether the column-wise engine handles this model (no caps, no activity windows)."""
    return engine.scoring.cap_slots == 0 and not engine.lifecycle.window_sizes


def halvings(exponents: Floats) -> Floats:
    """`0.5 ** x` per element, as Python (and so the scalar engine) computes it."""
    return np.array([0.5**x for x in exponents.tolist()], dtype=np.float64)


def process_columns(
    engine: Engine, states: Sequence[JourneyState], acts: ActivityColumns
) -> ColumnResult:
    """Apply each person's activities to their state, as `engine.process(state, events)`
    would: the states are updated in place. Each person's activities must all come after
    what their state has seen (`OutOfOrderInput`)."""
    if not supports(engine):
        raise ValueError("the column-wise engine does not handle caps or activity windows")
    with cyclic_gc_paused():
        return _process(engine, states, acts)


def _process(engine: Engine, states: Sequence[JourneyState], acts: ActivityColumns) -> ColumnResult:
    n, people = len(acts), len(states)
    owner, t = acts.owner, acts.t
    for state in states:
        engine._check_version(state)
    _check_order(states, acts)
    counts = np.bincount(owner, minlength=people).astype(np.int64)
    starts = np.cumsum(counts) - counts
    scoring, lifecycle = engine.scoring, engine.lifecycle
    rates = scoring.rates
    groups = len(rates)

    # 1. the awards of each activity (rule filters run once per event only where a rule has
    # one), as up to `depth` (group, points) pairs applied in the order of the rules
    codes: dict[str, int] = {}
    type_code = np.array([codes.setdefault(x, len(codes)) for x in acts.type], dtype=np.int64)
    index_of = {x: np.flatnonzero(type_code == c) for x, c in codes.items()}
    patterns: dict[tuple[str, tuple[CompiledBehaviorRule, ...]], int] = {}
    pattern_of = np.empty(n, dtype=np.int64)
    for type_, ix in index_of.items():
        rules = scoring.rules_by_type.get(type_, ())
        if not any(r.match is not None for r in rules):
            pattern_of[ix] = patterns.setdefault((type_, rules), len(patterns))
            continue
        for i in ix.tolist():
            attributes, program = acts.attributes[i], acts.program[i]
            kept = tuple(r for r in rules if r.match is None or r.match(attributes, program))
            pattern_of[i] = patterns.setdefault((type_, kept), len(patterns))
    keys = list(patterns)
    depth = max((len(rules) for _, rules in keys), default=0)
    rule_group = np.full((depth, len(keys)), -2, dtype=np.int64)
    rule_points = np.zeros((depth, len(keys)), dtype=np.float64)
    for q, (_, rules) in enumerate(keys):
        for j, rule in enumerate(rules):
            rule_group[j, q], rule_points[j, q] = rule.group, rule.points
    described = [
        engine.describe_awards(type_, [(r, r.points) for r in rules]) for type_, rules in keys
    ]
    scores = np.array([bool(rules) for _, rules in keys], dtype=np.bool_)[pattern_of]

    # 2. scoring by position: the k-th activity of every person in one step
    value = [np.array([s.score.values[g] for s in states], dtype=np.float64) for g in range(groups)]
    updated = [
        np.array([s.score.updated[g] for s in states], dtype=np.int64) for g in range(groups)
    ]
    permanent = np.array([s.score.permanent for s in states], dtype=np.float64)
    fit = np.array([s.score.fit for s in states], dtype=np.float64)
    engaged_at = np.array(
        [NEVER if s.last_engagement_at is None else s.last_engagement_at for s in states],
        dtype=np.int64,
    )
    initial = (
        [v.copy() for v in value],
        [u.copy() for u in updated],
        permanent.copy(),
        engaged_at.copy(),
    )
    ignored = lifecycle.ignored_activity_types
    engaging = np.array([x not in ignored for x in codes], dtype=np.bool_)
    engagement = engaging[type_code] if n else np.zeros(0, dtype=np.bool_)
    value_after = [np.empty(n, dtype=np.float64) for _ in range(groups)]
    updated_after = [np.empty(n, dtype=np.int64) for _ in range(groups)]
    permanent_after = np.empty(n, dtype=np.float64)
    engaged_before = np.empty(n, dtype=np.int64)
    engaged_after = np.empty(n, dtype=np.int64)
    position = np.arange(n, dtype=np.int64) - starts[owner]
    by_position = np.argsort(position, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(position))))
    groups_of = [rule_group[j][pattern_of] for j in range(depth)]
    points_of = [rule_points[j][pattern_of] for j in range(depth)]
    for k in range(len(bounds) - 1):
        e = by_position[bounds[k] : bounds[k + 1]]
        p, te = owner[e], t[e]
        for j in range(depth):
            gj = groups_of[j][e]
            for g in range(groups):
                m = gj == g
                if m.any():
                    em, pm = e[m], p[m]
                    exponent = (te[m] - updated[g][pm]) * rates[g]
                    value[g][pm] = value[g][pm] * halvings(exponent) + points_of[j][em]
                    updated[g][pm] = te[m]
            m = gj == PERMANENT
            if m.any():
                pm = p[m]
                permanent[pm] = permanent[pm] + points_of[j][e[m]]
        for g in range(groups):
            value_after[g][e] = value[g][p]
            updated_after[g][e] = updated[g][p]
        permanent_after[e] = permanent[p]
        engaged_before[e] = engaged_at[p]
        engaged_at[p] = np.where(engagement[e], te, engaged_at[p])
        engaged_after[e] = engaged_at[p]

    # the score right after each scoring activity, as `behavior_at` computes it
    changed = np.flatnonzero(scores)
    behavior = permanent_after[changed].copy()
    for g in range(groups):
        age = t[changed] - updated_after[g][changed]
        factor = np.ones(len(changed), dtype=np.float64)
        late = age != 0  # 0.5 ** 0.0 is exactly 1.0
        factor[late] = halvings(age[late] * rates[g])
        behavior = behavior + value_after[g][changed] * factor
    changed_fit = fit[owner[changed]]

    # 3. where each stage's transitions might fire
    ceiling = permanent_after.copy()
    for g in range(groups):
        ceiling = ceiling + np.where(value_after[g] > 0.0, value_after[g], 0.0)
    entered = np.array(
        [NEVER if s.stage_entered_at is None else s.stage_entered_at for s in states],
        dtype=np.int64,
    )
    anchor_before = np.maximum(engaged_before, entered[owner])  # ≤ the true anchor
    anchor_at = np.where(engagement, t, anchor_before)
    # a stage's timer can fall due before an activity only that long after the anchor
    since_anchor = t - anchor_before
    columns = _Columns(states, acts, owner, t, fit, ceiling, anchor_at)
    stage_codes = {name: code for code, name in enumerate(lifecycle.stages)}
    following: list[Ints] = []
    due: list[list[bool] | None] = []  # per stage with timers: may one fall due before
    for stage in lifecycle.stages:
        timers = lifecycle.timers[stage]
        timer_due = since_anchor >= min(timers) if timers else np.zeros(n, dtype=np.bool_)
        due.append(timer_due.tolist() if timers else None)
        active = timer_due
        for type_, ix in index_of.items():
            key = (Event, type_)
            tried = lifecycle._candidates[stage].get(key)
            if tried is None:
                tried = lifecycle._index(stage, key)
            if tried:
                quiet = np.ones(len(ix), dtype=np.bool_)
                for transition in tried:
                    quiet &= columns.cannot_hold(transition, ix)
                active[ix] |= ~quiet
        at = np.where(active, np.arange(n, dtype=np.int64), n)
        following.append(np.minimum.accumulate(at[::-1])[::-1])

    # 4. the scalar lifecycle at those activities
    transitions: list[list[Transition]] = []
    state_at = _StateAt(initial, value_after, updated_after, permanent_after, engaged_after)
    times = t.tolist()
    entry = stage_codes[lifecycle.entry]
    for k, state in enumerate(states):
        out: list[Transition] = []
        transitions.append(out)
        a = int(starts[k])
        b = a + int(counts[k])
        if a == b:
            continue
        i = a
        if state.stage is None:  # seen for the first time: enters the cycle at once
            state.watermark = (times[a], EVENT_RANK, acts.event_id[a])
            lifecycle.enter(state, times[a], out)
            if following[entry][a] != a:  # and the activity moves them no further
                i = a + 1
        while i < b:
            assert state.stage is not None
            code = stage_codes[state.stage]
            j = int(following[code][i])
            if j >= b:
                break
            tj = times[j]
            stage_due = due[code]
            if stage_due is not None and stage_due[j]:
                state_at.set(state, k, j - 1 if j > a else None)
                lifecycle.fire_timers(state, tj, out)
            state.watermark = (tj, EVENT_RANK, acts.event_id[j])
            state_at.set(state, k, j)
            event = Event(
                acts.event_id[j], acts.type[j], from_micros(tj), acts.attributes[j], acts.program[j]
            )
            lifecycle.evaluate(state, tj, event, out)
            i = j + 1
        state_at.set(state, k, b - 1)
        state.watermark = (times[b - 1], EVENT_RANK, acts.event_id[b - 1])

    return ColumnResult(
        transitions=transitions,
        owner=owner[changed],
        t=t[changed],
        fit=changed_fit,
        behavior=behavior,
        total=changed_fit + behavior,
        rule=[described[p][0] for p in pattern_of[changed].tolist()],
        reason=[described[p][1] for p in pattern_of[changed].tolist()],
        event_id=[acts.event_id[i] for i in changed.tolist()],
    )


def _check_order(states: Sequence[JourneyState], acts: ActivityColumns) -> None:
    """What `Engine.process` refuses: an activity not after the state's watermark, or two
    with the same order key (the columns are sorted, so only neighbours can tie)."""
    owner, t, ids = acts.owner, acts.t, acts.event_id
    n = len(acts)
    if n > 1 and bool(np.any(np.diff(owner) < 0)):
        raise ValueError("activity columns must be sorted by owner")
    first: list[int] = (
        np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1]))).tolist() if n else []
    )
    for i in first:
        mark = states[int(owner[i])].watermark
        key = (int(t[i]), EVENT_RANK, ids[i])
        if mark is not None and key <= mark:
            raise OutOfOrderInput(key, mark)
    for i in np.flatnonzero((owner[1:] == owner[:-1]) & (t[1:] <= t[:-1])).tolist():
        before = (int(t[i]), EVENT_RANK, ids[i])
        key = (int(t[i + 1]), EVENT_RANK, ids[i + 1])
        if key <= before:
            raise OutOfOrderInput(key, before)


class _Columns:
    """Tests of "this transition cannot fire here" over a set of activities of one type."""

    def __init__(
        self,
        states: Sequence[JourneyState],
        acts: ActivityColumns,
        owner: Ints,
        t: Ints,
        fit: Floats,
        ceiling: Floats,
        anchor_at: Ints,
    ) -> None:
        self.states, self.acts, self.owner, self.t = states, acts, owner, t
        self.fit, self.ceiling, self.anchor_at = fit, ceiling, anchor_at
        self._people: dict[int, Bools] = {}  # id(person test) → holds, per person

    def cannot_hold(self, transition: CompiledTransition, ix: Ints) -> Bools:
        out = np.zeros(len(ix), dtype=np.bool_)
        for condition in transition.compiled:
            shape = condition.shape
            if shape.bounds is not None:
                fit_bound, behavior_bound, total_bound = shape.bounds
                fit = self.fit[self.owner[ix]]
                ceiling = self.ceiling[ix]
                out |= (
                    (fit < fit_bound) | (ceiling < behavior_bound) | (fit + ceiling < total_bound)
                )
            if shape.quiet is not None:
                out |= (self.t[ix] - self.anchor_at[ix]) < shape.quiet
            if shape.person is not None:
                holds = self._people.get(id(shape.person))
                if holds is None:
                    test = shape.person
                    holds = np.array([bool(test(s.facts)) for s in self.states], dtype=np.bool_)
                    self._people[id(shape.person)] = holds
                out |= ~holds[self.owner[ix]]
            if shape.match is not None:
                match, acts = shape.match, self.acts
                out |= ~np.array(
                    [match(acts.attributes[i], acts.program[i]) for i in ix.tolist()],
                    dtype=np.bool_,
                )
        return out


class _StateAt:
    """Sets a person's state to what the scalar engine holds right after one of their
    activities (or before the first): the score's sums and times, the last engagement.
    The columns are held as Python lists: a person's state is set at every activity the
    lifecycle looks at, and list items cost a fraction of numpy scalars."""

    def __init__(
        self,
        initial: tuple[list[Floats], list[Ints], Floats, Ints],
        value: list[Floats],
        updated: list[Ints],
        permanent: Floats,
        engaged: Ints,
    ) -> None:
        value0, updated0, permanent0, engaged0 = initial
        self.before = (
            [list(z) for z in zip(*(v.tolist() for v in value0), strict=True)],
            [list(z) for z in zip(*(u.tolist() for u in updated0), strict=True)],
            permanent0.tolist(),
            engaged0.tolist(),
        )
        self.value = [v.tolist() for v in value]
        self.updated = [u.tolist() for u in updated]
        self.permanent = permanent.tolist()
        self.engaged = engaged.tolist()

    def set(self, state: JourneyState, k: int, i: int | None) -> None:
        score = state.score
        if i is None:
            values, updated, permanent, engaged = self.before
            score.values = list(values[k])
            score.updated = list(updated[k])
            score.permanent = permanent[k]
            last = engaged[k]
        else:
            score.values = [v[i] for v in self.value]
            score.updated = [u[i] for u in self.updated]
            score.permanent = self.permanent[i]
            last = self.engaged[i]
        state.last_engagement_at = None if last == NEVER else last
