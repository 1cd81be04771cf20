"""Features of people as of a cut-off time, computed by the database with SQL aggregates.

Every query filters on the fact's own time (`occurred_at`, `created_at`,
`first_touch_at`) at or before the cut-off, and a person's fields are rolled back to the
cut-off by undoing the later `person_changes`: nothing known only after the cut-off can
reach a feature (tests/integration/test_predict_features.py proves it by adding later
events and checking that no feature moves). The scans, joins and group-bys run in SQL on
SQLite and PostgreSQL alike; polars joins the per-person aggregates into one frame.

Account firmographics are left out on purpose: `accounts` keeps no history, so today's
values could tell the model what was learned later (a segment set after a deal closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    select,
    type_coerce,
)

from revmachine.predict.encode import FeatureKind, FeatureSpec
from revmachine.store import schema

DAY = 86_400.0
WINDOWS = (7, 30, 90)
MAX_ACTIVITY_TYPES = 10
#: Person fields used as they were at the cut-off, and how they are typed.
CATEGORY_FIELDS = ("seniority", "industry", "country", "lead_source")
NUMBER_FIELDS = ("employee_count",)
FLAG_FIELDS = ("email_opt_in", "unsubscribed")
AS_OF_FIELDS = (*CATEGORY_FIELDS, *NUMBER_FIELDS, *FLAG_FIELDS, "account_id")
ID = "person_id"


@dataclass(frozen=True)
class FeatureConfig:
    """What varies between workspaces: the activity types that get their own counts."""

    activity_types: tuple[str, ...]

    def specs(self) -> tuple[FeatureSpec, ...]:
        return feature_specs(self.activity_types)

    def to_dict(self) -> dict[str, Any]:
        return {"activity_types": list(self.activity_types)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(tuple(data["activity_types"]))


def feature_specs(activity_types: Sequence[str]) -> tuple[FeatureSpec, ...]:
    """Every feature, with how to say it to a rep."""
    cat, num = FeatureKind.CATEGORY, FeatureKind.NUMBER
    specs = [
        FeatureSpec("days_known", num, "known for {value} days"),
        *(
            FeatureSpec(f, cat, f"{f.replace('_', ' ')} is {{value}}", f"no {f.replace('_', ' ')}")
            for f in CATEGORY_FIELDS
        ),
        FeatureSpec("acquisition_channel", cat, "came in through {value}", "no known channel"),
        FeatureSpec("employee_count", num, "{value} employees", "company size unknown"),
        FeatureSpec("email_opt_in", num, "email opt-in: {value}", "email opt-in not known"),
        FeatureSpec("unsubscribed", num, "unsubscribed: {value}", "unsubscribed: unknown"),
    ]
    for t in activity_types:
        label = t.replace("_", " ")
        specs += [
            FeatureSpec(f"{t}_{w}d", num, f"{{value}} × {label} in the last {w} days")
            for w in WINDOWS
        ]
        specs.append(
            FeatureSpec(
                f"{t}_days_since", num, f"last {label} {{value}} days ago", f"no {label} in 90 days"
            )
        )
    specs += [
        *(
            FeatureSpec(f"activities_{w}d", num, f"{{value}} activities in the last {w} days")
            for w in WINDOWS
        ),
        FeatureSpec("activities_total", num, "{value} activities in all"),
        FeatureSpec("activity_types_90d", num, "{value} kinds of activity in the last 90 days"),
        FeatureSpec("days_since_activity", num, "last active {value} days ago", "never active"),
        FeatureSpec("program_activities_90d", num, "{value} program touches in the last 90 days"),
        FeatureSpec("programs", num, "member of {value} programs"),
        FeatureSpec("stage", cat, "in stage {value}", "not yet in a stage"),
        FeatureSpec("days_in_stage", num, "{value} days in the current stage", "no stage yet"),
        FeatureSpec("stage_moves", num, "{value} stage moves so far"),
        FeatureSpec("fit_score", num, "fit score {value}", "no fit score"),
        FeatureSpec("behavior_score", num, "behaviour score {value}", "no behaviour score"),
        FeatureSpec("colleagues", num, "{value} colleagues known at the account", "no account"),
        FeatureSpec(
            "account_activities_30d",
            num,
            "{value} activities from the account in the last 30 days",
            "no account",
        ),
        FeatureSpec(
            "account_open_opportunities", num, "{value} open deals at the account", "no account"
        ),
        FeatureSpec(
            "account_won_opportunities", num, "{value} deals won at the account", "no account"
        ),
    ]
    return tuple(specs)


def common_activity_types(conn: Connection, until: dt.datetime) -> tuple[str, ...]:
    """The most frequent activity types up to `until`: those get counts of their own."""
    a = schema.activities
    rows = conn.execute(
        select(a.c.type, func.count().label("n"))
        .where(a.c.occurred_at <= until)
        .group_by(a.c.type)
        .order_by(func.count().desc(), a.c.type)
        .limit(MAX_ACTIVITY_TYPES)
    )
    return tuple(sorted(r.type for r in rows))


def epoch(conn: Connection, value: ColumnElement[Any]) -> ColumnElement[float]:
    """Seconds since 1970 of a stored time, in the database (one number to fetch)."""
    if conn.dialect.name == "sqlite":
        # UTCDateTime is UTC text on SQLite; julianday reads it.
        return type_coerce((func.julianday(value) - 2440587.5) * DAY, Float)
    return type_coerce(func.extract("epoch", value), Float)


def build_features(
    conn: Connection,
    config: FeatureConfig,
    as_of: dt.datetime,
    person_ids: Sequence[int] | None = None,
) -> pl.DataFrame:
    """One row per person who existed at `as_of` (of `person_ids`, if given), every feature
    of `config.specs()` as a column, plus `person_id`."""
    base = _people(conn, as_of, person_ids)
    if base.height == 0:
        return _empty(config)
    ids = None if person_ids is None else base.get_column(ID).to_list()
    t = as_of.timestamp()
    frame = base
    for part in (
        _activities(conn, config, as_of, ids, t),
        _programs(conn, as_of, ids),
        _stages(conn, as_of, ids, t),
        _scores(conn, as_of, ids),
    ):
        frame = frame.join(part, on=ID, how="left")
    frame = frame.join(_accounts(conn, as_of, frame), on="account_id", how="left")
    counts = [
        c
        for c in frame.columns
        if c.endswith("d") and c[:-1].split("_")[-1].isdigit() and not c.startswith("account_")
    ]
    frame = frame.with_columns(
        pl.col(*counts, "activities_total", "activity_types_90d", "programs", "stage_moves")
        .fill_null(0)
        .cast(pl.Float64),
        # A colleague count of the person's own account leaves the person out.
        (pl.col("colleagues") - 1).alias("colleagues"),
    )
    names = [s.name for s in config.specs()]
    return frame.select(ID, *names)


def _empty(config: FeatureConfig) -> pl.DataFrame:
    schema_ = {ID: pl.Int64} | {
        s.name: pl.String if s.kind is FeatureKind.CATEGORY else pl.Float64 for s in config.specs()
    }
    return pl.DataFrame(schema=schema_)


def _restrict(stmt: Select[Any], column: Any, ids: Sequence[int] | None) -> Select[Any]:
    return stmt if ids is None else stmt.where(column.in_(ids))


def _frame(conn: Connection, stmt: Select[Any], schema_: dict[str, Any]) -> pl.DataFrame:
    """The rows of `stmt` as a frame, fetched from the driver's cursor: every column of
    these queries is a number or text that needs no conversion, and SQLAlchemy's row
    objects would cost a fifth of the time of a million-person scoring run."""
    rows = conn.execute(stmt).cursor.fetchall()
    return pl.DataFrame(rows, schema=schema_, orient="row")


def _people(conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None) -> pl.DataFrame:
    """Fields as at `as_of`: current values, with later changes undone."""
    p, prog = schema.people, schema.programs
    stmt = (
        select(
            p.c.id,
            epoch(conn, p.c.created_at),
            *(cast(p.c[f], Integer) if f in FLAG_FIELDS else p.c[f] for f in AS_OF_FIELDS),
            prog.c.channel,
        )
        .select_from(p.outerjoin(prog, prog.c.id == p.c.acquisition_program_id))
        .where(p.c.created_at <= as_of)
    )
    stmt = _restrict(stmt, p.c.id, ids)
    types: dict[str, Any] = {ID: pl.Int64, "created": pl.Float64}
    types |= {f: pl.String for f in CATEGORY_FIELDS}
    types |= {"employee_count": pl.Float64, "email_opt_in": pl.Float64}
    types |= {"unsubscribed": pl.Float64, "account_id": pl.Int64, "acquisition_channel": pl.String}
    frame = _frame(conn, stmt, types)
    frame = _undo_later_changes(conn, frame, as_of, ids)
    return frame.with_columns(
        ((as_of.timestamp() - pl.col("created")) / DAY).alias("days_known"),
    ).drop("created")


def _undo_later_changes(
    conn: Connection, frame: pl.DataFrame, as_of: dt.datetime, ids: Sequence[int] | None
) -> pl.DataFrame:
    """Replace a field by the old value of its first change after `as_of`, if any."""
    ch = schema.person_changes
    ranked = _restrict(
        select(
            ch.c.person_id,
            ch.c.field,
            ch.c.old_value,
            func.row_number()
            .over(partition_by=(ch.c.person_id, ch.c.field), order_by=(ch.c.occurred_at, ch.c.id))
            .label("rn"),
        ).where(ch.c.occurred_at > as_of, ch.c.field.in_(AS_OF_FIELDS)),
        ch.c.person_id,
        ids,
    ).subquery()
    rows = conn.execute(
        select(ranked.c.person_id, ranked.c.field, ranked.c.old_value).where(ranked.c.rn == 1)
    ).all()
    if not rows:
        return frame
    old: dict[str, dict[int, Any]] = {}
    for person_id, field, doc in rows:
        old.setdefault(field, {})[person_id] = (doc or {}).get("v")
    updates = []
    for field, values in old.items():
        dtype = frame.schema[field]
        changed = pl.DataFrame(
            {
                ID: list(values),
                f"{field}__old": pl.Series(
                    [_typed(v, dtype) for v in values.values()], dtype=dtype, strict=False
                ),
            },
            schema={ID: pl.Int64, f"{field}__old": dtype},
        ).with_columns(pl.lit(True).alias(f"{field}__changed"))
        frame = frame.join(changed, on=ID, how="left")
        updates.append(
            pl.when(pl.col(f"{field}__changed"))
            .then(pl.col(f"{field}__old"))
            .otherwise(pl.col(field))
            .alias(field)
        )
    frame = frame.with_columns(updates)
    return frame.drop([c for c in frame.columns if "__" in c])


def _typed(value: Any, dtype: Any) -> Any:
    if value is None:
        return None
    if dtype == pl.String:
        return str(value)
    if dtype == pl.Boolean:
        return bool(value)
    try:
        return int(value) if dtype == pl.Int64 else float(value)
    except (TypeError, ValueError):
        return None


def _activities(
    conn: Connection,
    config: FeatureConfig,
    as_of: dt.datetime,
    ids: Sequence[int] | None,
    t: float,
) -> pl.DataFrame:
    """Activity counts and recencies, from two grouped scans shaped for speed.

    Per person, all time (count, last): the `(person_id, occurred_at)` index covers it.
    Per person and type, the last 90 days (counts by window, last, program touches): a few
    aggregates per row, pivoted by polars. One row per person with an aggregate per type
    and window costs SQLite several times more (each CASE is evaluated for every row).
    """
    a = schema.activities
    totals = _restrict(
        select(a.c.person_id, func.count(), epoch(conn, func.max(a.c.occurred_at)))
        .where(a.c.occurred_at <= as_of)
        .group_by(a.c.person_id),
        a.c.person_id,
        ids,
    )
    frame = _frame(
        conn,
        totals,
        {ID: pl.Int64, "activities_total": pl.Float64, "last_activity": pl.Float64},
    )
    # For everyone, `+ 0` keeps SQLite from walking the person index (a table lookup per
    # row) for the grouping order: a plain scan and one sort are faster. For a few
    # people the index is what finds their rows.
    person = a.c.person_id + 0 if ids is None and conn.dialect.name == "sqlite" else a.c.person_id
    since = {w: as_of - dt.timedelta(days=w) for w in WINDOWS}
    recent = _restrict(
        select(
            person,
            a.c.type,
            *(func.sum(case((a.c.occurred_at > since[w], 1), else_=0)) for w in WINDOWS[:-1]),
            func.count(),
            epoch(conn, func.max(a.c.occurred_at)),
            func.sum(case((a.c.program_id.is_not(None), 1), else_=0)),
        )
        .where(a.c.occurred_at <= as_of, a.c.occurred_at > since[WINDOWS[-1]])
        .group_by(person, a.c.type),
        a.c.person_id,
        ids,
    )
    windows = [f"w{w}" for w in WINDOWS]
    by_type = _frame(
        conn,
        recent,
        {ID: pl.Int64, "type": pl.String}
        | {w: pl.Float64 for w in windows}
        | {"last": pl.Float64, "program": pl.Float64},
    )
    overall = by_type.group_by(ID).agg(
        *(pl.col(w).sum().alias(f"activities_{w[1:]}d") for w in windows),
        pl.len().cast(pl.Float64).alias("activity_types_90d"),
        pl.col("program").sum().alias("program_activities_90d"),
    )
    frame = frame.join(overall, on=ID, how="left")
    for kind in config.activity_types:
        one = by_type.filter(pl.col("type") == kind).select(
            ID,
            *(pl.col(w).alias(f"{kind}_{w[1:]}d") for w in windows),
            ((t - pl.col("last")) / DAY).alias(f"{kind}_days_since"),
        )
        frame = frame.join(one, on=ID, how="left")
    return frame.with_columns(
        ((t - pl.col("last_activity")) / DAY).alias("days_since_activity")
    ).drop("last_activity")


def _programs(conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None) -> pl.DataFrame:
    m = schema.program_members
    stmt = _restrict(
        select(m.c.person_id, func.count())
        .where(m.c.first_touch_at <= as_of)
        .group_by(m.c.person_id),
        m.c.person_id,
        ids,
    )
    return _frame(conn, stmt, {ID: pl.Int64, "programs": pl.Float64})


def _stages(
    conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None, t: float
) -> pl.DataFrame:
    """The stage at `as_of` (the latest move at or before it), how long, how many moves."""
    st = schema.stage_transitions
    ranked = _restrict(
        select(
            st.c.person_id,
            st.c.to_stage,
            epoch(conn, st.c.occurred_at).label("entered"),
            func.row_number()
            .over(partition_by=st.c.person_id, order_by=(st.c.occurred_at.desc(), st.c.id.desc()))
            .label("rn"),
            func.count().over(partition_by=st.c.person_id).label("moves"),
        ).where(st.c.occurred_at <= as_of),
        st.c.person_id,
        ids,
    ).subquery()
    stmt = select(ranked.c.person_id, ranked.c.to_stage, ranked.c.entered, ranked.c.moves).where(
        ranked.c.rn == 1
    )
    frame = _frame(
        conn,
        stmt,
        {ID: pl.Int64, "stage": pl.String, "entered": pl.Float64, "stage_moves": pl.Float64},
    )
    return frame.with_columns(((t - pl.col("entered")) / DAY).alias("days_in_stage")).drop(
        "entered"
    )


def _scores(conn: Connection, as_of: dt.datetime, ids: Sequence[int] | None) -> pl.DataFrame:
    """The rules-based fit and behaviour scores as last recorded at or before `as_of`."""
    sc = schema.score_changes
    ranked = _restrict(
        select(
            sc.c.person_id,
            sc.c.fit,
            sc.c.behavior,
            func.row_number()
            .over(partition_by=sc.c.person_id, order_by=(sc.c.occurred_at.desc(), sc.c.id.desc()))
            .label("rn"),
        ).where(sc.c.occurred_at <= as_of),
        sc.c.person_id,
        ids,
    ).subquery()
    stmt = select(ranked.c.person_id, ranked.c.fit, ranked.c.behavior).where(ranked.c.rn == 1)
    return _frame(conn, stmt, {ID: pl.Int64, "fit_score": pl.Float64, "behavior_score": pl.Float64})


def _accounts(conn: Connection, as_of: dt.datetime, people: pl.DataFrame) -> pl.DataFrame:
    """Per account: people known, recent activity, open and won deals, all as of `as_of`.

    Who belonged to an account is taken as of `as_of` too (`_membership`). A deal's account
    is its current one: `opportunity_history` does not record account moves.
    """
    accounts = people.get_column("account_id").drop_nulls().unique().to_list()
    if not accounts:
        return pl.DataFrame(
            schema={
                "account_id": pl.Int64,
                "colleagues": pl.Float64,
                "account_activities_30d": pl.Float64,
                "account_open_opportunities": pl.Float64,
                "account_won_opportunities": pl.Float64,
            }
        )
    restrict = None if len(accounts) > 5000 else accounts
    a = schema.activities
    members = _membership(as_of)
    known = _frame(
        conn,
        _restrict(
            select(members.c.account_id, func.count())
            .where(members.c.account_id.is_not(None))
            .group_by(members.c.account_id),
            members.c.account_id,
            restrict,
        ),
        {"account_id": pl.Int64, "colleagues": pl.Float64},
    )
    recent = _frame(
        conn,
        _restrict(
            select(members.c.account_id, func.count())
            .select_from(a.join(members, members.c.person_id == a.c.person_id))
            .where(
                a.c.occurred_at <= as_of,
                a.c.occurred_at > as_of - dt.timedelta(days=30),
                members.c.account_id.is_not(None),
            )
            .group_by(members.c.account_id),
            members.c.account_id,
            restrict,
        ),
        {"account_id": pl.Int64, "account_activities_30d": pl.Float64},
    )
    deals = _frame(
        conn, _deals(as_of), {"account_id": pl.Int64, "open": pl.Float64, "won": pl.Float64}
    )
    return (
        known.join(recent, on="account_id", how="left")
        .join(deals, on="account_id", how="left")
        .with_columns(pl.col("account_activities_30d", "open", "won").fill_null(0.0))
        .rename({"open": "account_open_opportunities", "won": "account_won_opportunities"})
    )


def _membership(as_of: dt.datetime) -> Subquery:
    """(person_id, account_id) of everyone known at `as_of`, with the account link as it
    was then: the old value of the first later change of `account_id`, if there is one."""
    p, ch = schema.people, schema.person_changes
    first_change = (
        select(
            ch.c.person_id,
            ch.c.old_value["v"].as_integer().label("old"),
            func.row_number()
            .over(partition_by=ch.c.person_id, order_by=(ch.c.occurred_at, ch.c.id))
            .label("rn"),
        )
        .where(ch.c.field == "account_id", ch.c.occurred_at > as_of)
        .subquery()
    )
    return (
        select(
            p.c.id.label("person_id"),
            case(
                (first_change.c.person_id.is_not(None), first_change.c.old), else_=p.c.account_id
            ).label("account_id"),
        )
        .select_from(
            p.outerjoin(
                first_change, and_(first_change.c.person_id == p.c.id, first_change.c.rn == 1)
            )
        )
        .where(p.c.created_at <= as_of)
        .subquery()
    )


def _deals(as_of: dt.datetime) -> Select[Any]:
    """Open and won opportunities per account, from each deal's latest snapshot at `as_of`."""
    h, o = schema.opportunity_history, schema.opportunities
    ranked = (
        select(
            h.c.opportunity_id,
            h.c.status,
            func.row_number()
            .over(partition_by=h.c.opportunity_id, order_by=(h.c.occurred_at.desc(), h.c.id.desc()))
            .label("rn"),
        )
        .where(h.c.occurred_at <= as_of)
        .subquery()
    )
    status = ranked.c.status
    return (
        select(
            o.c.account_id,
            func.sum(case((status == "open", 1), else_=0)),
            func.sum(case((status == "won", 1), else_=0)),
        )
        .join(ranked, and_(ranked.c.opportunity_id == o.c.id, ranked.c.rn == 1))
        .where(o.c.account_id.is_not(None), o.c.created_at <= as_of)
        .group_by(o.c.account_id)
    )
