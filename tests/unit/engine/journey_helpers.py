"""Factories for engine tests: fixed times, small workspaces from YAML text, short inputs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from revmachine.config import Workspace, WorkspaceError, read_workspace_texts
from revmachine.config.revenue_model import OpportunityEventKind, SalesDecisionKind
from revmachine.engine import Event, OpportunityEvent, SalesDecision

T0 = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)  # a Monday, so week caps start here


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours, minutes=minutes)


def workspace(revenue: str, scoring: str) -> Workspace:
    built, issues = read_workspace_texts({"revenue_model.yml": revenue, "scoring.yml": scoring})
    if built is None:
        raise WorkspaceError(issues)
    return built


def activity(
    event_id: str, type_: str, when: dt.datetime, program: str | None = None, **attributes: Any
) -> Event:
    return Event(event_id, type_, when, attributes, program)


def accept(event_id: str, when: dt.datetime) -> SalesDecision:
    return SalesDecision(event_id, SalesDecisionKind.ACCEPT, when)


def reject(event_id: str, when: dt.datetime, reason: str | None = None) -> SalesDecision:
    return SalesDecision(event_id, SalesDecisionKind.REJECT, when, reason)


def opportunity(
    event_id: str, kind: str, when: dt.datetime, opp: str = "OPP-1"
) -> OpportunityEvent:
    return OpportunityEvent(event_id, opp, OpportunityEventKind(kind), when)


ONE_STAGE = """\
name: scoring only
stages:
  - name: known
    kind: success
"""
