"""Marketo opportunities: sync (`createOrUpdate` …), query, describe, and roles.

Mapped onto revmachine's opportunities (`externalOpportunityId` is the CRM id; a sync is a
snapshot, kept in the deal's history) through the native opportunities import.
`marketoGUID` is revmachine's row id. Roles link leads to deals as contacts, which is what
lets a deal move its contacts through the revenue model.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from revmachine.api.auth import Principal, require
from revmachine.api.marketo.common import (
    batch_size,
    import_planned,
    input_list,
    json_body,
    lead_emails,
    marketo_problem,
    ok_page,
    params,
    parse_ids,
    rejected,
    split_values,
)
from revmachine.api.marketo.envelope import MarketoCode, marketo_time, ok, skipped
from revmachine.api.paging import decode_cursor, page
from revmachine.api.permissions import Permission, allows
from revmachine.api.state import ApiContext, Ctx
from revmachine.services.imports.opportunities import add_contacts
from revmachine.store import schema

router = APIRouter(prefix="/rest/v1", tags=["marketo"])

_O = schema.opportunities

#: Marketo name → (revmachine column, data type, updateable).
FIELDS: dict[str, tuple[str, str, bool]] = {
    "marketoGUID": ("id", "string", False),
    "externalOpportunityId": ("external_id", "string", True),
    "name": ("name", "string", True),
    "amount": ("amount", "currency", True),
    "stage": ("stage", "string", True),
    "isClosed": ("status", "boolean", True),
    "isWon": ("status", "boolean", True),
    "closeDate": ("close_date", "date", True),
    "externalCompanyId": ("account_id", "string", True),
    "externalSalesPersonId": ("owner_id", "string", True),
    "lostReason": ("lost_reason", "string", True),
    "productInterest": ("product", "string", True),
    "createdAt": ("created_at", "datetime", False),
    "updatedAt": ("updated_at", "datetime", False),
}
DEFAULT_FIELDS = (
    "marketoGUID",
    "externalOpportunityId",
    "name",
    "amount",
    "stage",
    "isClosed",
    "isWon",
    "closeDate",
    "createdAt",
    "updatedAt",
)


def _our_record(o: dict[str, Any], now: str) -> dict[str, Any]:
    closed, won = bool(o.get("isClosed")), bool(o.get("isWon"))
    record: dict[str, Any] = {
        "opportunity_id": o.get("externalOpportunityId"),
        "name": o.get("name"),
        "amount": o.get("amount"),
        "stage": o.get("stage"),
        "close_date": o.get("closeDate"),
        "account": o.get("externalCompanyId"),
        "owner": o.get("externalSalesPersonId"),
        "lost_reason": o.get("lostReason"),
        "product": o.get("productInterest"),
        "created_at": o.get("createdAt") or now,
        "updated_at": o.get("updatedAt"),
    }
    if "isWon" in o or "isClosed" in o:
        record["status"] = "won" if won else "lost" if closed else "open"
    return {k: v for k, v in record.items() if v is not None}


def _with_current(o: dict[str, Any], row: Any) -> dict[str, Any]:
    """A sync names only what changed; a revmachine snapshot is the whole deal, so the
    fields not sent are taken from the deal as it stands."""
    if row is None:
        return o
    filled = dict(o)
    filled.setdefault("createdAt", row.created_at.isoformat())
    if "amount" not in o and row.amount is not None:
        filled["amount"] = str(row.amount)
    if "stage" not in o and row.stage is not None:
        filled["stage"] = row.stage
    if "closeDate" not in o and row.close_date is not None:
        filled["closeDate"] = row.close_date.isoformat()
    if "isClosed" not in o and "isWon" not in o:
        filled["isClosed"], filled["isWon"] = row.status != "open", row.status == "won"
    return filled


def _sync(ctx: ApiContext, principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    records = input_list(doc, ctx.settings.marketo_max_batch)
    action = doc.get("action") or "createOrUpdate"
    if action not in ("createOrUpdate", "createOnly", "updateOnly"):
        raise marketo_problem(MarketoCode.INVALID_DATA, f"action '{action}' is not supported")
    if (doc.get("dedupeBy") or "dedupeFields") != "dedupeFields":
        raise marketo_problem(MarketoCode.INVALID_DATA, "only dedupeBy=dedupeFields is supported")
    ids = [r.get("externalOpportunityId") for r in records if isinstance(r, dict)]
    with ctx.db.reading() as conn:
        current = {
            row.external_id: row
            for row in conn.execute(
                select(_O).where(_O.c.external_id.in_([str(i) for i in ids if i]))
            )
        }
    known = set(current)
    now = ctx.now().isoformat()
    results: dict[int, dict[str, Any]] = {}
    plan: list[tuple[int, dict[str, Any]]] = []
    for i, r in enumerate(records):
        if not isinstance(r, dict) or not r.get("externalOpportunityId"):
            results[i] = skipped(
                MarketoCode.INVALID_DATA, "externalOpportunityId is required", seq=i
            )
        elif action == "createOnly" and str(r["externalOpportunityId"]) in known:
            results[i] = skipped(MarketoCode.LEAD_EXISTS, "Opportunity already exists", seq=i)
        elif action == "updateOnly" and str(r["externalOpportunityId"]) not in known:
            results[i] = skipped(MarketoCode.LEAD_NOT_FOUND, "Opportunity not found", seq=i)
        else:
            unknown = [k for k in r if k not in FIELDS]
            if unknown:
                results[i] = skipped(
                    MarketoCode.FIELD_NOT_FOUND, f"Field '{unknown[0]}' not found", seq=i
                )
            else:
                existing = current.get(str(r["externalOpportunityId"]))
                plan.append((i, _our_record(_with_current(r, existing), now)))
    for i, outcome in import_planned(ctx, principal, "opportunities", plan):
        if outcome.status == "rejected":
            results[i] = rejected(outcome, seq=i)
        else:
            status = "created" if outcome.status == "created" else "updated"
            results[i] = {"seq": i, "status": status, "marketoGUID": str(outcome.id)}
    return ok([results[i] for i in range(len(records))])


def _opportunity_json(row: Any, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": 0}
    for name in fields:
        if name == "marketoGUID":
            value: Any = str(row.id)
        elif name == "isClosed":
            value = row.status != "open"
        elif name == "isWon":
            value = row.status == "won"
        elif name in ("createdAt", "updatedAt"):
            value = marketo_time(row.created_at if name == "createdAt" else row.updated_at)
        elif name == "closeDate":
            value = row.close_date.isoformat() if row.close_date else None
        elif name == "amount":
            value = float(row.amount) if row.amount is not None else None
        else:
            value = getattr(row, FIELDS[name][0])
        if value is not None:
            out[name] = value
    return out


def _query(ctx: ApiContext, principal: Principal, p: dict[str, str]) -> dict[str, Any]:
    filter_type = p.get("filterType")
    if filter_type not in ("externalOpportunityId", "marketoGUID", "idField", "dedupeFields"):
        raise marketo_problem(
            MarketoCode.INVALID_DATA,
            f"filterType '{filter_type}' is not supported; use externalOpportunityId or "
            "marketoGUID",
        )
    values = split_values(p.get("filterValues"), "filterValues")
    fields = [f.strip() for f in (p.get("fields") or "").split(",") if f.strip()]
    for name in fields:
        if name not in FIELDS:
            raise marketo_problem(MarketoCode.FIELD_NOT_FOUND, f"Field '{name}' not found")
    size = batch_size(p.get("batchSize"))
    filters = {"marketo": "opportunities", "by": filter_type, "values": values}
    after = decode_cursor(p.get("nextPageToken"), filters)
    if filter_type in ("marketoGUID", "idField"):
        where = _O.c.id.in_(parse_ids(values, "marketoGUID values"))
    else:
        where = _O.c.external_id.in_(values)
    stmt = select(_O).where(where, _O.c.id > after).order_by(_O.c.id).limit(size + 1)
    if principal.owner_scope is not None:
        stmt = stmt.where(_O.c.owner_id == principal.owner_scope)
    with ctx.db.reading() as conn:
        rows = list(conn.execute(stmt))
    rows, more = page(rows, size)
    result = []
    for seq, row in enumerate(rows):
        result.append(_opportunity_json(row, fields or list(DEFAULT_FIELDS)) | {"seq": seq})
    return ok_page(result, filters, rows[-1].id if more else None)


@router.post("/opportunities.json", summary="Sync opportunities, or query with _method=GET")
async def post_opportunities(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.OPPORTUNITIES_READ))],
) -> dict[str, Any]:
    p = await params(request)
    if p.get("_method", "").upper() == "GET":
        return await run_in_threadpool(_query, ctx, principal, p)
    if not allows(principal.role, Permission.OPPORTUNITIES_WRITE):
        raise marketo_problem(MarketoCode.ACCESS_DENIED, "this key may not write opportunities")
    doc = await json_body(request)
    return await run_in_threadpool(_sync, ctx, principal, doc)


@router.get("/opportunities.json", summary="Opportunities by filterType and filterValues")
async def get_opportunities(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.OPPORTUNITIES_READ))],
) -> dict[str, Any]:
    return await run_in_threadpool(_query, ctx, principal, await params(request))


@router.get("/opportunities/describe.json", summary="The opportunity fields")
def describe_opportunities(
    principal: Annotated[Principal, Depends(require(Permission.OPPORTUNITIES_READ))],
) -> dict[str, Any]:
    return ok(
        [
            {
                "name": "opportunity",
                "displayName": "Opportunity",
                "createdAt": None,
                "updatedAt": None,
                "idField": "marketoGUID",
                "dedupeFields": ["externalOpportunityId"],
                "searchableFields": [["externalOpportunityId"], ["marketoGUID"]],
                "fields": [
                    {
                        "name": name,
                        "displayName": name,
                        "dataType": data_type,
                        "updateable": updateable,
                        "crmManaged": False,
                    }
                    for name, (_, data_type, updateable) in FIELDS.items()
                ],
            }
        ]
    )


def _roles(ctx: ApiContext, principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    records = input_list(doc, ctx.settings.marketo_max_batch)
    emails = lead_emails(ctx, records)
    results: dict[int, dict[str, Any]] = {}
    plan: list[tuple[int, tuple[str, int, str | None]]] = []
    for i, r in enumerate(records):
        lead_id = r.get("leadId") if isinstance(r, dict) else None
        if not isinstance(lead_id, int) or lead_id not in emails:
            results[i] = skipped(MarketoCode.LEAD_NOT_FOUND, "Lead not found", seq=i)
        elif not r.get("externalOpportunityId"):
            results[i] = skipped(
                MarketoCode.INVALID_DATA, "externalOpportunityId is required", seq=i
            )
        else:
            role = str(r["role"])[:100] if r.get("role") else None
            plan.append((i, (str(r["externalOpportunityId"]), lead_id, role)))
    if plan:
        linked = add_contacts(ctx.db, [link for _, link in plan])
        for (i, _), opp_id in zip(plan, linked, strict=True):
            results[i] = (
                {"seq": i, "status": "updated", "marketoGUID": str(opp_id)}
                if opp_id is not None
                else skipped(MarketoCode.INVALID_DATA, "Opportunity not found", seq=i)
            )
    return ok([results[i] for i in range(len(records))])


@router.post("/opportunities/roles.json", summary="Link leads to opportunities")
async def sync_roles(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.OPPORTUNITIES_WRITE))],
) -> dict[str, Any]:
    doc = await json_body(request)
    if (doc.get("_method") or "").upper() == "GET":
        raise marketo_problem(MarketoCode.INVALID_DATA, "querying roles is not supported")
    return await run_in_threadpool(_roles, ctx, principal, doc)
