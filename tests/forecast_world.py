"""A planted world for the forecast tests: deals that arrive at a known rate and are
decided whole by the demo generator's own deal process (`demo.deals.open_deal`: known win
probability, log-normal cycle by segment, stage snapshots, amount changes), written
straight into `accounts` (one per segment), `opportunities` and `opportunity_history` as
the imports would store them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import insert

from revmachine.demo.deals import NEW_BUSINESS, open_deal
from revmachine.store import schema
from revmachine.store.database import Database

START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)  # what the store knows: 30 months
DAY = 86400
P_WIN = 0.4
SEGMENTS = ("SMB", "Mid-Market")


def plant(db: Database, seed: int = 11, per_month: float = 45.0) -> int:
    rng = np.random.default_rng(seed)
    start_s, end_s = int(START.timestamp()), int(END.timestamp())
    n = int(rng.poisson(per_month * (end_s - start_s) / DAY / 30.44))
    created = np.sort(rng.integers(start_s, end_s, n))
    opps: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for i, at in enumerate(created.tolist()):
        segment = SEGMENTS[0] if rng.random() < 0.7 else SEGMENTS[1]
        deal = open_deal(
            rng,
            deal_id=f"D{i}",
            kind=NEW_BUSINESS,
            account=0,
            owner=0,
            segment=segment,
            created=at,
            p_win=P_WIN,
        )
        shots = [s for s in deal.snapshots if s.at <= end_s]
        last = shots[-1]
        when = dt.datetime.fromtimestamp(at, dt.UTC)
        opps.append(
            {
                "id": i + 1,
                "external_id": deal.id,
                "account_id": SEGMENTS.index(segment) + 1,
                "amount": last.amount,
                "stage": last.stage,
                "status": last.status,
                "created_at": when,
                "close_date": last.close_date,
                "attributes": {},
                "updated_at": dt.datetime.fromtimestamp(last.at, dt.UTC),
            }
        )
        for s in shots:
            history.append(
                {
                    "opportunity_id": i + 1,
                    "occurred_at": dt.datetime.fromtimestamp(s.at, dt.UTC),
                    "stage": s.stage,
                    "status": s.status,
                    "amount": s.amount,
                    "close_date": s.close_date,
                    "source": "test",
                    "recorded_at": END,
                }
            )
    accounts = [
        {
            "id": i + 1,
            "name": name,
            "name_key": name.lower(),
            "segment": name,
            "attributes": {},
            "created_at": START,
            "updated_at": START,
        }
        for i, name in enumerate(SEGMENTS)
    ]
    with db.transaction() as conn:
        conn.execute(insert(schema.accounts), accounts)
        conn.execute(insert(schema.opportunities), opps)
        conn.execute(insert(schema.opportunity_history), history)
    return n
