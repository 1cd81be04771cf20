"""The revenue model's inputs, read from the event store for a batch of people.

The engines are pure; this module is the edge that turns rows into their inputs:

- the person's fields as `FactsChanged` inputs: one at `created_at` (which is also how a
  person with no activity at all enters the cycle) and one at each instant `person_changes`
  records a change, with the fields as they were from then on;
- `activities` as `Event`s (program by name, so scoring rules can name programs);
- `opportunity_history` of the opportunities a person is a contact of as
  `OpportunityEvent`s: created at the first snapshot, stage reached at each stage change,
  won or lost when the status closes;
- `sales_decisions` as `SalesDecision`s;
- with `predictions=True` (the workspace's rules test `predicted.*`), `prediction_history`
  as part of the facts: a prediction as of T is in the facts from T on (a `FactsChanged` at
  T), the latest run winning when two are as of the same time.

Every input has a stable event id, so replays and incremental runs order them the same way.
Only rows with an id above `after` are read when `after` is given (the incremental case).
"""

from __future__ import annotations

import datetime as dt
import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Connection, Select, select

from revmachine.config.revenue_model import OpportunityEventKind, SalesDecisionKind
from revmachine.engine import (
    AccountFacts,
    Event,
    FactsChanged,
    Input,
    OpportunityEvent,
    PersonFacts,
    SalesDecision,
)
from revmachine.engine.instants import from_micros, to_micros
from revmachine.model.person_history import (
    ATTR_PREFIX,
    FIRST_TOUCH_FIELDS,
    TRACKED_FIELDS,
    FieldTimes,
    Observation,
    values_as_of,
)
from revmachine.store import schema

FACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "company",
    "industry",
    "employee_count",
    "country",
    "lead_source",
    "email_opt_in",
)
ACCOUNT_FIELDS = ("domain", "name", "industry", "employee_count", "segment", "country")


@dataclass(frozen=True)
class Cursors:
    """Row ids already processed, per input table (0: nothing yet)."""

    people: int = 0
    activities: int = 0
    person_changes: int = 0
    opportunity_history: int = 0
    sales_decisions: int = 0
    prediction_history: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "people": self.people,
            "activities": self.activities,
            "person_changes": self.person_changes,
            "opportunity_history": self.opportunity_history,
            "sales_decisions": self.sales_decisions,
            "prediction_history": self.prediction_history,
        }


@dataclass
class PersonInputs:
    """One person's facts (as first known) and inputs, unsorted."""

    person_id: int
    facts: PersonFacts
    created_at: dt.datetime
    inputs: list[Input] = field(default_factory=list)


def _account_facts(row: Mapping[Any, Any]) -> AccountFacts:
    revenue = row["annual_revenue"]
    return AccountFacts(
        **{f: row[f] for f in ACCOUNT_FIELDS},
        annual_revenue=float(revenue) if revenue is not None else None,
        attributes=dict(row["attributes"] or {}),
    )


def load_people_inputs(
    conn: Connection,
    person_ids: Sequence[int],
    after: Cursors | None = None,
    horizons: Mapping[int, dt.datetime] | None = None,
    *,
    predictions: bool = False,
    activities: bool = True,
) -> dict[int, PersonInputs]:
    """The inputs of `person_ids`: all of them, or with `after`, only rows newer than the
    cursors; field changes are then those after each person's `horizons` entry (how far
    their stored state has got), plus any newly learnt change at or before it, which makes
    the engine ask for a replay. `predictions`: read the prediction history into the facts.
    `activities=False` leaves the activities out (`load_activity_columns` reads them)."""
    ids = list(person_ids)
    if not ids:
        return {}
    people = _load_facts(conn, ids, after, horizons or {}, predictions)
    if activities:
        _load_activities(conn, ids, people, after.activities if after else 0)
    _load_opportunity_events(conn, ids, people, after.opportunity_history if after else 0)
    _load_sales_decisions(conn, ids, people, after.sales_decisions if after else 0)
    return people


def _load_facts(
    conn: Connection,
    ids: list[int],
    after: Cursors | None,
    horizons: Mapping[int, dt.datetime],
    predictions: bool = False,
) -> dict[int, PersonInputs]:
    p, a, ch = schema.people, schema.accounts, schema.person_changes
    columns = [p.c[f] for f in (*TRACKED_FIELDS, *FIRST_TOUCH_FIELDS)]
    rows = (
        conn.execute(
            select(
                p.c.id, p.c.email, p.c.created_at, p.c.attributes, p.c.field_times, *columns
            ).where(p.c.id.in_(ids))
        )
        .mappings()
        .all()
    )
    history: dict[int, dict[str, list[Observation]]] = defaultdict(lambda: defaultdict(list))
    fresh: dict[int, list[dt.datetime]] = defaultdict(list)  # changes learnt since `after`
    for cid, pid, key, at, new in conn.execute(
        select(ch.c.id, ch.c.person_id, ch.c.field, ch.c.occurred_at, ch.c.new_value).where(
            ch.c.person_id.in_(ids)
        )
    ):
        history[pid][key].append((at, (new or {}).get("v")))
        if after is not None and cid > after.person_changes:
            fresh[pid].append(at)
    predicted: dict[int, Predictions] = {}
    if predictions:
        predicted = _load_predictions(conn, ids, after, fresh)
    account_ids = {r["account_id"] for r in rows if r["account_id"] is not None}
    for by_key in history.values():
        account_ids.update(v for _, v in by_key.get("account_id", ()) if v is not None)
    accounts: dict[int, AccountFacts] = {}
    if account_ids:
        for r in conn.execute(
            select(
                a.c.id, a.c.annual_revenue, a.c.attributes, *[a.c[f] for f in ACCOUNT_FIELDS]
            ).where(a.c.id.in_(account_ids))
        ).mappings():
            accounts[r["id"]] = _account_facts(r)
    out: dict[int, PersonInputs] = {}
    for r in rows:
        pid, created = r["id"], r["created_at"]
        doc = FieldTimes.from_json(r["field_times"])
        current: dict[str, Any] = {
            f: r[f] for f in (*TRACKED_FIELDS, *FIRST_TOUCH_FIELDS) if r[f] is not None
        }
        current.update({ATTR_PREFIX + k: v for k, v in (r["attributes"] or {}).items()})
        observed = history.get(pid, {})

        facts_at = partial(
            _facts_at, r["email"], current, doc, observed, accounts, predicted.get(pid)
        )

        first = facts_at(created)
        person = PersonInputs(pid, first, created)
        out[pid] = person
        horizon = horizons.get(pid) if after is not None else None
        if after is None or pid > after.people:
            person.inputs.append(FactsChanged("facts:created", created, first))
        times = {t for t in doc.times.values() if t > created}
        times.update(at for obs in observed.values() for at, _ in obs if at > created)
        if pid in predicted:
            times.update(at for at in predicted[pid].times if at > created)
        previous = first
        for t in sorted(times):
            facts = facts_at(t)
            changed = facts != previous
            previous = facts
            if not changed:
                continue
            if horizon is not None and t <= horizon:
                continue
            person.inputs.append(FactsChanged(f"facts:{t.isoformat()}", t, facts))
        if horizon is not None:
            late = [t for t in fresh.get(pid, ()) if t <= horizon]
            if late:  # a change learnt now that happened before the state's horizon
                t = max(min(late), created)
                person.inputs.append(FactsChanged(f"facts:{t.isoformat()}", t, facts_at(t)))
    return out


@dataclass
class Predictions:
    """One person's predictions in time order: `times[i]` is the as-of time of `values[i]`
    (probability, decile)."""

    times: list[dt.datetime] = field(default_factory=list)
    values: list[tuple[float, int]] = field(default_factory=list)

    def at(self, t: dt.datetime) -> tuple[float, int] | None:
        i = bisect_right(self.times, t)
        return self.values[i - 1] if i else None


def _load_predictions(
    conn: Connection,
    ids: list[int],
    after: Cursors | None,
    fresh: dict[int, list[dt.datetime]],
) -> dict[int, Predictions]:
    """Each person's prediction history; a run learnt since `after` counts as a change at
    its as-of time (a prediction backdated before the state's horizon asks for a replay)."""
    ph = schema.prediction_history
    out: dict[int, Predictions] = defaultdict(Predictions)
    rows = conn.execute(
        select(ph.c.id, ph.c.person_id, ph.c.as_of, ph.c.probability, ph.c.decile)
        .where(ph.c.person_id.in_(ids))
        .order_by(ph.c.person_id, ph.c.as_of, ph.c.id)
    )
    for rid, pid, at, probability, decile in rows:
        mine = out[pid]
        if mine.times and mine.times[-1] == at:  # the later run as of the same time wins
            mine.values[-1] = (float(probability), int(decile))
        else:
            mine.times.append(at)
            mine.values.append((float(probability), int(decile)))
        if after is not None and rid > after.prediction_history:
            fresh[pid].append(at)
    return out


def _facts_at(
    email: str,
    current: Mapping[str, Any],
    doc: FieldTimes,
    observed: Mapping[str, list[Observation]],
    accounts: Mapping[int, AccountFacts],
    predicted: Predictions | None,
    t: dt.datetime,
) -> PersonFacts:
    facts = _facts(email, values_as_of(current, doc, observed, t), accounts)
    prediction = predicted.at(t) if predicted is not None else None
    if prediction is None:
        return facts
    return replace(facts, predicted_probability=prediction[0], predicted_decile=prediction[1])


def _facts(
    email: str, values: Mapping[str, Any], accounts: Mapping[int, AccountFacts]
) -> PersonFacts:
    account_id = values.get("account_id")
    return PersonFacts(
        email=email,
        **{f: values.get(f) for f in FACT_FIELDS},
        unsubscribed=bool(values.get("unsubscribed")),
        attributes={
            k.removeprefix(ATTR_PREFIX): v for k, v in values.items() if k.startswith(ATTR_PREFIX)
        },
        account=accounts.get(account_id) if account_id is not None else None,
    )


def _activities_query(ids: Sequence[int], after: int) -> Select[Any]:
    """The activities of `ids` with a row id above `after` (0: all; row ids start at 1),
    with the program's name: (person_id, event_id, type, occurred_at, attributes, program),
    the columns the raw SQLite readers select too."""
    act, prog = schema.activities, schema.programs
    return (
        select(
            act.c.person_id,
            act.c.event_id,
            act.c.type,
            act.c.occurred_at,
            act.c.attributes,
            prog.c.name,
        )
        .select_from(act.outerjoin(prog, prog.c.id == act.c.program_id))
        .where(act.c.person_id.in_(ids), act.c.id > after)
    )


def _load_activities(
    conn: Connection, ids: list[int], people: dict[int, PersonInputs], after: int
) -> None:
    if conn.dialect.name == "sqlite":
        _load_activities_sqlite(conn, ids, people, after)
        return
    for person_id, event_id, type_, occurred_at, attributes, program in conn.execute(
        _activities_query(ids, after)
    ):
        people[person_id].inputs.append(
            Event(event_id, type_, occurred_at, attributes or {}, program)
        )


def _load_activities_sqlite(
    conn: Connection, ids: list[int], people: dict[int, PersonInputs], after: int
) -> None:
    """The same rows through the raw driver: the event log is the bulk of what processing
    reads, and SQLAlchemy's per-row result processing doubled the cost of a full run. The
    values are decoded exactly as `UTCDateTime` and `JSONDoc` decode them: the stored UTC
    text gets its "+00:00" in SQL, which makes `fromisoformat` return an aware datetime
    (`datetime.replace(tzinfo=…)` afterwards cost eight times the parse)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    parse = dt.datetime.fromisoformat
    loads = json.loads
    no_attributes: Mapping[str, Any] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        cursor = raw.execute(
            "SELECT a.person_id, a.event_id, a.type, a.occurred_at || '+00:00', a.attributes, "
            "p.name "
            "FROM activities a LEFT JOIN programs p ON p.id = a.program_id "
            f"WHERE a.person_id IN ({marks}) AND a.id > ?",
            (*chunk, after),
        )
        for person_id, event_id, type_, occurred_at, attributes, program in cursor.fetchall():
            people[person_id].inputs.append(
                Event(
                    event_id,
                    type_,
                    parse(occurred_at),
                    loads(attributes) if attributes and attributes != "{}" else no_attributes,
                    program,
                )
            )


@dataclass
class ActivityRows:
    """Activities of a batch of people as columns, sorted by person, time and event id
    (the engine's order within one instant), for the column-wise engine."""

    person_id: npt.NDArray[np.int64]
    t: npt.NDArray[np.int64]  # occurred_at in microseconds since the epoch
    type: list[str]
    event_id: list[str]
    attributes: list[Mapping[str, Any]]
    program: list[str | None]

    def span(self, person_id: int) -> tuple[int, int]:
        """The rows of one person: [start, stop)."""
        ids = self.person_id
        return (
            int(np.searchsorted(ids, person_id, "left")),
            int(np.searchsorted(ids, person_id, "right")),
        )

    def events(self, start: int, stop: int) -> list[Event]:
        """Rows as the scalar engine's inputs."""
        return [
            Event(
                self.event_id[i],
                self.type[i],
                from_micros(int(self.t[i])),
                self.attributes[i],
                self.program[i],
            )
            for i in range(start, stop)
        ]


def load_activity_columns(
    conn: Connection, person_ids: Sequence[int], after: int = 0
) -> ActivityRows:
    """The activities of `person_ids` with a row id above `after`, as columns: no `Event`
    object nor datetime per row (the event log is the bulk of what processing reads). On
    SQLite the rows come through the raw driver and the stored UTC text is parsed by polars
    in one pass; elsewhere through SQLAlchemy."""
    ids = sorted(person_ids)
    rows: list[tuple[Any, ...]] = []
    if ids and conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        assert raw is not None
        # in the engine's order already: the stored UTC text sorts in time order and
        # SQLite compares text byte by byte, as Python compares the event ids
        rows = raw.execute(
            "SELECT a.person_id, a.event_id, a.type, a.occurred_at, a.attributes, p.name "
            "FROM json_each(?) AS k JOIN activities a ON a.person_id = k.value "
            "LEFT JOIN programs p ON p.id = a.program_id "
            "WHERE a.id > ? ORDER BY a.person_id, a.occurred_at, a.event_id",
            (json.dumps(ids), after),
        ).fetchall()
    elif ids:
        rows = sorted(
            (tuple(r) for r in conn.execute(_activities_query(ids, after))),
            key=lambda r: (r[0], to_micros(r[3]), r[1]),
        )
    if not rows:
        return ActivityRows(np.zeros(0, np.int64), np.zeros(0, np.int64), [], [], [], [])
    person, event_id, type_, occurred, attributes, program = (
        list(c) for c in zip(*rows, strict=True)
    )
    if conn.dialect.name == "sqlite":
        # the storage text of UTCDateTime ("%Y-%m-%d %H:%M:%S.%f", UTC), exactly
        times = (
            pl.Series(occurred, dtype=pl.String)
            .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=True)
            .cast(pl.Int64)
            .to_numpy()
        )
        loads = json.loads
        attributes = [loads(a) if a and a != "{}" else _NO_ATTRIBUTES for a in attributes]
    else:
        times = np.array([to_micros(o) for o in occurred], dtype=np.int64)
        attributes = [a or _NO_ATTRIBUTES for a in attributes]
    return ActivityRows(
        person_id=np.array(person, dtype=np.int64),
        t=times,
        type=type_,
        event_id=event_id,
        attributes=attributes,
        program=program,
    )


_NO_ATTRIBUTES: Mapping[str, Any] = {}


def _load_opportunity_events(
    conn: Connection, ids: list[int], people: dict[int, PersonInputs], after: int
) -> None:
    oc, o, h = schema.opportunity_contacts, schema.opportunities, schema.opportunity_history
    contacts: dict[int, list[int]] = defaultdict(list)
    for opp_id, person_id in conn.execute(
        select(oc.c.opportunity_id, oc.c.person_id).where(oc.c.person_id.in_(ids))
    ):
        contacts[opp_id].append(person_id)
    if not contacts:
        return
    opp_ids = sorted(contacts)
    history: dict[int, list[Any]] = defaultdict(list)
    externals: dict[int, str] = {}
    for chunk_start in range(0, len(opp_ids), 5000):
        chunk = opp_ids[chunk_start : chunk_start + 5000]
        for oid, ext in conn.execute(select(o.c.id, o.c.external_id).where(o.c.id.in_(chunk))):
            externals[oid] = ext
        for row in conn.execute(
            select(h.c.id, h.c.opportunity_id, h.c.occurred_at, h.c.stage, h.c.status)
            .where(h.c.opportunity_id.in_(chunk))
            .order_by(h.c.opportunity_id, h.c.occurred_at, h.c.id)
        ):
            history[row.opportunity_id].append(row)
    for opp_id, rows in history.items():
        events = list(_opportunity_events(externals[opp_id], rows, after))
        for person_id in contacts[opp_id]:
            people[person_id].inputs.extend(events)


def _opportunity_events(ext: str, rows: Iterable[Any], after: int) -> Iterable[OpportunityEvent]:
    previous = None
    for row in rows:
        events: list[OpportunityEvent] = []
        if previous is None:
            events.append(
                OpportunityEvent(
                    f"opp:{ext}:created",
                    ext,
                    OpportunityEventKind.CREATED,
                    row.occurred_at,
                    row.stage,
                )
            )
        elif row.stage != previous.stage and row.stage is not None:
            events.append(
                OpportunityEvent(
                    f"opp:{ext}:stage:{row.id}",
                    ext,
                    OpportunityEventKind.STAGE_REACHED,
                    row.occurred_at,
                    row.stage,
                )
            )
        if row.status in ("won", "lost") and (previous is None or previous.status != row.status):
            kind = OpportunityEventKind.WON if row.status == "won" else OpportunityEventKind.LOST
            events.append(
                OpportunityEvent(
                    f"opp:{ext}:{row.status}:{row.id}", ext, kind, row.occurred_at, row.stage
                )
            )
        if row.id > after:
            yield from events
        previous = row


def _load_sales_decisions(
    conn: Connection, ids: list[int], people: dict[int, PersonInputs], after: int
) -> None:
    d, r = schema.sales_decisions, schema.sales_reps
    stmt = (
        select(d.c.person_id, d.c.event_id, d.c.decision, d.c.occurred_at, d.c.reason, r.c.email)
        .select_from(d.outerjoin(r, r.c.id == d.c.rep_id))
        .where(d.c.person_id.in_(ids))
    )
    if after:
        stmt = stmt.where(d.c.id > after)
    for person_id, event_id, decision, occurred_at, reason, rep in conn.execute(stmt):
        people[person_id].inputs.append(
            SalesDecision(event_id, SalesDecisionKind(decision), occurred_at, reason, rep)
        )
