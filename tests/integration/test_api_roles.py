"""Each role sees and changes only what it may; every route goes through one auth check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import Server, serving, sqlite_store
from fastapi.routing import APIRoute
from sqlalchemy import update

from revmachine.api import create_app
from revmachine.api.auth import authenticate
from revmachine.config import default_workspace
from revmachine.services.keys import Role
from revmachine.store import schema
from revmachine.store.database import Database

PUBLIC = {"/health", "/identity/oauth/token", "/docs", "/docs/oauth2-redirect", "/redoc",
          "/openapi.json"}  # fmt: skip


def _depends_on(dependant: object, target: object) -> bool:
    for dep in getattr(dependant, "dependencies", []):
        if getattr(dep, "call", None) is target or _depends_on(dep, target):
            return True
    return False


def _api_routes(routes: list[object], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route, also inside included routers (which FastAPI may keep as a branch)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(inner.routes, prefix + getattr(context, "prefix", ""))


def test_every_route_but_the_public_ones_depends_on_authenticate() -> None:
    app = create_app(Database("sqlite://"), default_workspace())
    routes = list(_api_routes(app.routes))
    assert len(routes) > 30
    unguarded = [path for path, r in routes if not _depends_on(r.dependant, authenticate)]
    assert set(unguarded) <= PUBLIC, unguarded
    assert "/identity/oauth/token" in unguarded  # the check can tell the two apart


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """Roles are checked above the store: SQLite alone (the store is tested on both)."""
    yield from sqlite_store(tmp_path)


@pytest.fixture
def server(db: Database) -> Iterator[Server]:
    with serving(db) as running:
        _, admin = running.key(Role.ADMIN)
        with running.client(admin) as http:
            reps = [
                {"email": "sam@us.co", "name": "Sam"},
                {"email": "kim@us.co", "name": "Kim"},
            ]
            assert http.post("/v1/reps", json={"records": reps}).json()["created"] == 2
            leads = [{"email": f"sam{i}@acme.com", "owner": "sam@us.co"} for i in range(3)] + [
                {"email": f"kim{i}@acme.com", "owner": "kim@us.co"} for i in range(2)
            ]
            leads.append({"email": "nobody@acme.com"})
            assert http.post("/v1/people", json={"records": leads}).json()["created"] == 6
            deals = [
                {"opportunity_id": "D1", "created_at": "2025-01-01", "owner": "sam@us.co"},
                {"opportunity_id": "D2", "created_at": "2025-01-01", "owner": "kim@us.co"},
            ]
            assert http.post("/v1/opportunities", json={"records": deals}).json()["created"] == 2
        yield running


def test_sales_sees_and_works_only_its_own_leads(server: Server) -> None:
    _, sam = server.key(Role.SALES, rep="sam@us.co")
    with server.client(sam) as http:
        mine = http.get("/v1/people").json()["data"]
        assert sorted(p["email"] for p in mine) == [
            "sam0@acme.com",
            "sam1@acme.com",
            "sam2@acme.com",
        ]
        assert http.get("/v1/people/kim0@acme.com").status_code == 404
        assert http.get("/v1/people", params={"owner": "kim@us.co"}).json()["data"] == []
        assert [o["external_id"] for o in http.get("/v1/opportunities").json()["data"]] == ["D1"]
        assert http.get("/v1/opportunities/D2").status_code == 404

        own = http.post(
            "/v1/activities",
            json={
                "records": [
                    {"email": "sam0@acme.com", "type": "sales_call", "occurred_at": "2025-02-01"}
                ]
            },
        )
        assert own.status_code == 200 and own.json()["created"] == 1
        other = http.post(
            "/v1/activities",
            json={
                "records": [
                    {"email": "kim0@acme.com", "type": "sales_call", "occurred_at": "2025-02-01"}
                ]
            },
        )
        assert other.status_code == 403 and "kim0@acme.com" in other.json()["detail"]

        write = http.post("/v1/people", json={"records": [{"email": "new@acme.com"}]})
        assert write.status_code == 403
        assert write.headers["content-type"] == "application/problem+json"
        assert "people:write" in write.json()["detail"]
        assert http.get("/v1/keys").status_code == 403
        assert http.get("/v1/accounts").status_code == 403

        decided = http.post("/v1/queue/sam1@acme.com/decision", json={"decision": "accept"})
        assert decided.status_code == 200 and decided.json()["recorded"] is True
        theirs = http.post("/v1/queue/kim1@acme.com/decision", json={"decision": "accept"})
        assert theirs.status_code == 404
        assert http.get("/v1/queue").status_code == 200


def test_executive_reads_everything_and_changes_nothing(server: Server) -> None:
    _, exe = server.key(Role.EXECUTIVE)
    with server.client(exe) as http:
        assert len(http.get("/v1/people").json()["data"]) == 6
        for path in ("/v1/opportunities", "/v1/accounts", "/v1/programs", "/v1/reps",
                     "/v1/model", "/v1/model/stages", "/v1/activities"):  # fmt: skip
            assert http.get(path).status_code == 200, path
        for path, body in (
            ("/v1/people", {"records": [{"email": "x@acme.com"}]}),
            ("/v1/activities", {"records": [{"email": "sam0@acme.com"}]}),
            ("/v1/opportunities", {"records": [{"opportunity_id": "D9"}]}),
            ("/v1/costs", {"records": [{"program": "P"}]}),
            ("/v1/model/process", None),
            ("/v1/queue/sam0@acme.com/decision", {"decision": "accept"}),
        ):
            assert http.post(path, json=body).status_code == 403, path
        assert http.get("/v1/keys").status_code == 403


def test_marketing_writes_but_does_not_manage_keys_or_reps(server: Server) -> None:
    _, mkt = server.key(Role.MARKETING)
    with server.client(mkt) as http:
        assert (
            http.post("/v1/people", json={"records": [{"email": "m@acme.com"}]}).json()["created"]
            == 1
        )
        assert http.get("/v1/keys").status_code == 403
        assert (
            http.post("/v1/reps", json={"records": [{"email": "r@us.co", "name": "R"}]}).status_code
            == 403
        )
        assert http.get("/v1/queue", params={"rep": "sam@us.co"}).status_code == 403


def test_admin_manages_keys_and_a_revoked_or_unknown_key_is_refused(
    server: Server, db: Database
) -> None:
    _, admin = server.key(Role.ADMIN)
    client_id, victim = server.key(Role.MARKETING, name="victim")
    with server.client(victim) as http:
        assert http.get("/v1/people").status_code == 200
    with server.client(admin) as http:
        listed = http.get("/v1/keys").json()
        assert {k["name"] for k in listed} >= {"victim"}
        assert all("secret" not in str(k).lower() for k in listed)
        queue = http.get("/v1/queue", params={"rep": "sam@us.co"})
        assert queue.status_code == 200
        assert http.delete(f"/v1/keys/{client_id}").json()["revoked"] is True
        assert http.delete(f"/v1/keys/{client_id}").status_code == 404
    with server.client(victim) as http:
        refused = http.get("/v1/people")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"]
    with server.client("rms_made-up") as http:
        assert http.get("/v1/people").status_code == 401
    with server.client() as http:
        assert http.get("/v1/people").status_code == 401
        assert http.get("/health").status_code == 200

    # A token outlives nothing: expired tokens are refused with their own message.
    client_id, secret = server.key(Role.MARKETING)
    with server.client() as http:
        token = http.get("/identity/oauth/token", params={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret}).json()["access_token"]  # fmt: skip
        assert (
            http.get("/v1/people", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        )
        with db.transaction() as conn:
            conn.execute(
                update(schema.api_tokens).values(
                    expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                )
            )
        expired = http.get("/v1/people", headers={"Authorization": f"Bearer {token}"})
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_the_openapi_document_is_published_and_names_the_routes(server: Server) -> None:
    with server.client() as http:
        doc = http.get("/openapi.json").json()
        assert http.get("/docs").status_code == 200
    assert {"/v1/people", "/v1/activities", "/rest/v1/leads.json", "/identity/oauth/token"} <= set(
        doc["paths"]
    )
    assert "next_cursor" in str(doc["components"]["schemas"])
