"""`scoring.yml`: explicit (fit) and implicit (behaviour) scoring rules.

Fit answers "is this the kind of person we sell to?" from person and account fields; it does
not fade. Behaviour answers "are they interested right now?" from activities; it fades with
a half-life so that last year's webinar does not make someone a lead today. Negative points
are ordinary rules with a minus sign (unsubscribe, competitor domain, student title).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from revmachine.config.durations import Duration
from revmachine.config.predicates import AttributeFilters, Predicate
from revmachine.config.spec import Name, Spec


class Period(StrEnum):
    """Calendar periods in UTC for caps; a week starts on Monday (ISO 8601)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Cap(Spec):
    """At most `points` (and/or `times` awards) from one rule per calendar period."""

    points: float | None = Field(None, gt=0)
    times: int | None = Field(None, gt=0)
    per: Period

    @model_validator(mode="after")
    def _has_a_limit(self) -> Cap:
        if self.points is None and self.times is None:
            raise ValueError("a cap needs `points`, `times` or both")
        return self


class FitRule(Spec):
    name: Name
    description: str | None = None
    when: Predicate
    points: float


class BehaviorRule(Spec):
    """Points for each activity of a type whose attributes pass the filters."""

    name: Name
    description: str | None = None
    activity: str
    where: AttributeFilters = Field(default_factory=dict)
    program: str | None = None
    points: float
    cap: Cap | None = None
    half_life: Duration | None = Field(None, description="overrides the section's half-life")
    decay: bool = Field(True, description="false: the points never fade (for negative rules)")

    @model_validator(mode="after")
    def _points_not_zero(self) -> BehaviorRule:
        if self.points == 0:
            raise ValueError("a rule worth 0 points does nothing; remove it or give it points")
        if not self.decay and self.half_life is not None:
            raise ValueError("`decay: false` and `half_life` contradict each other")
        return self


class FitSection(Spec):
    rules: list[FitRule] = Field(default_factory=list)


class BehaviorSection(Spec):
    half_life: Duration = Field(description="how long until an activity's points are halved")
    rules: list[BehaviorRule] = Field(default_factory=list)


class ScoringModel(Spec):
    """The whole of `scoring.yml`."""

    lists: dict[Name, list[str]] = Field(default_factory=dict)
    fit: FitSection = Field(default_factory=FitSection)
    behavior: BehaviorSection
