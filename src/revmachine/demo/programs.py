"""Marketing programs across channels, when they run, and what they cost each month.

Costs follow the way B2B teams pay: paid search, syndication and referrals by the lead
(a cost per lead times the names the program brought that month, plus a fixed fee),
webinars and trade shows by the event, email and organic as a monthly retainer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from revmachine.demo.sizes import Size
from revmachine.demo.timeline import DAY, Timeline, add_months, epoch_seconds
from revmachine.model.channels import Channel

WEBINAR_TOPICS = (
    "Building a Revenue Waterfall",
    "Lead Scoring That Sales Trusts",
    "Forecasting Pipeline Honestly",
    "From MQL to Revenue",
    "Attribution Without Tears",
    "RevOps Metrics for the Board",
)


@dataclass(frozen=True, slots=True)
class TradeShow:
    name: str
    region: str
    month: int
    day: int


TRADE_SHOWS = (
    TradeShow("RevOps Summit", "Americas", 3, 12),
    TradeShow("B2B Marketing Europe", "EMEA", 6, 10),
    TradeShow("SaaS Growth Expo", "Americas", 9, 17),
    TradeShow("APAC Revenue Forum", "APAC", 10, 14),
    TradeShow("Demand Gen Live London", "EMEA", 11, 5),
)


@dataclass
class Program:
    name: str
    channel: Channel
    start: dt.date
    end: dt.date  # inclusive, as in the programs import
    event_at: int | None = None  # webinar or show time, epoch seconds
    region: str | None = None  # a trade show's audience
    monthly_fee: float = 0.0
    cost_per_lead: float = 0.0
    event_cost: float = 0.0
    weight: float = 1.0  # share within its channel when a name is acquired
    leads_by_month: dict[dt.date, int] = field(default_factory=dict)


def _third_thursday(month: dt.date) -> dt.date:
    first = month.replace(day=1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 14)


def _month_end(month: dt.date) -> dt.date:
    return add_months(month.replace(day=1), 1) - dt.timedelta(days=1)


def make_programs(tl: Timeline, size: Size) -> list[Program]:
    """The catalogue: always-on programs over the whole window, plus dated events."""
    s = size.scale
    root = s**0.5  # fixed fees grow slower than the company
    last = tl.end - dt.timedelta(days=1)
    programs = [
        Program("Google Ads - Brand", Channel.PAID_SEARCH, tl.start, last,
                monthly_fee=1500 * s, cost_per_lead=45, weight=0.35),
        Program("Google Ads - Non-Brand", Channel.PAID_SEARCH, tl.start, last,
                monthly_fee=2500 * s, cost_per_lead=110, weight=0.5),
        Program("Bing Ads", Channel.PAID_SEARCH, tl.start, last,
                monthly_fee=400 * s, cost_per_lead=80, weight=0.15),
        Program("Newsletter", Channel.EMAIL, tl.start, last, monthly_fee=1200 * root),
        Program("Nurture - Early Stage", Channel.EMAIL, tl.start, last, monthly_fee=800 * root),
        Program("Website - Organic", Channel.ORGANIC, tl.start, last,
                monthly_fee=6000 * root, weight=0.8),
        Program("Community & Social", Channel.ORGANIC, tl.start, last,
                monthly_fee=1500 * root, weight=0.2),
        Program("Customer Referrals", Channel.REFERRAL, tl.start, last,
                monthly_fee=300 * root, cost_per_lead=250, weight=0.6),
        Program("Partner Referrals", Channel.REFERRAL, tl.start, last,
                monthly_fee=500 * root, cost_per_lead=400, weight=0.4),
    ]  # fmt: skip
    for month in tl.month_starts():
        half = f"{month.year}-H{1 if month.month <= 6 else 2}"
        if month.month in (1, 7) or month == tl.start.replace(day=1):
            h_end = min(_month_end(add_months(month, 5 - (month.month - 1) % 6)), last)
            for vendor, cpl, weight in (("LeadStream", 70.0, 0.6), ("ContentReach", 55.0, 0.4)):
                programs.append(
                    Program(f"Syndication - {vendor} {half}", Channel.CONTENT_SYNDICATION,
                            max(month, tl.start), h_end, monthly_fee=0.0,
                            cost_per_lead=cpl, weight=weight)
                )  # fmt: skip
        day = _third_thursday(month)
        if tl.start <= day < tl.end:
            topic = WEBINAR_TOPICS[(month.year * 12 + month.month) % len(WEBINAR_TOPICS)]
            programs.append(
                Program(f"Webinar {month:%Y-%m}: {topic}", Channel.WEBINAR,
                        max(month, tl.start), min(_month_end(month), last),
                        event_at=epoch_seconds(day) + 16 * 3600,
                        event_cost=3000 * root)
            )  # fmt: skip
        for show in TRADE_SHOWS:
            if show.month != month.month:
                continue
            day = dt.date(month.year, show.month, show.day)
            if tl.start <= day < tl.end:
                programs.append(
                    Program(f"{show.name} {month.year}", Channel.TRADE_SHOW,
                            max(month, tl.start), min(_month_end(month), last),
                            event_at=epoch_seconds(day) + 10 * 3600, region=show.region,
                            event_cost=40_000 * root)
                )  # fmt: skip
    return programs


def active_months(program: Program) -> list[dt.date]:
    months, month = [], program.start.replace(day=1)
    while month <= program.end:
        months.append(month)
        month = add_months(month, 1)
    return months


def program_costs(rng: np.random.Generator, programs: list[Program]) -> pl.DataFrame:
    """One cost per program and active month: fee + leads x cost per lead (+ the event)."""
    rows: list[dict[str, object]] = []
    for program in programs:
        for month in active_months(program):
            leads = program.leads_by_month.get(month, 0)
            amount = (program.monthly_fee + leads * program.cost_per_lead) * rng.lognormal(0, 0.08)
            if program.event_at is not None:
                amount += program.event_cost * rng.lognormal(0, 0.15)
            rows.append(
                {
                    "program": program.name,
                    "period_start": max(month, program.start),
                    "period_end": min(_month_end(month), program.end),
                    "amount": round(max(amount, 50.0), 2),
                    "currency": "USD",
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "program": pl.String,
            "period_start": pl.Date,
            "period_end": pl.Date,
            "amount": pl.Float64,
            "currency": pl.String,
        },
    )


def event_day_seconds(program: Program) -> int:
    assert program.event_at is not None
    return program.event_at - program.event_at % DAY


#: The channels the demo's plan pushes, and by how much (the rest plan as they spent).
PLAN_PUSH: dict[Channel, float] = {Channel.PAID_SEARCH: 1.5}


def program_plans(costs: pl.DataFrame, programs: list[Program], end: dt.date) -> pl.DataFrame:
    """Next quarter's budget for the always-on programs still running at `end` (exclusive):
    the average of their last three months, more for the channels in `PLAN_PUSH`. The
    forecast turns it into new names (`forecast.plan`); it is a plan, so the demo's
    history does not follow it."""
    last = add_months(end.replace(day=1), -3)
    running = {p.name: p for p in programs if p.event_at is None and p.end >= last}
    recent = (
        costs.filter(pl.col("program").is_in(list(running)), pl.col("period_start") >= last)
        .group_by("program")
        .agg(pl.col("amount").mean())
        .sort("program")
    )
    first = end.replace(day=1) if end.day == 1 else add_months(end.replace(day=1), 1)
    months = [add_months(first, k) for k in range(3)]
    rows = [
        {
            "program": name,
            "period_start": month,
            "period_end": _month_end(month),
            "amount": round(float(amount) * PLAN_PUSH.get(running[name].channel, 1.0), 2),
            "currency": "USD",
        }
        for name, amount in recent.iter_rows()
        for month in months
    ]
    return pl.DataFrame(rows, schema=costs.schema)
