"""Backtest the bookings forecast on a real CRM pipeline: Maven Analytics' "CRM Sales
Opportunities" data (8,800 deals, 2016-10 .. 2017-12).

The files are imported exactly as `validate/maven_crm.py` imports them (same import path,
same rep file fix). Then at each month start from 2017-05 to 2017-12, using only what was
known then (deals engaged by that day, closes up to that day), the forecast simulates the
open pipeline — each open deal from its age — plus the deals opened afterwards at the
measured run rate, and is scored against the bookings that happened.

Two features of the export would leak the future, so they are turned off: stages (a
closed deal's earlier open snapshot has no stage while a never-closed deal's says
"Engaging") and open amounts (the open snapshot of a closed deal carries its final
close value, 0 for a lost deal), so each win is valued like the wins known at the cut-off.
Periods:

- monthly: the month starting at each cut-off (horizon 1 month), and the next two;
- quarterly: the quarter from each quarter's first day (2017-04, 2017-07, 2017-10; plus
  each other month start with a partial first quarter).

    python validate/maven_crm_forecast.py [--data ../shared/data/maven_crm] [--db URL]
        [--paths 2000]

Reported per series: WAPE, bias, pinball loss, 50 % and 80 % interval coverage — for the
bookings of the deals open at the cut-off (`pipeline_bookings`) and all bookings.
Exit status 1 if the 80 % interval of all bookings covers under 60 % of the periods.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

from maven_crm import DEFAULT_DATA, NOW, reps_csv
from revmachine.analytics.forecast import Backtest, ForecastOptions, backtest, month_starts
from revmachine.analytics.spec import Grain
from revmachine.config import default_workspace
from revmachine.services.imports import import_accounts, import_opportunities, import_reps
from revmachine.store.database import Database
from revmachine.store.migrate import upgrade

KNOWN_AT = dt.datetime(2018, 1, 1, tzinfo=dt.UTC)
#: The data set records closes only from 2017-03-01 (deals engaged since 2016-10 all
#: close from then on): before it, the history is not complete, so no look-back starts
#: earlier and the first cut-off leaves two months of closes to learn from.
HISTORY_FROM = dt.datetime(2017, 3, 1, tzinfo=dt.UTC)
FIRST_CUTOFF = dt.date(2017, 5, 1)
LAST_CUTOFF = dt.date(2017, 12, 1)


def _print(title: str, result: Backtest) -> None:
    print(f"\n{title}")
    print(
        f"  {'series':<20} {'periods':>7} {'actual':>14} {'WAPE':>7} {'bias':>7} "
        f"{'pinball':>8} {'in 50%':>7} {'in 80%':>7}"
    )
    for s in result.scores:
        if s.series not in ("bookings", "pipeline_bookings", "new_deal_bookings", "wins"):
            continue
        print(
            f"  {s.series:<20} {s.points:>7} {s.actual_total:>14,.0f} {s.wape or 0:>7.1%} "
            f"{s.bias or 0:>+7.1%} {s.pinball or 0:>8.3f} {s.coverage_50 or 0:>7.0%} "
            f"{s.coverage_80 or 0:>7.0%}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--paths", type=int, default=2000)
    args = parser.parse_args(argv)
    model = default_workspace().revenue
    cutoffs = month_starts(FIRST_CUTOFF, LAST_CUTOFF)
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
            print(f"imported {report.kind:<13} {report.inserted:>5} in, {report.rejected} rejected")
        results = {}
        with db.reading() as conn:
            for name, grain, horizon in (
                ("monthly", Grain.MONTH, 3),
                ("quarterly", Grain.QUARTER, 2),
            ):
                options = ForecastOptions(
                    grain=grain,
                    horizon=horizon,
                    paths=args.paths,
                    lookback_days=365,
                    use_stage=False,
                    funnel=False,
                    amounts_known=False,
                    history_from=HISTORY_FROM,
                )
                results[name] = backtest(conn, model, cutoffs, options, KNOWN_AT)
        db.dispose()
    print(
        f"\ncut-offs: each month start {FIRST_CUTOFF:%Y-%m} .. {LAST_CUTOFF:%Y-%m}; "
        f"scored against what was known on {KNOWN_AT:%Y-%m-%d}; periods that end after it "
        "are not scored"
    )
    for name, result in results.items():
        _print(f"{name}: {len(result.cutoffs)} cut-offs, every period ahead", result)
    bookings = next(s for s in results["monthly"].scores if s.series == "bookings")
    return 0 if (bookings.coverage_80 or 0) >= 0.6 else 1


if __name__ == "__main__":
    sys.exit(main())
