"""Validate the deal analytics on a real CRM pipeline: Maven Analytics' "CRM Sales
Opportunities" data (8,800 deals, 2016-10 .. 2017-12).

The files go through the public import services, as a user's CSV would: accounts and
opportunities as they are (their column names are known aliases: `sector`, `deal_stage`,
`engage_date`, `close_value`, `sales_agent`, …); the sales team file lacks the rep e-mail
address revmachine keys reps on, so one is made from the rep's name. Then the deal report
must reproduce the figures known for this data set:

    win rate won / (won + lost)   63.15 %
    mean sales cycle              47.99 days (won 51.78, lost 41.48)
    won value                     $10,005,534

    python validate/maven_crm.py [--data ../shared/data/maven_crm] [--db URL]

Exit status 1 if any figure differs. The 500 "Prospecting" deals have no engage date, so
the import rejects them (missing `created_at`) and says so; they are neither won nor lost
and do not enter any of the figures above.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import re
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from revmachine.analytics.deals import deal_report
from revmachine.analytics.spec import Period, Scope
from revmachine.services.imports import import_accounts, import_opportunities, import_reps
from revmachine.store.database import Database
from revmachine.store.migrate import upgrade

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "maven_crm"
NOW = dt.datetime(2018, 1, 1, tzinfo=dt.UTC)
EXPECTED = {
    "win rate %": 63.15,
    "mean cycle days": 47.99,
    "won cycle days": 51.78,
    "lost cycle days": 41.48,
    "won value $": 10_005_534,
}


def reps_csv(path: Path) -> bytes:
    """sales_teams.csv with an `email` column made from the rep's name."""
    out = io.StringIO()
    writer = csv.writer(out)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        writer.writerow(["email", "sales_agent", "manager", "regional_office"])
        for row in reader:
            slug = re.sub(r"[^a-z0-9]+", ".", row["sales_agent"].lower()).strip(".")
            writer.writerow(
                [
                    f"{slug}@maven.example",
                    row["sales_agent"],
                    row["manager"],
                    row["regional_office"],
                ]
            )
    return out.getvalue().encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.db or f"sqlite:///{tmp}/maven.db")
        upgrade(db)
        for report in (
            import_reps(
                db, reps_csv(args.data / "sales_teams.csv"), now=NOW, name="sales_teams.csv"
            ),
            import_accounts(db, args.data / "accounts.csv", now=NOW),
            import_opportunities(db, args.data / "sales_pipeline.csv", now=NOW),
        ):
            codes = sorted({r.code.value for r in report.rejections})
            print(
                f"imported {report.kind:<13} {report.inserted:>5} inserted, "
                f"{report.rejected:>4} rejected {codes if codes else ''}"
            )
        scope = Scope(Period(dt.date(2016, 10, 1), dt.date(2018, 1, 1)), NOW)
        with db.reading() as conn:
            (deals,) = deal_report(conn, scope).groups
            by_team = deal_report(conn, Scope(scope.period, scope.as_of, group_by="team")).groups
        db.dispose()
    assert deals.win_rate.value is not None and deals.win_rate.lower is not None
    assert deals.win_rate.upper is not None
    got = {
        "win rate %": round(deals.win_rate.value * 100, 2),
        "mean cycle days": round(deals.cycle_days or 0, 2),
        "won cycle days": round(deals.won_cycle_days or 0, 2),
        "lost cycle days": round(deals.lost_cycle_days or 0, 2),
        "won value $": int(deals.bookings.to_integral_value()),
    }
    print(
        f"\ndeals created {deals.created:,}; won {deals.won:,}; lost {deals.lost:,}; "
        f"open at {NOW.date()}: {deals.open_deals:,}"
    )
    failed = False
    for name, expected in EXPECTED.items():
        ok = got[name] == expected
        failed |= not ok
        verdict = "ok" if ok else "DIFFERS"
        print(f"  {name:<17} {got[name]:>14,}   expected {expected:>14,}   {verdict}")
    print(
        f"\nwin rate 95% interval: {deals.win_rate.lower:.2%} .. {deals.win_rate.upper:.2%}; "
        f"average won deal ${deals.average_won or Decimal(0):,.2f}"
    )
    median = deals.median_to_close
    print(
        "time to close, Kaplan–Meier (open deals censored at as_of): median "
        f"{median.time} days (95% {median.lower} .. {median.upper}); "
        f"completed-only mean {deals.cycle_days:.2f} days"
    )
    print(
        "share closed within 30 / 60 / 90 days (won, lost competing): "
        + "; ".join(
            f"{d}d won {deals.incidence.at('won', d):.1%} lost {deals.incidence.at('lost', d):.1%}"
            for d in (30, 60, 90)
        )
    )
    print("\nby sales team (manager):")
    for g in by_team:
        print(
            f"  {g.segment:<18} won {g.won:>4}  lost {g.lost:>4}  win rate "
            f"{(g.win_rate.value or 0):.2%}  cycle {g.cycle_days or 0:.2f} d  "
            f"bookings ${g.bookings:,.0f}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
