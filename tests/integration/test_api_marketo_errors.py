"""Marketo-compatible error codes and envelopes, over real HTTP (SQLite: the mapping of
problems to codes does not depend on the backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import Server, serving, sqlite_store

from revmachine.services.keys import Role
from revmachine.store.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    yield from sqlite_store(tmp_path)


@pytest.fixture
def served(db: Database) -> Iterator[Server]:
    with serving(db) as running:
        yield running


def test_marketo_errors_use_marketo_codes(served: Server) -> None:
    client_id, secret = served.key(Role.MARKETING)
    with httpx.Client(base_url=served.base_url) as http:
        bad = http.get("/identity/oauth/token", params={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": "rms_wrong"})  # fmt: skip
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        token = http.get("/identity/oauth/token", params={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret}).json()["access_token"]  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}

        def code(response: httpx.Response) -> str:
            body = response.json()
            assert body["success"] is False and body["requestId"]
            return str(body["errors"][0]["code"])

        assert code(http.get("/rest/v1/leads/describe.json")) == "601"
        assert code(http.get("/rest/v1/leads/describe.json", params={"access_token": "x"})) == "601"
        assert code(http.get("/rest/v1/nothing.json", headers=auth)) == "610"
        assert code(http.post("/rest/v1/leads.json", content=b"{nope", headers=auth)) == "609"
        big = {"input": [{"email": f"a{i}@b.co"} for i in range(301)]}
        assert code(http.post("/rest/v1/leads.json", json=big, headers=auth)) == "1003"
        unknown_filter = http.get(
            "/rest/v1/leads.json", params={"filterType": "shoeSize", "filterValues": "9"},
            headers=auth,
        )  # fmt: skip
        assert code(unknown_filter) == "1003"
        bad_field = http.get(
            "/rest/v1/leads.json",
            params={"filterType": "email", "filterValues": "a@b.co", "fields": "no such"},
            headers=auth,
        )
        assert code(bad_field) == "1006"

        sync = http.post("/rest/v1/leads.json", headers=auth, json={
            "action": "createOrUpdate", "input": [
                {"email": "one@acme.com", "company": "Acme"},
                {"email": "two@acme.com", "company": "Acme"},
                {"email": "bad-address", "company": "Acme"},
                {"email": "three@acme.com", "first name": "x"},
            ]}).json()  # fmt: skip
        assert [r["status"] for r in sync["result"]] == ["created", "created", "skipped", "skipped"]
        assert [r["reasons"][0]["code"] for r in sync["result"][2:]] == ["1003", "1006"]
        update_only = http.post("/rest/v1/leads.json", headers=auth, json={
            "action": "updateOnly", "input": [{"email": "nobody@acme.com"}]}).json()  # fmt: skip
        assert update_only["result"][0]["reasons"][0]["code"] == "1004"
        by_company = http.post("/rest/v1/leads.json", headers=auth, json={
            "lookupField": "company",
            "input": [{"company": "Acme", "title": "CTO"}]}).json()  # fmt: skip
        assert by_company["result"][0]["reasons"][0]["code"] == "1007"
        query = http.post(
            "/rest/v1/leads.json", headers=auth,
            data={"_method": "GET", "filterType": "company", "filterValues": "acme",
                  "batchSize": "1"},
        ).json()  # fmt: skip
        assert len(query["result"]) == 1 and query["nextPageToken"]
        rest = http.post(
            "/rest/v1/leads.json", headers=auth,
            data={"_method": "GET", "filterType": "company", "filterValues": "acme",
                  "batchSize": "1", "nextPageToken": query["nextPageToken"]},
        ).json()  # fmt: skip
        assert len(rest["result"]) == 1 and "nextPageToken" not in rest
        assert rest["result"][0]["id"] != query["result"][0]["id"]


def test_marketo_rate_limit_and_expired_tokens(served: Server, db: Database) -> None:
    import datetime as dt

    from sqlalchemy import update

    from revmachine.store import schema

    client_id, secret = served.key(Role.MARKETING, rate=1)
    with httpx.Client(base_url=served.base_url) as http:
        token = http.get("/identity/oauth/token", params={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret}).json()["access_token"]  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        assert http.get("/rest/v1/leads/describe.json", headers=auth).json()["success"] is True
        limited = http.get("/rest/v1/leads/describe.json", headers=auth)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["errors"][0]["code"] == "606"
        with db.transaction() as conn:
            conn.execute(
                update(schema.api_tokens).values(
                    expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                )
            )
        expired = http.get("/rest/v1/leads/describe.json", params={"access_token": token})
        assert expired.json()["errors"][0] == {"code": "602", "message": "Access token expired"}
