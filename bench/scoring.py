"""Scoring benchmark: the revenue model's engines against a bare numpy pass, same run.

The baseline computes what scoring fundamentally is, the decayed sum
Σ points · 0.5^((T − tᵢ) / half_life) per person, as one vectorised numpy pass over the same
events (no caps, no lifecycle, no per-event output): roughly the floor for that arithmetic
in Python. Against it, in the same run:

1. `scoring`: the compiled scoring rules alone, event by event (what a score update costs);
2. `replay`: score and lifecycle together, each person's whole history replayed (the
   people have an email, so they move through known → engaged → mql as scores rise);
3. `incremental`: the same history fed in four time slices, the state carried over;
4. `store`: end to end from the database, the path `revmachine process` takes, in two
   runs over one SQLite store: first the earlier three quarters of the events (every
   person new: a replay each), then the last quarter, imported after it (every person
   incremental: the stored state read back and continued). These runs take the shipped
   model as it is, caps included (lines 1–3 take it without caps, so that (1) computes
   what the baseline computes).

"End to end" in (4) is everything `process` does inside its one transaction: find the
people with news, read their stored states, facts and new activities from the store, run
both engines, and write stage_transitions, score_changes, journey_states and the cursors.
It does not include importing the CSV (bench/ingest.py measures that) nor Python's start.
Wall seconds are noisy on a shared machine; CPU seconds of the process are shown beside.

It checks that (1) gives the same scores as the baseline (the bench model has no caps so
that both compute the same thing) and that (2) and (3) give the same transitions.

    python bench/scoring.py                       # 1,000,000 events, 100,000 people
    python bench/scoring.py --events 50000 --people 5000 --no-store   # quick

Goal (the revenue model issue): >= 500,000 events/s end to end.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from revmachine.config import Workspace, default_workspace
from revmachine.config.workspace import make_workspace
from revmachine.engine import (
    Engine,
    Event,
    PersonFacts,
    compile_scoring,
    score_activities,
    synthetic_activities,
)
from revmachine.engine.bench import BenchActivity
from revmachine.engine.columns import ActivityColumns, process_columns
from revmachine.engine.instants import from_micros
from revmachine.store.database import Database

GOAL = 500_000


class Clock:
    """Wall and CPU seconds of one timed section."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--no-store", action="store_true", help="skip the end-to-end runs")
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
    print(
        f"{'':32s} {'wall':>8s}   {'cpu':>6s}   {'events/s (wall)':>15s} {'vs baseline':>12s} "
        f"{'events/s (cpu)':>15s}"
    )

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
    with Clock() as base:
        person = np.fromiter((a[0] for a in stream), dtype=np.int64, count=len(stream))
        points = np.fromiter((points_of.get(a[1], 0.0) for a in stream), float, len(stream))
        when = np.fromiter((a[2] for a in stream), dtype=np.int64, count=len(stream))
        kept = np.fromiter((kept_of.get(a[1], 0.0) for a in stream), float, len(stream))
        baseline_values = np.bincount(
            person, weights=points * 0.5 ** ((end - when) * rate) + kept, minlength=args.people
        )
    baseline = base.wall
    report("baseline (numpy)", len(stream), base, baseline)

    with Clock() as clock:
        states = score_activities(scoring, stream)
    report("scoring", len(stream), clock, baseline)
    worst = max(abs(scoring.behavior_at(s, end) - baseline_values[p]) for p, s in states.items())
    print(f"  scores equal to the baseline: max difference {worst:.2e}")
    assert worst < 1e-6

    per_person: dict[int, list[Event]] = defaultdict(list)
    for i, (p, type_, t, attributes, program) in enumerate(stream):
        per_person[p].append(Event(f"e{i}", type_, from_micros(t), attributes, program))
    facts = {p: PersonFacts(email=f"p{p}@bench.example") for p in per_person}
    as_of = from_micros(end)

    with Clock() as clock:
        replayed = {
            p: engine.replay(p, facts[p], events, as_of) for p, events in per_person.items()
        }
    report("replay (score + lifecycle)", len(stream), clock, baseline)

    # the same replay through the column-wise engine (the columns sorted as the store
    # reads them: by person, time, event id), checked against the scalar replay
    order = sorted(range(len(stream)), key=lambda i: (stream[i][0], stream[i][2], f"e{i}"))
    people_list = sorted(per_person)
    slot = {p: k for k, p in enumerate(people_list)}
    acts = ActivityColumns(
        owner=np.array([slot[stream[i][0]] for i in order], dtype=np.int64),
        t=np.array([stream[i][2] for i in order], dtype=np.int64),
        type=[stream[i][1] for i in order],
        event_id=[f"e{i}" for i in order],
        attributes=[stream[i][3] for i in order],
        program=[stream[i][4] for i in order],
    )
    with Clock() as clock:
        column_states = [engine.new_state(p, facts[p]) for p in people_list]
        columns = process_columns(engine, column_states, acts)
        column_moves = [
            [*moves, *engine.advance_to(state, as_of).transitions]
            for moves, state in zip(columns.transitions, column_states, strict=True)
        ]
    report("replay, column-wise", len(stream), clock, baseline)
    column_scores: dict[int, list[tuple[float, float, str, str]]] = defaultdict(list)
    for o, b, total, reason, event_id in zip(
        columns.owner.tolist(),
        columns.behavior.tolist(),
        columns.total.tolist(),
        columns.reason,
        columns.event_id,
        strict=True,
    ):
        column_scores[o].append((b, total, reason, event_id))
    same = all(
        list(replayed[p].result.transitions) == column_moves[slot[p]]
        and [(c.behavior, c.total, c.reason, c.event_id) for c in replayed[p].result.score_changes]
        == column_scores[slot[p]]
        for p in people_list
    )
    print(f"  column-wise transitions and score changes equal to the replay: {same}")
    assert same

    with Clock() as clock:
        pieces = 4
        incremental = {p: engine.new_state(p, facts[p]) for p in per_person}
        moves: dict[int, list[object]] = defaultdict(list)
        for k in range(pieces):
            for p, events in per_person.items():
                lo, hi = len(events) * k // pieces, len(events) * (k + 1) // pieces
                moves[p].extend(engine.process(incremental[p], events[lo:hi]).transitions)
        for p, state in incremental.items():
            moves[p].extend(engine.advance_to(state, as_of).transitions)
    report(f"incremental ({pieces} slices)", len(stream), clock, baseline)
    same = all(list(replayed[p].result.transitions) == moves[p] for p in per_person)
    print(f"  incremental transitions equal to the replay: {same}")
    assert same
    stages = Counter(r.state.stage for r in replayed.values())
    print("  stages: " + ", ".join(f"{s} {n:,}" for s, n in stages.most_common()))

    if not args.no_store:
        # The store runs take the shipped model, caps included: what a workspace runs.
        shipped = default_workspace()
        print(f"store runs: the shipped model {shipped.version} (with its caps)")
        rates_store = store_runs(shipped, stream, args.people, as_of, baseline)
        for name, rate_store in rates_store.items():
            verdict = "met" if rate_store >= GOAL else "missed"
            print(f"goal {GOAL:,} events/s end to end, {name}: {verdict} ({rate_store:,.0f}/s)")
    return 0


def report(name: str, events: int, clock: Clock, baseline: float) -> None:
    print(
        f"{name:32s} {clock.wall:8.2f} s {clock.cpu:6.2f} s {events / clock.wall:15,.0f} "
        f"{clock.wall / baseline:11.1f}x {events / clock.cpu:15,.0f}"
    )


def store_runs(
    workspace: Workspace,
    stream: list[BenchActivity],
    people: int,
    as_of: dt.datetime,
    baseline: float,
) -> dict[str, float]:
    """Import the people and the first three quarters of the events into a SQLite store
    through the import service and time `process`; then import the rest and time it again."""
    from revmachine.services.cycle import process
    from revmachine.services.imports import import_people
    from revmachine.store.database import Database
    from revmachine.store.migrate import upgrade

    rates: dict[str, float] = {}
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
        cut = len(stream) * 3 // 4
        runs = (
            ("first run, all replays", 0, cut, from_micros(stream[cut - 1][2] + 1)),
            ("second run, incremental", cut, len(stream), as_of),
        )
        for name, lo, hi, until in runs:
            import_events(db, stream, lo, hi, Path(tmp) / f"acts{lo}.csv", now)
            with Clock() as clock:
                summary = process(db, workspace, until)
            report(f"store: {name}", hi - lo, clock, baseline)
            print(
                f"  {summary.people:,} people ({summary.incremental:,} incremental, "
                f"{summary.replayed:,} replayed), {summary.inputs:,} inputs, "
                f"{summary.transitions:,} stage moves, "
                f"{summary.score_changes:,} score changes written"
            )
            rates[name] = (hi - lo) / clock.wall
            rates[f"{name} (cpu)"] = (hi - lo) / clock.cpu
        db.dispose()
    return rates


def import_events(
    db: Database, stream: list[BenchActivity], lo: int, hi: int, path: Path, now: dt.datetime
) -> None:
    from revmachine.services.imports import import_activities

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["event_id", "email", "type", "occurred_at", "url"])
        for i in range(lo, hi):
            p, type_, t, attributes, _ = stream[i]
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


if __name__ == "__main__":
    sys.exit(main())
