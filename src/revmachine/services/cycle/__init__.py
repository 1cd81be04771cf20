"""The revenue model run against the store: processing, explanations and what-if."""

from revmachine.services.cycle.explain import PersonExplanation, UnknownPerson, explain_person
from revmachine.services.cycle.processing import ProcessSummary, process
from revmachine.services.cycle.whatif import (
    ModelFunnel,
    Outcomes,
    ThresholdPoint,
    replay_funnels,
    threshold_curve,
)

__all__ = [
    "ModelFunnel",
    "Outcomes",
    "PersonExplanation",
    "ProcessSummary",
    "ThresholdPoint",
    "UnknownPerson",
    "explain_person",
    "process",
    "replay_funnels",
    "threshold_curve",
]
