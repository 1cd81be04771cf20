"""The workspace as code: YAML files validated into typed models, with file-and-line errors.

- `revenue_model.yml` → `RevenueModel` (stages, thresholds, transitions, SLAs)
- `scoring.yml` → `ScoringModel` (fit and behaviour rules, lists, caps, half-life)
- `routing.yml` → `RoutingModel` (the sales hand-off: teams, rules, SLAs, webhooks)

Nothing here touches a database or the clock; the engines compile these models.
"""

from revmachine.config.durations import Duration, format_duration, parse_duration
from revmachine.config.history import ModelChange, describe_change, render_workspace
from revmachine.config.issues import IssueCode, Severity, ValidationIssue
from revmachine.config.overrides import (
    OverrideError,
    Sweep,
    apply_overrides,
    parse_assignment,
    parse_sweep,
    sweep_overrides,
)
from revmachine.config.revenue_model import (
    Condition,
    RevenueModel,
    Stage,
    StageKind,
    TransitionRule,
)
from revmachine.config.routing import (
    Endpoint,
    Escalation,
    RoutingMethod,
    RoutingModel,
    RoutingRule,
    TeamSpec,
    WebhookEvent,
)
from revmachine.config.scoring import BehaviorRule, Cap, FitRule, Period, ScoringModel
from revmachine.config.workspace import (
    Workspace,
    WorkspaceError,
    default_routing,
    default_workspace,
    load_workspace,
    model_version,
    read_workspace_texts,
    validate_workspace,
    write_default_workspace,
)

__all__ = [
    "BehaviorRule",
    "Cap",
    "Condition",
    "Duration",
    "Endpoint",
    "Escalation",
    "FitRule",
    "IssueCode",
    "ModelChange",
    "OverrideError",
    "Period",
    "RevenueModel",
    "RoutingMethod",
    "RoutingModel",
    "RoutingRule",
    "ScoringModel",
    "Severity",
    "Stage",
    "StageKind",
    "Sweep",
    "TeamSpec",
    "TransitionRule",
    "ValidationIssue",
    "WebhookEvent",
    "Workspace",
    "WorkspaceError",
    "apply_overrides",
    "default_routing",
    "default_workspace",
    "describe_change",
    "format_duration",
    "load_workspace",
    "model_version",
    "parse_assignment",
    "parse_duration",
    "parse_sweep",
    "read_workspace_texts",
    "render_workspace",
    "sweep_overrides",
    "validate_workspace",
    "write_default_workspace",
]
