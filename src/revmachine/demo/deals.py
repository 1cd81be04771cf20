"""One deal's life: stages, amount changes, slipping close dates, and the close.

A deal is decided whole when it is opened (its length, whether it is won, where a lost deal
drops out) and then written as the snapshots a CRM history export would hold: one per stage
change, with the amount and expected close date the rep had entered at the time. The close
is dated at midnight UTC of the close date, as the opportunities import records it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from revmachine.demo.timeline import DAY
from revmachine.demo.vocab import (
    CHURN_REASONS,
    LOST_REASONS,
    LOST_STAGE,
    OPPORTUNITY_STAGES,
    PRODUCTS,
    WON_REASONS,
    WON_STAGE,
)

NEW_BUSINESS, EXPANSION, RENEWAL = "new_business", "expansion", "renewal"
#: Median days from opening to close, and median first-year amount (USD), by segment.
CYCLE_DAYS = {"SMB": 35.0, "Mid-Market": 70.0, "Enterprise": 140.0}
AMOUNT = {"SMB": 12_000.0, "Mid-Market": 45_000.0, "Enterprise": 150_000.0}
#: Where in the cycle each stage starts (Discovery at 0, the close at 1).
STAGE_AT = (0.0, 0.15, 0.45, 0.75)
RENEWAL_STAGES = ("Renewal Review", "Negotiation")
#: Larger companies buy the bundle more often (shares of `vocab.PRODUCTS`).
PRODUCT_MIX = {
    "SMB": (0.7, 0.1, 0.2),
    "Mid-Market": (0.45, 0.35, 0.2),
    "Enterprise": (0.25, 0.6, 0.15),
}


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: int  # epoch seconds
    stage: str
    status: str  # open, won, lost
    amount: float
    close_date: dt.date


@dataclass
class Deal:
    id: str
    kind: str
    account: int
    owner: int
    created: int
    closes: int  # the close, at midnight UTC of the close date (may be after the window)
    won: bool
    product: str
    amount: float  # final amount
    lost_reason: str | None
    won_reason: str | None
    snapshots: list[Snapshot]
    contacts: list[tuple[int, str, int]] = field(default_factory=list)  # person, role, added

    def state_at(self, at: int) -> Snapshot:
        """The latest snapshot at or before `at` (the first one before the deal opened)."""
        before = [s for s in self.snapshots if s.at <= at]
        return before[-1] if before else self.snapshots[0]


def _date(seconds: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=seconds // DAY)


def _midnight(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * DAY


def _quarter_end(day: dt.date) -> dt.date:
    month = (day.month - 1) // 3 * 3 + 3
    nxt = dt.date(day.year + month // 12, month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _choice(rng: np.random.Generator, weighted: dict[str, float]) -> str:
    names = list(weighted)
    w = np.array(list(weighted.values()))
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def open_deal(
    rng: np.random.Generator,
    *,
    deal_id: str,
    kind: str,
    account: int,
    owner: int,
    segment: str,
    created: int,
    p_win: float,
    amount: float | None = None,
) -> Deal:
    """A new-business, expansion or renewal deal opened at `created`, decided whole."""
    stages: tuple[str, ...]
    fractions: tuple[float, ...]
    if kind == RENEWAL:
        days = 90.0 + rng.uniform(-10, 10)
        base = float(amount or AMOUNT[segment])
        stages, fractions = RENEWAL_STAGES, (0.0, 0.6)
        expected_days = 90.0
    else:
        median = CYCLE_DAYS[segment] * (0.6 if kind == EXPANSION else 1.0)
        days = float(np.clip(rng.lognormal(np.log(median), 0.45), 14, 400))
        scale = 0.35 if kind == EXPANSION else 1.0
        base = float(rng.lognormal(np.log(AMOUNT[segment] * scale), 0.45))
        stages, fractions = OPPORTUNITY_STAGES, STAGE_AT
        expected_days = median
    won = bool(rng.random() < p_win)
    product = PRODUCTS[int(rng.choice(len(PRODUCTS), p=PRODUCT_MIX[segment]))]
    last_stage = len(stages) - 1
    if won:
        length = days
    else:
        last_stage = int(rng.choice(len(stages), p=_drop_weights(len(stages))))
        nxt = fractions[last_stage + 1] if last_stage + 1 < len(stages) else 1.0
        length = days * max(nxt * rng.uniform(0.7, 1.0), fractions[last_stage] + 0.05)
    close_day = _date(created + int(length * DAY))
    if won and kind != RENEWAL and rng.random() < 0.4:
        quarter_end = _quarter_end(close_day) - dt.timedelta(days=int(rng.integers(0, 7)))
        if close_day < quarter_end <= close_day + dt.timedelta(days=45):
            close_day = quarter_end  # deals bunch up at the end of a quarter
    close_day = max(close_day, _date(created) + dt.timedelta(days=7))
    closes = _midnight(close_day)

    expected = _date(created + int(expected_days * DAY))
    snapshots: list[Snapshot] = []
    value = round(base, -2)
    for s in range(last_stage + 1):
        at = created + int(fractions[s] * days * DAY)
        if at >= closes - 3600 and s > 0:
            break
        if stages[s] == "Proposal":
            value = round(value * rng.uniform(0.8, 1.3), -2)
        elif stages[s] == "Negotiation" and kind != RENEWAL:
            value = round(value * rng.uniform(0.85, 1.0), -2)
        slipped = at > _midnight(expected) - 7 * DAY
        guess = _date(at) + dt.timedelta(days=21) if slipped else expected
        snapshots.append(Snapshot(at, stages[s], "open", max(value, 1000.0), guess))
    final = max(value, 1000.0)
    lost_reason = won_reason = None
    if won:
        won_reason = WON_REASONS[int(rng.integers(len(WON_REASONS)))]
        snapshots.append(Snapshot(closes, WON_STAGE, "won", final, close_day))
    else:
        lost_reason = _choice(rng, CHURN_REASONS if kind == RENEWAL else LOST_REASONS)
        snapshots.append(Snapshot(closes, LOST_STAGE, "lost", final, close_day))
    return Deal(
        id=deal_id,
        kind=kind,
        account=account,
        owner=owner,
        created=created,
        closes=closes,
        won=won,
        product=product,
        amount=final,
        lost_reason=lost_reason,
        won_reason=won_reason,
        snapshots=snapshots,
    )


def _drop_weights(stages: int) -> list[float]:
    """Where lost deals drop out: most early, fewer after a proposal."""
    w = np.array([0.35, 0.3, 0.2, 0.15][:stages])
    return list(w / w.sum())
