"""The native API over real HTTP: batch writes, reads, paging, errors, limits, idempotency."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from api_support import Server, people, serving

from revmachine.api import ApiSettings
from revmachine.api.schemas import BatchResponse
from revmachine.services.keys import Role
from revmachine.store.database import Database

SETTINGS = ApiSettings(max_body_bytes=200_000, max_batch=1000, page_size=50)


@pytest.fixture
def server(db: Database) -> Iterator[Server]:
    with serving(db, SETTINGS) as running:
        yield running


def test_batch_upsert_answers_each_record_in_input_order(server: Server) -> None:
    _, secret = server.key(Role.MARKETING)
    with server.client(secret) as http:
        first = http.post(
            "/v1/people",
            json={
                "records": [
                    {"email": "Ann@Acme.com", "first_name": "Ann", "plan": "gold"},
                    {"email": "not-an-email"},
                    {"first_name": "No Email"},
                    "not an object",
                    {"email": "bob@acme.com", "employee_count": "many"},
                    {"email": "cy@acme.com", "email_opt_in": True, "employee_count": 40},
                ]
            },
        )
        assert first.status_code == 200, first.text
        # The body is rendered without the model (BatchResponse.render): it must match it.
        assert BatchResponse.model_validate_json(first.content).model_dump() == first.json()
        body = first.json()
        assert [r["index"] for r in body["results"]] == list(range(6))
        assert [r["status"] for r in body["results"]] == [
            "created", "rejected", "rejected", "rejected", "rejected", "created",
        ]  # fmt: skip
        codes = [[e["code"] for e in r["errors"]] for r in body["results"]]
        assert codes[1] == ["bad_email"] and codes[2] == ["missing_required"]
        assert codes[3] == ["bad_value"] and codes[4] == ["bad_number"]
        assert (body["created"], body["rejected"]) == (2, 4)

        again = http.post(
            "/v1/people",
            json={"records": [{"email": "ann@acme.com", "title": "CEO"}, {"email": "cy@acme.com"}]},
        ).json()
        assert [r["status"] for r in again["results"]] == ["updated", "unchanged"]
        assert again["results"][0]["id"] == body["results"][0]["id"]

        ann = http.get("/v1/people/ann@acme.com").json()
        assert (ann["title"], ann["first_name"], ann["attributes"]) == (
            "CEO",
            "Ann",
            {"plan": "gold"},
        )
        assert http.get(f"/v1/people/{ann['id']}").json()["email"] == "ann@acme.com"
        missing = http.get("/v1/people/nobody@acme.com")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["status"] == 404 and "nobody@acme.com" in missing.json()["detail"]


def test_search_filters_and_pages_without_skips_or_repeats_under_writes(server: Server) -> None:
    _, secret = server.key(Role.ADMIN)
    with server.client(secret) as http, server.client(secret) as writer:
        for start in (0, 500):
            batch = [{**p, "company": "Acme"} for p in people(500, start)]
            assert http.post("/v1/people", json={"records": batch}).json()["created"] == 500
        matching = {p["id"] for p in _all_pages(http, "/v1/people?company=acme&limit=1000")}
        assert len(matching) == 1000

        # Between pages another client moves people the reader has already seen out of the
        # filter (offset paging would then skip as many unseen ones) and adds new matches.
        seen: list[int] = []
        emails: dict[int, str] = {}
        cursor = None
        fresh = 5000
        while True:
            params: dict[str, object] = {"company": "Acme", "limit": 37}
            if cursor:
                params["cursor"] = cursor
            page = http.get("/v1/people", params=params).json()
            seen += [p["id"] for p in page["data"]]
            emails.update({p["id"]: p["email"] for p in page["data"]})
            moved = [{"email": emails[i], "company": "Elsewhere"} for i in seen[-10:]]
            added = [{**p, "company": "Acme"} for p in people(20, fresh)]
            fresh += 20
            assert writer.post("/v1/people", json={"records": moved + added}).status_code == 200
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), "a person was returned twice"
        assert matching <= set(seen), "a person who matched when paging began was skipped"
        assert seen == sorted(seen)

        found = http.get("/v1/people", params={"email": "P7@Acme.com"}).json()
        assert [p["email"] for p in found["data"]] == ["p7@acme.com"]
        page = http.get("/v1/people", params={"limit": 10}).json()
        foreign = http.get("/v1/people", params={"cursor": page["next_cursor"], "country": "DE"})
        assert foreign.status_code == 400 and "cursor" in foreign.json()["detail"]


def test_paging_while_another_thread_writes(server: Server) -> None:
    """The same property with real concurrency: a writer thread never pauses for the reader."""
    _, secret = server.key(Role.ADMIN)
    with server.client(secret) as http:
        assert http.post("/v1/people", json={"records": people(400)}).json()["created"] == 400
        before = {p["id"] for p in _all_pages(http, "/v1/people?limit=1000")}
        stop = threading.Event()

        def write() -> None:
            with server.client(secret) as w:
                batch = 0
                while not stop.is_set() and batch < 30:
                    w.post("/v1/people", json={"records": people(20, 1000 + 20 * batch)})
                    w.post("/v1/people", json={"records": [{"email": f"p{batch}@acme.com",
                                                             "title": f"t{batch}"}]})  # fmt: skip
                    batch += 1

        thread = threading.Thread(target=write)
        thread.start()
        try:
            seen = [p["id"] for p in _all_pages(http, "/v1/people?limit=23")]
        finally:
            stop.set()
            thread.join()
        assert len(seen) == len(set(seen)) and before <= set(seen)


def _all_pages(http: object, url: str) -> list[dict[str, object]]:
    import httpx

    assert isinstance(http, httpx.Client)
    out: list[dict[str, object]] = []
    cursor = None
    while True:
        r = http.get(url, params={"cursor": cursor} if cursor else None)
        assert r.status_code == 200, r.text
        out.extend(r.json()["data"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out


def test_activities_are_idempotent_and_the_feed_continues_from_its_cursor(
    server: Server,
) -> None:
    _, secret = server.key(Role.MARKETING)
    with server.client(secret) as http:
        http.post("/v1/people", json={"records": people(3)})
        start = http.get("/v1/activities").json()
        assert start["data"] == [] and start["has_more"] is False
        events = [
            {"event_id": f"e{i}", "email": f"p{i % 3}@acme.com", "type": "web_visit",
             "occurred_at": f"2025-02-0{i + 1}T10:00:00Z", "url": f"/page/{i}"}
            for i in range(5)
        ]  # fmt: skip
        first = http.post("/v1/activities", json={"records": events}).json()
        assert [r["status"] for r in first["results"]] == ["created"] * 5
        replay = http.post(
            "/v1/activities",
            json={
                "records": [
                    *events[:2],
                    {"email": "ghost@acme.com", "type": "web_visit", "occurred_at": "2025-02-01"},
                ]
            },
        ).json()
        assert [r["status"] for r in replay["results"]] == ["unchanged", "unchanged", "rejected"]
        assert replay["results"][2]["errors"][0]["code"] == "unknown_reference"

        page = http.get("/v1/activities", params={"cursor": start["next_cursor"], "limit": 3})
        body = page.json()
        assert [a["event_id"] for a in body["data"]] == ["e0", "e1", "e2"] and body["has_more"]
        assert body["data"][0]["attributes"] == {"url": "/page/0"}
        rest = http.get("/v1/activities", params={"cursor": body["next_cursor"]}).json()
        assert [a["event_id"] for a in rest["data"]] == ["e3", "e4"] and not rest["has_more"]
        http.post("/v1/activities", json={"records": [{**events[0], "event_id": "e5"}]})
        news = http.get("/v1/activities", params={"cursor": rest["next_cursor"]}).json()
        assert [a["event_id"] for a in news["data"]] == ["e5"]
        mine = http.get("/v1/people/p0@acme.com/activities").json()
        assert [a["event_id"] for a in mine["data"]] == ["e0", "e3", "e5"]


def test_problems_for_bad_bodies_limits_and_rates(server: Server) -> None:
    _, secret = server.key(Role.MARKETING)
    with server.client(secret) as http:
        big = {"records": [{"email": f"x{i}@acme.com", "note": "n" * 300} for i in range(1000)]}
        too_large = http.post("/v1/people", json=big)
        assert too_large.status_code == 413
        assert too_large.headers["content-type"] == "application/problem+json"
        assert "200,000 bytes" in too_large.json()["detail"]
        chunked = http.post(
            "/v1/people", content=iter([b'{"records": [', b" " * 250_000, b"]}"]),
            headers={"content-type": "application/json"},
        )  # fmt: skip
        assert chunked.status_code == 413

        bad_json = http.post(
            "/v1/people", content=b'{"records": [', headers={"content-type": "application/json"}
        )
        assert bad_json.status_code == 400 and bad_json.json()["title"] == "Invalid json"
        empty = http.post("/v1/people", json={"records": []})
        assert empty.status_code == 422 and empty.json()["errors"][0]["location"] == "body.records"
        too_many = http.post("/v1/people", json={"records": [{"email": "a@b.co"}] * 1001})
        assert too_many.status_code == 422 and "1000" in too_many.json()["detail"]
        assert http.get("/v1/people?limit=5000").status_code == 422
        nothing = http.get("/v1/people", params={"cursor": "garbage!"})
        assert nothing.status_code == 400

    _, slow = server.key(Role.MARKETING, rate=2)
    with server.client(slow) as http:
        assert http.get("/v1/people").status_code == 200
        limited = http.get("/v1/people")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "2 requests per minute" in limited.json()["detail"]


def test_idempotency_key_replays_the_first_answer(server: Server, db: Database) -> None:
    from sqlalchemy import func, select

    from revmachine.store import schema

    _, secret = server.key(Role.MARKETING)
    with server.client(secret) as http:
        payload = {"records": [{"program": "Webinar", "period_start": "2025-01-01",
                                "amount": "100", "channel": "webinar"}]}  # fmt: skip
        headers = {"Idempotency-Key": "cost-jan-1"}
        first = http.post("/v1/costs", json=payload, headers=headers)
        second = http.post("/v1/costs", json=payload, headers=headers)
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json() and second.json()["created"] == 1
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert "Idempotent-Replayed" not in first.headers
        without = http.post("/v1/costs", json=payload).json()
        assert without["unchanged"] == 1  # a plain retry is a no-op write, answered as such
        other = http.post("/v1/costs", json={"records": []}, headers=headers)
        assert other.status_code == 422 and "different request" in other.json()["detail"]
    with db.reading() as conn:
        assert conn.execute(select(func.count()).select_from(schema.program_costs)).scalar() == 1


def test_model_read_validate_process_and_explain(server: Server) -> None:
    _, secret = server.key(Role.MARKETING)
    with server.client(secret) as http:
        model = http.get("/v1/model").json()
        assert model["version"] and "revenue_model.yml" in model["files"]
        broken = http.post(
            "/v1/model/validate",
            json={"files": {"revenue_model.yml": model["files"]["revenue_model.yml"].replace(
                "to: sal", "to: sall", 1)}},
        ).json()  # fmt: skip
        assert broken["valid"] is False and broken["errors"] >= 1
        assert any("sall" in i["message"] for i in broken["issues"])
        assert all(i["file"] and i["line"] for i in broken["issues"] if i["severity"] == "error")
        fine = http.post("/v1/model/validate", json={"files": {}}).json()
        assert fine["valid"] is True and fine["version"] == model["version"]

        http.post("/v1/people", json={"records": [{
            "email": "vp@acme.com", "title": "VP Engineering", "employee_count": 800,
            "industry": "Software", "country": "United States",
            "created_at": "2025-03-01T09:00:00Z"}]})  # fmt: skip
        http.post("/v1/activities", json={"records": [
            {"event_id": "d1", "email": "vp@acme.com", "type": "demo_request",
             "occurred_at": "2025-03-06T10:00:00Z"}]})  # fmt: skip
        summary = http.post("/v1/model/process").json()
        assert summary["people"] == 1 and summary["transitions"] >= 1
        stages = http.get("/v1/model/stages").json()
        person = http.get("/v1/people/vp@acme.com").json()
        assert stages == {person["stage"]: 1}
        assert person["score"]["total"] == pytest.approx(
            person["score"]["fit"] + person["score"]["behavior"]
        )
        moves = http.get("/v1/people/vp@acme.com/stages").json()
        assert moves[-1]["to_stage"] == person["stage"] and moves[-1]["rule"]
        scores = http.get("/v1/people/vp@acme.com/scores").json()
        assert scores and all(s["reason"] for s in scores)
        # Stored changes are the score when an activity scored; the state decays since.
        assert scores[-1]["total"] >= person["score"]["total"] > 0
        explained = http.get(
            "/v1/people/vp@acme.com/explanation", params={"as_of": "2025-03-07T00:00:00"}
        ).json()
        then = [m for m in moves if m["occurred_at"] <= "2025-03-07T00:00:00Z"]
        assert explained["stage"] == then[-1]["to_stage"]
        assert any(c["event_id"] == "d1" for c in explained["score"]["contributions"])


def test_the_feed_misses_nothing_while_several_clients_write(server: Server) -> None:
    """Readers follow the feed while two writers append: every activity arrives once."""
    _, secret = server.key(Role.ADMIN)
    with server.client(secret) as http:
        http.post("/v1/people", json={"records": people(10)})
        cursor = http.get("/v1/activities").json()["next_cursor"]

        def write(tag: str) -> None:
            with server.client(secret) as w:
                for batch in range(12):
                    records = [
                        {"event_id": f"{tag}-{batch}-{i}", "email": f"p{i % 10}@acme.com",
                         "type": "web_visit", "occurred_at": "2025-03-01T00:00:00Z"}
                        for i in range(25)
                    ]  # fmt: skip
                    assert w.post("/v1/activities", json={"records": records}).status_code == 200

        writers = [threading.Thread(target=write, args=(tag,)) for tag in ("a", "b")]
        for t in writers:
            t.start()
        received: list[str] = []
        while True:
            writing = any(t.is_alive() for t in writers)
            page = http.get("/v1/activities", params={"cursor": cursor, "limit": 40}).json()
            received += [a["event_id"] for a in page["data"]]
            cursor = page["next_cursor"]
            if not writing and not page["has_more"]:
                break
        for t in writers:
            t.join()
    assert len(received) == len(set(received)) == 2 * 12 * 25


def test_analytics_reports_as_json_equal_the_service(server: Server) -> None:
    import datetime as dt

    from revmachine.analytics import deal_report
    from revmachine.analytics.render.jsonout import to_json
    from revmachine.analytics.spec import Period, Scope
    from revmachine.services.imports import import_accounts, import_opportunities, import_reps

    now = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    import_accounts(server.db, b"domain,name\nacme.com,Acme\n", now=now)
    import_opportunities(
        server.db,
        b"opportunity_id,account,amount,stage,created_at,close_date\n"
        b"O-1,acme.com,1000,Closed Won,2025-02-01T00:00:00Z,2025-03-01\n"
        b"O-2,acme.com,500,Closed Lost,2025-02-05T00:00:00Z,2025-04-01\n"
        b"O-3,acme.com,700,Discovery,2025-05-01T00:00:00Z,2025-09-01\n",
        now=now,
    )
    _, secret = server.key(Role.EXECUTIVE)
    import_reps(server.db, b"email,name\nrep@us.com,Rep\n", now=now)
    _, sales = server.key(Role.SALES, rep="rep@us.com")
    params = {"from": "2025-01-01", "to": "2025-06-30", "as_of": "2025-07-01T00:00:00Z"}
    with server.client(secret) as client:
        listed = client.get("/v1/analytics")
        assert listed.status_code == 200 and "funnel" in listed.json()["reports"]
        got = client.get("/v1/analytics/deals", params=params)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["report"] == "deals" and "win_rate" in body["definitions"]
        missing = client.get("/v1/analytics/nonsense")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
    with server.client(sales) as client:
        assert client.get("/v1/analytics/deals", params=params).status_code == 403
    scope = Scope(period=Period(dt.date(2025, 1, 1), dt.date(2025, 7, 1)), as_of=now)
    with server.db.reading() as conn:
        expected = json.loads(to_json("deals", deal_report(conn, scope)))
    assert body["result"] == expected["result"]
