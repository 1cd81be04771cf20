"""What-if: replay history under candidate models, without touching live data.

Every person's whole history is read once per batch and replayed through each model's
engine in memory (read-only transaction; nothing is written). For each model we count,
per month, the people entering the MQL stage, and how many of those went on to reach the
opportunity and customer stages later in the same replay: outcomes come from the real
opportunity history, so a model's MQLs are judged by what actually happened to them.

The live model's figures are computed the same way (a replay, not the stored history), so
that both sides differ only by the model.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from revmachine.config import Workspace
from revmachine.engine import Engine, Transition
from revmachine.services.cycle.inputs import load_people_inputs
from revmachine.store import schema
from revmachine.store.database import Database

BATCH = 2000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Outcomes:
    """Which stages mean what in the report: the MQL bar and the outcomes judged after it."""

    mql: str = "mql"
    opportunity: str = "opportunity"
    customer: str = "customer"


@dataclass
class ModelFunnel:
    """One model's MQLs per month (first entry into the MQL stage) and their outcomes."""

    version: str
    mqls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    to_opportunity: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    to_customer: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def total_mqls(self) -> int:
        return sum(self.mqls.values())

    @property
    def total_to_opportunity(self) -> int:
        return sum(self.to_opportunity.values())

    @property
    def total_to_customer(self) -> int:
        return sum(self.to_customer.values())

    def rate(self, outcome: dict[str, int]) -> float | None:
        total = self.total_mqls
        return sum(outcome.values()) / total if total else None

    def add(self, transitions: Sequence[Transition], outcomes: Outcomes, end: dt.datetime) -> None:
        first_mql = next(
            (t for t in transitions if t.to_stage == outcomes.mql and t.occurred_at <= end), None
        )
        if first_mql is None:
            return
        month = first_mql.occurred_at.strftime("%Y-%m")
        self.mqls[month] += 1
        later = {t.to_stage for t in transitions if first_mql.occurred_at <= t.occurred_at <= end}
        if outcomes.opportunity in later or outcomes.customer in later:
            self.to_opportunity[month] += 1
        if outcomes.customer in later:
            self.to_customer[month] += 1


def replay_funnels(
    db: Database,
    workspaces: Sequence[Workspace],
    now: dt.datetime,
    *,
    outcomes: Outcomes | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH,
) -> list[ModelFunnel]:
    """Replay everyone's history up to `now` under each workspace; one funnel per model."""
    outcomes = outcomes or Outcomes()
    engines = [Engine(w) for w in workspaces]
    funnels = [ModelFunnel(e.version) for e in engines]
    with db.reading() as conn:
        ids = [
            pid for (pid,) in conn.execute(select(schema.people.c.id).order_by(schema.people.c.id))
        ]
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            # a model whose rules test `predicted.*` sees the prediction history (as of
            # each moment); one that does not gets exactly the inputs `process` gives it
            for flag in sorted({w.uses_predictions for w in workspaces}):
                people = load_people_inputs(conn, batch, predictions=flag)
                for person in people.values():
                    inputs = [i for i in person.inputs if i.occurred_at <= now]
                    for workspace, engine, funnel in zip(workspaces, engines, funnels, strict=True):
                        if workspace.uses_predictions is not flag:
                            continue
                        replay = engine.replay(person.person_id, person.facts, inputs, now)
                        funnel.add(replay.result.transitions, outcomes, now)
            if progress is not None:
                progress(min(start + batch_size, len(ids)), len(ids))
    return funnels


@dataclass(frozen=True)
class ThresholdPoint:
    key: str
    value: float
    version: str
    mqls: int
    to_opportunity: int
    to_customer: int

    @property
    def opportunity_rate(self) -> float | None:
        return self.to_opportunity / self.mqls if self.mqls else None

    @property
    def customer_rate(self) -> float | None:
        return self.to_customer / self.mqls if self.mqls else None


def threshold_curve(
    db: Database,
    key: str,
    candidates: Sequence[tuple[float, Workspace]],
    now: dt.datetime,
    *,
    outcomes: Outcomes | None = None,
    progress: Progress | None = None,
) -> list[ThresholdPoint]:
    """MQL volume against MQL→opportunity/customer conversion, one point per value."""
    funnels = replay_funnels(
        db, [w for _, w in candidates], now, outcomes=outcomes, progress=progress
    )
    return [
        ThresholdPoint(
            key, value, f.version, f.total_mqls, f.total_to_opportunity, f.total_to_customer
        )
        for (value, _), f in zip(candidates, funnels, strict=True)
    ]
