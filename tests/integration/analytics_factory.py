"""Small, seeded revenue histories for the analytics tests, and the raw rows behind them.

People and programs go in through the public import services; stage transitions are
inserted directly (the revenue model engine is what fills them in production). Every
test recomputes its expected figures from `History.journeys` in plain Python, never from
the store, so a report is checked against an independent reading of its definition.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import insert, select

from revmachine.services.imports import import_costs, import_people, import_programs
from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.spells import refresh_spells

NOW = dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
INDUSTRIES = ("Software", "Retail", "Banking")
PROGRAMS = {"Spring Webinar": "webinar", "Search Ads": "paid_search", "Trade Show": "trade_show"}
#: Monthly cost per program (Jan..Jun 2025), the Trade Show paid once for its month.
COSTS = {"Spring Webinar": Decimal("3000"), "Search Ads": Decimal("1500")}
TRADE_SHOW_COST = (dt.date(2025, 3, 1), dt.date(2025, 3, 31), Decimal("6200"))

# Routes through the default revenue model (`anonymous` is skipped: people arrive known).
ROUTES: tuple[tuple[str, ...], ...] = (
    ("known",),
    ("known", "engaged"),
    ("known", "engaged", "mql"),
    ("known", "engaged", "mql", "sal"),
    ("known", "engaged", "mql", "sal", "opportunity"),
    ("known", "engaged", "mql", "sal", "opportunity", "customer"),
    ("known", "engaged", "mql", "sal", "opportunity", "lost"),
    ("known", "mql", "sal", "opportunity", "customer"),
    ("known", "engaged", "mql", "recycled", "mql", "sal"),
    ("known", "engaged", "mql", "disqualified"),
)


@dataclass(frozen=True)
class Step:
    stage: str
    at: dt.datetime


@dataclass
class Person:
    email: str
    industry: str
    program: str | None
    created_at: dt.datetime
    steps: list[Step] = field(default_factory=list)


@dataclass
class History:
    people: list[Person]

    def steps_until(self, as_of: dt.datetime) -> dict[str, list[Step]]:
        return {p.email: [s for s in p.steps if s.at <= as_of] for p in self.people}


def make_history(seed: int = 7, n: int = 90) -> History:
    rng = random.Random(seed)
    people: list[Person] = []
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        created = start + dt.timedelta(hours=rng.randint(0, 24 * 170))
        program = rng.choice([*PROGRAMS, None])
        person = Person(f"p{i:03d}@example.com", rng.choice(INDUSTRIES), program, created)
        at = created
        for k, stage in enumerate(rng.choice(ROUTES)):
            if k:
                # Sometimes the same instant (an engine chain), else hours to weeks later.
                at += dt.timedelta(hours=0 if rng.random() < 0.1 else rng.randint(1, 24 * 40))
            person.steps.append(Step(stage, at))
        people.append(person)
    return History(people)


def load(db: Database, history: History) -> dict[str, int]:
    """Import programs, costs and people; insert the transitions; return ids by email."""
    programs = "name,channel\n" + "".join(f"{n},{c}\n" for n, c in PROGRAMS.items())
    import_programs(db, programs.encode(), now=NOW)
    costs = ["program,period_start,period_end,amount"]
    for name, amount in COSTS.items():
        for month in range(1, 7):
            costs.append(f"{name},2025-{month:02d}-01,,{amount}")
    first, last, amount = TRADE_SHOW_COST
    costs.append(f"Trade Show,{first},{last},{amount}")
    import_costs(db, ("\n".join(costs) + "\n").encode(), now=NOW)
    lines = ["email,industry,program,created_at"]
    for p in history.people:
        lines.append(f"{p.email},{p.industry},{p.program or ''},{p.created_at.isoformat()}")
    report = import_people(db, ("\n".join(lines) + "\n").encode(), now=NOW)
    assert report.rejected == 0, report.rejections
    with db.transaction() as conn:
        ids = dict(conn.execute(select(schema.people.c.email, schema.people.c.id)).all())
        rows = []
        for p in history.people:
            previous: str | None = None
            for step in p.steps:
                rows.append(
                    {
                        "person_id": ids[p.email],
                        "from_stage": previous,
                        "to_stage": step.stage,
                        "occurred_at": step.at,
                        "reason": "test",
                        "rule": "entry" if previous is None else f"to_{step.stage}",
                        "model_version": "test",
                        "recorded_at": NOW,
                    }
                )
                previous = step.stage
        conn.execute(insert(schema.stage_transitions), rows)
        # Written directly, so the spells are refreshed the way processing does it.
        refresh_spells(conn, sorted({r["person_id"] for r in rows}))
    return ids
