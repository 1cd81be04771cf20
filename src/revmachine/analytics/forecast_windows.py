"""The forecast's inputs read the first way: window functions over the raw event history.

`forecast_inputs` reads the same numbers from `stage_spells` (people) and from one pass
over the deal snapshots (deals); this module keeps the original reading — `LEAD()` over
each person's `stage_transitions` and `LAG`/`LEAD`/`FIRST_VALUE` over each deal's
`opportunity_history` — as the reference the tests compare the fast reading with. It is
exact but slow on a large store (the window passes sort every row of the history: 48 s of
SQLite CPU on the benchmark's million people, see docs/forecast.md), so nothing but the
tests calls it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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

from revmachine.analytics.forecast_inputs import (
    AMOUNT_CLASSES,
    LOST,
    OPEN,
    WON,
    Window,
    collect,
    days_of,
    deal_history,
    funnel_state,
    kept_segments,
    month_counts,
    open_deals_from_rows,
    segment_labels,
)
from revmachine.analytics.spec import Grain
from revmachine.analytics.sqlfuncs import bucket_start
from revmachine.config.revenue_model import RevenueModel
from revmachine.engine.instants import MICROS_PER_DAY
from revmachine.forecast.chain import Bands
from revmachine.forecast.montecarlo import DealHistory, FunnelState, OpenDeals
from revmachine.store import schema
from revmachine.store.spells import epoch_us


def day_number(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A time as days since 1970-01-01 UTC: its exact microseconds divided in floating
    point, as `forecast_inputs.days_of` computes the window's edges, so that a spell
    starting exactly at an edge compares equal to it (julianday() was off by up to
    2e-10 days and put such spells on either side)."""
    return epoch_us(value) / literal(float(MICROS_PER_DAY), Float)


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
    ts = literal(days_of(window.as_of), Float)
    ws = literal(days_of(window.start), Float)
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


# -- deals ---------------------------------------------------------------------------------


def _snapshots(as_of: dt.datetime) -> Subquery:
    """Every deal snapshot at or before `as_of`, with the deal's latest amount then, its
    rank from the latest (1 = latest) and its account's segment."""
    h, o, a = schema.opportunity_history, schema.opportunities, schema.accounts
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
            a.c.segment,
        )
        .select_from(
            h.outerjoin(o, o.c.id == h.c.opportunity_id).outerjoin(a, a.c.id == o.c.account_id)
        )
        .where(h.c.occurred_at <= as_of)
        .subquery("snaps")
    )


def segments_kept(conn: Connection, as_of: dt.datetime) -> list[str]:
    """`kept_segments` from the deals known at `as_of`, counted in SQL."""
    snaps = _snapshots(as_of)
    rows = conn.execute(
        select(snaps.c.segment, func.count()).where(snaps.c.rn == 1).group_by(snaps.c.segment)
    ).all()
    return kept_segments({segment: int(n) for segment, n in rows})


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


def _deal_changes(
    as_of: dt.datetime, use_stage: bool, cuts: list[float], segments: list[str]
) -> Subquery:
    """Each deal's snapshots at or before `as_of` with its label — open stage (and
    amount class, from the deal's latest amount, and segment), won, lost — and the
    previous label."""
    snaps = _snapshots(as_of)
    stage: ColumnElement[Any] = func.coalesce(snaps.c.stage, OPEN) if use_stage else literal(OPEN)
    if cuts:
        amount = func.coalesce(snaps.c.last_amount, 0)
        size = case(
            *[(amount <= cut, literal(f" · {AMOUNT_CLASSES[i]}")) for i, cut in enumerate(cuts)],
            else_=literal(f" · {AMOUNT_CLASSES[len(cuts)]}"),
        )
        stage = stage + size
    if segments:
        *named, other = segment_labels(segments)
        pairs = zip(segments, named, strict=True)
        stage = stage + case(
            *[(snaps.c.segment == name, literal(g)) for name, g in pairs], else_=literal(other)
        )
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
    segments: bool = True,
) -> tuple[DealHistory, OpenDeals]:
    """`forecast_inputs.deal_inputs`, read with window functions."""
    cuts = amount_cuts(conn, window.as_of, amount_classes)
    kept = segments_kept(conn, window.as_of) if segments else []
    marked = _deal_changes(window.as_of, use_stage, cuts, kept)
    spells = _deal_spells(marked)
    rows = list(conn.execute(_tally_statement(spells, window, bands)))
    chain = collect(rows, stages or [], (WON, LOST), bands, window)
    in_window = and_(
        spells.c.start_d >= days_of(window.start), spells.c.start_d <= days_of(window.as_of)
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
    open_rows = conn.execute(
        select(
            spells.c.opportunity_id,
            spells.c.label,
            (literal(days_of(window.as_of), Float) - spells.c.start_d).label("age"),
            spells.c.last_amount.label("amount"),
        )
        .where(spells.c.next_d.is_(None), spells.c.label.notin_([WON, LOST]))
        .order_by(spells.c.opportunity_id)
    ).all()
    return deal_history(chain, events, window, bands), open_deals_from_rows(
        chain.tallies, open_rows
    )


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
    """`forecast_inputs.funnel_inputs`, read with `LEAD()` over `stage_transitions`."""
    rows = list(conn.execute(_tally_statement(_person_spells(window.as_of), window, bands)))
    if not rows:
        return None
    chain = collect(rows, [s.name for s in model.stages], (), bands, window)
    st = schema.stage_transitions
    first = and_(
        st.c.from_stage.is_(None),
        st.c.occurred_at >= window.start,
        st.c.occurred_at <= window.as_of,
    )
    arrivals: dict[str, int] = dict(
        conn.execute(select(st.c.to_stage, func.count()).where(first).group_by(st.c.to_stage)).all()
    )
    months = bucket_start(Grain.MONTH, st.c.occurred_at)
    monthly = month_counts(
        conn.execute(select(months, func.count()).where(first).group_by(months)).all(), window
    )
    return funnel_state(model, chain, arrivals, monthly)
