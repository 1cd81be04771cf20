"""Marketo activities: types, paging tokens, the activity feed, and external activities.

A paging token is a position in revmachine's event log (arrival order, see
`services.queries.activities`); `activities.json` always answers with `moreResult` and a
`nextPageToken` to continue from, as Marketo does, so a client can poll it for news.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from revmachine.api.auth import Principal, require
from revmachine.api.marketo.common import (
    batch_size,
    import_planned,
    input_list,
    json_body,
    lead_emails,
    marketo_problem,
    parse_ids,
    rejected,
    split_values,
)
from revmachine.api.marketo.envelope import MarketoCode, marketo_time, ok, request_id, skipped
from revmachine.api.paging import decode_cursor, encode_cursor, page
from revmachine.api.permissions import Permission
from revmachine.api.routers.activities import check_own_leads
from revmachine.api.state import ApiContext, Ctx
from revmachine.model.timestamps import TimestampError, parse_timestamp
from revmachine.services import queries
from revmachine.services.activity_ids import (
    BadTypeName,
    NumberedType,
    create_custom_type,
    numbered_types,
)
from revmachine.services.queries.activities import feed_head, position_at

router = APIRouter(prefix="/rest/v1", tags=["marketo"])

FEED = {"marketo": "activities"}


def _type_json(t: NumberedType) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.label,
        "apiName": t.name,
        "description": f"revmachine activity type '{t.name}' ({t.category})",
        "primaryAttribute": {"name": t.primary_attribute, "dataType": "string"},
        "attributes": [],
    }


@router.get("/activities/types.json", summary="Activity types with their ids")
def activity_types(
    ctx: Ctx, principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_READ))]
) -> dict[str, Any]:
    return ok([_type_json(t) for t in numbered_types(ctx.db, ctx.now())])


@router.get("/activities/pagingtoken.json", summary="A paging token for a time")
def paging_token(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_READ))],
    sinceDatetime: str | None = None,
) -> dict[str, Any]:
    """The position before the first activity that arrived at or after `sinceDatetime`."""
    if not sinceDatetime:
        raise marketo_problem(MarketoCode.INVALID_DATA, "sinceDatetime is required")
    try:
        since = parse_timestamp(sinceDatetime).astimezone(dt.UTC)
    except (TimestampError, OverflowError, ValueError) as exc:
        raise marketo_problem(MarketoCode.INVALID_DATA, str(exc)) from exc
    with ctx.db.reading() as conn:
        position = position_at(conn, since)
    return {
        "requestId": request_id(),
        "success": True,
        "nextPageToken": encode_cursor(position, FEED),
    }


def _activity_json(row: dict[str, Any], ids: dict[str, NumberedType]) -> dict[str, Any]:
    kind = ids[row["type"]]
    attributes = dict(row["attributes"])
    primary = attributes.pop(kind.primary_attribute, None)
    return {
        "id": row["id"],
        "marketoGUID": str(row["id"]),
        "leadId": row["person_id"],
        "activityDate": marketo_time(row["occurred_at"]),
        "activityTypeId": kind.id,
        "primaryAttributeValue": None if primary is None else str(primary),
        "attributes": [{"name": k, "value": v} for k, v in sorted(attributes.items())],
    }


@router.get("/activities.json", summary="Activities after a paging token")
def activities(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_READ))],
    nextPageToken: str | None = None,
    activityTypeIds: str | None = None,
    leadIds: str | None = None,
    batchSize: str | None = None,
) -> dict[str, Any]:
    if not nextPageToken:
        raise marketo_problem(MarketoCode.INVALID_DATA, "nextPageToken is required")
    after = decode_cursor(nextPageToken, FEED)
    types = numbered_types(ctx.db, ctx.now())
    by_id = {t.id: t for t in types}
    wanted: list[str] = []
    for text in split_values(activityTypeIds, "activityTypeIds", limit=10):
        try:
            wanted.append(by_id[int(text)].name)
        except (ValueError, KeyError) as exc:
            raise marketo_problem(
                MarketoCode.INVALID_DATA, f"activityTypeId '{text}' is not a known type"
            ) from exc
    lead_ids: list[int] | None = None
    if leadIds:
        lead_ids = parse_ids(split_values(leadIds, "leadIds", limit=30), "leadIds")
    size = batch_size(batchSize)
    with ctx.db.reading() as conn:
        head = feed_head(conn)
        rows = queries.activity_feed(
            conn,
            after=after,
            limit=size + 1,
            owner_id=principal.owner_scope,
            person_ids=lead_ids,
            types=wanted,
            upto=head,
        )
    rows, more = page(rows, size)
    position = rows[-1]["id"] if more else max(head, after)
    by_name = {t.name: t for t in types}
    return ok(
        [_activity_json(r, by_name) for r in rows],
        moreResult=more,
        nextPageToken=encode_cursor(position, FEED),
    )


def _external(ctx: ApiContext, principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    records = input_list(doc, ctx.settings.marketo_max_batch)
    types = {t.id: t for t in numbered_types(ctx.db, ctx.now())}
    emails = lead_emails(ctx, records)
    results: dict[int, dict[str, Any]] = {}
    plan: list[tuple[int, dict[str, Any]]] = []
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            results[i] = skipped(MarketoCode.INVALID_DATA, "each activity must be a JSON object")
            continue
        lead_id, type_id = r.get("leadId"), r.get("activityTypeId")
        email = emails.get(lead_id) if isinstance(lead_id, int) else None
        kind = types.get(type_id) if isinstance(type_id, int) else None
        if email is None:
            results[i] = skipped(MarketoCode.LEAD_NOT_FOUND, "Lead not found")
            continue
        if kind is None:
            results[i] = skipped(MarketoCode.INVALID_DATA, "Invalid activityTypeId")
            continue
        attributes = {
            str(a["name"]): a.get("value")
            for a in r.get("attributes") or []
            if isinstance(a, dict) and a.get("name")
        }
        if r.get("primaryAttributeValue") is not None:
            attributes[kind.primary_attribute] = r["primaryAttributeValue"]
        plan.append(
            (
                i,
                {
                    "email": email,
                    "type": kind.name,
                    "occurred_at": r.get("activityDate"),
                    "attributes": attributes,
                },
            )
        )
    check_own_leads(ctx, principal, [record for _, record in plan])
    for i, outcome in import_planned(ctx, principal, "activities", plan):
        if outcome.status == "rejected":
            results[i] = rejected(outcome)
        else:
            results[i] = {"id": outcome.id, "status": "added"}
    return ok([results[i] for i in range(len(records))])


@router.post("/activities/external.json", summary="Add custom (external) activities")
async def add_external(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_WRITE))],
) -> dict[str, Any]:
    """Stored once per content (an id is derived from lead, type, time and attributes),
    so a retried call adds nothing twice."""
    doc = await json_body(request)
    return await run_in_threadpool(_external, ctx, principal, doc)


def _snake(api_name: str) -> str:
    out = []
    for ch in api_name.strip().removesuffix("_c"):
        if ch.isupper():
            out.append("_" + ch.lower())
        elif ch in " -":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out).strip("_").replace("__", "_")


@router.post("/activities/external/type.json", summary="Create a custom activity type")
async def create_type(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_WRITE))],
) -> dict[str, Any]:
    """`apiName` becomes the revmachine type name in lower snake case (`webinarPoll` →
    `webinar_poll`), which scoring rules in the workspace can then refer to."""
    doc = await json_body(request)
    api_name = doc.get("apiName")
    if not isinstance(api_name, str) or not api_name.strip():
        raise marketo_problem(MarketoCode.INVALID_DATA, "apiName is required")
    primary = doc.get("primaryAttribute") or {}
    primary_name = primary.get("apiName") if isinstance(primary, dict) else None
    try:
        created = await run_in_threadpool(
            create_custom_type,
            ctx.db,
            _snake(api_name),
            str(doc.get("name") or ""),
            str(primary_name or "primary"),
            ctx.now(),
        )
    except BadTypeName as exc:
        raise marketo_problem(MarketoCode.INVALID_DATA, str(exc)) from exc
    return ok([_type_json(created) | {"status": "approved"}])


@router.post("/activities/external/type/{api_name}/approve.json", summary="Approve a custom type")
def approve_type(
    api_name: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_WRITE))],
) -> dict[str, Any]:
    """Custom types are live from creation in revmachine; approving one changes nothing."""
    name = _snake(api_name)
    found = [t for t in numbered_types(ctx.db, ctx.now()) if t.name == name]
    if not found:
        raise marketo_problem(MarketoCode.NOT_FOUND, f"no activity type '{api_name}'")
    return ok([_type_json(found[0]) | {"status": "approved"}])
