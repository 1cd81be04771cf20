"""Pure engines of the revenue model: scoring (fit and decaying behaviour) and lifecycle.

No database, no clock: time is a parameter, inputs are plain values, outputs are records
for the caller to append to history. `Engine` is the entry point; the compiled parts
(`CompiledScoring`, `CompiledLifecycle`) are usable on their own (bench, what-if).
"""

from revmachine.engine.bench import score_activities, synthetic_activities
from revmachine.engine.explain import Contribution, ScoreExplanation, explain_score
from revmachine.engine.facts import AccountFacts, PersonFacts
from revmachine.engine.inputs import (
    Event,
    FactsChanged,
    Input,
    OpportunityEvent,
    SalesDecision,
    order_key,
)
from revmachine.engine.journey import Engine, ModelMismatch, OutOfOrderInput, Replay
from revmachine.engine.lifecycle import CompiledLifecycle, compile_lifecycle
from revmachine.engine.records import ProcessResult, ScoreChange, Transition
from revmachine.engine.scoring import (
    AsOfBeforeUpdate,
    CompiledScoring,
    Score,
    ScoreState,
    compile_scoring,
)
from revmachine.engine.state import JourneyState, from_dict, to_dict

__all__ = [
    "AccountFacts",
    "AsOfBeforeUpdate",
    "CompiledLifecycle",
    "CompiledScoring",
    "Contribution",
    "Engine",
    "Event",
    "FactsChanged",
    "Input",
    "JourneyState",
    "ModelMismatch",
    "OpportunityEvent",
    "OutOfOrderInput",
    "PersonFacts",
    "ProcessResult",
    "Replay",
    "SalesDecision",
    "Score",
    "ScoreChange",
    "ScoreExplanation",
    "ScoreState",
    "Transition",
    "compile_lifecycle",
    "compile_scoring",
    "explain_score",
    "from_dict",
    "order_key",
    "score_activities",
    "synthetic_activities",
    "to_dict",
]
