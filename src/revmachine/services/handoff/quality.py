"""The MQL quality report: is the MQL bar where marketing and sales want it?

The cohort is everyone whose first entry into the routed stage (their first MQL, as the
what-if counts it) falls in [since, until). For each, in SQL: the first sales decision
after it (accepted or rejected, and why), whether they reached the opportunity stage (or
won, which implies it) and the won stage after it by `now`, the total score at the entry
(the last score change at or before it), their lead source, acquisition program, and the
rep of the first assignment after it. The database groups these by source, program, score
band and rep; Python adds the intervals. The threshold curve is the revenue model's
what-if sweep (`whatif.threshold_curve`): MQL volume against conversion for each value of
the bar, from the same history, so both teams see what moving the bar costs in volume.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    case,
    exists,
    func,
    literal,
    select,
)

from revmachine.config import Workspace, apply_overrides, parse_sweep
from revmachine.services.cycle import Outcomes, ThresholdPoint, threshold_curve
from revmachine.services.handoff.rates import Rate, rate
from revmachine.store import schema
from revmachine.store.database import Database

DIMENSIONS: tuple[str, ...] = ("source", "program", "score_band", "rep")
NONE = "(none)"


@dataclass(frozen=True)
class QualityLine:
    """MQLs of one group and what became of them."""

    group: str
    mqls: int
    accepted: int
    rejected: int
    to_opportunity: int
    to_won: int

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance(self) -> Rate:
        return rate(self.accepted, self.decided)

    @property
    def opportunity_rate(self) -> Rate:
        return rate(self.to_opportunity, self.mqls)

    @property
    def won_rate(self) -> Rate:
        return rate(self.to_won, self.mqls)


@dataclass
class MqlQualityReport:
    since: dt.datetime
    until: dt.datetime
    as_of: dt.datetime
    total: QualityLine
    rejection_reasons: dict[str, int]
    by: dict[str, list[QualityLine]] = field(default_factory=dict)  # dimension → lines
    curve_key: str | None = None
    curve: list[ThresholdPoint] = field(default_factory=list)


def mql_quality(
    db: Database,
    workspace: Workspace,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime,
    *,
    sweep: str | None = None,
    with_curve: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> MqlQualityReport:
    """MQLs that first entered the stage in [since, until), their outcomes as of `now`,
    and (with `with_curve`) the threshold curve of `sweep` (default routing.yml's)."""
    routing = workspace.routing
    with db.reading() as conn:
        cohort = _cohort(conn, workspace, since, until, now)
        total = _lines(conn, cohort, None)[0]
        by = {d: _lines(conn, cohort, d) for d in DIMENSIONS}
        reasons = {
            str(reason or NONE): int(n)
            for reason, n in conn.execute(
                select(cohort.c.reason, func.count())
                .where(cohort.c.decision == "reject")
                .group_by(cohort.c.reason)
                .order_by(func.count().desc(), cohort.c.reason)
            )
        }
    report = MqlQualityReport(
        since,
        until,
        now,
        total,
        reasons,
        by,
    )
    spec = sweep if sweep is not None else routing.quality.sweep
    if with_curve and spec:
        parsed = parse_sweep(spec)
        candidates = [
            (float(v), apply_overrides(workspace, {parsed.key: v})) for v in parsed.values
        ]
        outcomes = Outcomes(
            routing.stage, routing.quality.opportunity_stage, routing.quality.won_stage
        )
        report.curve_key = parsed.key
        report.curve = threshold_curve(
            db, parsed.key, candidates, now, outcomes=outcomes, progress=progress
        )
    return report


def _cohort(
    conn: Connection,
    workspace: Workspace,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime,
) -> Any:
    """One row per MQL of the period with everything the groupings need (a subquery)."""
    routing = workspace.routing
    st, sd, sc = schema.stage_transitions, schema.sales_decisions, schema.score_changes
    p, pg, la, r = schema.people, schema.programs, schema.lead_assignments, schema.sales_reps
    opp, won = routing.quality.opportunity_stage, routing.quality.won_stage
    first = (
        select(st.c.person_id, func.min(st.c.occurred_at).label("mql_at"))
        .where(st.c.to_stage == routing.stage)
        .group_by(st.c.person_id)
        .subquery("first_mql")
    )
    entered = first.c.mql_at

    def reached(stages: Sequence[str]) -> ColumnElement[int]:
        later = exists().where(
            st.c.person_id == first.c.person_id,
            st.c.to_stage.in_(list(stages)),
            st.c.occurred_at >= entered,
            st.c.occurred_at <= now,
        )
        return case((later, 1), else_=0)

    def first_decision(column: Any) -> Any:
        return (
            select(column)
            .where(
                sd.c.person_id == first.c.person_id,
                sd.c.occurred_at >= entered,
                sd.c.occurred_at <= now,
            )
            .order_by(sd.c.occurred_at, sd.c.id)
            .limit(1)
            .scalar_subquery()
        )

    score = (
        select(sc.c.total)
        .where(sc.c.person_id == first.c.person_id, sc.c.occurred_at <= entered)
        .order_by(sc.c.occurred_at.desc(), sc.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rep = (
        select(r.c.email)
        .select_from(la.join(r, r.c.id == la.c.rep_id))
        .where(la.c.person_id == first.c.person_id, la.c.occurred_at >= entered)
        .order_by(la.c.occurred_at, la.c.id)
        .limit(1)
        .scalar_subquery()
    )
    bands = routing.quality.score_bands
    score_value = func.coalesce(score, 0.0)
    whens = [(score_value < bands[0], literal(f"<{bands[0]:g}"))] if bands else []
    whens += [
        (score_value < high, literal(f"{low:g}–{high:g}"))
        for low, high in itertools.pairwise(bands)
    ]
    band = case(*whens, else_=literal(f"≥{bands[-1]:g}")) if bands else literal("all")
    return (
        select(
            first.c.person_id,
            entered.label("mql_at"),
            func.coalesce(p.c.lead_source, NONE).label("source"),
            func.coalesce(pg.c.name, NONE).label("program"),
            band.label("score_band"),
            func.coalesce(rep, NONE).label("rep"),
            first_decision(sd.c.decision).label("decision"),
            first_decision(sd.c.reason).label("reason"),
            reached([opp, won]).label("to_opportunity"),
            reached([won]).label("to_won"),
        )
        .select_from(
            first.join(p, p.c.id == first.c.person_id).outerjoin(
                pg, pg.c.id == p.c.acquisition_program_id
            )
        )
        .where(entered >= since, entered < until)
        .subquery("cohort")
    )


def _lines(conn: Connection, cohort: Any, dimension: str | None) -> list[QualityLine]:
    """One line per value of `dimension`, largest first (or one line for everyone)."""
    counts = (
        func.count().label("mqls"),
        func.sum(case((cohort.c.decision == "accept", 1), else_=0)).label("accepted"),
        func.sum(case((cohort.c.decision == "reject", 1), else_=0)).label("rejected"),
        func.sum(cohort.c.to_opportunity).label("to_opportunity"),
        func.sum(cohort.c.to_won).label("to_won"),
    )
    if dimension is None:
        query = select(literal("all").label("grp"), *counts).select_from(cohort)
    else:
        key = cohort.c[dimension]
        query = (
            select(key.label("grp"), *counts)
            .select_from(cohort)
            .group_by(key)
            .order_by(func.count().desc(), key)
        )
    return [
        QualityLine(
            str(row.grp),
            int(row.mqls),
            int(row.accepted or 0),
            int(row.rejected or 0),
            int(row.to_opportunity or 0),
            int(row.to_won or 0),
        )
        for row in conn.execute(query)
    ]
