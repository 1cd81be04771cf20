"""The stage history as reports read it: the SQL building blocks every stage report shares.

All of them see only transitions at or before `as_of` (valid time), optionally of one model
version, and carry each person's `segment` (the group value, '(all)' without a group).
They return SQLAlchemy subqueries, so a report composes them into one statement and the
database does the scanning, joining and grouping.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Subquery, and_, func, literal, select

from revmachine.analytics.segments import ALL_LABEL, person_segments
from revmachine.analytics.spec import Period, Scope
from revmachine.store import schema

st = schema.stage_transitions


def _known(scope: Scope) -> list[ColumnElement[bool]]:
    where = [st.c.occurred_at <= scope.as_of]
    if scope.model_version is not None:
        where.append(st.c.model_version == scope.model_version)
    return where


def transitions(scope: Scope) -> Subquery:
    """`(id, person_id, segment, to_stage, occurred_at)`: every known transition of the
    people the scope admits."""
    segments = person_segments(scope)
    if segments is None:
        stmt = select(
            st.c.id,
            st.c.person_id,
            literal(ALL_LABEL).label("segment"),
            st.c.to_stage,
            st.c.occurred_at,
        ).where(*_known(scope))
    else:
        stmt = (
            select(st.c.id, st.c.person_id, segments.c.segment, st.c.to_stage, st.c.occurred_at)
            .join(segments, segments.c.person_id == st.c.person_id)
            .where(*_known(scope))
        )
    return stmt.subquery("history")


def later_transitions(scope: Scope) -> Subquery:
    """`(person_id, to_stage, occurred_at)` without segments: the side a report joins to
    find what happened after an entry (the person is already filtered on the other side)."""
    return (
        select(st.c.person_id, st.c.to_stage, st.c.occurred_at)
        .where(*_known(scope))
        .subquery("later")
    )


def in_period(column: ColumnElement[object], period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start_at, column < period.end_at)


def first_entries(scope: Scope, stages: Sequence[str], period: Period | None = None) -> Subquery:
    """`(person_id, segment, stage, entered)`: each person's first entry into each of
    `stages` within the period (the scope's period if not given)."""
    h = transitions(scope)
    window = period or scope.period
    return (
        select(
            h.c.person_id,
            h.c.segment,
            h.c.to_stage.label("stage"),
            func.min(h.c.occurred_at).label("entered"),
        )
        .where(h.c.to_stage.in_(list(stages)), in_period(h.c.occurred_at, window))
        .group_by(h.c.person_id, h.c.segment, h.c.to_stage)
        .subquery("entries")
    )


def current_stages(scope: Scope) -> Subquery:
    """`(person_id, segment, stage, entered)`: the stage each person is in at `as_of`, from
    their latest transition (ties on time broken by the order the rows were recorded)."""
    h = transitions(scope)
    ranked = select(
        h.c.person_id,
        h.c.segment,
        h.c.to_stage,
        h.c.occurred_at,
        func.row_number()
        .over(partition_by=h.c.person_id, order_by=(h.c.occurred_at.desc(), h.c.id.desc()))
        .label("rn"),
    ).subquery("ranked")
    return (
        select(
            ranked.c.person_id,
            ranked.c.segment,
            ranked.c.to_stage.label("stage"),
            ranked.c.occurred_at.label("entered"),
        )
        .where(ranked.c.rn == 1)
        .subquery("current")
    )
