"""The program plans as of a cut-off: what marketing has recorded it will spend, by channel
and day, and what each channel's spend bought over the look-back (`forecast.plan`).

A plan is a `program_costs` row for a period after the cut-off, recorded by then
(`created_at` at or before it): a backtest sees the plans that existed on each past
date, not the costs booked later. A row is spread evenly over the days of its own period,
as the cost report spreads it (`analytics/cost.py`); the part of a row before the cut-off
is spend in the window, the part after it is plan. Names are the people created in the
window per acquisition program's channel (the cost report's `new_names`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np
from sqlalchemy import Connection, func, select

from revmachine.analytics.forecast_inputs import Window
from revmachine.forecast.plan import NamePlan
from revmachine.store import schema


def name_plan(conn: Connection, window: Window, until: dt.datetime) -> NamePlan | None:
    """The plans for the days from the cut-off to `until`, or None when there are none
    (the forecast then keeps the run rate of new names)."""
    pr, pc, p = schema.programs, schema.program_costs, schema.people
    first = window.start.astimezone(dt.UTC).date()
    today = window.as_of.astimezone(dt.UTC).date()
    days = max(1, math.ceil((until - window.as_of).total_seconds() / 86400))
    rows = conn.execute(
        select(pr.c.channel, pc.c.period_start, pc.c.period_end, pc.c.amount)
        .select_from(pc.join(pr, pr.c.id == pc.c.program_id))
        .where(
            pc.c.created_at <= window.as_of,
            pc.c.period_end >= first,
            pc.c.period_start < today + dt.timedelta(days=days),
        )
    ).all()
    ahead = [r for r in rows if r.period_end >= today]
    if not ahead:
        return None
    channels = sorted({str(r.channel) for r in rows})
    index = {c: i for i, c in enumerate(channels)}
    spend = np.zeros(len(channels))
    planned = np.full((len(channels), days), np.nan)
    for channel, start, end, amount in rows:
        c = index[str(channel)]
        per_day = float(amount) / ((end - start).days + 1)
        before = (min(end, today - dt.timedelta(days=1)) - max(start, first)).days + 1
        spend[c] += per_day * max(before, 0)
        lo, hi = max((start - today).days, 0), min((end - today).days + 1, days)
        if hi > lo:
            planned[c, lo:hi] = np.nan_to_num(planned[c, lo:hi]) + per_day
    names: dict[str, int] = defaultdict(int)
    for channel, n in conn.execute(
        select(pr.c.channel, func.count())
        .select_from(p.join(pr, pr.c.id == p.c.acquisition_program_id))
        .where(p.c.created_at >= window.start, p.c.created_at <= window.as_of)
        .group_by(pr.c.channel)
    ):
        if channel in index:
            names[str(channel)] += int(n)
    return NamePlan(
        tuple(channels),
        np.array([float(names[c]) for c in channels]),
        spend,
        planned,
        window.days,
    )
