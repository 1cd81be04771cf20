"""Inventory health: who sits in each stage at `as_of`, for how long, and who is stalled.

One grouped statement returns, per segment, stage and whole day of age, the number of
people, how many are past the stage's SLA and how many are inactive (no engagement activity
in the last N days, looked up through the `(person_id, occurred_at)` index of activities);
Python folds the day histogram into age bands and percentiles. The freshness trend repeats
the count at the start of each earlier month.
Definitions: `inventory`, `age`, `past_sla`, `inactive`, `stalled`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)

from revmachine.analytics.definitions import inventory_stages
from revmachine.analytics.history import current_stages, transitions
from revmachine.analytics.spec import Scope, add_months, month_start
from revmachine.analytics.spells import (
    DAY_US,
    Source,
    current_spells,
    open_spells,
    reads_spells,
    us,
    us_literal,
)
from revmachine.analytics.sqlfuncs import seconds_between, whole_days
from revmachine.analytics.tables import Column, ReportTable, table
from revmachine.analytics.velocity import weighted_median
from revmachine.config.revenue_model import RevenueModel
from revmachine.store import schema

DAY = 86400.0
#: Age bands in days: [lower, upper), the last one open.
AGE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 1),
    (1, 7),
    (7, 30),
    (30, 90),
    (90, 180),
    (180, 365),
    (365, None),
)


def band_label(lower: int, upper: int | None) -> str:
    return f"{lower}-{upper}d" if upper is not None else f"{lower}d+"


@dataclass(frozen=True)
class StageHealth:
    segment: str
    stage: str
    people: int
    sla_days: float | None
    past_sla: int
    inactive: int
    stalled: int
    median_age_days: float | None
    p90_age_days: float | None
    age_bands: tuple[int, ...]  # people per AGE_BANDS entry


@dataclass(frozen=True)
class FreshnessPoint:
    at: dt.datetime
    stage: str
    people: int
    median_age_days: float | None


@dataclass(frozen=True)
class InventoryReport:
    scope: Scope
    inactive_days: int
    stages: tuple[StageHealth, ...]
    trend: tuple[FreshnessPoint, ...]

    def tables(self) -> list[ReportTable]:
        bands = [band_label(lo, hi) for lo, hi in AGE_BANDS]
        health = table(
            "inventory",
            f"Inventory at {self.scope.as_of:%Y-%m-%d %H:%M} UTC",
            [
                Column("segment", "Segment"),
                Column("stage", "Stage"),
                Column("people", "In stage", "inventory", "count"),
                Column("median_age", "Median age", "age", "days"),
                Column("p90_age", "p90 age", "age", "days"),
                Column("sla_days", "SLA", None, "days"),
                Column("past_sla", "Past SLA", "past_sla", "count"),
                Column("inactive", f"Inactive {self.inactive_days}d", "inactive", "count"),
                Column("stalled", "Stalled", "stalled", "count"),
                *[Column(f"age_{b}", b, "age", "count") for b in bands],
            ],
            [
                (
                    s.segment,
                    s.stage,
                    s.people,
                    s.median_age_days,
                    s.p90_age_days,
                    s.sla_days,
                    s.past_sla,
                    s.inactive,
                    s.stalled,
                    *s.age_bands,
                )
                for s in self.stages
            ],
        )
        trend = table(
            "freshness",
            "Freshness trend: inventory and median age at each date",
            [
                Column("at", "At"),
                Column("stage", "Stage"),
                Column("people", "In stage", "inventory", "count"),
                Column("median_age", "Median age", "age", "days"),
            ],
            [(p.at.date().isoformat(), p.stage, p.people, p.median_age_days) for p in self.trend],
        )
        return [health, trend]


def inventory_report(
    conn: Connection,
    model: RevenueModel,
    scope: Scope,
    *,
    inactive_days: int = 30,
    trend_points: int = 6,
    source: Source | None = None,
) -> InventoryReport:
    if inactive_days < 1:
        raise ValueError("inactive_days must be at least 1")
    order = {s.name: i for i, s in enumerate(model.stages)}
    slas = {s.name: s.sla.total_seconds() for s in model.stages if s.sla is not None}
    waiting = set(inventory_stages(model))
    fast = reads_spells(scope, source)
    rows = _age_rows(conn, model, scope, inactive_days, slas, fast)
    health: list[StageHealth] = []
    for (seg, stage), days in sorted(
        rows.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))
    ):
        people = sum(n for _, n, _, _, _ in days)
        counts = [0] * len(AGE_BANDS)
        for age, n, _, _, _ in days:
            counts[_band(age)] += n
        histogram = [(float(age), n) for age, n, _, _, _ in days]
        health.append(
            StageHealth(
                seg,
                stage,
                people,
                slas[stage] / DAY if stage in slas else None,
                sum(p for _, _, p, _, _ in days),
                sum(i for _, _, _, i, _ in days) if stage in waiting else 0,
                sum(s for _, _, _, _, s in days) if stage in waiting else 0,
                weighted_median(histogram),
                _weighted_quantile(histogram, 0.9),
                tuple(counts),
            )
        )
    return InventoryReport(
        scope,
        inactive_days,
        tuple(health),
        _trend(conn, model, scope, trend_points, order, fast),
    )


def _band(age_days: int) -> int:
    for i, (lower, upper) in enumerate(AGE_BANDS):
        if age_days >= lower and (upper is None or age_days < upper):
            return i
    return 0


def _weighted_quantile(values: list[tuple[float, int]], q: float) -> float | None:
    """The smallest value with at least a share q of the weight at or below it."""
    total = sum(n for _, n in values)
    if total == 0:
        return None
    seen = 0
    for value, n in sorted(values):
        seen += n
        if seen >= q * total:
            return value
    return max(v for v, _ in values)


def _age_rows(
    conn: Connection,
    model: RevenueModel,
    scope: Scope,
    inactive_days: int,
    slas: dict[str, float],
    fast: bool,
) -> dict[tuple[str, str], list[tuple[int, int, int, int, int]]]:
    """(segment, stage) -> [(age in whole days, people, past SLA, inactive, stalled)].

    From the spells, ages are integer microseconds (SLAs converted to them) and the whole
    days an integer division; from the transitions, float seconds truncated."""
    since = scope.as_of - dt.timedelta(days=inactive_days)
    if fast:
        c = current_spells(scope)
        age: ColumnElement[Any] = us_literal(scope.as_of) - c.c.entered
        scale = 1e6
        day: ColumnElement[Any] = (age // DAY_US).label("day")
        settled = c.c.entered <= us(since)
    else:
        c = current_stages(scope)
        age = seconds_between(c.c.entered, literal(scope.as_of, type_=c.c.entered.type))
        scale = 1.0
        day = whole_days(age).label("day")
        settled = c.c.entered <= since
    sla = (
        case(*[(c.c.stage == s, literal(v * scale)) for s, v in slas.items()], else_=null())
        if slas
        else null()
    )
    past = case((age > sla, 1), else_=0)
    act = schema.activities
    engaged = exists().where(
        act.c.person_id == c.c.person_id,
        act.c.occurred_at > since,
        act.c.occurred_at <= scope.as_of,
        act.c.type.not_in(list(model.engagement.ignore)),
    )
    # Only the inventory stages report inactivity: the stage test comes first so that
    # neither database looks up the activities of people in any other stage.
    waiting = inventory_stages(model)
    inactive = case((and_(c.c.stage.in_(waiting), settled, ~engaged), 1), else_=0)
    stmt = select(
        c.c.segment,
        c.c.stage,
        day,
        func.count(),
        func.sum(past),
        func.sum(inactive),
        func.sum(case((and_(past + inactive > 0), 1), else_=0)),
    ).group_by(c.c.segment, c.c.stage, day)
    rows: dict[tuple[str, str], list[tuple[int, int, int, int, int]]] = defaultdict(list)
    for seg, stage, d, n, p, i, s in conn.execute(stmt):
        rows[(seg, stage)].append((int(d), int(n), int(p or 0), int(i or 0), int(s or 0)))
    return rows


def _trend(
    conn: Connection,
    model: RevenueModel,
    scope: Scope,
    points: int,
    order: dict[str, int],
    fast: bool,
) -> tuple[FreshnessPoint, ...]:
    """Inventory and median age at the start of each of the `points - 1` months before
    `as_of`, then at `as_of` (all segments together, inventory stages only).

    One pass for all dates: each transition opens a spell that lasts until the person's next
    transition (LEAD over their history, in the same order `current_stages` uses); a person
    is in a stage at date d when one of its spells holds d.
    """
    waiting = list(inventory_stages(model))
    first = month_start(scope.as_of.date())
    dates = [
        dt.datetime.combine(add_months(first, -k), dt.time(), dt.UTC)
        for k in range(points - 2, -1, -1)
    ]
    dates = [d for d in dates if d < scope.as_of] + [scope.as_of]
    dates = dates[-points:] if points > 0 else []
    if not dates:
        return ()
    everyone = Scope(scope.period, scope.as_of, scope.filters, None, scope.model_version)
    if fast and conn.dialect.name == "sqlite" and not everyone.filters:
        return _trend_by_rank(conn, dates, waiting, order)
    if fast:
        rows = _trend_spells(conn, everyone, dates, waiting)
    else:
        rows = _trend_transitions(conn, everyone, dates, waiting)
    by_point: dict[tuple[dt.datetime, str], list[tuple[float, int]]] = defaultdict(list)
    for at, stage, d, n in rows:
        by_point[(at, stage)].append((float(d), int(n)))
    result: list[FreshnessPoint] = []
    for at, stage in sorted(by_point, key=lambda k: (k[0], order.get(k[1], 99))):
        hist = by_point[(at, stage)]
        result.append(FreshnessPoint(at, stage, sum(n for _, n in hist), weighted_median(hist)))
    return tuple(result)


TrendRow = tuple[dt.datetime, str, int, int]


def _trend_spells(
    conn: Connection, scope: Scope, dates: list[dt.datetime], waiting: list[str]
) -> list[TrendRow]:
    """From the spells: per date, the spells open at it (one indexed statement each; the
    stages are kept in Python so that the statement reads one index and no table)."""
    out: list[TrendRow] = []
    for at in dates:
        h = open_spells(scope, at, ("stage", "entered_us"))
        day = ((us_literal(at) - h.c.entered_us) // DAY_US).label("day")
        stmt = select(h.c.stage, day, func.count()).group_by(h.c.stage, day)
        out.extend(
            (at, stage, int(d), int(n)) for stage, d, n in conn.execute(stmt) if stage in waiting
        )
    return out


def _trend_by_rank(
    conn: Connection, dates: list[dt.datetime], waiting: list[str], order: dict[str, int]
) -> tuple[FreshnessPoint, ...]:
    """`_trend` on SQLite with no filter: per date and stage, a count and the median age
    read at its rank, both along the index `(stage, entered_us, left_us, step)`.

    A person's age at a date falls as their entry time rises, so the median age is the
    age of the spell at the middle rank in descending entry order (the mean of the two
    middle ones for an even count, as `weighted_median`): an `OFFSET` walks the index to
    it, where grouping by age in whole days made SQLite sort every open spell once per
    date (three quarters of the inventory report on the funnel benchmark)."""
    sp = schema.stage_spells
    out: list[FreshnessPoint] = []
    for at in dates:
        t = us(at)
        for stage in sorted(waiting, key=lambda s: order.get(s, 99)):
            held = and_(
                sp.c.stage == stage,
                sp.c.entered_us <= t,
                or_(sp.c.left_us.is_(None), sp.c.left_us > t),
            )
            n = int(conn.execute(select(func.count()).where(held)).scalar_one())
            if n == 0:
                continue
            middle = conn.execute(
                select(sp.c.entered_us)
                .where(held)
                .order_by(sp.c.entered_us.desc())
                .limit(1 if n % 2 else 2)
                .offset((n - 1) // 2)
            ).scalars()
            ages = [(t - int(entered)) // DAY_US for entered in middle]
            out.append(FreshnessPoint(at, stage, n, float(sum(ages)) / len(ages)))
    return tuple(out)


def _trend_transitions(
    conn: Connection, scope: Scope, dates: list[dt.datetime], waiting: list[str]
) -> list[TrendRow]:
    h = transitions(scope)
    spells = select(
        h.c.to_stage,
        h.c.occurred_at.label("entered"),
        func.lead(h.c.occurred_at)
        .over(partition_by=h.c.person_id, order_by=(h.c.occurred_at, h.c.id))
        .label("left_at"),
    ).subquery("spells")
    at_type = spells.c.entered.type
    moments = union_all(*[select(literal(d, type_=at_type).label("at")) for d in dates]).subquery(
        "moments"
    )
    day = whole_days(seconds_between(spells.c.entered, moments.c.at)).label("day")
    stmt = (
        select(moments.c.at, spells.c.to_stage, day, func.count())
        .select_from(
            spells.join(
                moments,
                and_(
                    spells.c.entered <= moments.c.at,
                    or_(spells.c.left_at.is_(None), spells.c.left_at > moments.c.at),
                ),
            )
        )
        .where(spells.c.to_stage.in_(waiting))
        .group_by(moments.c.at, spells.c.to_stage, day)
    )
    return [(at, stage, int(d), int(n)) for at, stage, d, n in conn.execute(stmt)]
