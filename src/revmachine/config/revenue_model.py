"""`revenue_model.yml`: the stages of the revenue cycle and the rules that move people.

Stages are listed in cycle order. A transition names the stages it leaves (`from`), the
stage it enters (`to`) and conditions that must all hold (`when`); to say "or", write two
transitions, each with its own name, so every stage change records which rule fired.
Transitions leaving the same stage are tried in the order written.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from revmachine.config.durations import Duration
from revmachine.config.predicates import AttributeFilters, Predicate
from revmachine.config.spec import Name, Spec


class StageKind(StrEnum):
    INVENTORY = "inventory"  # people wait here to move on (Known, MQL, SAL, …)
    SUCCESS = "success"  # the cycle reached its goal (Customer, Expansion)
    DETOUR = "detour"  # off the main path (Recycled, Disqualified, Lost)


class Stage(Spec):
    name: Name
    label: str | None = None
    kind: StageKind = StageKind.INVENTORY
    sla: Duration | None = Field(None, description="how long a person should wait here at most")
    description: str | None = None


class ScoreThreshold(Spec):
    """Minimums that must all be reached (score >= threshold)."""

    fit: float | None = None
    behavior: float | None = None
    total: float | None = None

    @model_validator(mode="after")
    def _has_a_minimum(self) -> ScoreThreshold:
        if self.fit is None and self.behavior is None and self.total is None:
            raise ValueError("a threshold needs `fit`, `behavior` or `total`")
        return self


class ActivityCondition(Spec):
    """An activity of a type. Without `within` it is a trigger: the event being processed
    is such an activity. With `within` it is a state: at least `count` such activities
    happened in the last `within`, whatever event is being processed."""

    type: str | list[str] | None = Field(
        None, description="one type or a list; omitted: any engagement activity"
    )
    where: AttributeFilters = Field(default_factory=dict)
    program: str | None = None
    within: Duration | None = None
    count: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _count_needs_window(self) -> ActivityCondition:
        if self.count > 1 and self.within is None:
            raise ValueError("`count` above 1 needs a `within` window, such as 14d")
        return self

    def types(self) -> tuple[str, ...]:
        if self.type is None:
            return ()
        return (self.type,) if isinstance(self.type, str) else tuple(self.type)


class OpportunityEventKind(StrEnum):
    CREATED = "created"
    STAGE_REACHED = "stage_reached"
    WON = "won"
    LOST = "lost"


class OpportunityCondition(Spec):
    event: OpportunityEventKind
    stage: str | None = Field(None, description="the CRM stage, for `stage_reached` only")

    @model_validator(mode="after")
    def _stage_only_when_reached(self) -> OpportunityCondition:
        if (self.stage is None) == (self.event is OpportunityEventKind.STAGE_REACHED):
            raise ValueError("`stage` is required with `stage_reached` and allowed nowhere else")
        return self


class SalesDecisionKind(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class SalesCondition(Spec):
    decision: SalesDecisionKind
    reasons: list[str] | None = Field(None, description="for `reject`: only these reasons")

    @model_validator(mode="after")
    def _reasons_only_on_reject(self) -> SalesCondition:
        if self.reasons is not None and self.decision is not SalesDecisionKind.REJECT:
            raise ValueError("`reasons` only applies to `decision: reject`")
        return self


# The kinds of condition, one key each. The engine keeps its compiler table in the same
# order (revmachine.engine.conditions.CONDITION_KINDS) and a test checks they agree.
CONDITION_KINDS: tuple[str, ...] = (
    "score",
    "activity",
    "person",
    "opportunity",
    "sales",
    "no_engagement",
)


class Condition(Spec):
    """Exactly one of: a score threshold (by name or inline), an activity, a person field
    condition, an opportunity event, a sales decision, or no engagement for a duration."""

    score: Name | ScoreThreshold | None = None
    activity: ActivityCondition | None = None
    person: Predicate | None = None
    opportunity: OpportunityCondition | None = None
    sales: SalesCondition | None = None
    no_engagement: Duration | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        given = [k for k in CONDITION_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "each condition has exactly one of: "
                + ", ".join(CONDITION_KINDS)
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in CONDITION_KINDS if getattr(self, k) is not None)


class TransitionRule(Spec):
    name: Name
    description: str | None = None
    from_: list[Name] = Field(alias="from", min_length=1)
    to: Name
    when: list[Condition] = Field(min_length=1)


class Engagement(Spec):
    """Which activities count as the person engaging (for `no_engagement` and for
    `activity` conditions without a type): all of them except those listed here."""

    ignore: list[str] = Field(default_factory=list)


class RevenueModel(Spec):
    """The whole of `revenue_model.yml`."""

    name: str
    description: str | None = None
    entry_stage: Name | None = Field(None, description="default: the first stage")
    custom_activity_types: list[str] = Field(default_factory=list)
    stages: list[Stage] = Field(min_length=1)
    thresholds: dict[Name, ScoreThreshold] = Field(default_factory=dict)
    engagement: Engagement = Field(default_factory=Engagement)
    transitions: list[TransitionRule] = Field(default_factory=list)

    @property
    def entry(self) -> str:
        return self.entry_stage or self.stages[0].name
