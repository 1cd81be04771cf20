"""Forecast benchmark: a 10,000-path forecast over 1,000,000 open people and 50,000 open
opportunities, with the rate-estimation SQL and the simulation timed separately.

    python bench/forecast.py                                   # full size, SQLite
    python bench/forecast.py --people 20000 --deals 2000 --paths 1000   # small, for CI
    python bench/forecast.py --db postgresql://postgres@127.0.0.1:5432/test

The store holds a year of deals (about 160,000, a third of them open at the cut-off) and
two years of people's stage history; loading it (and filling `stage_spells` from the
transitions, as processing would have) is not timed. Timed: (1) the SQL that
reads the forecast's inputs as of the cut-off (`load_input`: the deal chain's and the
people chain's tallies, the open deals, new names, amount classes), (2) the simulation
(`simulate`: rates drawn per path, the pipeline, the funnel, new deals), and (3) the
baseline, measured in the same run: the same open deals simulated as a bare numpy pass —
one uniform per deal and path against its chance of being won by each period end, at
fixed rates, amounts summed with a matrix product. The baseline does less (no rate
uncertainty, no funnel, no new deals); the ratio says what the engine's extra honesty
costs, or saves by drawing exchangeable deals as groups. Goal (the forecast issue): SQL
plus simulation under 5 s. CPU seconds are printed beside wall time: on a shared machine
the wall figure is noisy. On PostgreSQL a fresh database is created beside the one named
in the URL and dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from revmachine.analytics.forecast import ForecastOptions, load_input
from revmachine.config import default_workspace
from revmachine.forecast import simulate
from revmachine.forecast.chain import absorbed_by_day
from revmachine.store.database import Database
from revmachine.store.scratch import scratch_store
from revmachine.store.spells import rebuild_spells

GOAL_SECONDS = 5.0
MODEL = default_workspace().revenue
AS_OF = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
DAY = 86400
#: Short journeys through the default model, and how common each is (mean length ~2.4).
ROUTES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("known",), 0.33),
    (("known", "engaged"), 0.30),
    (("known", "engaged", "mql"), 0.08),
    (("known", "engaged", "mql", "sal"), 0.04),
    (("known", "engaged", "mql", "recycled"), 0.08),
    (("known", "engaged", "mql", "sal", "disqualified"), 0.05),
    (("known", "engaged", "mql", "sal", "opportunity"), 0.05),
    (("known", "engaged", "mql", "sal", "opportunity", "customer"), 0.04),
    (("known", "mql", "sal", "opportunity", "lost"), 0.03),
)
DEAL_STAGES = ("Discovery", "Proposal", "Negotiation")
T = TypeVar("T")


def people_history(people: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Stage transitions: each person starts (known) in the two years before the cut-off
    and follows a route with exponential gaps of about three weeks; later steps are
    dropped, so many people are mid-route at the cut-off."""
    weights = np.array([w for _, w in ROUTES])
    route = rng.choice(len(ROUTES), size=people, p=weights / weights.sum())
    lengths = np.array([len(r) for r, _ in ROUTES])[route]
    person = np.repeat(np.arange(1, people + 1), lengths)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    step = np.arange(len(person)) - offsets
    names = np.array([s for r, _ in ROUTES for s in r], dtype=object)
    starts = np.cumsum([0] + [len(r) for r, _ in ROUTES])[:-1]
    stage = names[starts[np.repeat(route, lengths)] + step]
    gaps = rng.exponential(21 * DAY, size=len(person)).astype(np.int64)
    gaps[step == 0] = 0
    begin = int(AS_OF.timestamp()) - rng.integers(0, 730 * DAY, size=people)
    running = np.cumsum(gaps)
    first = np.cumsum(lengths) - lengths
    base = np.repeat(running[first], lengths)
    at = np.repeat(begin, lengths) + running - base
    previous = np.where(step == 0, None, np.roll(stage, 1))
    return {"person": person, "from": previous, "to": stage, "at": at}


def deal_history(deals: int, rng: np.random.Generator, segments: int = 3) -> dict[str, np.ndarray]:
    """Deals opened over the year before the cut-off: log-normal cycle (median 90 days),
    won 35 %, lost deals stopping at a random stage, amounts log-normal, each at one of
    `segments` accounts whose segment is part of a deal's state (stage x size class x
    segment: 27 states with three segments)."""
    created = int(AS_OF.timestamp()) - rng.integers(0, 365 * DAY, size=deals)
    length = np.clip(rng.lognormal(np.log(90), 0.7, deals), 7, 720) * DAY
    won = rng.random(deals) < 0.35
    reached = np.where(won, 3, rng.integers(1, 4, deals))  # stages entered
    amount = np.round(rng.lognormal(np.log(20_000), 0.8, deals), -2)
    rows: dict[str, list[Any]] = {"opp": [], "at": [], "stage": [], "status": []}
    for k, fraction in enumerate((0.0, 0.3, 0.7)):
        has = reached > k
        rows["opp"].append(np.flatnonzero(has) + 1)
        rows["at"].append(created[has] + (fraction * length[has]).astype(np.int64))
        rows["stage"].append(np.full(int(has.sum()), DEAL_STAGES[k], dtype=object))
        rows["status"].append(np.full(int(has.sum()), "open", dtype=object))
    rows["opp"].append(np.arange(1, deals + 1))
    rows["at"].append(created + length.astype(np.int64))
    rows["stage"].append(np.where(won, "Closed Won", "Closed Lost").astype(object))
    rows["status"].append(np.where(won, "won", "lost").astype(object))
    out = {k: np.concatenate(v) for k, v in rows.items()}
    known = out["at"] <= int(AS_OF.timestamp())
    out = {k: v[known] for k, v in out.items()}
    out["amount"] = amount[out["opp"] - 1]
    out["created"] = created
    out["account"] = rng.integers(0, segments, deals) + 1 if segments else np.zeros(0)
    return out


def _text(seconds: np.ndarray) -> list[str]:
    stamps = seconds.astype("datetime64[s]").astype(str)
    return [s.replace("T", " ") + ".000000" for s in stamps.tolist()]


def load(db: Database, people: dict[str, np.ndarray], deals: dict[str, np.ndarray]) -> None:
    """Bulk-load with the driver's own fast paths (executemany / COPY); not timed."""
    n_people = int(people["person"].max())
    when = "2023-01-01 00:00:00.000000"
    created = _text(deals["created"])
    account: list[int | None] = deals["account"].tolist() or [None] * len(created)
    accounts = sorted({a for a in account if a is not None})
    tables: list[tuple[str, list[str], Iterable[tuple[Any, ...]]]] = [
        (
            "people",
            [
                "id",
                "email",
                "attributes",
                "field_times",
                "unsubscribed",
                "created_at",
                "updated_at",
            ],
            (
                (i, f"p{i}@bench.example", "{}", "{}", False, when, when)
                for i in range(1, n_people + 1)
            ),
        ),
        (
            "stage_transitions",
            ["person_id", "from_stage", "to_stage", "occurred_at", "reason", "recorded_at"],
            zip(
                people["person"].tolist(),
                people["from"].tolist(),
                people["to"].tolist(),
                _text(people["at"]),
                ["bench"] * len(people["person"]),
                [when] * len(people["person"]),
                strict=True,
            ),
        ),
        (
            "accounts",
            ["id", "name", "name_key", "segment", "attributes", "created_at", "updated_at"],
            ((a, f"S{a}", f"s{a}", f"Segment {a}", "{}", when, when) for a in accounts),
        ),
        (
            "opportunities",
            ["id", "external_id", "account_id", "status", "created_at", "attributes", "updated_at"],
            (
                (i + 1, f"D{i + 1}", a, "open", c, "{}", c)
                for i, (c, a) in enumerate(zip(created, account, strict=True))
            ),
        ),
        (
            "opportunity_history",
            ["opportunity_id", "occurred_at", "stage", "status", "amount", "source", "recorded_at"],
            zip(
                deals["opp"].tolist(),
                _text(deals["at"]),
                deals["stage"].tolist(),
                deals["status"].tolist(),
                deals["amount"].tolist(),
                ["bench"] * len(deals["opp"]),
                [when] * len(deals["opp"]),
                strict=True,
            ),
        ),
    ]
    with db.transaction() as conn:
        raw: Any = conn.connection.driver_connection
        for name, columns, rows in tables:
            if db.is_sqlite:
                marks = ", ".join("?" for _ in columns)
                raw.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows)
            else:
                times = {i for i, c in enumerate(columns) if c.endswith("_at")}
                with (
                    raw.cursor() as cur,
                    cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(
                            tuple(v + "+00" if i in times else v for i, v in enumerate(row))
                        )
        # processing keeps stage_spells in step with the transitions; the bulk load
        # bypasses it
        rebuild_spells(conn)
        if db.is_sqlite:
            raw.execute("ANALYZE")
    if not db.is_sqlite:
        # VACUUM as well: autovacuum does it to a store after a bulk load (PostgreSQL 13+
        # counts inserts), and without it the visibility map is empty, so every
        # index-only scan fetches heap pages as well (the arrivals took 0.9 s, not 0.35).
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def baseline(data: Any, paths: int, seed: int) -> np.ndarray:
    """The open deals as a bare numpy pass: fixed (posterior-mean) rates, one uniform per
    deal and path, bookings per period by matrix products. Chunks of paths bound memory."""
    from revmachine.forecast.montecarlo import _period_days

    t = data.deals.tallies
    edges = _period_days(data.as_of, data.periods)
    hazards = t.point()[None]
    at_edges, _ = absorbed_by_day(
        hazards, t.bands, len(t.stages), t.destination_index("won"), edges, data.deals.entry_shares
    )
    deals = data.open_deals
    band = t.bands.index(deals.age_days)
    won_by = at_edges[0][:, deals.stage, band].T  # (deals, K+1)
    rng = np.random.default_rng(seed)
    out = np.zeros((paths, len(edges) - 1))
    chunk = max(1, 20_000_000 // max(deals.count, 1))
    for lo in range(0, paths, chunk):
        u = rng.random((min(chunk, paths - lo), deals.count))
        totals = np.stack(
            [(u < won_by[:, k]).astype(np.float64) @ deals.amount for k in range(len(edges))],
            axis=1,
        )
        out[lo : lo + len(u)] = np.diff(totals, axis=1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_050_000)
    parser.add_argument("--deals", type=int, default=160_000, help="deals opened in the year")
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=6, help="months")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--segments", type=int, default=3, help="account segments of the deals (0: none)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the goal is missed")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    began = time.perf_counter()
    people, deals = (
        people_history(args.people, rng),
        deal_history(args.deals, rng, args.segments),
    )
    print(
        f"generated {args.people:,} people ({len(people['person']):,} stage transitions), "
        f"{args.deals:,} deals ({len(deals['opp']):,} snapshots) "
        f"in {time.perf_counter() - began:.1f}s"
    )
    options = ForecastOptions(horizon=args.horizon, paths=args.paths, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp, scratch_store(args.db, Path(tmp)) as db:
        began = time.perf_counter()
        load(db, people, deals)
        print(f"loaded into {db.dialect} in {time.perf_counter() - began:.1f}s (not timed)")
        # The store, not a connection: the input statements run at once on two readers.
        data, sql_wall, sql_cpu = timed(lambda: load_input(db, MODEL, AS_OF, options))
        dialect = db.dialect
    funnel = data.funnel
    assert funnel is not None
    open_people = int(funnel.inventory.sum())
    print(
        f"as of {AS_OF:%Y-%m-%d}: {data.open_deals.count:,} open deals, {open_people:,} open "
        f"people (before the opportunity stage), {len(data.deals.tallies.stages)} deal states "
        f"x {data.deals.tallies.bands.count} age bands, "
        f"{len(funnel.tallies.stages)} people stages"
    )
    samples, sim_wall, sim_cpu = timed(lambda: simulate(data, paths=args.paths, seed=args.seed))
    base, base_wall, base_cpu = timed(lambda: baseline(data, args.paths, args.seed))
    ours = samples.series["pipeline_bookings"].mean(axis=0)
    bare = base.mean(axis=0)
    print(f"\n{'part':<34} {'wall s':>8} {'cpu s':>8}")
    print(f"{'rate-estimation SQL (' + dialect + ')':<34} {sql_wall:>8.2f} {sql_cpu:>8.2f}")
    print(f"{'simulation, ' + f'{args.paths:,} paths':<34} {sim_wall:>8.2f} {sim_cpu:>8.2f}")
    print(f"{'total':<34} {sql_wall + sim_wall:>8.2f} {sql_cpu + sim_cpu:>8.2f}")
    print(f"{'baseline: bare numpy pass':<34} {base_wall:>8.2f} {base_cpu:>8.2f}")
    print(
        f"simulation / baseline: {sim_wall / base_wall:.2f}x wall, "
        f"{sim_cpu / max(base_cpu, 1e-9):.2f}x cpu"
    )
    print(
        "mean pipeline bookings per month, engine vs baseline: "
        + ", ".join(f"{a:,.0f} / {b:,.0f}" for a, b in zip(ours, bare, strict=True))
    )
    goal_ok = sql_wall + sim_wall <= GOAL_SECONDS
    print(f"goal (SQL + simulation < {GOAL_SECONDS:g}s): {'met' if goal_ok else 'missed'}")
    # The engine draws the rates per path (and month effects), the baseline uses their
    # point estimates: the means agree up to Monte Carlo error and a few per cent.
    error = (
        4
        * (samples.series["pipeline_bookings"].std(axis=0) + base.std(axis=0))
        / np.sqrt(args.paths)
    )
    agree = bool(np.all(np.abs(ours - bare) <= error + 0.05 * np.abs(bare) + 1.0))
    if not agree:
        print("DISAGREE: the engine's mean pipeline bookings differ from the baseline's")
    return 1 if not agree or (args.check and not goal_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
