"""The features a prediction reads, and how each is said to a person.

`FeatureConfig` is what varies between workspaces (which activity types get features of
their own) and is saved with each model, so scoring builds exactly the columns the model
was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revmachine.predict.encode import FeatureKind, FeatureSpec

WINDOWS = (7, 30, 90)
MAX_ACTIVITY_TYPES = 10
#: Person fields used as they were at the cut-off, and how they are typed.
CATEGORY_FIELDS = ("seniority", "industry", "country", "lead_source")
NUMBER_FIELDS = ("employee_count",)
FLAG_FIELDS = ("email_opt_in", "unsubscribed")
AS_OF_FIELDS = (*CATEGORY_FIELDS, *NUMBER_FIELDS, *FLAG_FIELDS, "account_id")
ID = "person_id"


@dataclass(frozen=True)
class FeatureConfig:
    """What varies between workspaces: the activity types that get their own counts."""

    activity_types: tuple[str, ...]

    def specs(self) -> tuple[FeatureSpec, ...]:
        return feature_specs(self.activity_types)

    def to_dict(self) -> dict[str, Any]:
        return {"activity_types": list(self.activity_types)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(tuple(data["activity_types"]))


def feature_specs(activity_types: Sequence[str]) -> tuple[FeatureSpec, ...]:
    """Every feature, with how to say it to a rep."""
    cat, num = FeatureKind.CATEGORY, FeatureKind.NUMBER
    specs = [
        FeatureSpec("days_known", num, "known for {value} days"),
        *(
            FeatureSpec(f, cat, f"{f.replace('_', ' ')} is {{value}}", f"no {f.replace('_', ' ')}")
            for f in CATEGORY_FIELDS
        ),
        FeatureSpec("acquisition_channel", cat, "came in through {value}", "no known channel"),
        FeatureSpec("employee_count", num, "{value} employees", "company size unknown"),
        FeatureSpec("email_opt_in", num, "email opt-in: {value}", "email opt-in not known"),
        FeatureSpec("unsubscribed", num, "unsubscribed: {value}", "unsubscribed: unknown"),
    ]
    for t in activity_types:
        label = t.replace("_", " ")
        specs += [
            FeatureSpec(f"{t}_{w}d", num, f"{{value}} × {label} in the last {w} days")
            for w in WINDOWS
        ]
        specs.append(
            FeatureSpec(
                f"{t}_days_since", num, f"last {label} {{value}} days ago", f"no {label} in 90 days"
            )
        )
    specs += [
        *(
            FeatureSpec(f"activities_{w}d", num, f"{{value}} activities in the last {w} days")
            for w in WINDOWS
        ),
        FeatureSpec("activities_total", num, "{value} activities in all"),
        FeatureSpec("activity_types_90d", num, "{value} kinds of activity in the last 90 days"),
        FeatureSpec("days_since_activity", num, "last active {value} days ago", "never active"),
        FeatureSpec("program_activities_90d", num, "{value} program touches in the last 90 days"),
        FeatureSpec("programs", num, "member of {value} programs"),
        FeatureSpec("stage", cat, "in stage {value}", "not yet in a stage"),
        FeatureSpec("days_in_stage", num, "{value} days in the current stage", "no stage yet"),
        FeatureSpec("stage_moves", num, "{value} stage moves so far"),
        FeatureSpec("fit_score", num, "fit score {value}", "no fit score"),
        FeatureSpec("behavior_score", num, "behaviour score {value}", "no behaviour score"),
        FeatureSpec("colleagues", num, "{value} colleagues known at the account", "no account"),
        FeatureSpec(
            "account_activities_30d",
            num,
            "{value} activities from the account in the last 30 days",
            "no account",
        ),
        FeatureSpec(
            "account_open_opportunities", num, "{value} open deals at the account", "no account"
        ),
        FeatureSpec(
            "account_won_opportunities", num, "{value} deals won at the account", "no account"
        ),
    ]
    return tuple(specs)
