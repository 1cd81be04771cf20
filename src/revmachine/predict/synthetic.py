"""A synthetic company with a known buying signal, for tests and the benchmark.

Some people are buyers. Who buys depends on seniority and industry together: in software
and retail the staff buy (bottom-up), elsewhere the executives do — an interaction that an
additive model (the logistic baseline) cannot express and trees can. A buyer's activity rises in
the 30 days before they become an opportunity — pricing visits, demo requests, webinars —
over a background of web visits and email opens that everyone has; a third of the
non-buyers have the same kind of burst, leading nowhere. So whether someone becomes an
opportunity soon is learnable only from what was known before taken together (a recent
burst and a buyer's profile), and the trees should beat the additive baseline.

`company(...)` is pure (seeded numpy); `load(...)` writes it with the bulk paths.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sqlalchemy import Connection

from revmachine.store import schema
from revmachine.store.bulk import insert_frame_ignoring_conflicts
from revmachine.store.spells import rebuild_spells

SENIORITY = ("executive", "director", "manager", "staff")
INDUSTRIES = ("software", "retail", "finance", "health", "education")
BOTTOM_UP = 2  # the first two industries buy bottom-up
TOP_DOWN_RATE = (0.6, 0.35, 0.06, 0.02)  # by seniority
BOTTOM_UP_RATE = (0.02, 0.06, 0.35, 0.6)
BACKGROUND = ("web_visit", "email_open", "email_open", "web_visit", "email_click")
BURST = ("pricing_visit", "web_visit", "demo_request", "webinar_attended", "pricing_visit")


@dataclass(frozen=True)
class Company:
    people: pl.DataFrame
    activities: pl.DataFrame
    transitions: pl.DataFrame
    start: dt.datetime
    end: dt.datetime


def company(
    people: int,
    *,
    days: int = 360,
    start: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    background_per_day: float = 0.04,
    seed: int = 1,
) -> Company:
    """`people` people created over `days` days, their activities and stage moves."""
    rng = np.random.default_rng(seed)
    n = people
    created = rng.uniform(0, days, n)
    level = rng.integers(0, len(SENIORITY), n)
    industry = rng.integers(0, len(INDUSTRIES), n)
    rate = np.where(
        industry < BOTTOM_UP, np.asarray(BOTTOM_UP_RATE)[level], np.asarray(TOP_DOWN_RATE)[level]
    )
    buyer = rng.random(n) < rate
    converts_at = created + rng.exponential(70.0, n)
    converted = buyer & (converts_at < days)

    owners, times, kinds = [], [], []
    # Background: everyone, for as long as they are known.
    life = days - created
    counts = rng.poisson(background_per_day * life)
    owner = np.repeat(np.arange(n), counts)
    owners.append(owner)
    times.append(created[owner] + rng.random(len(owner)) * life[owner])
    kinds.append(np.asarray(BACKGROUND)[rng.integers(0, len(BACKGROUND), len(owner))])
    # Buyers: a burst in the 30 days before they convert (what was visible before).
    counts = np.where(buyer, rng.poisson(7, n), 0)
    owner = np.repeat(np.arange(n), counts)
    at = converts_at[owner] - rng.random(len(owner)) ** 0.7 * 30.0
    keep = (at > created[owner]) & (at < days)
    owners.append(owner[keep])
    times.append(at[keep])
    kinds.append(np.asarray(BURST)[rng.integers(0, len(BURST), int(keep.sum()))])
    # Some non-buyers: the same kind of burst, leading nowhere.
    noisy = ~buyer & (rng.random(n) < 0.5)
    counts = np.where(noisy, rng.poisson(7, n), 0)
    owner = np.repeat(np.arange(n), counts)
    centre = created + rng.uniform(0, 1, n) * life
    at = centre[owner] - rng.random(len(owner)) ** 0.7 * 30.0
    keep = (at > created[owner]) & (at < days)
    owners.append(owner[keep])
    times.append(at[keep])
    kinds.append(np.asarray(BURST)[rng.integers(0, len(BURST), int(keep.sum()))])

    owner_all = np.concatenate(owners)
    time_all = np.concatenate(times)
    kind_all = np.concatenate(kinds)
    ids = np.arange(1, n + 1)
    people_frame = pl.DataFrame(
        {
            "id": ids,
            "email": [f"p{i}@example{i % 97}.com" for i in ids],
            "seniority": np.asarray(SENIORITY)[level],
            "industry": np.asarray(INDUSTRIES)[industry],
            "created_at": _times(start, created),
        }
    )
    activities = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(owner_all))],
            "person_id": ids[owner_all],
            "type": kind_all,
            "occurred_at": _times(start, time_all),
        }
    ).sort("occurred_at")
    known = pl.DataFrame(
        {"person_id": ids, "to_stage": "known", "occurred_at": _times(start, created)}
    )
    opportunity = pl.DataFrame(
        {
            "person_id": ids[converted],
            "to_stage": "opportunity",
            "occurred_at": _times(start, converts_at[converted]),
        }
    )
    transitions = pl.concat([known, opportunity]).sort("occurred_at")
    end = start + dt.timedelta(days=days)
    return Company(people_frame, activities, transitions, start, end)


def _times(start: dt.datetime, days: NDArray[np.float64]) -> pl.Series:
    """Aware UTC datetimes `days` (fractional) after `start`."""
    micros = round(start.timestamp() * 1e6) + (np.asarray(days) * 86_400e6).astype(np.int64)
    return pl.Series(micros).cast(pl.Datetime("us", "UTC"))


def load(conn: Connection, data: Company, *, spells: bool = True) -> None:
    """Write the company into an empty store, with the store's bulk paths."""
    now = data.end
    people = data.people.with_columns(
        pl.lit("{}").alias("attributes"),
        pl.lit("{}").alias("field_times"),
        pl.col("created_at").alias("updated_at"),
        pl.lit(False).alias("unsubscribed"),
    )
    insert_frame_ignoring_conflicts(conn, schema.people, people, "id")
    activities = data.activities.with_columns(pl.lit(now).alias("received_at"))
    insert_frame_ignoring_conflicts(conn, schema.activities, activities, "event_id")
    transitions = data.transitions.with_columns(
        pl.lit("synthetic").alias("reason"),
        pl.lit(now).alias("recorded_at"),
    )
    insert_frame_ignoring_conflicts(conn, schema.stage_transitions, transitions, "id")
    if spells:
        # The reports read stage_spells, derived from the transitions: keep it in step.
        # A benchmark that only trains and scores may skip it (`spells=False`).
        rebuild_spells(conn)
    if conn.dialect.name == "postgresql":
        # People came with their ids: move the sequence past them for later inserts.
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))"
        )
