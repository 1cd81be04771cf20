"""Analytics benchmark: the funnel, velocity and inventory reports on a large stage history,
against the same aggregates written by hand in DuckDB SQL over the same rows, same run.

    python bench/funnel.py                              # 1,000,000 people, ~8M transitions
    python bench/funnel.py --people 20000               # small, for CI
    python bench/funnel.py --db postgresql://postgres@127.0.0.1:5432/test

Absolute times depend on the machine; the figure that matters is the ratio to DuckDB, a
columnar engine built for exactly these scans, measured here on identical rows. The
revmachine side is the public report functions (`funnel_report`, `velocity_report`,
`inventory_report`) on a migrated store; loading the transitions is not timed. The
reports read `stage_spells`, the aggregate processing keeps beside the transitions: the
bench builds it with the product's own rebuild and prints that cost, and the cost of the
per-batch refresh processing adds to every run, as the ingest price of fast reports.
Each report's CPU seconds are shown beside its wall time (the machine may be shared). On
PostgreSQL a fresh database is created beside the one named in the URL and dropped
afterwards.
Goal (the analytics issue): all three reports together under 2 s on SQLite and within 3x
of DuckDB. Needs the `bench` extra (duckdb): pip install -e '.[bench]'.
The exit status is 1 when revmachine and DuckDB disagree on a number, or, with --check,
when a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from revmachine.analytics import Period, Scope, funnel_report, inventory_report, velocity_report
from revmachine.analytics.definitions import detour_stages, funnel_stages, velocity_pairs
from revmachine.config import default_workspace
from revmachine.services.cycle.processing import BATCH
from revmachine.store.database import Database
from revmachine.store.scratch import scratch_store
from revmachine.store.spells import rebuild_spells, refresh_spells

GOAL_SECONDS = 2.0
#: CPU seconds of this process per report (SQLite runs in it; PostgreSQL does not).
cpu_seconds: dict[str, float] = {}
GOAL_RATIO = 3.0
MODEL = default_workspace().revenue
START = np.datetime64("2024-01-01T00:00:00", "us")
AS_OF = dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
PERIOD = Period(dt.date(2025, 1, 1), dt.date(2026, 1, 1))

# Journeys through the default model, and how common each is (mean length about 8).
ROUTES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("anonymous", "known"), 0.10),
    (("anonymous", "known", "engaged"), 0.10),
    (("anonymous", "known", "engaged", "mql", "sal", "disqualified"), 0.10),
    (("anonymous", "known", "mql", "sal", "opportunity", "customer"), 0.08),
    (
        (
            "anonymous",
            "known",
            "engaged",
            "mql",
            "recycled",
            "engaged",
            "mql",
            "sal",
            "opportunity",
        ),
        0.17,
    ),
    (
        (
            "anonymous",
            "known",
            "engaged",
            "mql",
            "sal",
            "opportunity",
            "customer",
            "expansion",
            "customer",
        ),
        0.15,
    ),
    (
        (
            "anonymous",
            "known",
            "engaged",
            "recycled",
            "engaged",
            "mql",
            "recycled",
            "engaged",
            "mql",
            "sal",
            "opportunity",
            "lost",
            "recycled",
        ),
        0.15,
    ),
    (
        (
            "anonymous",
            "known",
            "engaged",
            "mql",
            "sal",
            "opportunity",
            "lost",
            "recycled",
            "engaged",
            "mql",
            "sal",
            "opportunity",
            "customer",
        ),
        0.15,
    ),
)


def generate(people: int, seed: int) -> pl.DataFrame:
    """The stage history as columns: id, person_id, from_stage, to_stage, occurred_at."""
    rng = np.random.default_rng(seed)
    stages = [s.name for s in MODEL.stages]
    code = {s: i for i, s in enumerate(stages)}
    width = max(len(r) for r, _ in ROUTES)
    table = np.full((len(ROUTES), width), -1)
    for k, (route, _) in enumerate(ROUTES):
        table[k, : len(route)] = [code[s] for s in route]
    lengths_by_route = np.array([len(r) for r, _ in ROUTES])
    weights = np.array([w for _, w in ROUTES])
    route = rng.choice(len(ROUTES), size=people, p=weights / weights.sum())
    lengths = lengths_by_route[route]
    total = int(lengths.sum())
    person = np.repeat(np.arange(1, people + 1), lengths)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    step = np.arange(total) - offsets
    stage = table[np.repeat(route, lengths), step]
    # Gaps: the first step at the person's start, then about a week (in seconds) per step.
    gaps = rng.exponential(7 * 86400, size=total).astype(np.int64)
    gaps[step == 0] = 0
    start = rng.integers(0, 2 * 365 * 86400, size=people)
    running = np.cumsum(gaps)
    base = np.repeat(
        running[np.cumsum(lengths) - lengths] - gaps[np.cumsum(lengths) - lengths], lengths
    )
    seconds = np.repeat(start, lengths) + running - base
    occurred = START + seconds.astype("timedelta64[s]").astype("timedelta64[us]")
    names = np.array(stages, dtype=object)
    previous = np.where(step == 0, None, names[np.roll(stage, 1)])
    return pl.DataFrame(
        {
            "id": np.arange(1, total + 1),
            "person_id": person,
            "from_stage": pl.Series(previous.tolist(), dtype=pl.String),
            "to_stage": pl.Series(names[stage].tolist(), dtype=pl.String),
            "occurred_at": occurred,
        }
    )


def load(db: Database, history: pl.DataFrame, people: int) -> None:
    """Bulk-load people and transitions (not timed: this benchmark is about the reports)."""
    created = "2024-01-01 00:00:00.000000"
    text = history.with_columns(
        pl.col("occurred_at").dt.strftime("%Y-%m-%d %H:%M:%S%.6f").alias("at")
    )
    with db.transaction() as conn:
        raw: Any = conn.connection.driver_connection
        if db.is_sqlite:
            raw.executemany(
                "INSERT INTO people (id, email, attributes, field_times, unsubscribed, "
                "created_at, updated_at) VALUES (?, ?, '{}', '{}', 0, ?, ?)",
                ((i, f"p{i}@bench.example", created, created) for i in range(1, people + 1)),
            )
            raw.executemany(
                "INSERT INTO stage_transitions (id, person_id, from_stage, to_stage, "
                "occurred_at, reason, recorded_at) VALUES (?, ?, ?, ?, ?, 'bench', ?)",
                (
                    (i, p, f, t, a, a)
                    for i, p, f, t, a in text.select(
                        "id", "person_id", "from_stage", "to_stage", "at"
                    ).iter_rows()
                ),
            )
            raw.execute("ANALYZE")
        else:
            with raw.cursor() as cur:
                with cur.copy(
                    "COPY people (id, email, attributes, field_times, unsubscribed, "
                    "created_at, updated_at) FROM STDIN"
                ) as copy:
                    for i in range(1, people + 1):
                        copy.write_row(
                            (
                                i,
                                f"p{i}@bench.example",
                                "{}",
                                "{}",
                                False,
                                created + "+00",
                                created + "+00",
                            )
                        )
                with cur.copy(
                    "COPY stage_transitions (id, person_id, from_stage, to_stage, occurred_at, "
                    "reason, recorded_at) FROM STDIN"
                ) as copy:
                    for i, p, f, t, a in text.select(
                        "id", "person_id", "from_stage", "to_stage", "at"
                    ).iter_rows():
                        copy.write_row((i, p, f, t, a + "+00", "bench", a + "+00"))
    if not db.is_sqlite:
        # VACUUM as well, as autovacuum would after a bulk load: without it the visibility
        # map is empty and index-only scans fetch every heap page too.
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def maintain(db: Database, people: int, sample: int = 20_000) -> dict[str, float]:
    """The cost of keeping `stage_spells` (the reports' aggregate) in step with the
    transitions, through the product's own functions, in seconds:

    - `rebuild`: every spell from the transitions (`revmachine process --rebuild-spells`,
      the migration);
    - `append`: `refresh_spells` per batch of 2,000 people after each got one new
      transition later than their open spell (what incremental processing writes);
    - `rewrite`: per batch of 2,000 people whose whole history was deleted and written
      again, one second later (a replay that moved everything);
    - `unchanged`: per batch of 2,000 people with nothing new (the reads alone).

    The batches are timed on `sample` people inside a transaction that is rolled back, so
    the reports then read exactly the rows DuckDB reads."""
    out: dict[str, float] = {}
    began = time.perf_counter()
    with db.transaction() as conn:
        rebuild_spells(conn)
    out["rebuild"] = time.perf_counter() - began
    if db.is_sqlite:
        with db.transaction() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE stage_spells"
            )
    ids = list(range(1, min(people, sample) + 1))
    batches = max(1, len(ids) / BATCH)
    st = "stage_transitions"
    later = (
        "occurred_at + interval '1 day'"
        if not db.is_sqlite
        else "strftime('%Y-%m-%d %H:%M:%f000', occurred_at, '+1 day')"
    )
    with db.engine.connect() as conn, conn.begin() as tx:
        began = time.perf_counter()
        for start in range(0, len(ids), BATCH):
            refresh_spells(conn, ids[start : start + BATCH])
        out["unchanged"] = (time.perf_counter() - began) / batches
        # One new transition per person, a day after their latest (not timed). Ids are
        # given (the load wrote its own, so PostgreSQL's sequence was never advanced).
        top = f"(SELECT max(id) FROM {st})"
        base = int(conn.exec_driver_sql(f"SELECT max(id) FROM {st}").scalar_one())
        conn.exec_driver_sql(
            f"INSERT INTO {st} (id, person_id, from_stage, to_stage, occurred_at, reason, "
            f"recorded_at) SELECT {base} + person_id, person_id, to_stage, 'recycled', "
            f"{later}, 'bench', "
            f"recorded_at FROM {st} t WHERE person_id <= {len(ids)} AND id = (SELECT max(id) "
            f"FROM {st} u WHERE u.person_id = t.person_id)"
        )
        began = time.perf_counter()
        for start in range(0, len(ids), BATCH):
            refresh_spells(conn, ids[start : start + BATCH])
        out["append"] = (time.perf_counter() - began) / batches
        # Every transition of the sample rewritten one second later, under new ids.
        shifted = (
            "occurred_at + interval '1 second'"
            if not db.is_sqlite
            else "strftime('%Y-%m-%d %H:%M:%f000', occurred_at, '+1 second')"
        )
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE bench_moved AS SELECT {top} + row_number() OVER "
            f"(ORDER BY id) AS id, person_id, from_stage, to_stage, "
            f"{shifted} AS occurred_at, reason, recorded_at FROM {st} "
            f"WHERE person_id <= {len(ids)} ORDER BY id"
        )
        conn.exec_driver_sql(f"DELETE FROM {st} WHERE person_id <= {len(ids)}")
        conn.exec_driver_sql(
            f"INSERT INTO {st} (id, person_id, from_stage, to_stage, occurred_at, reason, "
            "recorded_at) SELECT * FROM bench_moved"
        )
        began = time.perf_counter()
        for start in range(0, len(ids), BATCH):
            refresh_spells(conn, ids[start : start + BATCH])
        out["rewrite"] = (time.perf_counter() - began) / batches
        tx.rollback()
    return out


def run_revmachine(db: Database) -> tuple[dict[str, float], dict[str, Any]]:
    scope = Scope(PERIOD, AS_OF)
    seconds: dict[str, float] = {}
    cpu_seconds.clear()
    results: dict[str, Any] = {}
    with db.reading() as conn:
        for name, fn in (
            ("funnel", lambda: funnel_report(conn, MODEL, scope)),
            # given the store, as `revmachine report` gives it: the pairs' statements
            # run side by side on two read connections
            ("velocity", lambda: velocity_report(db, MODEL, scope)),
            ("inventory", lambda: inventory_report(conn, MODEL, scope)),
        ):
            began, cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            seconds[name] = time.perf_counter() - began
            cpu_seconds[name] = time.process_time() - cpu
    return seconds, results


def _in(stages: list[str]) -> str:
    return ", ".join(f"'{s}'" for s in stages)


def run_duckdb(history: pl.DataFrame, folder: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """The same aggregates, written directly in DuckDB SQL over the same rows."""
    parquet = folder / "transitions.parquet"
    history.write_parquet(parquet)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE st AS SELECT * FROM read_parquet('{parquet}')")
    con.execute("CREATE TABLE activities (person_id BIGINT, type VARCHAR, occurred_at TIMESTAMP)")
    as_of = AS_OF.replace(tzinfo=None)
    start, end = PERIOD.start_at.replace(tzinfo=None), PERIOD.end_at.replace(tzinfo=None)
    path, every = funnel_stages(MODEL), [s.name for s in MODEL.stages]
    known = f"(SELECT * FROM st WHERE occurred_at <= TIMESTAMP '{as_of}')"
    entries = (
        f"SELECT person_id, to_stage AS stage, min(occurred_at) AS entered FROM {known} "
        f"WHERE occurred_at >= TIMESTAMP '{start}' AND occurred_at < TIMESTAMP '{end}' "
        f"AND to_stage IN ({_in(path)}) GROUP BY ALL"
    )
    current = (
        f"SELECT person_id, to_stage AS stage, occurred_at AS entered FROM {known} "
        "QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY occurred_at DESC, id DESC) = 1"
    )
    funnel = [
        f"SELECT stage, count(*) FROM ({entries}) GROUP BY ALL",
        f"SELECT e.stage, t.to_stage, count(DISTINCT e.person_id) FROM ({entries}) e "
        f"JOIN {known} t ON t.person_id = e.person_id AND t.occurred_at >= e.entered "
        f"AND t.to_stage <> e.stage WHERE t.to_stage IN ({_in(path)}) GROUP BY ALL",
        f"SELECT stage, count(*) FROM ({current}) GROUP BY ALL",
        f"SELECT date_trunc('month', occurred_at), to_stage, count(DISTINCT person_id) "
        f"FROM {known} WHERE occurred_at >= TIMESTAMP '{start}' AND occurred_at < "
        f"TIMESTAMP '{end}' AND to_stage IN ({_in(every)}) GROUP BY ALL",
        f"SELECT route, count(*) AS n FROM (SELECT person_id, "
        f"list(to_stage ORDER BY occurred_at, id)[1:8] AS route FROM {known} GROUP BY person_id "
        f"HAVING min(occurred_at) >= TIMESTAMP '{start}' AND min(occurred_at) < "
        f"TIMESTAMP '{end}') GROUP BY route ORDER BY n DESC LIMIT 10",
    ]
    velocity = []
    for a, b in velocity_pairs(MODEL):
        outcomes = [b, *[d for d in detour_stages(MODEL) if d not in (a, b)]]
        cols = ", ".join(
            f"min(CASE WHEN t.to_stage = '{o}' THEN t.occurred_at END) AS at_{k}"
            for k, o in enumerate(outcomes)
        )
        first = " ".join(f"WHEN at_{k} = first_at THEN '{o}'" for k, o in enumerate(outcomes))
        per_person = (
            f"SELECT e.person_id, e.entered, {cols}, min(t.occurred_at) AS first_at "
            f"FROM ({entries}) e LEFT JOIN {known} t ON t.person_id = e.person_id AND "
            f"t.occurred_at >= e.entered AND t.to_stage IN ({_in(outcomes)}) "
            f"WHERE e.stage = '{a}' GROUP BY e.person_id, e.entered"
        )
        velocity.append(
            f"WITH r AS ({per_person}) "
            f"SELECT 'km', round(epoch(coalesce(at_0, TIMESTAMP '{as_of}') - entered) / 3600), "
            "at_0 IS NOT NULL, count(*) FROM r GROUP BY ALL UNION ALL "
            f"SELECT 'aj', round(epoch(coalesce(first_at, TIMESTAMP '{as_of}') - entered) / 3600), "
            f"CASE {first} END, count(*) FROM r GROUP BY ALL"
        )
    slas = " ".join(
        f"WHEN stage = '{s.name}' THEN {s.sla.total_seconds()}" for s in MODEL.stages if s.sla
    )
    since = as_of - dt.timedelta(days=30)
    inventory = [
        f"SELECT stage, CAST(epoch(TIMESTAMP '{as_of}' - entered) / 86400 AS INTEGER) AS d, "
        f"count(*), sum(CASE WHEN epoch(TIMESTAMP '{as_of}' - entered) > CASE {slas} END "
        "THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN entered <= TIMESTAMP '{since}' AND NOT EXISTS (SELECT 1 FROM activities "
        f"a WHERE a.person_id = c.person_id AND a.occurred_at > TIMESTAMP '{since}') THEN 1 "
        f"ELSE 0 END) FROM ({current}) c GROUP BY ALL"
    ]
    seconds: dict[str, float] = {}
    results: dict[str, Any] = {}
    for name, queries in (("funnel", funnel), ("velocity", velocity), ("inventory", inventory)):
        began = time.perf_counter()
        results[name] = [con.execute(q).fetchall() for q in queries]
        seconds[name] = time.perf_counter() - began
    con.close()
    return seconds, results


def agree(ours: dict[str, Any], duck: dict[str, Any]) -> list[str]:
    """The headline numbers both sides computed: entries and inventory per stage."""
    problems = []
    (group,) = ours["funnel"].groups
    entered = {s: n for s, n in duck["funnel"][0]}
    inventory = {s: n for s, n in duck["funnel"][2]}
    for s in group.stages:
        if s.entered != entered.get(s.stage, 0) or s.inventory != inventory.get(s.stage, 0):
            problems.append(
                f"stage {s.stage}: revmachine {s.entered}/{s.inventory}, duckdb "
                f"{entered.get(s.stage, 0)}/{inventory.get(s.stage, 0)}"
            )
    cohorts = {(v.from_stage, v.cohort) for v in ours["velocity"].pairs}
    duck_cohorts = set()
    for (a, _), rows in zip(velocity_pairs(MODEL), duck["velocity"], strict=True):
        duck_cohorts.add((a, sum(n for kind, _, _, n in rows if kind == "km")))
    if cohorts != duck_cohorts:
        problems.append(f"velocity cohorts differ: {sorted(cohorts)} vs {sorted(duck_cohorts)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    history = generate(args.people, args.seed)
    print(
        f"generated {args.people:,} people, {history.height:,} stage transitions "
        f"in {time.perf_counter() - began:.1f}s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        duck_seconds, duck = run_duckdb(history, folder)
        with scratch_store(args.db, folder) as db:
            began = time.perf_counter()
            load(db, history, args.people)
            print(f"loaded into {db.dialect} in {time.perf_counter() - began:.1f}s (not timed)")
            cost = maintain(db, args.people)
            print(
                f"ingest cost of the reports' aggregate (stage_spells): rebuild from "
                f"{history.height:,} transitions {cost['rebuild']:.1f}s; refresh in "
                f"processing per batch of {BATCH:,} people: one new transition each "
                f"{cost['append']:.3f}s (~{cost['append'] * args.people / BATCH:.0f}s for "
                f"all {args.people:,}), whole history rewritten {cost['rewrite']:.3f}s, "
                f"nothing new {cost['unchanged']:.3f}s"
            )
            ours_seconds, ours = run_revmachine(db)
            dialect = db.dialect
    print(f"\n{'report':<10} {dialect + ' s':>12} {'cpu s':>8} {'duckdb s':>10} {'ratio':>8}")
    for name in ours_seconds:
        ratio = ours_seconds[name] / duck_seconds[name]
        print(
            f"{name:<10} {ours_seconds[name]:>12.2f} {cpu_seconds[name]:>8.2f} "
            f"{duck_seconds[name]:>10.3f} {ratio:>7.1f}x"
        )
    total, duck_total = sum(ours_seconds.values()), sum(duck_seconds.values())
    cpu = sum(cpu_seconds.values())
    print(f"{'all':<10} {total:>12.2f} {cpu:>8.2f} {duck_total:>10.3f} {total / duck_total:>7.1f}x")
    problems = agree(ours, duck)
    for problem in problems:
        print(f"DISAGREE: {problem}")
    if not problems:
        print("revmachine and DuckDB agree on entries, inventory and velocity cohorts")
    goal_ok = total / duck_total <= GOAL_RATIO and (dialect != "sqlite" or total <= GOAL_SECONDS)
    print(
        f"goal (< {GOAL_SECONDS:g}s on SQLite, within {GOAL_RATIO:g}x of DuckDB): "
        f"{'met' if goal_ok else 'missed'}"
    )
    return 1 if problems or (args.check and not goal_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
