"""Why a score is what it is: the list of rule contributions, each decayed to `as_of`.

The explanation replays the person's inputs up to `as_of` through the very same scoring
code as the incremental engine (caps included), recording each award; a contribution's
value is its points times 0.5^((as_of − occurred_at) / half_life). The values add up to
the score (to rounding; the engine's stored sum folds the same terms in another order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from revmachine.engine.facts import PersonFacts
from revmachine.engine.inputs import Event, FactsChanged, Input, in_order
from revmachine.engine.instants import from_micros, to_micros
from revmachine.engine.scoring import Award, CompiledScoring


@dataclass(frozen=True, slots=True)
class Contribution:
    rule: str
    kind: str  # "fit" or "behavior"
    event_id: str | None  # None for fit rules, which follow from fields rather than events
    occurred_at: dt.datetime | None
    points: float  # as awarded (after caps)
    value: float  # as of the explanation's time (after decay)


@dataclass(frozen=True, slots=True)
class ScoreExplanation:
    as_of: dt.datetime
    fit: float
    behavior: float
    contributions: tuple[Contribution, ...]

    @property
    def total(self) -> float:
        return self.fit + self.behavior


def explain_score(
    scoring: CompiledScoring, facts: PersonFacts, inputs: Iterable[Input], as_of: dt.datetime
) -> ScoreExplanation:
    t_end = to_micros(as_of)
    state = scoring.new_state(facts)
    behavior: list[Contribution] = []
    for (t, _, _), item in in_order(inputs):
        if t > t_end:
            break
        if isinstance(item, FactsChanged):
            facts = item.facts
            state.fit = scoring.fit_of(facts)
        elif isinstance(item, Event):
            awards: list[Award] = []
            scoring.apply_activity(state, item.type, t, item.attributes, item.program, awards)
            for rule, points in awards:
                value = points * 0.5 ** ((t_end - t) * rule.rate) if rule.group >= 0 else points
                behavior.append(
                    Contribution(
                        rule.name, "behavior", item.event_id, from_micros(t), points, value
                    )
                )
    fit = [
        Contribution(name, "fit", None, None, points, points)
        for name, points in scoring.fit_contributions(facts)
    ]
    score = scoring.score_at(state, t_end)
    return ScoreExplanation(as_of, score.fit, score.behavior, (*fit, *behavior))
