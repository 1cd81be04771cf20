"""`generate`: the whole demo company from a size and a seed, without touching a database.

Pure and reproducible: one numpy generator, seeded once, is passed through every step in a
fixed order, and nothing reads the clock (the window starts at `start`, by default a fixed
date, so the same seed gives the same company on any day; the CLI may pass a recent start).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from revmachine.demo import behaviour, tables
from revmachine.demo.acquisition import acquire
from revmachine.demo.intent import (
    account_intent,
    buying_intent,
    draw_triggers,
    eligible,
    person_interest,
    trigger_hazard,
)
from revmachine.demo.org import make_accounts, make_reps
from revmachine.demo.people import make_population
from revmachine.demo.programs import make_programs, program_costs, program_plans
from revmachine.demo.sales import simulate_sales
from revmachine.demo.sizes import size_named
from revmachine.demo.timeline import Timeline
from revmachine.demo.truth import GroundTruth, build_truth

DEFAULT_START = dt.date(2024, 1, 1)
#: Activity types that may follow a person's departure (their address bounces).
AFTER_LEAVING = ("email_bounce",)

#: Called with a step's name, the steps done and the number of steps.
StepProgress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class DemoWorld:
    """The generated company: import tables, sales decisions, and the hidden ground truth."""

    size: str
    seed: int
    start: dt.date
    end: dt.date  # exclusive
    tables: dict[str, pl.DataFrame]  # by import kind, in `tables.KINDS` order
    decisions: pl.DataFrame  # email, decision, reason, occurred_at, rep (not importable yet)
    truth: GroundTruth

    def csv(self, kind: str) -> bytes:
        """The import file of one kind (or `decisions`), as a user would export it."""
        frame = self.decisions if kind == "decisions" else self.tables[kind]
        return tables.to_csv(frame)

    def write_csv(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in (*tables.KINDS, "decisions"):
            path = directory / f"{kind}.csv"
            path.write_bytes(self.csv(kind))
            written.append(path)
        return written


STEPS = ("organisation", "intent", "people", "behaviour", "sales", "tables")


def generate(
    size: str = "small",
    seed: int = 0,
    start: dt.date | None = None,
    progress: StepProgress = _quiet,
) -> DemoWorld:
    """Generate the demo company of `size` (small, medium, large) from `seed`."""
    spec = size_named(size)
    rng = np.random.default_rng(seed)
    tl = Timeline.build(start or DEFAULT_START, spec.months)
    total = len(STEPS)

    progress(STEPS[0], 0, total)
    reps = make_reps(rng, spec)
    accounts = make_accounts(rng, spec, reps)
    programs = make_programs(tl, spec)
    people = make_population(rng, spec.people, accounts)

    progress(STEPS[1], 1, total)
    acct_intent, episodes = account_intent(rng, tl, accounts)
    interest = person_interest(rng, tl, people, acct_intent)

    progress(STEPS[2], 2, total)
    acq = acquire(rng, tl, people, interest, programs)
    life = behaviour.life_events(rng, tl, people, acq)
    intent = buying_intent(people, interest)
    alive = eligible(tl, acq.created_week, life.leave_week)
    hazard = trigger_hazard(tl, people, accounts, intent, alive)
    del alive
    fires = draw_triggers(rng, hazard)

    progress(STEPS[3], 3, total)
    daily = behaviour.everyday(rng, tl, people, acq, life, interest, programs)
    registrations = pl.concat([acq.first_touches, daily]).filter(
        pl.col("type") == "webinar_registered"
    )
    attended = behaviour.webinar_attendance(
        rng, tl, people, life, interest, programs, registrations
    )
    shows = behaviour.show_visits(rng, tl, people, acq, life, interest, programs)
    mail = behaviour.email_lifecycle(rng, tl, people, acq, life)
    hand_raises = daily.filter(
        pl.col("type").is_in(["demo_request", "contact_sales"])
        | ((pl.col("type") == "form_fill") & pl.col("url").str.contains("pricing"))
    )

    progress(STEPS[4], 4, total)
    sales = simulate_sales(
        rng, tl, people, accounts, reps, acq, life, intent, acct_intent, fires, hand_raises
    )
    costs = program_costs(rng, programs)
    costs = pl.concat([costs, program_plans(costs, programs, tl.end)])

    progress(STEPS[5], 5, total)
    activities = _in_life(
        pl.concat([acq.first_touches, daily, attended, shows, mail, sales.activities]),
        tl,
        acq.created_s,
        life.leave_week,
    )
    world_tables = {
        "reps": tables.reps_table(reps),
        "programs": tables.programs_table(programs),
        "accounts": tables.accounts_table(rng, tl, accounts, reps),
        "costs": costs,
        "people": tables.people_table(rng, people, accounts, acq, programs),
        "activities": tables.activities_table(activities, people, programs),
        "opportunities": tables.opportunities_table(sales.deals, tl, people, accounts, reps),
    }
    truth = build_truth(tl, people, accounts, acq, life, intent, hazard, fires, episodes, sales)
    progress("done", total, total)
    return DemoWorld(
        size=spec.name,
        seed=seed,
        start=tl.start,
        end=tl.end,
        tables=world_tables,
        decisions=tables.decisions_table(sales.decisions, people),
        truth=truth,
    )


def _in_life(
    activities: pl.DataFrame, tl: Timeline, created_s: np.ndarray, leave_week: np.ndarray
) -> pl.DataFrame:
    """Events inside the window, after the person became known and before they left."""
    created = pl.Series(created_s)
    leave = pl.Series(tl.week_start(leave_week))
    return (
        activities.with_columns(
            pl.col("person").map_batches(lambda s: created.gather(s)).alias("_created"),
            pl.col("person").map_batches(lambda s: leave.gather(s)).alias("_leaves"),
        )
        .filter(
            (pl.col("at") >= tl.start_s)
            & (pl.col("at") < tl.end_s)
            & (pl.col("at") >= pl.col("_created"))
            & ((pl.col("at") < pl.col("_leaves")) | pl.col("type").is_in(AFTER_LEAVING))
        )
        .drop("_created", "_leaves")
        .sort("at", "person", maintain_order=True)  # stable: ties keep the batches' order
    )
