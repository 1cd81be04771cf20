"""Ground truth: what the simulation knows and the store must never see.

Kept apart from the import tables so that tests (and later, model evaluations) can check
scores and predictions against the hidden state that generated the data:

- `people`: each person's hidden traits, intent summary and actual outcome;
- `reference`: for each person and reference date (every 13 weeks), whether they were
  known, their intent that week, the exact probability of a trigger in the next 13 weeks
  (91 days) given the simulated intent path, and whether one happened. A trigger is the
  moment the person's interest turns into a deal: an opportunity is opened (or the person
  joins their account's open one) 1-14 days later;
- `episodes`: the accounts' buying episodes; `triggers`: every trigger drawn, kept or not;
- `decisions`: the sales decisions on hand-raises (also a world table, with more columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from revmachine.demo.acquisition import Acquisition
from revmachine.demo.behaviour import Life
from revmachine.demo.deals import Deal
from revmachine.demo.intent import F32, Episodes
from revmachine.demo.org import Accounts
from revmachine.demo.people import DEPARTMENT_NAMES, SENIORITY_NAMES, Population
from revmachine.demo.sales import SalesResult
from revmachine.demo.tables import TIME_FORMAT, utc
from revmachine.demo.timeline import WEEK, Timeline

#: Weeks in the prediction horizon: 13 weeks = 91 days, "within 90 days".
HORIZON_WEEKS = 13
KIND_NAMES = ("regular", "student", "competitor")


@dataclass(frozen=True)
class GroundTruth:
    people: pl.DataFrame
    reference: pl.DataFrame
    episodes: pl.DataFrame
    triggers: pl.DataFrame
    decisions: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "people": self.people,
            "reference": self.reference,
            "episodes": self.episodes,
            "triggers": self.triggers,
            "decisions": self.decisions,
        }


def build_truth(
    tl: Timeline,
    people: Population,
    accounts: Accounts,
    acq: Acquisition,
    life: Life,
    intent: F32,
    hazard: F32,
    fires: npt.NDArray[np.bool_],
    episodes: Episodes,
    sales: SalesResult,
) -> GroundTruth:
    emails = pl.Series("email", people.email)
    has_account = people.account >= 0
    acct = np.maximum(people.account, 0)
    grid = np.arange(tl.weeks)[None, :]
    alive = (grid >= acq.created_week[:, None]) & (grid < life.leave_week[:, None])
    weeks_alive = np.maximum(alive.sum(axis=1), 1)
    last_week = np.clip(np.minimum(life.leave_week, tl.weeks) - 1, 0, tl.weeks - 1)
    contacts, won = _deal_roles(sales.deals, tl.end_s)
    kept = sales.triggers.filter(pl.col("kept"))
    first = kept.group_by("person").agg(
        pl.col("at").min().alias("first_trigger_at"), pl.len().alias("triggers")
    )
    person_table = (
        pl.DataFrame(
            {
                "person": np.arange(people.count),
                "email": people.email,
                "account": [
                    accounts.domain[a] if h else None
                    for a, h in zip(acct.tolist(), has_account.tolist(), strict=True)
                ],
                "kind": [KIND_NAMES[k] for k in people.kind.tolist()],
                "department": [
                    DEPARTMENT_NAMES[d] if d >= 0 else None for d in people.department.tolist()
                ],
                "seniority": [
                    SENIORITY_NAMES[s] if s >= 0 else None for s in people.seniority.tolist()
                ],
                "relevance": people.relevance,
                "power": people.power,
                "account_fit": np.where(has_account, accounts.fit[acct], 0.0),
                "activeness": people.activeness,
                "created_at": acq.created_s,
                "left_at": np.where(life.leave_week < tl.weeks, tl.week_start(life.leave_week), -1),
                "intent_mean": (np.where(alive, intent, 0).sum(axis=1) / weeks_alive),
                "intent_max": np.where(alive, intent, 0).max(axis=1),
                "intent_last": intent[np.arange(people.count), last_week],
                "weeks_intent_over_half": (alive & (intent >= 0.5)).sum(axis=1),
                "opportunities": [len(contacts.get(p, ())) for p in range(people.count)],
                "won": [p in won for p in range(people.count)],
            }
        )
        .join(first, on="person", how="left")
        .with_columns(
            pl.col("triggers").fill_null(0),
            utc(pl.col("created_at")).alias("created_at"),
            pl.when(pl.col("left_at") >= 0).then(utc(pl.col("left_at"))).alias("left_at"),
            utc(pl.col("first_trigger_at")).alias("first_trigger_at"),
        )
        .drop("person")
    )

    return GroundTruth(
        people=person_table,
        reference=_reference(tl, people, acq, life, intent, hazard, fires, sales),
        episodes=pl.DataFrame(
            {
                "account": [accounts.domain[a] for a in episodes.account.tolist()],
                "start_at": tl.start_s + (episodes.start_week * WEEK).astype(np.int64),
                "weeks": episodes.weeks,
                "peak": episodes.peak,
            }
        ).with_columns(utc(pl.col("start_at")).alias("start_at")),
        triggers=sales.triggers.select(
            pl.col("person")
            .map_batches(lambda s: emails.gather(s), return_dtype=pl.String)
            .alias("email"),
            utc(pl.col("at")).alias("at"),
            "kept",
            "joined",
            "opportunity",
        ),
        decisions=sales.decisions.with_columns(
            pl.col("person")
            .map_batches(lambda s: emails.gather(s), return_dtype=pl.String)
            .alias("email"),
            utc(pl.col("at")).alias("occurred_at"),
            pl.Series(
                "intent",
                intent[
                    sales.decisions["person"].to_numpy(),
                    np.clip(tl.week_of(sales.decisions["at"].to_numpy()), 0, tl.weeks - 1),
                ],
            ),
        ).select("email", "decision", "reason", "occurred_at", "rep", "trigger", "intent"),
    )


def reference_weeks(tl: Timeline) -> list[int]:
    return list(range(HORIZON_WEEKS, tl.weeks - HORIZON_WEEKS + 1, HORIZON_WEEKS))


def _reference(
    tl: Timeline,
    people: Population,
    acq: Acquisition,
    life: Life,
    intent: F32,
    hazard: F32,
    fires: npt.NDArray[np.bool_],
    sales: SalesResult,
) -> pl.DataFrame:
    busy = sales.busy
    frames = []
    for w in reference_weeks(tl):
        at = int(tl.week_start(np.array([w]))[0])
        window = slice(w, w + HORIZON_WEEKS)
        in_deal = np.zeros(people.count, dtype=bool)
        for person, start, until in busy:
            if start <= at < until:
                in_deal[person] = True
        frames.append(
            pl.DataFrame(
                {
                    "email": people.email,
                    "reference_at": np.full(people.count, at),
                    "known": (acq.created_s < at) & (life.leave_week > w),
                    "in_opportunity": in_deal,
                    "intent": intent[:, w - 1],
                    "p_opportunity_90d": -np.expm1(
                        -hazard[:, window].astype(np.float64).sum(axis=1)
                    ),
                    "opportunity_90d": fires[:, window].any(axis=1),
                }
            )
        )
    return pl.concat(frames).with_columns(utc(pl.col("reference_at")).alias("reference_at"))


def _deal_roles(deals: list[Deal], end: int) -> tuple[dict[int, set[str]], set[int]]:
    contacts: dict[int, set[str]] = {}
    won: set[int] = set()
    for deal in deals:
        if deal.created >= end:
            continue
        for person, _, added in deal.contacts:
            if added < end:
                contacts.setdefault(person, set()).add(deal.id)
                if deal.won and deal.closes < end:
                    won.add(person)
    return contacts, won


def write_truth(truth: GroundTruth, directory: Path, fmt: str = "parquet") -> list[Path]:
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"ground truth format must be parquet or csv, not '{fmt}'")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in truth.frames().items():
        path = directory / f"{name}.{fmt}"
        if fmt == "parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path, datetime_format=TIME_FORMAT)
        written.append(path)
    return written
