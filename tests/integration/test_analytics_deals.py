"""Deals on both databases: win rate, cycle, bookings and pipeline as of a date, against
the rows imported."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from decimal import Decimal

import pytest

from revmachine.analytics import Period, Scope, deal_report
from revmachine.services.imports import import_opportunities, import_reps
from revmachine.store.database import Database

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PERIOD = Period(dt.date(2025, 1, 1), dt.date(2025, 7, 1))


def _deals(seed: int = 5, n: int = 60) -> list[tuple[str, dt.date, str, dt.date | None, int, str]]:
    rng = random.Random(seed)
    deals = []
    for i in range(n):
        created = dt.date(2024, 11, 1) + dt.timedelta(days=rng.randint(0, 200))
        status = rng.choice(["won", "lost", "open"])
        close = created + dt.timedelta(days=rng.randint(1, 120)) if status != "open" else None
        deals.append((f"D{i}", created, status, close, rng.randint(1, 50) * 100, rng.choice("AB")))
    return deals


def test_deal_figures_as_of(db: Database) -> None:
    import_reps(db, b"email,name,team\na@x.example,Ann,East\nb@x.example,Bo,West\n", now=NOW)
    deals = _deals()
    lines = ["opportunity_id,stage,created_at,close_date,amount,owner"]
    for key, created, status, close, amount, owner in deals:
        stage = {"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}[status]
        rep = "Ann" if owner == "A" else "Bo"
        lines.append(f"{key},{stage},{created},{close or ''},{amount},{rep}")
    report = import_opportunities(db, ("\n".join(lines) + "\n").encode(), now=NOW)
    assert report.rejected == 0

    for as_of in (dt.datetime(2025, 4, 1, tzinfo=dt.UTC), dt.datetime(2025, 12, 1, tzinfo=dt.UTC)):
        with db.reading() as conn:
            (figures,) = deal_report(conn, Scope(PERIOD, as_of)).groups
            by_owner = {
                g.segment: g
                for g in deal_report(conn, Scope(PERIOD, as_of, group_by="owner")).groups
            }
        day = as_of.date()
        known = [d for d in deals if d[1] <= day]
        closed = [
            d
            for d in known
            if d[3] is not None and d[3] <= day and PERIOD.start <= d[3] < PERIOD.end
        ]
        won = [d for d in closed if d[2] == "won"]
        lost = [d for d in closed if d[2] == "lost"]
        open_ = [d for d in known if d[3] is None or d[3] > day]
        assert (figures.won, figures.lost) == (len(won), len(lost))
        assert figures.created == sum(1 for d in known if PERIOD.start <= d[1] < PERIOD.end)
        assert figures.win_rate.value == pytest.approx(len(won) / (len(won) + len(lost)))
        assert figures.cycle_days == pytest.approx(
            statistics.mean((d[3] - d[1]).days for d in closed)  # type: ignore[operator]
        )
        assert figures.won_cycle_days == pytest.approx(
            statistics.mean((d[3] - d[1]).days for d in won)  # type: ignore[operator]
        )
        assert figures.bookings == sum(Decimal(d[4]) for d in won)
        assert figures.open_deals == len(open_)
        assert figures.pipeline == sum(Decimal(d[4]) for d in open_)
        assert by_owner["Ann"].won + by_owner["Bo"].won == figures.won
        assert by_owner["Ann"].won == sum(1 for d in won if d[5] == "A")
        # Competing outcomes add up to the closed share of the period's new deals.
        assert figures.incidence.final("won") + figures.incidence.final("lost") <= 1.0 + 1e-9
