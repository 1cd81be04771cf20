"""Cohorts: people by the month they started, and how far each cohort has come by `as_of`.

A cohort is the people whose first stage transition (or, with `from_stage`, first entry into
that stage) falls in a month of the period; each cell counts the cohort's people who entered
a stage at or after their start. One grouped statement; Python only divides.
Definition: `cohort_reached`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from revmachine.analytics.definitions import check_stages
from revmachine.analytics.history import in_period, later_transitions, transitions
from revmachine.analytics.spec import Grain, Scope
from revmachine.analytics.sqlfuncs import bucket_start
from revmachine.analytics.tables import Column, ReportTable, table
from revmachine.config.revenue_model import RevenueModel


@dataclass(frozen=True)
class Cohort:
    segment: str
    start: str  # the first day of the cohort's month (or other grain)
    size: int
    reached: dict[str, int]

    def share(self, stage: str) -> float | None:
        return self.reached.get(stage, 0) / self.size if self.size else None


@dataclass(frozen=True)
class CohortReport:
    scope: Scope
    grain: Grain
    from_stage: str | None
    stages: tuple[str, ...]
    cohorts: tuple[Cohort, ...]

    def tables(self) -> list[ReportTable]:
        cols = [
            Column("segment", "Segment"),
            Column("cohort", "Cohort"),
            Column("size", "People", "cohort_reached", "count"),
            *[Column(s, s, "cohort_reached", "share") for s in self.stages],
        ]
        counts = [
            Column("segment", "Segment"),
            Column("cohort", "Cohort"),
            Column("size", "People", "cohort_reached", "count"),
            *[Column(s, s, "cohort_reached", "count") for s in self.stages],
        ]
        return [
            table(
                "cohorts",
                "Share of each cohort that reached each stage",
                cols,
                [
                    (c.segment, c.start, c.size, *[c.share(s) for s in self.stages])
                    for c in self.cohorts
                ],
            ),
            table(
                "cohort_counts",
                "People of each cohort who reached each stage",
                counts,
                [
                    (c.segment, c.start, c.size, *[c.reached.get(s, 0) for s in self.stages])
                    for c in self.cohorts
                ],
            ),
        ]


def cohort_report(
    conn: Connection,
    model: RevenueModel,
    scope: Scope,
    *,
    from_stage: str | None = None,
    grain: Grain = Grain.MONTH,
) -> CohortReport:
    stages = [s.name for s in model.stages]
    if from_stage is not None:
        check_stages(model, [from_stage])
    h = transitions(scope)
    start_q = select(
        h.c.person_id, h.c.segment, func.min(h.c.occurred_at).label("started")
    ).group_by(h.c.person_id, h.c.segment)
    if from_stage is not None:
        start_q = start_q.where(h.c.to_stage == from_stage)
    starts = start_q.subquery("starts")
    cohort = bucket_start(grain, starts.c.started).label("cohort")
    sizes_stmt = (
        select(starts.c.segment, cohort, func.count())
        .where(in_period(starts.c.started, scope.period))
        .group_by(starts.c.segment, cohort)
    )
    sizes = {(seg, c): n for seg, c, n in conn.execute(sizes_stmt)}
    t = later_transitions(scope)
    reached_stmt = (
        select(starts.c.segment, cohort, t.c.to_stage, func.count(func.distinct(t.c.person_id)))
        .select_from(
            starts.join(
                t, and_(t.c.person_id == starts.c.person_id, t.c.occurred_at >= starts.c.started)
            )
        )
        .where(in_period(starts.c.started, scope.period))
        .group_by(starts.c.segment, cohort, t.c.to_stage)
    )
    reached: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for seg, c, stage, n in conn.execute(reached_stmt):
        reached[(seg, c)][stage] = n
    return CohortReport(
        scope,
        grain,
        from_stage,
        tuple(stages),
        tuple(
            Cohort(seg, c, n, dict(reached.get((seg, c), {})))
            for (seg, c), n in sorted(sizes.items())
        ),
    )
