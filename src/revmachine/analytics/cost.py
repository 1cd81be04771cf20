"""Cost: what each program and channel spent, and what it bought (names, MQLs, … won deals).

Costs are per program and period (`program_costs`); a cost row is spread evenly over the
days of its own period and the days inside the report period (and not after `as_of`) are
counted, so a quarterly invoice and a monthly report agree. Names and stage entries are
counted in SQL per acquisition program; the cost table is small and is prorated in Python.
Definitions: `program_cost`, `new_names`, `cost_per_name`, `cost_per_stage`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Connection, func, select

from revmachine.analytics.definitions import check_stages, cost_stages
from revmachine.analytics.history import in_period
from revmachine.analytics.spec import Grain, Period, Scope, ScopeError, add_months, month_start
from revmachine.analytics.sqlfuncs import bucket_start
from revmachine.analytics.tables import Column, ReportTable, table
from revmachine.config.revenue_model import RevenueModel
from revmachine.store import schema

NO_PROGRAM = "(no program)"
COST_FILTERS = ("program", "channel")


@dataclass(frozen=True)
class ProgramCost:
    program: str
    channel: str
    cost: Decimal | None  # None: no program, so no cost to divide
    names: int
    reached: dict[str, int]  # stage -> people whose first entry was in the period

    def per_name(self) -> Decimal | None:
        return _per(self.cost, self.names)

    def per_stage(self, stage: str) -> Decimal | None:
        return _per(self.cost, self.reached.get(stage, 0))


@dataclass(frozen=True)
class MonthCost:
    month: str
    channel: str
    cost: Decimal | None
    names: int

    def per_name(self) -> Decimal | None:
        return _per(self.cost, self.names)


@dataclass(frozen=True)
class CostReport:
    scope: Scope
    stages: tuple[str, ...]
    programs: tuple[ProgramCost, ...]
    channels: tuple[ProgramCost, ...]
    months: tuple[MonthCost, ...]

    def tables(self) -> list[ReportTable]:
        def rows(items: tuple[ProgramCost, ...], key: str) -> list[tuple[object, ...]]:
            return [
                (
                    getattr(c, key),
                    c.channel if key == "program" else None,
                    _money(c.cost),
                    c.names,
                    _money(c.per_name()),
                    *[
                        x
                        for s in self.stages
                        for x in (c.reached.get(s, 0), _money(c.per_stage(s)))
                    ],
                )
                for c in items
            ]

        def cols(key: str) -> list[Column]:
            return [
                Column(key, key.capitalize()),
                Column("channel_of", "Channel" if key == "program" else ""),
                Column("cost", "Cost", "program_cost", "money"),
                Column("names", "New names", "new_names", "count"),
                Column("per_name", "Per name", "cost_per_name", "money"),
                *[
                    col
                    for s in self.stages
                    for col in (
                        Column(f"{s}", s, "cost_per_stage", "count"),
                        Column(f"per_{s}", f"per {s}", "cost_per_stage", "money"),
                    )
                ],
            ]

        by_channel = rows(self.channels, "channel")
        by_channel = [(r[0], *r[2:]) for r in by_channel]
        channel_cols = [c for c in cols("channel") if c.name != "channel_of"]
        return [
            table("channels", "Cost by channel", channel_cols, by_channel),
            table("programs", "Cost by program", cols("program"), rows(self.programs, "program")),
            table(
                "months",
                "New names and cost per name by month",
                [
                    Column("month", "Month"),
                    Column("channel", "Channel"),
                    Column("cost", "Cost", "program_cost", "money"),
                    Column("names", "New names", "new_names", "count"),
                    Column("per_name", "Per name", "cost_per_name", "money"),
                ],
                [
                    (m.month, m.channel, _money(m.cost), m.names, _money(m.per_name()))
                    for m in self.months
                ],
            ),
        ]


def _per(cost: Decimal | None, n: int) -> Decimal | None:
    return (cost / n).quantize(Decimal("0.01")) if n and cost is not None else None


def _money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def cost_report(
    conn: Connection,
    model: RevenueModel,
    scope: Scope,
    *,
    stages: list[str] | None = None,
) -> CostReport:
    unknown = [f for f in scope.filters if f not in COST_FILTERS]
    if unknown or scope.group_by is not None:
        raise ScopeError(
            "the cost report is always by program and channel; it can be filtered by "
            f"{' and '.join(COST_FILTERS)} only"
        )
    chosen = stages or cost_stages(model)
    check_stages(model, chosen)
    programs = _programs(conn, scope)
    counted = _counted_period(scope)
    cost_by_program, cost_by_month = _costs(conn, counted, programs)
    names, names_by_month = _names(conn, scope, counted)
    reached = _reached(conn, scope, counted, chosen)
    results: list[ProgramCost] = []
    for pid, (name, channel) in sorted(programs.items(), key=lambda kv: kv[1]):
        cost = cost_by_program.get(pid, Decimal(0))
        n = names.get(pid, 0)
        if cost == 0 and n == 0 and not reached.get(pid):
            continue
        results.append(ProgramCost(name, channel, cost, n, dict(reached.get(pid, {}))))
    if (names.get(None) or reached.get(None)) and not scope.filters:
        results.append(
            ProgramCost(
                NO_PROGRAM, NO_PROGRAM, None, names.get(None, 0), dict(reached.get(None, {}))
            )
        )
    channels: dict[str, ProgramCost] = {}
    for r in results:
        before = channels.get(r.channel)
        if before is None:
            channels[r.channel] = ProgramCost(
                r.channel, r.channel, r.cost, r.names, dict(r.reached)
            )
        else:
            merged = dict(before.reached)
            for s, n in r.reached.items():
                merged[s] = merged.get(s, 0) + n
            summed = None if r.cost is None or before.cost is None else before.cost + r.cost
            channels[r.channel] = ProgramCost(
                r.channel, r.channel, summed, before.names + r.names, merged
            )
    month_cost: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    month_names: dict[tuple[str, str], int] = defaultdict(int)
    for (pid, month), cost in cost_by_month.items():
        month_cost[(month, programs[pid][1])] += cost
    for (maybe_pid, month), n in names_by_month.items():
        channel = programs[maybe_pid][1] if maybe_pid is not None else NO_PROGRAM
        month_names[(month, channel)] += n
    keys = sorted(set(month_cost) | set(month_names))
    return CostReport(
        scope,
        tuple(chosen),
        tuple(results),
        tuple(channels[c] for c in sorted(channels)),
        tuple(
            MonthCost(m, c, None if c == NO_PROGRAM else month_cost[(m, c)], month_names[(m, c)])
            for m, c in keys
        ),
    )


def _counted_period(scope: Scope) -> Period:
    """The report period cut at `as_of`: costs and names after it are not known yet."""
    last = scope.as_of.astimezone(dt.UTC).date() + dt.timedelta(days=1)
    end = min(scope.period.end, last)
    return Period(scope.period.start, max(end, scope.period.start + dt.timedelta(days=1)))


def _programs(conn: Connection, scope: Scope) -> dict[int, tuple[str, str]]:
    pr = schema.programs
    stmt = select(pr.c.id, pr.c.name, pr.c.channel)
    if "program" in scope.filters:
        stmt = stmt.where(pr.c.name.in_(scope.filters["program"]))
    if "channel" in scope.filters:
        stmt = stmt.where(pr.c.channel.in_(scope.filters["channel"]))
    return {pid: (name, channel) for pid, name, channel in conn.execute(stmt)}


def _costs(
    conn: Connection, period: Period, programs: dict[int, tuple[str, str]]
) -> tuple[dict[int, Decimal], dict[tuple[int, str], Decimal]]:
    """Cost per program in the period, and per program and month, prorated by day."""
    pc = schema.program_costs
    stmt = select(pc.c.program_id, pc.c.period_start, pc.c.period_end, pc.c.amount).where(
        pc.c.period_start < period.end,
        pc.c.period_end >= period.start,
        pc.c.program_id.in_(list(programs)),
    )
    total: dict[int, Decimal] = defaultdict(Decimal)
    monthly: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for pid, start, end, amount in conn.execute(stmt):
        days = (end - start).days + 1
        month = month_start(max(start, period.start))
        while month < period.end and month <= end:
            nxt = add_months(month, 1)
            first, last = (
                max(start, period.start, month),
                min(end, period.end - dt.timedelta(days=1), nxt - dt.timedelta(days=1)),
            )
            if last >= first:
                share = Decimal(amount) * Decimal((last - first).days + 1) / Decimal(days)
                total[pid] += share
                monthly[(pid, month.isoformat())] += share
            month = nxt
    return total, monthly


def _names(
    conn: Connection, scope: Scope, period: Period
) -> tuple[dict[int | None, int], dict[tuple[int | None, str], int]]:
    p = schema.people
    month = bucket_start(Grain.MONTH, p.c.created_at).label("month")
    where = [in_period(p.c.created_at, period), p.c.created_at <= scope.as_of]
    where += _program_filter(scope)
    stmt = (
        select(p.c.acquisition_program_id, month, func.count())
        .where(*where)
        .group_by(p.c.acquisition_program_id, month)
    )
    total: dict[int | None, int] = defaultdict(int)
    monthly: dict[tuple[int | None, str], int] = {}
    for pid, m, n in conn.execute(stmt):
        total[pid] += n
        monthly[(pid, m)] = n
    return total, monthly


def _program_filter(scope: Scope) -> list[ColumnElement[bool]]:
    p, pr = schema.people, schema.programs
    where: list[ColumnElement[bool]] = []
    if "program" in scope.filters or "channel" in scope.filters:
        chosen = select(pr.c.id)
        if "program" in scope.filters:
            chosen = chosen.where(pr.c.name.in_(scope.filters["program"]))
        if "channel" in scope.filters:
            chosen = chosen.where(pr.c.channel.in_(scope.filters["channel"]))
        where.append(p.c.acquisition_program_id.in_(chosen.scalar_subquery()))
    return where


def _reached(
    conn: Connection, scope: Scope, period: Period, stages: list[str]
) -> dict[int | None, dict[str, int]]:
    """program -> stage -> people whose first-ever entry into the stage is in the period."""
    st, p = schema.stage_transitions, schema.people
    known = [st.c.occurred_at <= scope.as_of, st.c.to_stage.in_(stages)]
    if scope.model_version is not None:
        known.append(st.c.model_version == scope.model_version)
    first = (
        select(st.c.person_id, st.c.to_stage, func.min(st.c.occurred_at).label("first_at"))
        .where(*known)
        .group_by(st.c.person_id, st.c.to_stage)
        .subquery("first_reach")
    )
    stmt = (
        select(p.c.acquisition_program_id, first.c.to_stage, func.count())
        .select_from(first.join(p, p.c.id == first.c.person_id))
        .where(in_period(first.c.first_at, period), *_program_filter(scope))
        .group_by(p.c.acquisition_program_id, first.c.to_stage)
    )
    result: dict[int | None, dict[str, int]] = defaultdict(dict)
    for pid, stage, n in conn.execute(stmt):
        result[pid][stage] = n
    return result
