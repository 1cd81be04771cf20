"""Segments: the dimensions every report can be filtered and grouped by.

One registry (`SEGMENTS`) names each dimension once and says how to read it for a person
and, where it makes sense, for a deal. A report joins the small `(person_id, segment)`
subquery built here only when the question has filters or a group; otherwise it reads
the stage history alone.

Segments are read from current state (the person's fields now, their account, their
acquisition program and owner), not as of `as_of`: rolling every field back for every
person would cost a scan of `person_changes` per report, and the fields used here
(industry, size, country, source, program) rarely change.

The prediction segments are the exception, because predictions change with every scoring
run: `prediction` (a band of the decile) and `predicted_decile` read the person's latest
prediction as of the report's `as_of` from `prediction_history` (one index seek per person
on `(person_id, as_of)`), never one made later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    FromClause,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)

from revmachine.analytics.spec import Scope, ScopeError
from revmachine.store import schema

NONE_LABEL = "(none)"
ALL_LABEL = "(all)"

p, a, pr, rep, team = (
    schema.people,
    schema.accounts,
    schema.programs,
    schema.sales_reps,
    schema.sales_teams,
)
o = schema.opportunities

#: Company size bands by employees (upper bounds inclusive), the usual B2B cut.
SIZE_BANDS: tuple[tuple[int, str], ...] = (
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (1000, "201-1000"),
    (5000, "1001-5000"),
)
SIZE_TOP = "5001+"

#: Prediction bands by decile of the scoring run (10 = the likeliest tenth), lowest bound.
PREDICTION_BANDS: tuple[tuple[int, str], ...] = ((9, "high"), (6, "medium"), (1, "low"))
ph = schema.prediction_history
#: Bound to the report's `as_of` by `person_segments`.
PREDICTION_AS_OF = bindparam("segments_prediction_as_of", type_=ph.c.as_of.type)


def _latest_decile() -> ColumnElement[int]:
    """The person's decile in the latest prediction as of the report (correlated on `p`)."""
    return (
        select(ph.c.decile)
        .where(ph.c.person_id == p.c.id, ph.c.as_of <= PREDICTION_AS_OF)
        .order_by(ph.c.as_of.desc(), ph.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _prediction_band(decile: ColumnElement[int]) -> ColumnElement[str]:
    # `CASE decile WHEN 10 THEN …`: the subquery is evaluated once, not once per band
    bands: dict[int, str] = {}
    for lowest, label in PREDICTION_BANDS:
        for d in range(lowest, 11):
            bands.setdefault(d, label)
    return case(bands, value=decile, else_=None)


def _size_band(employees: ColumnElement[int]) -> ColumnElement[str]:
    return case(
        *[(employees <= upper, literal(label)) for upper, label in SIZE_BANDS],
        (employees > SIZE_BANDS[-1][0], literal(SIZE_TOP)),
        else_=None,
    )


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    person: Callable[[], ColumnElement[str]] | None
    deal: Callable[[], ColumnElement[str]] | None = None


SEGMENTS: dict[str, Segment] = {
    s.name: s
    for s in (
        Segment(
            "industry",
            "the person's industry, else their account's",
            lambda: func.coalesce(p.c.industry, a.c.industry),
            lambda: a.c.industry,
        ),
        Segment("seniority", "the person's seniority", lambda: p.c.seniority),
        Segment(
            "company_size",
            "employees of the person's company (else account), in bands "
            + ", ".join([label for _, label in SIZE_BANDS] + [SIZE_TOP]),
            lambda: _size_band(func.coalesce(p.c.employee_count, a.c.employee_count)),
            lambda: _size_band(a.c.employee_count),
        ),
        Segment(
            "country",
            "the person's country, else their account's",
            lambda: func.coalesce(p.c.country, a.c.country),
            lambda: a.c.country,
        ),
        Segment("source", "the person's first lead source", lambda: p.c.lead_source),
        Segment("program", "the program that acquired the person", lambda: pr.c.name),
        Segment("channel", "the channel of that program", lambda: pr.c.channel),
        Segment(
            "owner",
            "the sales rep who owns the person (or the deal)",
            lambda: rep.c.name,
            lambda: rep.c.name,
        ),
        Segment(
            "team",
            "that rep's sales team",
            lambda: team.c.name,
            lambda: team.c.name,
        ),
        Segment("account", "the person's (or deal's) account", lambda: a.c.name, lambda: a.c.name),
        Segment("product", "the deal's product", None, lambda: o.c.product),
        Segment(
            "prediction",
            "the person's latest predicted chance of converting as of the report, by decile "
            "of its scoring run: high (top 20 %), medium (next 30 %), low (the rest)",
            lambda: _prediction_band(_latest_decile()),
        ),
        Segment(
            "predicted_decile",
            "that prediction's decile, 1..10 (10: the likeliest tenth)",
            lambda: cast(_latest_decile(), String),
        ),
    )
}
PERSON_SEGMENTS = tuple(n for n, s in SEGMENTS.items() if s.person is not None)
DEAL_SEGMENTS = tuple(n for n, s in SEGMENTS.items() if s.deal is not None)
PREDICTION_SEGMENTS = frozenset({"prediction", "predicted_decile"})


def check_segments(scope: Scope, allowed: tuple[str, ...], what: str) -> None:
    names = [*scope.filters, *([scope.group_by] if scope.group_by else [])]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ScopeError(
            f"{what} cannot be split by {', '.join(unknown)}; segments: {', '.join(allowed)}"
        )


def _people_source() -> FromClause:
    return (
        p.outerjoin(a, a.c.id == p.c.account_id)
        .outerjoin(pr, pr.c.id == p.c.acquisition_program_id)
        .outerjoin(rep, rep.c.id == p.c.owner_id)
        .outerjoin(team, team.c.id == rep.c.team_id)
    )


def _where(
    filters: Mapping[str, tuple[str, ...]], read: Callable[[str], ColumnElement[str]]
) -> ColumnElement[bool] | None:
    clauses: list[ColumnElement[bool]] = []
    for name, values in filters.items():
        column = read(name)
        wanted = [v for v in values if v != NONE_LABEL]
        tests = [column.in_(wanted)] if wanted else []
        if NONE_LABEL in values:
            tests.append(column.is_(None))
        clauses.append(or_(*tests))
    return and_(*clauses) if clauses else None


def person_segments(scope: Scope) -> Subquery | None:
    """`(person_id, segment)` for the people the scope's filters admit, `segment` being the
    group value (or '(all)'); None when the scope neither filters nor groups."""
    check_segments(scope, PERSON_SEGMENTS, "people")
    if not scope.filters and scope.group_by is None:
        return None

    def read(name: str) -> ColumnElement[str]:
        builder = SEGMENTS[name].person
        assert builder is not None
        return builder()

    group = (
        func.coalesce(read(scope.group_by), NONE_LABEL) if scope.group_by else literal(ALL_LABEL)
    )
    stmt = select(p.c.id.label("person_id"), group.label("segment")).select_from(_people_source())
    where = _where(scope.filters, read)
    if where is not None:
        stmt = stmt.where(where)
    if PREDICTION_SEGMENTS & {*scope.filters, scope.group_by}:
        stmt = stmt.params({PREDICTION_AS_OF.key: scope.as_of})
    return stmt.subquery("segments")


def deal_segments(scope: Scope) -> Subquery | None:
    """`(opportunity_id, segment)`, like `person_segments` for deals."""
    check_segments(scope, DEAL_SEGMENTS, "deals")
    if not scope.filters and scope.group_by is None:
        return None

    def read(name: str) -> ColumnElement[str]:
        builder = SEGMENTS[name].deal
        assert builder is not None
        return builder()

    group = (
        func.coalesce(read(scope.group_by), NONE_LABEL) if scope.group_by else literal(ALL_LABEL)
    )
    source = (
        o.outerjoin(a, a.c.id == o.c.account_id)
        .outerjoin(rep, rep.c.id == o.c.owner_id)
        .outerjoin(team, team.c.id == rep.c.team_id)
    )
    stmt = select(o.c.id.label("opportunity_id"), group.label("segment")).select_from(source)
    where = _where(scope.filters, read)
    if where is not None:
        stmt = stmt.where(where)
    return stmt.subquery("deal_segments")
