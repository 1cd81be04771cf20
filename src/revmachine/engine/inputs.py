"""What happens to a person, as the engines see it: four kinds of input, totally ordered.

Inputs at the same instant are ordered by kind, then by event id, so that a replay and an
incremental run see them in the same order:

  0  timers that fall due at that instant ("no engagement for N days" has then elapsed)
  1  FactsChanged      (fields first, so fit is current when the instant's rules run)
  2  Event             (activities: web visits, form fills, …)
  3  SalesDecision     (an accept must precede an opportunity opened at the same moment)
  4  OpportunityEvent
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from revmachine.config.revenue_model import OpportunityEventKind, SalesDecisionKind
from revmachine.engine.facts import PersonFacts
from revmachine.engine.instants import Micros, to_micros


@dataclass(frozen=True, slots=True)
class Event:
    """An activity of the person (the store's `activities` row)."""

    event_id: str
    type: str
    occurred_at: dt.datetime
    attributes: Mapping[str, Any] = field(default_factory=dict)
    program: str | None = None


@dataclass(frozen=True, slots=True)
class OpportunityEvent:
    event_id: str
    opportunity_id: str
    kind: OpportunityEventKind
    occurred_at: dt.datetime
    stage: str | None = None  # the CRM stage, for STAGE_REACHED


@dataclass(frozen=True, slots=True)
class SalesDecision:
    event_id: str
    decision: SalesDecisionKind
    occurred_at: dt.datetime
    reason: str | None = None
    rep: str | None = None


@dataclass(frozen=True, slots=True)
class FactsChanged:
    """The person's fields as they are from `occurred_at` on (a merge's result)."""

    event_id: str
    occurred_at: dt.datetime
    facts: PersonFacts


Input = Event | OpportunityEvent | SalesDecision | FactsChanged
OrderKey = tuple[Micros, int, str]

TIMER_RANK = 0
INPUT_RANK: dict[type, int] = {FactsChanged: 1, Event: 2, SalesDecision: 3, OpportunityEvent: 4}


def order_key(item: Input) -> OrderKey:
    return (to_micros(item.occurred_at), INPUT_RANK[type(item)], item.event_id)


def in_order(items: Iterable[Input]) -> list[tuple[OrderKey, Input]]:
    """The inputs with their keys, in processing order."""
    keyed = [(order_key(i), i) for i in items]
    keyed.sort(key=lambda pair: pair[0])
    return keyed
