"""What the engines produce: stage transitions and score changes, ready to append to history.

Both carry the rule that caused them and the model version it belonged to, so any stage or
score shown anywhere can be traced to the rule (and the YAML) behind it. They map one to
one onto the store's `stage_transitions` and `score_changes` rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ENTRY_RULE = "entry"  # the rule name of a person's first stage (from_stage is None)


@dataclass(frozen=True, slots=True)
class Transition:
    person_id: int
    from_stage: str | None
    to_stage: str
    occurred_at: dt.datetime
    rule: str
    model_version: str
    reason: str


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """The score right after an input changed it (behaviour as of that instant)."""

    person_id: int
    occurred_at: dt.datetime
    fit: float
    behavior: float
    total: float
    rule: str  # the rule names that awarded points, comma separated
    event_id: str
    model_version: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProcessResult:
    transitions: tuple[Transition, ...] = ()
    score_changes: tuple[ScoreChange, ...] = ()

    def __add__(self, other: ProcessResult) -> ProcessResult:
        return ProcessResult(
            self.transitions + other.transitions, self.score_changes + other.score_changes
        )
