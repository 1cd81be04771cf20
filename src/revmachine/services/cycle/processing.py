"""`revmachine process`: run the revenue model over what is new in the event store.

A run finds the people with anything new since the last run (new people, activities,
field changes, opportunity history, sales decisions; timers due by `now`; states built
under another model version) and brings each one up to date:

- incrementally when their new inputs all come after what their stored state has seen:
  O(1) per input, and exactly what a full replay would give (the engines' property);
- by a replay of their whole history when an input arrived late (it happened before
  something already processed) or the model version changed. The replay replaces the
  person's derived history (stage transitions, score changes) from the earliest point it
  changes: the late input's time, or, for a new model version, the point the older
  version had reached with the person (its watermark), so that what an older version
  decided stays as it was. If the new version
  puts the person in another stage at that moment, a `model_change` transition says so.

Everything happens in one transaction, cursors included: a failed run leaves no trace and
the next run starts where the last good one ended.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, bindparam, delete, func, insert, literal, or_, select, union

from revmachine.config import Workspace
from revmachine.engine import (
    Engine,
    JourneyState,
    OutOfOrderInput,
    ProcessResult,
    ScoreChange,
    Transition,
    from_dict,
    to_dict,
)
from revmachine.engine.collector import cyclic_gc_paused
from revmachine.engine.columns import EVENT_RANK, ActivityColumns, process_columns, supports
from revmachine.engine.inputs import Input, order_key
from revmachine.engine.instants import Micros, from_micros, to_micros
from revmachine.services.cycle.inputs import (
    ActivityRows,
    Cursors,
    PersonInputs,
    load_activity_columns,
    load_people_inputs,
)
from revmachine.services.cycle.versions import adopt
from revmachine.store import schema
from revmachine.store.bulk import insert_frame_ignoring_conflicts
from revmachine.store.database import Database
from revmachine.store.spells import refresh_spells

BATCH = 2000
MODEL_CHANGE_RULE = "model_change"
Progress = Callable[[int, int], None]


@dataclass
class ProcessSummary:
    model_version: str
    version_adopted: bool
    people: int = 0
    incremental: int = 0
    replayed: int = 0
    inputs: int = 0
    transitions: int = 0
    score_changes: int = 0
    stages: dict[str, int] = field(default_factory=dict)


def process(
    db: Database,
    workspace: Workspace,
    now: dt.datetime,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH,
) -> ProcessSummary:
    """Bring every person with news up to date under `workspace`, as of `now`."""
    engine = Engine(workspace)
    with db.transaction() as conn, cyclic_gc_paused():
        live = adopt(conn, workspace, now)
        cursors = read_cursors(conn)
        heads = _heads(conn)
        dirty = sorted(
            _dirty_people(conn, cursors, engine.version, now, workspace.uses_predictions)
        )
        summary = ProcessSummary(engine.version, live.changed_now, people=len(dirty))
        for start in range(0, len(dirty), batch_size):
            ids = dirty[start : start + batch_size]
            _process_batch(
                conn, engine, ids, cursors, now, summary, predictions=workspace.uses_predictions
            )
            if progress is not None:
                progress(min(start + batch_size, len(dirty)), len(dirty))
        _write_cursors(conn, heads, now)
        js = schema.journey_states
        summary.stages = {
            stage: n
            for stage, n in conn.execute(
                select(js.c.stage, func.count()).group_by(js.c.stage).order_by(js.c.stage)
            )
            if stage is not None
        }
    return summary


def read_cursors(conn: Connection) -> Cursors:
    pc = schema.processing_cursors
    stored = {n: int(p) for n, p in conn.execute(select(pc.c.name, pc.c.position))}
    return Cursors(**{k: stored.get(k, 0) for k in Cursors().as_dict()})


def _heads(conn: Connection) -> Cursors:
    tables = {
        "people": schema.people,
        "activities": schema.activities,
        "person_changes": schema.person_changes,
        "opportunity_history": schema.opportunity_history,
        "sales_decisions": schema.sales_decisions,
        "prediction_history": schema.prediction_history,
    }
    return Cursors(
        **{
            name: int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())
            for name, t in tables.items()
        }
    )


def _write_cursors(conn: Connection, heads: Cursors, now: dt.datetime) -> None:
    pc = schema.processing_cursors
    conn.execute(delete(pc))
    conn.execute(
        insert(pc),
        [{"name": n, "position": p, "updated_at": now} for n, p in heads.as_dict().items()],
    )


def _dirty_people(
    conn: Connection, c: Cursors, version: str, now: dt.datetime, predictions: bool = False
) -> set[int]:
    p, a, ch, ph = (
        schema.people,
        schema.activities,
        schema.person_changes,
        schema.prediction_history,
    )
    oh, oc, sd, js = (
        schema.opportunity_history,
        schema.opportunity_contacts,
        schema.sales_decisions,
        schema.journey_states,
    )
    touched_opps = select(oh.c.opportunity_id).where(oh.c.id > c.opportunity_history)
    news = [select(ph.c.person_id).where(ph.c.id > c.prediction_history)] if predictions else []
    query = union(
        *news,
        select(p.c.id.label("pid")).where(p.c.id > c.people),
        select(a.c.person_id).where(a.c.id > c.activities),
        select(ch.c.person_id).where(ch.c.id > c.person_changes),
        select(oc.c.person_id).where(oc.c.opportunity_id.in_(touched_opps)),
        select(sd.c.person_id).where(sd.c.id > c.sales_decisions),
        select(js.c.person_id).where(or_(js.c.model_version != version, js.c.next_timer_at <= now)),
        # people never processed (e.g. imported before the model existed)
        select(p.c.id).where(~select(literal(1)).where(js.c.person_id == p.c.id).exists()),
    )
    return {int(pid) for (pid,) in conn.execute(query)}


def _process_batch(
    conn: Connection,
    engine: Engine,
    ids: Sequence[int],
    cursors: Cursors,
    now: dt.datetime,
    summary: ProcessSummary,
    *,
    predictions: bool = False,
) -> None:
    stored = _stored_states(conn, ids)
    columnar = supports(engine)
    current = [pid for pid in ids if pid in stored and stored[pid][0] == engine.version]
    horizons = {pid: h for pid in current if (h := _horizon(stored[pid][1])) is not None}
    new_inputs = load_people_inputs(
        conn,
        current,
        after=cursors,
        horizons=horizons,
        predictions=predictions,
        activities=not columnar,
    )
    rows = load_activity_columns(conn, current, cursors.activities) if columnar else None
    replace_from: dict[int, dt.datetime | None] = {}  # person → replay and replace from
    todo = [(pid, from_dict(stored[pid][1]), new_inputs[pid].inputs) for pid in current]
    runs, late = _run(engine, todo, rows, now)
    replace_from.update(late)
    summary.incremental += len(runs)
    for pid in ids:
        if pid in stored and stored[pid][0] != engine.version:
            replace_from[pid] = _horizon(stored[pid][1])
        elif pid not in stored:
            replace_from[pid] = None
    again = sorted(replace_from)
    replayed = load_people_inputs(conn, again, predictions=predictions, activities=not columnar)
    rows = load_activity_columns(conn, again) if columnar else None
    previous_stage = _stages_before(conn, replace_from)
    fresh = [
        (pid, engine.new_state(pid, replayed[pid].facts), replayed[pid].inputs) for pid in again
    ]
    replays, _ = _run(engine, fresh, rows, now)
    summary.replayed += len(replays)
    for pid, since in replace_from.items():
        run = replays[pid]
        if since is None:
            continue
        run.transitions = [t for t in run.transitions if t.occurred_at >= since]
        run.changes = [c for c in run.changes if c.occurred_at >= since]
        if pid in stored and stored[pid][0] != engine.version:
            result = ProcessResult(tuple(replays[pid].all_transitions))
            bridge = _bridge(engine, pid, since, previous_stage.get(pid), result)
            run.transitions[:0] = bridge.transitions
    moves = [t for run in (*runs.values(), *replays.values()) for t in run.transitions]
    scores = [c for run in (*runs.values(), *replays.values()) for c in run.changes]
    frames = [
        f
        for f in (_column_scores(runs, {}), _column_scores(replays, replace_from))
        if f is not None
    ]
    summary.inputs += sum(run.inputs for run in (*runs.values(), *replays.values()))
    states = {pid: run.state for pid, run in (*runs.items(), *replays.items())}
    _delete_derived(conn, replace_from)
    written = _insert_results(conn, engine.version, moves, scores, now, frames)
    refresh_spells(conn, [*replace_from, *{t.person_id for t in moves}])
    _save_states(conn, states, engine, now)
    summary.transitions += len(moves)
    summary.score_changes += written


@dataclass
class _Run:
    """One person's results in a batch: transitions in time order, the score changes of
    the scalar engine as objects and of the column-wise engine as rows of `frame`."""

    state: JourneyState
    transitions: list[Transition]
    all_transitions: list[Transition]  # before any cut at the replacement point
    changes: list[ScoreChange]
    inputs: int
    frame: pl.DataFrame | None = None


def _run(
    engine: Engine,
    todo: Sequence[tuple[int, JourneyState, list[Input]]],
    rows: ActivityRows | None,
    now: dt.datetime,
) -> tuple[dict[int, _Run], dict[int, dt.datetime]]:
    """Bring each person's state up to date with their inputs and, from `rows`, their
    activities, then let time pass up to `now`. The activities go through the column-wise
    engine, all people together, when the person's other inputs (fields, deals, decisions)
    all come before them — the common case; otherwise through the scalar engine with the
    rest. Returns the runs and, for people with an input before what their state has seen,
    the time to replay them from."""
    runs: dict[int, _Run] = {}
    late: dict[int, dt.datetime] = {}
    columns: list[tuple[int, JourneyState, int, int]] = []
    for pid, state, inputs in todo:
        lo, hi = rows.span(pid) if rows is not None else (0, 0)
        if (
            rows is not None
            and lo < hi
            and inputs
            and max(map(order_key, inputs)) >= _key(rows, lo)
        ):
            inputs = [*inputs, *rows.events(lo, hi)]
            lo = hi
        try:
            result = engine.process(state, inputs) if inputs else ProcessResult()
            if (
                rows is not None
                and lo < hi
                and state.watermark is not None
                and _key(rows, lo) <= state.watermark
            ):
                raise OutOfOrderInput(_key(rows, lo), state.watermark)
        except OutOfOrderInput:
            times = [i.occurred_at for i in inputs]
            if rows is not None and lo < hi:
                times.append(from_micros(int(rows.t[lo])))
            late[pid] = min(times)
            continue
        moves = list(result.transitions)
        runs[pid] = _Run(state, moves, moves, list(result.score_changes), len(inputs) + hi - lo)
        if lo < hi:
            columns.append((pid, state, lo, hi))
    if columns and rows is not None:
        picked = np.concatenate([np.arange(lo, hi) for _, _, lo, hi in columns])
        owner = np.repeat(np.arange(len(columns)), [hi - lo for _, _, lo, hi in columns])
        ix = picked.tolist()
        acts = ActivityColumns(
            owner=owner.astype(np.int64),
            t=rows.t[picked],
            type=[rows.type[i] for i in ix],
            event_id=[rows.event_id[i] for i in ix],
            attributes=[rows.attributes[i] for i in ix],
            program=[rows.program[i] for i in ix],
        )
        done = process_columns(engine, [state for _, state, _, _ in columns], acts)
        for (pid, _, _, _), moves in zip(columns, done.transitions, strict=True):
            runs[pid].transitions.extend(moves)
        pids = np.array([pid for pid, _, _, _ in columns], dtype=np.int64)
        frame = pl.DataFrame(
            {
                "person_id": pids[done.owner],
                "occurred_at": done.t,
                "fit": done.fit,
                "behavior": done.behavior,
                "total": done.total,
                "reason": done.reason,
                "rule": done.rule,
                "event_id": done.event_id,
            },
            schema_overrides={"person_id": pl.Int64, "occurred_at": pl.Int64},
        )
        runs[columns[0][0]].frame = frame  # one frame for the batch, on its first person
    for run in runs.values():
        run.transitions.extend(_advance(engine, run.state, now).transitions)
    return runs, late


def _key(rows: ActivityRows, i: int) -> tuple[int, int, str]:
    return (int(rows.t[i]), EVENT_RANK, rows.event_id[i])


def _column_scores(
    runs: dict[int, _Run], since: dict[int, dt.datetime | None]
) -> pl.DataFrame | None:
    """The column-wise engine's score changes of `runs`, those before each person's
    replacement point left out."""
    frames = [run.frame for run in runs.values() if run.frame is not None]
    if not frames:
        return None
    frame = pl.concat(frames)
    cuts = {pid: to_micros(at) for pid, at in since.items() if at is not None}
    if cuts:
        limit = pl.DataFrame(
            {"person_id": list(cuts), "since": list(cuts.values())},
            schema={"person_id": pl.Int64, "since": pl.Int64},
        )
        frame = (
            frame.join(limit, on="person_id", how="left", maintain_order="left")
            .filter(pl.col("since").is_null() | (pl.col("occurred_at") >= pl.col("since")))
            .drop("since")
        )
    return frame


def _stored_states(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, Any]]:
    """Each person's stored model version and state document. On SQLite through the raw
    driver, the document parsed with `json.loads` as SQLAlchemy's JSON type would: its
    per-row result processing cost as much as the parsing."""
    js = schema.journey_states
    if conn.dialect.name != "sqlite":
        query = select(js.c.person_id, js.c.model_version, js.c.state)
        return {
            pid: (version, state)
            for pid, version, state in conn.execute(query.where(js.c.person_id.in_(ids)))
        }
    raw = conn.connection.driver_connection
    assert raw is not None
    loads = json.loads
    rows = raw.execute(
        "SELECT s.person_id, s.model_version, s.state FROM json_each(?) AS k "
        "JOIN journey_states s ON s.person_id = k.value",
        (json.dumps(list(ids)),),
    ).fetchall()
    return {pid: (version, loads(state)) for pid, version, state in rows}


def _horizon(state: dict[str, Any]) -> dt.datetime | None:
    """How far an older model version got with a person: its history stays up to there."""
    mark = state.get("watermark")
    return from_micros(int(mark[0])) if mark else None


def _advance(engine: Engine, state: JourneyState, now: dt.datetime) -> ProcessResult:
    mark = state.watermark
    if mark is not None and from_micros(mark[0]) >= now:
        return ProcessResult()
    return engine.advance_to(state, now)


def _replay(
    engine: Engine, person: PersonInputs, now: dt.datetime
) -> tuple[JourneyState, ProcessResult]:
    state = engine.new_state(person.person_id, person.facts)
    result = engine.process(state, person.inputs)
    return state, result + _advance(engine, state, now)


def _from(result: ProcessResult, since: dt.datetime | None) -> ProcessResult:
    if since is None:
        return result
    return ProcessResult(
        tuple(t for t in result.transitions if t.occurred_at >= since),
        tuple(c for c in result.score_changes if c.occurred_at >= since),
    )


def _bridge(
    engine: Engine,
    pid: int,
    since: dt.datetime,
    stored_stage: str | None,
    result: ProcessResult,
) -> ProcessResult:
    """A transition at the version change when the new model puts the person elsewhere."""
    before = [t for t in result.transitions if t.occurred_at < since]
    replay_stage = before[-1].to_stage if before else None
    if replay_stage is None or replay_stage == stored_stage:
        return ProcessResult()
    move = Transition(
        pid,
        stored_stage,
        replay_stage,
        since,
        MODEL_CHANGE_RULE,
        engine.version,
        f"model version {engine.version} adopted; under it the person is {replay_stage}",
    )
    return ProcessResult((move,))


def _stages_before(
    conn: Connection, replace_from: dict[int, dt.datetime | None]
) -> dict[int, str | None]:
    """The stored stage of each person just before their replacement point."""
    st = schema.stage_transitions
    out: dict[int, str | None] = {}
    for pid, since in replace_from.items():
        if since is None:
            continue
        out[pid] = conn.execute(
            select(st.c.to_stage)
            .where(st.c.person_id == pid, st.c.occurred_at < since)
            .order_by(st.c.occurred_at.desc(), st.c.id.desc())
            .limit(1)
        ).scalar()
    return out


def _delete_derived(conn: Connection, replace_from: dict[int, dt.datetime | None]) -> None:
    everything = [pid for pid, since in replace_from.items() if since is None]
    partly = [{"pid": pid, "since": s} for pid, s in replace_from.items() if s is not None]
    for table in (schema.stage_transitions, schema.score_changes):
        for start in range(0, len(everything), 900):
            chunk = everything[start : start + 900]
            conn.execute(delete(table).where(table.c.person_id.in_(chunk)))
        if partly:
            conn.execute(
                delete(table).where(
                    table.c.person_id == bindparam("pid"),
                    table.c.occurred_at >= bindparam("since"),
                ),
                partly,
            )


def _insert_results(
    conn: Connection,
    version: str,
    moves: list[Transition],
    scores: list[ScoreChange],
    now: dt.datetime,
    frames: Sequence[pl.DataFrame] = (),
) -> int:
    """Append the history rows through the bulk path (a million score changes through
    SQLAlchemy's per-row parameter processing took half a minute)."""
    utc = pl.Datetime("us", "UTC")
    if moves:
        frame = pl.DataFrame(
            {
                "person_id": [t.person_id for t in moves],
                "from_stage": [t.from_stage for t in moves],
                "to_stage": [t.to_stage for t in moves],
                "occurred_at": [t.occurred_at for t in moves],
                "reason": [t.reason for t in moves],
                "rule": [t.rule for t in moves],
                "model_version": [t.model_version for t in moves],
            },
            schema_overrides={"occurred_at": utc, "from_stage": pl.String},
        )
        insert_frame_ignoring_conflicts(
            conn, schema.stage_transitions, frame, "id", constants={"recorded_at": now}
        )
    parts = [
        pl.DataFrame(
            {
                "person_id": [c.person_id for c in scores],
                "occurred_at": [to_micros(c.occurred_at) for c in scores],
                "fit": [c.fit for c in scores],
                "behavior": [c.behavior for c in scores],
                "total": [c.total for c in scores],
                "reason": [c.reason for c in scores],
                "rule": [c.rule for c in scores],
            },
            schema=_SCORE_COLUMNS,
        )
    ]
    parts.extend(f.select(list(_SCORE_COLUMNS)).cast(_SCORE_COLUMNS) for f in frames)
    frame = pl.concat(parts).with_columns(
        pl.col("occurred_at").cast(pl.Datetime("us", "UTC")),
        pl.lit(version).alias("model_version"),
    )
    if frame.height:
        insert_frame_ignoring_conflicts(
            conn, schema.score_changes, frame, "id", constants={"recorded_at": now}
        )
    return frame.height


_SCORE_COLUMNS = pl.Schema(
    {
        "person_id": pl.Int64(),
        "occurred_at": pl.Int64(),  # microseconds, UTC
        "fit": pl.Float64(),
        "behavior": pl.Float64(),
        "total": pl.Float64(),
        "reason": pl.String(),
        "rule": pl.String(),
    }
)


def _save_states(
    conn: Connection, states: dict[int, JourneyState], engine: Engine, now: dt.datetime
) -> None:
    """Replace the people's cached states, through the bulk path: a row per person through
    SQLAlchemy's parameter processing (JSON included) cost as much as running the engines.
    The state document is serialised here as SQLAlchemy's JSON type would (`json.dumps`)."""
    if not states:
        return
    js = schema.journey_states
    ids = sorted(states)
    if conn.dialect.name == "sqlite":  # one statement, not an IN list compiled per chunk
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute(
            "DELETE FROM journey_states WHERE person_id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
    else:
        for start in range(0, len(ids), 900):
            conn.execute(delete(js).where(js.c.person_id.in_(ids[start : start + 900])))
    now_us = to_micros(now)
    rows = [_state_row(engine, s, now_us) for s in states.values()]
    times = ("stage_entered_at", "scored_at", "next_timer_at")
    utc = pl.Datetime("us", "UTC")
    frame = pl.DataFrame(
        {
            name: pl.Series([r[name] for r in rows], dtype=pl.Int64).cast(utc)
            if name in times
            else [r[name] for r in rows]
            for name in rows[0]
        },
        schema_overrides={
            "stage": pl.String,
            "fit": pl.Float64,
            "behavior": pl.Float64,
            "total": pl.Float64,
        },
    )
    insert_frame_ignoring_conflicts(conn, js, frame, "person_id", constants={"updated_at": now})


def _state_row(engine: Engine, state: JourneyState, now: Micros) -> dict[str, Any]:
    """The row of one person, times in microseconds (no datetime made and unmade)."""
    mark = state.watermark
    at = max(now, mark[0]) if mark is not None else now
    score = engine.scoring.score_at(state.score, at)
    return {
        "person_id": state.person_id,
        "model_version": state.model_version,
        "stage": state.stage,
        "stage_entered_at": state.stage_entered_at,
        "fit": score.fit,
        "behavior": score.behavior,
        "total": score.total,
        "scored_at": at,
        "next_timer_at": engine.lifecycle.next_deadline(state),
        "state": json.dumps(to_dict(state)),
    }


def people_ids(conn: Connection, emails: Iterable[str]) -> dict[str, int]:
    p = schema.people
    wanted = [e.strip().lower() for e in emails]
    return {e: i for e, i in conn.execute(select(p.c.email, p.c.id).where(p.c.email.in_(wanted)))}
