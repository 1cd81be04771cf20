"""Scoring benchmark: the revenue model's engines against a bare numpy pass, same run.

The baseline computes what scoring fundamentally is, the decayed sum
Σ points · 0.5^((T − tᵢ) / half_life) per person, as one vectorised numpy pass over the same
events (no caps, no lifecycle, no per-event output): roughly the floor for that arithmetic
in Python. Against it, in the same run:

1. `scoring`: the compiled scoring rules alone, event by event (what a score update costs);
2. `replay`: score and lifecycle together, each person's whole history replayed;
3. `incremental`: the same history fed in four time slices, the state carried over;
4. `store`: end to end from the database: `revmachine process` over a SQLite store holding
   the same events (reading inputs, both engines, writing stage and score history).

It checks that (1) gives the same scores as the baseline (the bench model has no caps so
that both compute the same thing) and that (2) and (3) give the same transitions.

    python bench/scoring.py                       # 1,000,000 events, 100,000 people
    python bench/scoring.py --events 50000 --people 5000 --no-store   # quick

Goal (the revenue model issue): >= 500,000 events/s end to end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from revmachine.config import Workspace, default_workspace
from revmachine.config.workspace import make_workspace
from revmachine.engine import Engine, Event, compile_scoring, score_activities, synthetic_activities
from revmachine.engine.bench import BenchActivity
from revmachine.engine.instants import from_micros

GOAL = 500_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--no-store", action="store_true", help="skip the end-to-end run")
    args = parser.parse_args(argv)

    live = default_workspace()
    rules = [r.model_copy(update={"cap": None}) for r in live.scoring.behavior.rules]
    behavior = live.scoring.behavior.model_copy(update={"rules": rules})
    workspace = make_workspace(live.revenue, live.scoring.model_copy(update={"behavior": behavior}))
    engine = Engine(workspace)
    scoring = compile_scoring(workspace.scoring)

    stream = synthetic_activities(args.events, args.people, seed=7)
    end = stream[-1][2] + 1
    print(f"{len(stream):,} events for {args.people:,} people, model {workspace.version}")

    # baseline: one vectorised pass
    points_of = {
        t: sum(r.points for r in rs if r.group >= 0) for t, rs in scoring.rules_by_type.items()
    }
    kept_of = {
        t: sum(r.points for r in rs if r.group < 0) for t, rs in scoring.rules_by_type.items()
    }
    rates = {r.rate for rs in scoring.rules_by_type.values() for r in rs if r.group >= 0}
    assert len(rates) == 1, "the bench model has one half-life"
    rate = rates.pop()
    start = time.perf_counter()
    person = np.fromiter((a[0] for a in stream), dtype=np.int64, count=len(stream))
    points = np.fromiter((points_of.get(a[1], 0.0) for a in stream), float, len(stream))
    when = np.fromiter((a[2] for a in stream), dtype=np.int64, count=len(stream))
    kept = np.fromiter((kept_of.get(a[1], 0.0) for a in stream), float, len(stream))
    baseline_values = np.bincount(
        person, weights=points * 0.5 ** ((end - when) * rate) + kept, minlength=args.people
    )
    baseline = time.perf_counter() - start
    report("baseline (numpy)", len(stream), baseline, baseline)

    start = time.perf_counter()
    states = score_activities(scoring, stream)
    seconds = time.perf_counter() - start
    report("scoring", len(stream), seconds, baseline)
    worst = max(abs(scoring.behavior_at(s, end) - baseline_values[p]) for p, s in states.items())
    print(f"  scores equal to the baseline: max difference {worst:.2e}")
    assert worst < 1e-6

    per_person: dict[int, list[Event]] = defaultdict(list)
    for i, (p, type_, t, attributes, program) in enumerate(stream):
        per_person[p].append(Event(f"e{i}", type_, from_micros(t), attributes, program))
    as_of = from_micros(end)

    start = time.perf_counter()
    replayed = {p: engine.replay(p, None, events, as_of) for p, events in per_person.items()}
    seconds = time.perf_counter() - start
    report("replay (score + lifecycle)", len(stream), seconds, baseline)

    start = time.perf_counter()
    pieces = 4
    incremental = {p: engine.new_state(p) for p in per_person}
    moves: dict[int, list[object]] = defaultdict(list)
    for k in range(pieces):
        for p, events in per_person.items():
            lo, hi = len(events) * k // pieces, len(events) * (k + 1) // pieces
            moves[p].extend(engine.process(incremental[p], events[lo:hi]).transitions)
    for p, state in incremental.items():
        moves[p].extend(engine.advance_to(state, as_of).transitions)
    seconds = time.perf_counter() - start
    report(f"incremental ({pieces} slices)", len(stream), seconds, baseline)
    same = all(list(replayed[p].result.transitions) == moves[p] for p in per_person)
    print(f"  incremental transitions equal to the replay: {same}")
    assert same

    if not args.no_store:
        rate_store = store_run(workspace, stream, args.people, as_of, baseline)
        print(f"goal {GOAL:,} events/s end to end: {'met' if rate_store >= GOAL else 'missed'}")
    return 0


def report(name: str, events: int, seconds: float, baseline: float) -> None:
    print(
        f"{name:32s} {seconds:8.2f} s {events / seconds:12,.0f} events/s "
        f"{seconds / baseline:8.1f}x baseline"
    )


def store_run(
    workspace: Workspace,
    stream: list[BenchActivity],
    people: int,
    as_of: dt.datetime,
    baseline: float,
) -> float:
    """Load the events into a SQLite store through the import service, then time process."""
    import csv
    import io

    from revmachine.services.cycle import process
    from revmachine.services.imports import import_activities, import_people
    from revmachine.store.database import Database
    from revmachine.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(db)
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["email", "created_at"])
        first = from_micros(stream[0][2]).isoformat()
        for p in range(people):
            w.writerow([f"p{p}@bench.example", first])
        import_people(db, buf.getvalue().encode(), now=now)
        path = Path(tmp) / "acts.csv"
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["event_id", "email", "type", "occurred_at", "url"])
            for i, (p, type_, t, attributes, _) in enumerate(stream):
                w.writerow(
                    [
                        f"e{i}",
                        f"p{p}@bench.example",
                        type_,
                        from_micros(t).isoformat(),
                        attributes.get("url", ""),
                    ]
                )
        import_activities(db, path, now=now)
        start = time.perf_counter()
        summary = process(db, workspace, as_of)
        seconds = time.perf_counter() - start
        report("store: revmachine process", len(stream), seconds, baseline)
        print(
            f"  {summary.people:,} people, {summary.transitions:,} stage moves, "
            f"{summary.score_changes:,} score changes written"
        )
        db.dispose()
    return len(stream) / seconds


if __name__ == "__main__":
    sys.exit(main())
