"""Cohorts: people by the month they started, and how far each cohort has come by `as_of`.

A cohort is the people whose first stage transition (or, with `from_stage`, first entry into
that stage) falls in a month of the period; each cell counts the cohort's people who entered
a stage at or after their start. One grouped statement, one pass over the history.
Definition: `cohort_reached`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, func, select

from revmachine.analytics.definitions import check_stages
from revmachine.analytics.history import in_period, transitions
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
    # One pass: per person, the start and the last entry into each stage up to as_of;
    # "entered S at or after the start" is exactly "the last entry into S is at or after it".
    h = transitions(scope)
    if from_stage is None:
        began = func.min(h.c.occurred_at)
    else:
        began = func.min(case((h.c.to_stage == from_stage, h.c.occurred_at)))
    last = [
        func.max(case((h.c.to_stage == s, h.c.occurred_at))).label(f"l{i}")
        for i, s in enumerate(stages)
    ]
    per_person = (
        select(h.c.segment, began.label("started"), *last)
        .group_by(h.c.person_id, h.c.segment)
        .subquery("journeys")
    )
    cohort = bucket_start(grain, per_person.c.started).label("cohort")
    reached_cols = [
        func.sum(case((per_person.c[f"l{i}"] >= per_person.c.started, 1), else_=0)).label(f"r{i}")
        for i in range(len(stages))
    ]
    stmt = (
        select(per_person.c.segment, cohort, func.count().label("size"), *reached_cols)
        .where(in_period(per_person.c.started, scope.period))
        .group_by(per_person.c.segment, cohort)
        .order_by(per_person.c.segment, cohort)
    )
    cohorts = [
        Cohort(
            row["segment"],
            row["cohort"],
            int(row["size"]),
            {s: int(row[f"r{i}"]) for i, s in enumerate(stages) if row[f"r{i}"]},
        )
        for row in conn.execute(stmt).mappings()
    ]
    return CohortReport(scope, grain, from_stage, tuple(stages), tuple(cohorts))
