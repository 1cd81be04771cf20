"""The forecast's inputs as of a cut-off, read with SQL aggregates from the event history.

Nothing after `as_of` is read: deal stages come from `opportunity_history` snapshots at or
before it, people's stages from `stage_transitions` at or before it. The database does the
scanning: each chain's tallies (days at risk per stage and age band, exits per
destination) are one grouped statement over the stage spells (`LEAD()` over each deal's or
person's history), so Python receives a few dozen rows whatever the size of the store.
Only the open deals come back one row each (stage, age, amount: the pipeline's deals are
simulated individually).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Subquery,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from revmachine.analytics.definitions import funnel_stages, inventory_stages, success_stages
from revmachine.analytics.spec import Grain, add_months
from revmachine.analytics.sqlfuncs import bucket_start
from revmachine.config.revenue_model import RevenueModel
from revmachine.forecast.chain import Bands, Tallies
from revmachine.forecast.montecarlo import DealHistory, FunnelState, OpenDeals, dispersion
from revmachine.store import schema

DAY = 86400.0
WON, LOST = "won", "lost"
#: The stage label of an open deal whose snapshot names no stage (or when stages are off).
OPEN = "(open)"


@dataclass(frozen=True)
class Window:
    """The look-back `[start, as_of]` the rates are learned from."""

    start: dt.datetime
    as_of: dt.datetime

    @property
    def days(self) -> float:
        return (self.as_of - self.start).total_seconds() / DAY


class day_number(FunctionElement[float]):
    """A time as days since 1970-01-01 UTC (a float), computed once per row so that the
    spell arithmetic below is plain subtraction (julianday() at each reference cost SQLite
    several times the whole scan)."""

    type = Float()
    inherit_cache = True
    name = "day_number"


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({value}) - 2440587.5)"


@compiles(day_number, "postgresql")
def _day_number_pg(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM {value})::float8 / 86400.0)"


def _days(when: dt.datetime) -> float:
    return when.timestamp() / DAY


def _least(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    # CASE rather than LEAST/MIN: the two-argument spellings differ between the databases.
    return case((a < b, a), else_=b)


def _greatest(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def _band(age: ColumnElement[Any], bands: Bands) -> ColumnElement[Any]:
    return case(*[(age < edge, i) for i, edge in enumerate(bands.edges)], else_=len(bands.edges))


def _tally_statement(spells: Subquery, window: Window, bands: Bands) -> Any:
    """Group the spells `(label, start_d, next_label, next_d)` (times as day numbers) into
    tallies.

    For a spell in the window, `a0`/`a1` are its ages (days) where its part inside the
    window starts and ends; the days at risk in band [lo, hi) are the overlap of [a0, a1]
    with it. A spell still open at `as_of` (no next) is censored there; its row also
    counts the people or deals in each (stage, band) at `as_of`.
    """
    ts = literal(_days(window.as_of), Float)
    ws = literal(_days(window.start), Float)
    end = func.coalesce(spells.c.next_d, ts)
    ages = (
        select(
            spells.c.label,
            spells.c.next_label,
            (_greatest(spells.c.start_d, ws) - spells.c.start_d).label("a0"),
            (end - spells.c.start_d).label("a1"),
        )
        .where(end >= ws)
        .subquery("ages")
    )
    lows = bands.lower
    highs = [*bands.edges, None]
    overlaps = []
    for i, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
        top = ages.c.a1 if hi is None else _least(ages.c.a1, literal(hi, Float))
        span = top - _greatest(ages.c.a0, literal(lo, Float))
        overlaps.append(func.sum(case((span > 0, span), else_=0.0)).label(f"b{i}"))
    band = _band(ages.c.a1, bands).label("band")
    return select(
        ages.c.label, ages.c.next_label, band, func.count().label("n"), *overlaps
    ).group_by(ages.c.label, ages.c.next_label, band)


@dataclass(frozen=True)
class ChainRows:
    tallies: Tallies
    current: np.ndarray  # (S, B) spells open at as_of


def _collect(
    rows: list[Any], stages: list[str], outcomes: tuple[str, ...], bands: Bands, window: Window
) -> ChainRows:
    known = list(stages)
    for r in rows:
        for name in (r.label, r.next_label):
            if name is not None and name not in known and name not in outcomes:
                known.append(name)
    index = {name: i for i, name in enumerate(known)}
    dest = {**index, **{o: len(known) + i for i, o in enumerate(outcomes)}}
    exposure = np.zeros((len(known), bands.count))
    exits = np.zeros((len(known), bands.count, len(known) + len(outcomes)))
    current = np.zeros((len(known), bands.count))
    for r in rows:
        if r.label in outcomes:
            continue
        s = index[r.label]
        exposure[s] += [float(getattr(r, f"b{i}") or 0.0) for i in range(bands.count)]
        if r.next_label is None:
            current[s, int(r.band)] += int(r.n)
        elif r.next_label != r.label:
            exits[s, int(r.band), dest[r.next_label]] += int(r.n)
    tallies = Tallies(tuple(known), outcomes, bands, exposure, exits, window.days)
    return ChainRows(tallies, current)


def _whole_months(rows: Sequence[Any], window: Window) -> list[int]:
    """The counts of the calendar months wholly inside the window (missing months: 0)."""
    counts = {str(month): int(n) for month, n in rows}
    first = window.start.date().replace(day=1)
    if dt.datetime.combine(first, dt.time(), dt.UTC) < window.start:
        first = add_months(first, 1)
    out = []
    while dt.datetime.combine(add_months(first, 1), dt.time(), dt.UTC) <= window.as_of:
        out.append(counts.get(first.isoformat(), 0))
        first = add_months(first, 1)
    return out


# -- deals ---------------------------------------------------------------------------------


#: Names of the amount classes (by the tertiles of the deals' amounts as of the cut-off).
AMOUNT_CLASSES = ("small", "mid", "large")


def _snapshots(as_of: dt.datetime) -> Subquery:
    """Every deal snapshot at or before `as_of`, with the deal's latest amount then and
    its rank from the latest (1 = latest)."""
    h = schema.opportunity_history
    latest = (h.c.occurred_at.desc(), h.c.id.desc())
    return (
        select(
            h.c.opportunity_id,
            h.c.occurred_at,
            h.c.id,
            h.c.stage,
            h.c.status,
            h.c.amount,
            func.first_value(h.c.amount)
            .over(partition_by=h.c.opportunity_id, order_by=latest)
            .label("last_amount"),
            func.row_number().over(partition_by=h.c.opportunity_id, order_by=latest).label("rn"),
        )
        .where(h.c.occurred_at <= as_of)
        .subquery("snaps")
    )


def amount_cuts(conn: Connection, as_of: dt.datetime, classes: int) -> list[float]:
    """The amounts splitting the deals known at `as_of` (latest amount) into `classes`
    about equal parts (NTILE; a class holds the amounts up to and including its cut)."""
    if classes <= 1:
        return []
    snaps = _snapshots(as_of)
    tiles = (
        select(
            snaps.c.last_amount.label("amount"),
            func.ntile(classes).over(order_by=snaps.c.last_amount).label("tile"),
        )
        .where(snaps.c.rn == 1, snaps.c.last_amount.is_not(None))
        .subquery("tiles")
    )
    rows = conn.execute(
        select(tiles.c.tile, func.max(tiles.c.amount), func.count())
        .group_by(tiles.c.tile)
        .order_by(tiles.c.tile)
    ).all()
    if sum(int(n) for _, _, n in rows) < classes * 10:
        return []
    return sorted({float(top) for _, top, _ in rows[:-1]})


def _deal_changes(as_of: dt.datetime, use_stage: bool, cuts: list[float]) -> Subquery:
    """Each deal's snapshots at or before `as_of` with its label — open stage (and
    amount class, from the deal's latest amount), won, lost — and the previous label."""
    snaps = _snapshots(as_of)
    stage: ColumnElement[Any] = func.coalesce(snaps.c.stage, OPEN) if use_stage else literal(OPEN)
    if cuts:
        amount = func.coalesce(snaps.c.last_amount, 0)
        size = case(
            *[(amount <= cut, literal(f" · {AMOUNT_CLASSES[i]}")) for i, cut in enumerate(cuts)],
            else_=literal(f" · {AMOUNT_CLASSES[len(cuts)]}"),
        )
        stage = stage + size
    label = case((snaps.c.status == "won", WON), (snaps.c.status == "lost", LOST), else_=stage)
    order = (snaps.c.occurred_at, snaps.c.id)
    return select(
        snaps.c.opportunity_id,
        snaps.c.occurred_at,
        snaps.c.id,
        snaps.c.amount,
        snaps.c.last_amount,
        snaps.c.rn,
        label.label("label"),
        func.lag(label).over(partition_by=snaps.c.opportunity_id, order_by=order).label("prev"),
    ).subquery("marked")


def _deal_spells(marked: Subquery) -> Subquery:
    changes = (
        select(
            marked.c.opportunity_id,
            marked.c.label,
            marked.c.occurred_at,
            marked.c.id,
            marked.c.last_amount,
            day_number(marked.c.occurred_at).label("day"),
        )
        .where((marked.c.prev.is_(None)) | (marked.c.prev != marked.c.label))
        .subquery("changes")
    )
    order = (changes.c.occurred_at, changes.c.id)
    return select(
        changes.c.opportunity_id,
        changes.c.label,
        changes.c.last_amount,
        changes.c.occurred_at.label("start_at"),
        changes.c.day.label("start_d"),
        func.lead(changes.c.label)
        .over(partition_by=changes.c.opportunity_id, order_by=order)
        .label("next_label"),
        func.lead(changes.c.day)
        .over(partition_by=changes.c.opportunity_id, order_by=order)
        .label("next_d"),
        func.row_number().over(partition_by=changes.c.opportunity_id, order_by=order).label("k"),
        func.min(changes.c.day).over(partition_by=changes.c.opportunity_id).label("first_d"),
    ).subquery("spells")


def deal_inputs(
    conn: Connection,
    window: Window,
    bands: Bands,
    *,
    stages: list[str] | None = None,
    use_stage: bool = True,
    amount_classes: int = 3,
) -> tuple[DealHistory, OpenDeals]:
    """The deal chain learned over the window, and the deals open at `as_of`.

    A deal's state is its stage and (with `amount_classes` > 1) its size class — its
    latest amount as of the cut-off against the tertiles of all deals' — because larger
    deals close later and less often, so the deals won soon are not an average sample.
    """
    cuts = amount_cuts(conn, window.as_of, amount_classes)
    marked = _deal_changes(window.as_of, use_stage, cuts)
    spells = _deal_spells(marked)
    rows = list(conn.execute(_tally_statement(spells, window, bands)))
    chain = _collect(rows, stages or [], (WON, LOST), bands, window)
    t = chain.tallies
    in_window = and_(
        spells.c.start_d >= _days(window.start), spells.c.start_d <= _days(window.as_of)
    )
    # One pass for the new deals (first spells: entry stage, month) and the wins (days
    # from the deal's first snapshot to the win, amount).
    first = case((spells.c.k == 1, 1), else_=0).label("first")
    month = bucket_start(Grain.MONTH, spells.c.start_at).label("month")
    cycle = _band(spells.c.start_d - spells.c.first_d, bands)
    amount = spells.c.last_amount
    events = conn.execute(
        select(
            spells.c.label,
            first,
            month,
            cycle.label("band"),
            func.count().label("n"),
            func.sum(amount).label("total"),
            func.sum(amount * amount).label("squares"),
        )
        .where(in_window, or_(spells.c.k == 1, spells.c.label == WON))
        .group_by(spells.c.label, first, month, cycle)
    ).all()
    entry = np.zeros(len(t.stages))
    by_month: dict[str, int] = defaultdict(int)
    won_by_month: dict[str, int] = defaultdict(int)
    won_n, won_sum, won_sq = (np.zeros(bands.count) for _ in range(3))
    for r in events:
        if r.label == WON:
            b = int(r.band)
            won_n[b] += int(r.n)
            won_sum[b] += float(r.total or 0.0)
            won_sq[b] += float(r.squares or 0.0)
            won_by_month[str(r.month)] += int(r.n)
        elif r.first and r.label != LOST:
            entry[t.stage_index(r.label)] += int(r.n)
            by_month[str(r.month)] += int(r.n)
    created = int(entry.sum())
    if created:
        entry /= created
    elif t.stages:
        entry[0] = 1.0
    won_mean = np.divide(won_sum, won_n, out=np.zeros(bands.count), where=won_n > 0)
    second = np.divide(won_sq, won_n, out=np.zeros(bands.count), where=won_n > 0)
    won_sd = np.sqrt(np.maximum(second - won_mean**2, 0.0))
    monthly = _whole_months(list(by_month.items()), window)
    open_rows = conn.execute(
        select(
            spells.c.opportunity_id,
            spells.c.label,
            (literal(_days(window.as_of), Float) - spells.c.start_d).label("age"),
            spells.c.last_amount.label("amount"),
        )
        .where(spells.c.next_d.is_(None), spells.c.label.notin_([WON, LOST]))
        .order_by(spells.c.opportunity_id)
    ).all()
    open_deals = OpenDeals(
        np.array([t.stage_index(r.label) for r in open_rows], dtype=np.int64),
        np.array([float(r.age) for r in open_rows], dtype=np.float64),
        np.array([float(r.amount or 0) for r in open_rows], dtype=np.float64),
        np.array([int(r.opportunity_id) for r in open_rows], dtype=np.int64),
    )
    won_monthly = _whole_months(list(won_by_month.items()), window)
    history = DealHistory(
        t,
        entry,
        created,
        won_n,
        won_mean,
        won_sd,
        dispersion(monthly),
        dispersion(won_monthly),
    )
    return history, open_deals


# -- people ---------------------------------------------------------------------------------


def _person_spells(as_of: dt.datetime) -> Subquery:
    st = schema.stage_transitions
    order = (st.c.occurred_at, st.c.id)
    return (
        select(
            st.c.to_stage.label("label"),
            day_number(st.c.occurred_at).label("start_d"),
            func.lead(st.c.to_stage)
            .over(partition_by=st.c.person_id, order_by=order)
            .label("next_label"),
            func.lead(day_number(st.c.occurred_at))
            .over(partition_by=st.c.person_id, order_by=order)
            .label("next_d"),
        )
        .where(st.c.occurred_at <= as_of)
        .subquery("spells")
    )


def funnel_inputs(
    conn: Connection, model: RevenueModel, window: Window, bands: Bands
) -> FunnelState | None:
    """The people chain over the model's stages, learned over the window, and who is in
    each (stage, band) at `as_of`; None when the store has no stage history."""
    rows = list(conn.execute(_tally_statement(_person_spells(window.as_of), window, bands)))
    if not rows:
        return None
    names = [s.name for s in model.stages]
    chain = _collect(rows, names, (), bands, window)
    t = chain.tallies
    st = schema.stage_transitions
    arrivals: dict[str, int] = dict(
        conn.execute(
            select(st.c.to_stage, func.count())
            .where(
                st.c.from_stage.is_(None),
                st.c.occurred_at >= window.start,
                st.c.occurred_at <= window.as_of,
            )
            .group_by(st.c.to_stage)
        ).all()
    )
    months = bucket_start(Grain.MONTH, st.c.occurred_at)
    monthly = _whole_months(
        conn.execute(
            select(months, func.count())
            .where(
                st.c.from_stage.is_(None),
                st.c.occurred_at >= window.start,
                st.c.occurred_at <= window.as_of,
            )
            .group_by(months)
        ).all(),
        window,
    )
    path = inventory_stages(model)
    opportunity = path[-1]
    entry = max(arrivals, key=lambda k: arrivals[k]) if arrivals else model.entry
    inventory = chain.current.copy()
    for stage in (opportunity, *success_stages(model)):
        if stage in t.stages:
            inventory[t.stage_index(stage)] = 0.0
    order = funnel_stages(model)
    after = order[order.index(entry) + 1 :] if entry in order else order
    if opportunity in after:  # later stages are the pipeline's, not the funnel's
        after = after[: after.index(opportunity) + 1]
    report = tuple(s for s in after if s in t.stages)
    opp_entries = (
        int(t.exits[..., t.destination_index(opportunity)].sum()) if opportunity in t.stages else 0
    )
    return FunnelState(
        t,
        inventory,
        entry,
        opportunity,
        report,
        int(sum(arrivals.values())),
        opp_entries,
        dispersion(monthly),
    )


def period_counts(
    conn: Connection, periods: list[tuple[dt.datetime, dt.datetime]], known_at: dt.datetime
) -> dict[str, list[float]]:
    """What happened in each period, as known at `known_at`: stage entries per stage and
    new names (first transitions), for scoring funnel forecasts."""
    st = schema.stage_transitions
    out: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(periods))
    for k, (start, end) in enumerate(periods):
        rows = conn.execute(
            select(st.c.to_stage, st.c.from_stage.is_(None), func.count())
            .where(st.c.occurred_at >= start, st.c.occurred_at < end, st.c.occurred_at <= known_at)
            .group_by(st.c.to_stage, st.c.from_stage.is_(None))
        )
        for stage, first, n in rows:
            if first:
                out["names"][k] += int(n)
            else:
                out[f"entries:{stage}"][k] += int(n)
    return dict(out)
