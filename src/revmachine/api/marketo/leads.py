"""Marketo leads: `POST /rest/v1/leads.json` (sync, or query with `_method=GET`),
`GET /rest/v1/leads.json?filterType=…`, `GET /rest/v1/lead/{id}.json` and describe.

A sync runs the native people upsert (`upsert_batch("people")`): the same validation and
merge rules; Marketo's actions and lookup field decide, per record, beforehand, whether it
may be created or updated and under which email.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from revmachine.api.auth import Principal, require
from revmachine.api.marketo.common import (
    MAX_ID,
    batch_size,
    import_planned,
    input_list,
    is_id,
    json_body,
    marketo_problem,
    ok_page,
    params,
    parse_ids,
    rejected,
    split_values,
)
from revmachine.api.marketo.envelope import MarketoCode, ok, skipped
from revmachine.api.marketo.fields import (
    CUSTOM_NAME,
    DEFAULT_FIELDS,
    FILTERABLE,
    describe,
    field_for,
    lead_json,
)
from revmachine.api.paging import decode_cursor, page
from revmachine.api.permissions import Permission
from revmachine.api.state import ApiContext, Ctx
from revmachine.services import queries

router = APIRouter(prefix="/rest/v1", tags=["marketo"])

ACTIONS = ("createOrUpdate", "createOnly", "updateOnly", "createDuplicate")


def _field_list(text: str | None) -> list[str]:
    if not text:
        return list(DEFAULT_FIELDS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if field_for(name) is None and not CUSTOM_NAME.match(name):
            raise marketo_problem(MarketoCode.FIELD_NOT_FOUND, f"Field '{name}' not found")
    return names


def _filter_values(column_type: str, values: list[str]) -> list[Any]:
    if column_type != "integer":
        return values
    return list(parse_ids(values, "filterValues"))


def _query(ctx: ApiContext, principal: Principal, p: dict[str, str]) -> dict[str, Any]:
    filter_type = p.get("filterType") or ""
    spec = field_for(filter_type)
    if spec is None or spec.rest not in FILTERABLE:
        raise marketo_problem(
            MarketoCode.INVALID_DATA,
            f"filterType '{filter_type}' is not supported; use one of "
            + ", ".join(sorted(FILTERABLE)),
        )
    values = _filter_values(spec.data_type, split_values(p.get("filterValues"), "filterValues"))
    fields = _field_list(p.get("fields"))
    size = batch_size(p.get("batchSize"))
    filters = {
        "marketo": "leads",
        "by": spec.rest,
        "values": values,
        "scope": principal.owner_scope,
    }
    after = decode_cursor(p.get("nextPageToken"), filters)
    with ctx.db.reading() as conn:
        rows = queries.people_matching(
            conn, spec.column, values, after=after, limit=size + 1, owner_id=principal.owner_scope
        )
    rows, more = page(rows, size)
    return ok_page([lead_json(r, fields) for r in rows], filters, rows[-1]["id"] if more else None)


def _our_record(lead: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A Marketo lead as a revmachine person record, or (None, the unknown field)."""
    record: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in lead.items():
        spec = field_for(name)
        if spec is not None:
            if not spec.read_only:
                record[spec.column] = value
        elif CUSTOM_NAME.match(name):
            custom[name] = value
        else:
            return None, name
    if custom:
        record["attributes"] = custom
    return record, None


def _existing(conn: Connection, column: str, values: list[Any]) -> dict[Any, list[str]]:
    """Lookup value → the emails of the people holding it."""
    found: dict[Any, list[str]] = {}
    rows = queries.people_matching(conn, column, values, after=0, limit=10_000, owner_id=None)
    for row in rows:
        key = row[column].strip().lower() if isinstance(row[column], str) else row[column]
        found.setdefault(key, []).append(row["email"])
    return found


def _plan(
    ctx: ApiContext, principal: Principal, leads: list[Any], action: str, lookup: str
) -> tuple[list[tuple[int, dict[str, Any]]], dict[int, dict[str, Any]]]:
    """Decide per lead: (position, record to import) or a skipped result."""
    spec = field_for(lookup)
    if spec is None or spec.rest not in FILTERABLE:
        raise marketo_problem(MarketoCode.INVALID_DATA, f"lookupField '{lookup}' is not supported")
    keys: dict[int, Any] = {}
    records: dict[int, dict[str, Any]] = {}
    results: dict[int, dict[str, Any]] = {}
    for i, lead in enumerate(leads):
        if not isinstance(lead, dict):
            results[i] = skipped(MarketoCode.INVALID_DATA, "each lead must be a JSON object")
            continue
        record, unknown = _our_record(lead)
        if record is None:
            results[i] = skipped(MarketoCode.FIELD_NOT_FOUND, f"Field '{unknown}' not found")
            continue
        value = lead.get(spec.rest) if spec.rest != "id" else lead.get("id")
        if value is None or value == "":
            results[i] = skipped(
                MarketoCode.INVALID_DATA, f"Value for lookup field '{spec.rest}' not specified"
            )
            continue
        if spec.data_type == "integer":
            try:
                value = int(value)
            except (TypeError, ValueError):
                value = None
            if not is_id(value):
                results[i] = skipped(MarketoCode.INVALID_DATA, f"'{spec.rest}' must be a number")
                continue
        keys[i] = value.strip().lower() if isinstance(value, str) else value
        records[i] = record
    with ctx.db.reading() as conn:
        existing = _existing(conn, spec.column, list(set(keys.values())))
    plan: list[tuple[int, dict[str, Any]]] = []
    for i, record in records.items():
        emails = existing.get(keys[i], [])
        if len(emails) > 1:
            results[i] = skipped(MarketoCode.MULTIPLE_MATCH, "Multiple lead match lookup criteria")
        elif emails and action == "createOnly":
            results[i] = skipped(MarketoCode.LEAD_EXISTS, "Lead already exists")
        elif not emails and action == "updateOnly":
            results[i] = skipped(MarketoCode.LEAD_NOT_FOUND, "Lead not found")
        elif emails and record.get("email") and str(record["email"]).strip().lower() != emails[0]:
            results[i] = skipped(
                MarketoCode.INVALID_DATA, "the email of a lead cannot be changed by a sync"
            )
        elif not emails and not record.get("email"):
            results[i] = skipped(
                MarketoCode.INVALID_DATA, "Value for required field 'email' not specified"
            )
        else:
            if emails:
                record["email"] = emails[0]
            plan.append((i, record))
    return plan, results


def _sync(ctx: ApiContext, principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    leads = input_list(doc, ctx.settings.marketo_max_batch)
    action = doc.get("action") or "createOrUpdate"
    if action not in ACTIONS:
        raise marketo_problem(MarketoCode.INVALID_DATA, f"action '{action}' is not supported")
    lookup = doc.get("lookupField") or "email"
    plan, results = _plan(ctx, principal, leads, action, str(lookup))
    for i, outcome in import_planned(ctx, principal, "people", plan):
        if outcome.status == "rejected":
            results[i] = rejected(outcome)
        else:
            status = "created" if outcome.status == "created" else "updated"
            results[i] = {"id": outcome.id, "status": status}
    return ok([results[i] for i in range(len(leads))])


@router.post("/leads.json", summary="Sync leads, or query them with _method=GET")
async def post_leads(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_WRITE))],
) -> dict[str, Any]:
    p = await params(request)
    if p.get("_method", "").upper() == "GET":
        return await run_in_threadpool(_query, ctx, principal, p)
    doc = await json_body(request)
    return await run_in_threadpool(_sync, ctx, principal, doc)


@router.get("/leads.json", summary="Leads by filterType and filterValues")
async def get_leads(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
) -> dict[str, Any]:
    return await run_in_threadpool(_query, ctx, principal, await params(request))


@router.get("/lead/{lead_id}.json", summary="One lead by id")
def get_lead(
    lead_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
    fields: str | None = None,
) -> dict[str, Any]:
    names = _field_list(fields)
    with ctx.db.reading() as conn:
        rows = queries.people_matching(
            conn, "id", [lead_id], after=0, limit=1, owner_id=principal.owner_scope
        )
    return ok([lead_json(r, names) for r in rows])


@router.get("/leads/describe.json", summary="The lead fields")
def describe_leads(
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
) -> dict[str, Any]:
    return ok(describe())
