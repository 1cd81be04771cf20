"""The forecast's inputs as of a cut-off: a few small aggregates, whatever the store's size.

Nothing after `as_of` is read. Each chain is tallied into days at risk per (stage, age
band) and exits per destination (see `forecast.chain.Tallies`); what differs is where the
stage spells come from:

- **People** read `stage_spells` (`store/spells.py`), where each stay in a stage already
  carries its end (`left_us`), so no window function is needed: as of `T` a spell that
  opened at or before `T` is open if it ended after `T` (or not at all). Two grouped
  statements do the work: the days at risk and who is where at `T` (a scan of the spells
  that overlap the look-back window, grouped by stage and the age bands where the spell's
  part inside the window starts and ends, so Python can spread the summed ages over the
  bands exactly), and the exits (the spells that ended inside the window, with where they
  went in their `next_stage`). Times stay integer
  microseconds in the database; the sums come back in days.
- **Deals** have no spell table: their snapshots as of `T` (one row each; a deal has a
  handful) are read in one plain scan and turned into spells with numpy (a sort by deal
  and time, then comparisons with the neighbouring row). The window-function statements
  that did this in SQL (`forecast_windows.py`, kept as the tests' reference) cost SQLite
  about a second of CPU per 500,000 rows and window level.

`forecast_windows` reads the same inputs the original way; a test checks that both give
the same numbers on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)

from revmachine.analytics.definitions import funnel_stages, inventory_stages, success_stages
from revmachine.analytics.spec import add_months
from revmachine.analytics.sqlfuncs import unindexed
from revmachine.config.revenue_model import RevenueModel
from revmachine.engine.instants import MICROS_PER_DAY, to_micros
from revmachine.forecast.chain import Bands, Tallies
from revmachine.forecast.montecarlo import DealHistory, FunnelState, OpenDeals, dispersion
from revmachine.store import schema
from revmachine.store.bulk import gc_relaxed
from revmachine.store.spells import epoch_us

DAY = 86400.0
WON, LOST = "won", "lost"
#: The stage label of an open deal whose snapshot names no stage (or when stages are off).
OPEN = "(open)"
#: Names of the amount classes (by the tertiles of the deals' amounts as of the cut-off).
AMOUNT_CLASSES = ("small", "mid", "large")
#: A segment with fewer deals than this as of the cut-off is learned with the deals that
#: have no segment, as OTHER_SEGMENT: a handful of deals cannot carry rates of their own.
MIN_SEGMENT_DEALS = 20
OTHER_SEGMENT = "other"

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Window:
    """The look-back `[start, as_of]` the rates are learned from."""

    start: dt.datetime
    as_of: dt.datetime

    @property
    def days(self) -> float:
        return (self.as_of - self.start).total_seconds() / DAY


def days_of(when: dt.datetime) -> float:
    """A time as days since 1970-01-01 UTC: its exact microseconds divided in floating
    point, as the spells' times are (so equal times compare equal)."""
    return to_micros(when) / MICROS_PER_DAY


# -- shared by both readings ---------------------------------------------------------------


class TallyRow(NamedTuple):
    """One group of spells: stage, where they went (None: still open at `as_of`), the age
    band at their end (or at `as_of`), how many, and their days at risk per band."""

    label: str
    next_label: str | None
    band: int
    n: int
    days: tuple[float, ...]


def tally_row(row: Any, bands: Bands) -> TallyRow:
    """A grouped SQL row `(label, next_label, band, n, b0, b1, …)` as a `TallyRow`."""
    days = tuple(float(getattr(row, f"b{i}") or 0.0) for i in range(bands.count))
    return TallyRow(row.label, row.next_label, int(row.band), int(row.n), days)


@dataclass(frozen=True)
class ChainRows:
    tallies: Tallies
    current: np.ndarray  # (S, B) spells open at as_of


def collect(
    rows: Iterable[Any], stages: list[str], outcomes: tuple[str, ...], bands: Bands, window: Window
) -> ChainRows:
    """Tallies from grouped spell rows (`TallyRow`s, or SQL rows with `b0…` columns).

    The states are `stages` in that order, then any other label in sorted order (so the
    order does not depend on the order the database returns groups in)."""
    grouped = [r if isinstance(r, TallyRow) else tally_row(r, bands) for r in rows]
    seen = {name for r in grouped for name in (r.label, r.next_label) if name is not None}
    known = list(stages) + sorted(seen - set(stages) - set(outcomes))
    index = {name: i for i, name in enumerate(known)}
    dest = {**index, **{o: len(known) + i for i, o in enumerate(outcomes)}}
    exposure = np.zeros((len(known), bands.count))
    exits = np.zeros((len(known), bands.count, len(known) + len(outcomes)))
    current = np.zeros((len(known), bands.count))
    for r in grouped:
        if r.label in outcomes:
            continue
        s = index[r.label]
        exposure[s] += r.days
        if r.next_label is None:
            current[s, r.band] += r.n
        elif r.next_label != r.label:
            exits[s, r.band, dest[r.next_label]] += r.n
    tallies = Tallies(tuple(known), outcomes, bands, exposure, exits, window.days)
    return ChainRows(tallies, current)


def month_counts(rows: Sequence[Any], window: Window) -> list[int]:
    """The counts of the calendar months wholly inside the window (missing months: 0), from
    rows `(month start 'YYYY-MM-DD', count)`."""
    counts: dict[str, int] = defaultdict(int)
    for month, n in rows:
        counts[str(month)] += int(n)
    first = window.start.date().replace(day=1)
    if dt.datetime.combine(first, dt.time(), dt.UTC) < window.start:
        first = add_months(first, 1)
    out = []
    while dt.datetime.combine(add_months(first, 1), dt.time(), dt.UTC) <= window.as_of:
        out.append(counts.get(first.isoformat(), 0))
        first = add_months(first, 1)
    return out


def open_deals_from_rows(t: Tallies, rows: Iterable[Any]) -> OpenDeals:
    """The open deals from rows `(opportunity_id, label, age, amount)`."""
    opened = list(rows)
    return OpenDeals(
        np.array([t.stage_index(r.label) for r in opened], dtype=np.int64),
        np.array([float(r.age) for r in opened], dtype=np.float64),
        np.array([float(r.amount or 0) for r in opened], dtype=np.float64),
        np.array([int(r.opportunity_id) for r in opened], dtype=np.int64),
    )


def kept_segments(deals_per_segment: dict[str | None, int]) -> list[str]:
    """The account segments that are part of a deal's state: those with at least
    `MIN_SEGMENT_DEALS` deals known at the cut-off, sorted; every other deal (no account,
    no segment, a rarer segment) is in `OTHER_SEGMENT`. None at all when fewer than two
    groups would remain, since one group tells the deals nothing apart."""
    kept = sorted(
        str(name)
        for name, n in deals_per_segment.items()
        if name is not None and name != OTHER_SEGMENT and n >= MIN_SEGMENT_DEALS
    )
    rest = sum(n for name, n in deals_per_segment.items() if name not in kept)
    groups = len(kept) + (1 if rest else 0)
    return kept if groups > 1 else []


def segment_labels(kept: list[str]) -> list[str]:
    """The label suffixes of the segments, in code order (the last one is OTHER_SEGMENT)."""
    return [f" · {name}" for name in (*kept, OTHER_SEGMENT)] if kept else [""]


def deal_history(
    chain: ChainRows, events: Iterable[Any], window: Window, bands: Bands
) -> DealHistory:
    """The deal chain from the tallies and the window's events (rows `(label, first,
    month, band, n, total, squares)`: first spells and wins, grouped)."""
    t = chain.tallies
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
    return DealHistory(
        t,
        entry,
        created,
        won_n,
        won_mean,
        won_sd,
        dispersion(month_counts(list(by_month.items()), window)),
        dispersion(month_counts(list(won_by_month.items()), window)),
    )


def funnel_state(
    model: RevenueModel, chain: ChainRows, arrivals: dict[str, int], monthly: list[int]
) -> FunnelState:
    """The funnel from the people chain, the window's new names per entry stage
    (`arrivals`) and per whole month."""
    t = chain.tallies
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


# -- deals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealSpells:
    """Each deal's spells as of the cut-off (sorted by deal, then time): the label code
    (see `labels`), the start in days, the next spell's label code (-1: none yet) and
    start, the spell's number in the deal (1, 2, …), the deal's first day and latest
    amount (NaN: none)."""

    labels: list[str]
    deal: I64
    label: I64
    start_us: I64
    start_d: F64
    next_label: I64
    next_d: F64
    k: I64
    first_d: F64
    last_amount: F64


def _read_snapshots(conn: Connection, as_of: dt.datetime) -> tuple[Any, ...]:
    """The snapshots at or before `as_of`: deal, time (µs), stage, status code (0 open,
    1 won, 2 lost) and amount (NaN: none), as arrays sorted by deal, time and id."""
    h = schema.opportunity_history
    status = case((h.c.status == WON, 1), (h.c.status == LOST, 2), else_=0)
    result = conn.execute(
        select(
            h.c.opportunity_id,
            epoch_us(h.c.occurred_at),
            h.c.id,
            h.c.stage,
            cast(status, Integer),
            cast(h.c.amount, Float),
        ).where(h.c.occurred_at <= as_of)
    )
    # The driver's own tuples: half a million rows through SQLAlchemy's row objects cost
    # as much again as the fetch (every column is already a plain int, float or str).
    with gc_relaxed():
        rows = result.cursor.fetchall() if result.cursor is not None else []
        result.close()
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, [], empty, np.zeros(0)
        deal_, at_, id_, stage_, status_, amount_ = zip(*rows, strict=True)
        del rows
    deal = np.array(deal_, dtype=np.int64)
    at = np.array(at_, dtype=np.int64)
    order = np.lexsort((np.array(id_, dtype=np.int64), at, deal))
    stages = [stage_[i] for i in order.tolist()]
    return (
        deal[order],
        at[order],
        stages,
        np.array(status_, dtype=np.int64)[order],
        np.array(amount_, dtype=np.float64)[order],
    )


def _cuts(latest: F64, classes: int) -> list[float]:
    """The amounts splitting the deals' latest amounts into `classes` about equal parts,
    as SQL's NTILE does (the first `n mod classes` parts one larger); a class holds the
    amounts up to and including its cut. None below ten deals a class."""
    amounts = np.sort(latest[~np.isnan(latest)])
    if classes <= 1 or len(amounts) < classes * 10:
        return []
    size, extra = divmod(len(amounts), classes)
    ends = np.cumsum([size + (1 if i < extra else 0) for i in range(classes)])
    return sorted({float(amounts[e - 1]) for e in ends[:-1]})


def _deal_segments(conn: Connection, deals: I64) -> tuple[I64, list[str]]:
    """Each of the (sorted) deal ids' segment code, and the kept segments the codes index
    (see `kept_segments`; the code one past them is OTHER_SEGMENT).

    The segments' names are read once (a handful) and each deal's comes back as the
    name's position: integers only, since 160,000 rows of names cost SQLite and the
    driver four times as much as the ids."""
    o, a = schema.opportunities, schema.accounts
    names = sorted(
        conn.execute(select(a.c.segment).where(a.c.segment.is_not(None)).distinct()).scalars()
    )
    if not names:
        return np.zeros(len(deals), np.int64), []
    position = case(*[(a.c.segment == name, i) for i, name in enumerate(names)], else_=-1)
    result = conn.execute(
        select(o.c.id, position)
        .select_from(o.join(a, a.c.id == o.c.account_id))
        .where(a.c.segment.is_not(None))
    )
    position_of = dict(result.cursor.fetchall() if result.cursor is not None else [])
    result.close()
    unique = np.unique(deals)
    of_unique = np.array([position_of.get(d, -1) for d in unique.tolist()], dtype=np.int64)
    counts: dict[str | None, int] = {
        (names[c] if c >= 0 else None): int(n)
        for c, n in zip(*np.unique(of_unique, return_counts=True), strict=True)
    }
    kept = kept_segments(counts)
    # name position -> segment code; the extra last entry is what position -1 (no
    # segment) reads, OTHER_SEGMENT like a segment too small to keep
    recode = np.array([kept.index(n) if n in kept else len(kept) for n in names] + [len(kept)])
    return recode[of_unique[np.searchsorted(unique, deals)]], kept


def deal_spells(
    conn: Connection, as_of: dt.datetime, use_stage: bool, classes: int, segments: bool = True
) -> DealSpells:
    """The deals' spells as of `as_of`: consecutive snapshots with the same label — open
    stage, size class (by the deal's latest amount) and account segment, won, lost —
    make one spell.

    Hand-rolled over sorted numpy arrays (each step a comparison with the neighbouring
    row) rather than a data-frame group-by: the arrays come straight from the fetch, and
    `forecast_windows` is the reference a test holds it to."""
    deal, at, stage, status, amount = _read_snapshots(conn, as_of)
    n = len(deal)
    starts = np.flatnonzero(np.r_[True, deal[1:] != deal[:-1]]) if n else np.zeros(0, np.int64)
    group = np.cumsum(np.r_[True, deal[1:] != deal[:-1]]) - 1 if n else np.zeros(0, np.int64)
    ends = np.r_[starts[1:] - 1, n - 1] if n else np.zeros(0, np.int64)
    last_amount = amount[ends][group] if n else np.zeros(0)
    cuts = _cuts(amount[ends], classes) if n else []
    # Labels as integer codes: 0 won, 1 lost, then each (stage, size class) seen.
    names = [OPEN] if not use_stage else sorted({s if s is not None else OPEN for s in stage})
    code = {name: i for i, name in enumerate(names)}
    stage_code = (
        np.array([code[s if s is not None else OPEN] for s in stage], dtype=np.int64)
        if use_stage
        else np.zeros(n, dtype=np.int64)
    )
    size = np.searchsorted(np.array(cuts), np.nan_to_num(last_amount, nan=0.0), side="left")
    classes_used = len(cuts) + 1
    segment, kept = _deal_segments(conn, deal) if segments and n else (np.zeros(n, np.int64), [])
    groups = segment_labels(kept)
    state = (stage_code * classes_used + size) * len(groups) + segment
    label = np.where(status == 1, 0, np.where(status == 2, 1, 2 + state))
    suffixes = [f" · {AMOUNT_CLASSES[i]}" for i in range(classes_used)] if cuts else [""]
    labels = [WON, LOST] + [f"{s}{x}{g}" for s in names for x in suffixes for g in groups]
    change = np.r_[True, (deal[1:] != deal[:-1]) | (label[1:] != label[:-1])] if n else label > 0
    keep = np.flatnonzero(change)
    d, lab, us = deal[keep], label[keep], at[keep]
    same_next = np.r_[d[1:] == d[:-1], False] if len(d) else np.zeros(0, dtype=bool)
    start_d = us / MICROS_PER_DAY
    next_label = np.where(same_next, np.r_[lab[1:], -1], -1) if len(d) else lab
    next_d = np.where(same_next, np.r_[start_d[1:], np.nan], np.nan) if len(d) else start_d
    first = np.r_[True, d[1:] != d[:-1]] if len(d) else np.zeros(0, dtype=bool)
    first_at = np.flatnonzero(first)
    spell_group = np.cumsum(first) - 1
    k = np.arange(len(d)) - first_at[spell_group] + 1 if len(d) else np.zeros(0, np.int64)
    return DealSpells(
        labels,
        d,
        lab,
        us,
        start_d,
        next_label,
        next_d,
        k,
        start_d[first_at][spell_group] if len(d) else start_d,
        last_amount[keep],
    )


def _group(keys: Sequence[I64]) -> tuple[I64, I64]:
    """The distinct rows of the integer key columns (as a (G, K) array, sorted) and each
    row's group: the columns folded into one integer key first, since numpy's row-wise
    unique sorts whole rows (ten times slower on the benchmark's snapshots)."""
    if not len(keys[0]):
        return np.zeros((0, len(keys)), dtype=np.int64), np.zeros(0, dtype=np.int64)
    folded = np.zeros(len(keys[0]), dtype=np.int64)
    for column in keys:
        shifted = column - column.min()
        folded = folded * (int(shifted.max()) + 1) + shifted
    _, first, inverse = np.unique(folded, return_index=True, return_inverse=True)
    return np.stack([column[first] for column in keys], axis=1), inverse.reshape(-1)


def _tally_spells(s: DealSpells, window: Window, bands: Bands) -> list[TallyRow]:
    """The deal spells grouped as `forecast_windows._tally_statement` groups them."""
    ts, ws = days_of(window.as_of), days_of(window.start)
    end = np.where(s.next_label >= 0, s.next_d, ts)
    inside = end >= ws
    start = s.start_d[inside]
    a0 = np.maximum(start, ws) - start
    a1 = end[inside] - start
    band = np.searchsorted(np.array(bands.edges), a1, side="right")
    highs = [*bands.edges, np.inf]
    spans = [
        np.maximum(np.minimum(a1, hi) - np.maximum(a0, lo), 0.0)
        for lo, hi in zip(bands.lower, highs, strict=True)
    ]
    unique, group = _group([s.label[inside], s.next_label[inside], band])
    counts = np.bincount(group, minlength=len(unique))
    days = [np.bincount(group, weights=span, minlength=len(unique)) for span in spans]
    return [
        TallyRow(
            s.labels[int(lab)],
            s.labels[int(nxt)] if nxt >= 0 else None,
            int(b),
            int(counts[g]),
            tuple(float(d[g]) for d in days),
        )
        for g, (lab, nxt, b) in enumerate(unique.tolist())
    ]


class _Event(NamedTuple):
    label: str
    first: int
    month: str
    band: int
    n: int
    total: float
    squares: float


def _events(s: DealSpells, window: Window, bands: Bands) -> list[_Event]:
    """The window's first spells and wins by (label, first, month, band from the deal's
    first snapshot): count, sum and sum of squares of the deals' latest amounts."""
    ts, ws = days_of(window.as_of), days_of(window.start)
    pick = (s.start_d >= ws) & (s.start_d <= ts) & ((s.k == 1) | (s.label == 0))
    us = s.start_us[pick]
    month = us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    cycle = np.searchsorted(np.array(bands.edges), s.start_d[pick] - s.first_d[pick], "right")
    first = (s.k[pick] == 1).astype(np.int64)
    unique, group = _group([s.label[pick], first, month, cycle])
    amount = s.last_amount[pick]
    known = ~np.isnan(amount)
    value = np.where(known, amount, 0.0)
    counts = np.bincount(group, minlength=len(unique))
    totals = np.bincount(group, weights=value, minlength=len(unique))
    squares = np.bincount(group, weights=value * value, minlength=len(unique))
    months = np.array(unique[:, 2] if len(unique) else [], dtype="datetime64[M]")
    return [
        _Event(
            s.labels[int(lab)],
            int(f),
            str(months[g].astype("datetime64[D]")),
            int(b),
            int(counts[g]),
            float(totals[g]),
            float(squares[g]),
        )
        for g, (lab, f, _, b) in enumerate(unique.tolist())
    ]


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
    """The deal chain learned over the window, and the deals open at `as_of`.

    A deal's state is its stage, (with `amount_classes` > 1) its size class — its latest
    amount as of the cut-off against the tertiles of all deals' — because larger deals
    close later and less often, so the deals won soon are not an average sample, and
    (with `segments`) its account's segment, since segments sell on cycles and win rates
    of their own (`kept_segments` says which segments count). The segment is the
    account's current one: accounts keep no history of it.
    """
    s = deal_spells(conn, window.as_of, use_stage, amount_classes, segments)
    chain = collect(_tally_spells(s, window, bands), stages or [], (WON, LOST), bands, window)
    t = chain.tallies
    still = (s.next_label < 0) & (s.label > 1)  # the last spell, neither won nor lost
    state = np.array([t.stages.index(x) if x in t.stages else -1 for x in s.labels])
    open_deals = OpenDeals(
        state[s.label[still]].astype(np.int64),
        days_of(window.as_of) - s.start_d[still],
        np.nan_to_num(s.last_amount[still], nan=0.0),
        s.deal[still],
    )
    return deal_history(chain, _events(s, window, bands), window, bands), open_deals


# -- people ---------------------------------------------------------------------------------

sp = schema.stage_spells


def _us(value: int) -> ColumnElement[int]:
    return literal(value, BigInteger())


def _band_us(age_us: ColumnElement[Any], bands: Bands) -> ColumnElement[Any]:
    """The age band of an age in microseconds (a CASE: cheap per row on both databases)."""
    whens = [(age_us < _us(round(edge * MICROS_PER_DAY)), i) for i, edge in enumerate(bands.edges)]
    return case(*whens, else_=len(bands.edges))


def _clamped(band: int, n: int, total: float, bands: Bands) -> F64:
    """Σ min(max(age, lo_k), hi_k) for each band k, over `n` ages summing to `total` that
    all lie in `band`: the ages below a band count its top, those above its bottom.
    The days at risk of a spell in band k are that of its end age minus that of its start
    age (the overlap of [a0, a1] with [lo_k, hi_k))."""
    out = np.zeros(bands.count)
    out[:band] = n * np.array(bands.edges[:band])
    out[band] = total
    out[band + 1 :] = n * np.array(bands.lower[band + 1 :])
    return out


def _open_statement(t: int, ws: int, bands: Bands, dialect: str) -> tuple[Any, list[int]]:
    """The spells open at `t`, per stage and range of entry times (`arm`).

    For an open spell both ages — at `t` and where the window starts — are functions of
    its entry time alone, so the ranges between the band edges (counted back from `t` and
    from the window's start) put each spell's ages in fixed bands, and a range needs only
    a count and the summed age at `t`. On SQLite one arm per range, each grouped by stage
    only: an index range scan that groups as it goes (ix stage, entered_us, left_us,
    step), where one GROUP BY over all the ranges would sort a million rows (5 s against
    0.3 s). PostgreSQL hashes the groups: there one scan with the range as a CASE is
    three times faster than the arms."""
    day = MICROS_PER_DAY
    edges = [round(e * day) for e in bands.edges]
    cuts = sorted({t - e for e in edges} | {ws - e for e in edges} | {ws})
    cuts = [c for c in cuts if c < t]
    per_day = literal(1.0 / day, Float)
    still = or_(sp.c.left_us.is_(None), sp.c.left_us > _us(t))
    count, age = func.count().label("n"), func.sum((_us(t) - sp.c.entered_us) * per_day)
    if dialect != "sqlite":
        arm = case(
            *[(sp.c.entered_us <= _us(c), i) for i, c in enumerate(cuts)], else_=len(cuts)
        ).label("arm")
        statement = (
            select(sp.c.stage, arm, count, age.label("age"))
            .where(sp.c.entered_us <= _us(t), still)
            .group_by(sp.c.stage, arm)
        )
        return statement, [*cuts, t]
    arms = []
    for i, (lo, hi) in enumerate(zip([None, *cuts], [*cuts, t], strict=True)):
        inside = [sp.c.entered_us <= _us(hi)]
        if lo is not None:
            inside.append(sp.c.entered_us > _us(lo))
        arms.append(
            select(sp.c.stage, literal(i, Integer).label("arm"), count, age.label("age"))
            .where(*inside, still)
            .group_by(sp.c.stage)
        )
    return union_all(*arms), [*cuts, t]


def _open_rows(conn: Connection, window: Window, bands: Bands) -> list[TallyRow]:
    """The spells still open at `as_of`, grouped as `forecast_windows._tally_statement`
    groups them (see the module's docstring)."""
    t, ws = to_micros(window.as_of), to_micros(window.start)
    day = MICROS_PER_DAY
    out: list[TallyRow] = []
    statement, highs = _open_statement(t, ws, bands, conn.dialect.name)
    gap = (t - ws) / day  # the window's length in days
    for stage, arm, n, age in conn.execute(statement):
        # Every entry time in the arm's range has its ages in the same bands as the
        # range's upper end (the range's lower end is a band edge counted back).
        high = highs[int(arm)]
        count, a1 = int(n), float(age or 0.0)
        b1 = int(bands.index((t - high) / day))
        days = _clamped(b1, count, a1, bands)
        if high <= ws:  # entered before the window: its part inside starts at a1 - gap
            days -= _clamped(int(bands.index((ws - high) / day)), count, a1 - count * gap, bands)
        else:
            days -= _clamped(0, count, 0.0, bands)
        out.append(TallyRow(stage, None, b1, count, tuple(days.tolist())))
    return out


def _exit_rows(conn: Connection, window: Window, bands: Bands) -> list[TallyRow]:
    """The spells that ended inside the window, with where they went, grouped likewise."""
    t, ws = to_micros(window.as_of), to_micros(window.start)
    day = MICROS_PER_DAY
    out: list[TallyRow] = []
    per_day = literal(1.0 / day, Float)
    end_age = sp.c.left_us - sp.c.entered_us
    start_age = case((sp.c.entered_us < _us(ws), _us(ws) - sp.c.entered_us), else_=_us(0))
    start_band, end_band = _band_us(start_age, bands), _band_us(end_age, bands)
    closed = conn.execute(
        select(
            sp.c.stage,
            sp.c.next_stage,
            start_band,
            end_band,
            func.count(),
            func.sum(start_age * per_day),
            func.sum(end_age * per_day),
        )
        .where(unindexed(sp.c.left_us) >= _us(ws), unindexed(sp.c.left_us) <= _us(t))
        # (bands first: no index orders them, so SQLite scans the table rather than an
        # index in stage order with a row lookup per spell)
        .group_by(end_band, start_band, sp.c.next_stage, sp.c.stage)
    ).all()
    for stage, next_stage, band0, band1, n, s0, s1 in closed:
        days = _clamped(int(band1), int(n), float(s1 or 0.0), bands) - _clamped(
            int(band0), int(n), float(s0 or 0.0), bands
        )
        out.append(TallyRow(stage, next_stage, int(band1), int(n), tuple(days.tolist())))
    return out


def _whole_months(window: Window) -> list[dt.datetime]:
    """The starts of the calendar months wholly inside the window, and the end of the
    last one."""
    first = window.start.date().replace(day=1)
    if dt.datetime.combine(first, dt.time(), dt.UTC) < window.start:
        first = add_months(first, 1)
    edges = [dt.datetime.combine(first, dt.time(), dt.UTC)]
    while dt.datetime.combine(add_months(edges[-1].date(), 1), dt.time(), dt.UTC) <= window.as_of:
        edges.append(dt.datetime.combine(add_months(edges[-1].date(), 1), dt.time(), dt.UTC))
    return edges


def _arrivals(conn: Connection, window: Window) -> tuple[dict[str, int], list[int]]:
    """New names in the window (people's first spells) per entry stage, and per whole
    month: one arm grouped by stage (streamed from the stage index) and one count per
    month (a range of the first-transition index), so SQLite sorts nothing."""
    lo, hi = to_micros(window.start), to_micros(window.as_of)
    first = sp.c.step == 1
    arms = [
        select(sp.c.stage, literal(-1, Integer).label("month"), func.count())
        .where(sp.c.entered_us >= _us(lo), sp.c.entered_us <= _us(hi), first)
        .group_by(sp.c.stage)
    ]
    months = _whole_months(window)
    for i, (a, b) in enumerate(itertools.pairwise(months)):
        arms.append(
            select(literal(None, String), literal(i, Integer), func.count()).where(
                sp.c.first_us >= _us(to_micros(a)), sp.c.first_us < _us(to_micros(b)), first
            )
        )
    arrivals: dict[str, int] = {}
    monthly = [0] * (len(months) - 1)
    for stage, month, n in conn.execute(union_all(*arms)):
        if int(month) < 0:
            arrivals[stage] = int(n)
        else:
            monthly[int(month)] = int(n)
    return arrivals, monthly


class FunnelQueries(NamedTuple):
    """The people's three independent statements, longest first, so that they can run at
    once on several connections (`store.parallel`)."""

    exits: Callable[[Connection], list[TallyRow]]
    open: Callable[[Connection], list[TallyRow]]
    arrivals: Callable[[Connection], tuple[dict[str, int], list[int]]]


def funnel_queries(window: Window, bands: Bands) -> FunnelQueries:
    return FunnelQueries(
        lambda conn: _exit_rows(conn, window, bands),
        lambda conn: _open_rows(conn, window, bands),
        lambda conn: _arrivals(conn, window),
    )


def funnel_from(
    model: RevenueModel,
    window: Window,
    bands: Bands,
    open_rows: list[TallyRow],
    exit_rows: list[TallyRow],
    arrivals: tuple[dict[str, int], list[int]],
) -> FunnelState | None:
    """The people chain over the model's stages, learned over the window, and who is in
    each (stage, band) at `as_of`, from the statements' rows; None when the store has no
    stage history."""
    rows = open_rows + exit_rows
    if not rows:
        return None
    chain = collect(rows, [s.name for s in model.stages], (), bands, window)
    return funnel_state(model, chain, *arrivals)


def funnel_inputs(
    conn: Connection, model: RevenueModel, window: Window, bands: Bands
) -> FunnelState | None:
    """`funnel_from` with the statements run one after the other on `conn`."""
    q = funnel_queries(window, bands)
    return funnel_from(model, window, bands, q.open(conn), q.exits(conn), q.arrivals(conn))


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
