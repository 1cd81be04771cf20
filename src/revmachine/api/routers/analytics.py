"""Analytics reports as JSON: the same reports, definitions and numbers as `revmachine report`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from revmachine.analytics.render.jsonout import to_json
from revmachine.analytics.reports import REPORTS, ReportOptions
from revmachine.analytics.spec import Period, Scope, ScopeError, default_period
from revmachine.api.auth import Principal, require
from revmachine.api.permissions import Permission
from revmachine.api.problems import ApiProblem
from revmachine.api.state import Ctx

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.get("", summary="The analytics reports there are")
def list_reports(
    principal: Annotated[Principal, Depends(require(Permission.ANALYTICS_READ))],
) -> dict[str, Any]:
    return {"reports": {k.name: k.description for k in REPORTS.values()}}


@router.get("/{kind}", summary="One report for a period, as of a time, by segment")
def run_report(
    kind: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ANALYTICS_READ))],
    from_: Annotated[dt.date | None, Query(alias="from")] = None,
    to: Annotated[dt.date | None, Query(description="last day, inclusive")] = None,
    as_of: Annotated[dt.datetime | None, Query()] = None,
    group_by: Annotated[str | None, Query()] = None,
    where: Annotated[list[str] | None, Query(description="segment=value|value")] = None,
) -> dict[str, Any]:
    """The report's figures with the rule of every metric used (`definitions`)."""
    if kind not in REPORTS:
        raise ApiProblem(404, "unknown-report", f"no report '{kind}'; try {sorted(REPORTS)}")
    when = as_of or ctx.clock()
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        period = default_period(when)
        if from_ is not None or to is not None:
            period = Period(
                from_ or period.start, (to + dt.timedelta(days=1)) if to else period.end
            )
        filters: dict[str, tuple[str, ...]] = {}
        for item in where or []:
            name, sep, values = item.partition("=")
            if not sep:
                raise ScopeError(f"'{item}' is not segment=value|value")
            filters[name.strip()] = tuple(v.strip() for v in values.split("|"))
        scope = Scope(period=period, as_of=when, filters=filters, group_by=group_by)
        result = REPORTS[kind].run(ctx.db, ctx.workspace.revenue, scope, ReportOptions())
    except (ScopeError, ValueError) as exc:
        raise ApiProblem(422, "bad-report-question", str(exc)) from exc
    document: dict[str, Any] = json.loads(to_json(kind, result))
    return document
