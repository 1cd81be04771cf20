"""The Marketo-compatible API driven by the real, unmodified `marketorestpython` client.

`revmachine serve` runs as a subprocess on a free local port; the client is pointed at it
by its `host` attribute (Marketo's host is derived from a munchkin id, which a local server
does not have). Then what the client wrote must show up in revmachine's own model.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from marketorestpython.client import MarketoClient

from revmachine.store.database import Database


def _command() -> list[str]:
    beside = Path(sys.executable).parent / "revmachine"
    found = str(beside) if beside.exists() else shutil.which("revmachine")
    if found is None:
        pytest.fail("the revmachine console script is not installed (pip install -e .)")
    return [found]


CLI = _command()


@dataclass
class Running:
    base_url: str
    client_id: str
    secret: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(db: Database) -> Iterator[Running]:
    env = {**os.environ, "REVMACHINE_DATABASE_URL": db.url}
    env.pop("REVMACHINE_WORKSPACE", None)
    created = subprocess.run(
        [*CLI, "keys", "create", "--name", "marketo-sync", "--role", "marketing"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    fields = dict(line.split(":", 1) for line in created.stdout.splitlines() if ":" in line)
    port = _free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        # Generous: a loaded 2-core machine can take long to import the app.
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                # Stop it before reading its output: reading a running server's pipe
                # would wait for it forever.
                server.kill()
                output, _ = server.communicate(timeout=10)
                raise RuntimeError(f"revmachine serve did not start: {output}")
            time.sleep(0.1)
        yield Running(base_url, fields["client_id"].strip(), fields["secret"].strip())
    finally:
        server.terminate()
        server.wait(timeout=10)


def _client(running: Running) -> MarketoClient:
    mc = MarketoClient("local", running.client_id, running.secret)
    mc.host = running.base_url
    return mc


def test_marketo_client_syncs_leads_activities_and_opportunities(served: Running) -> None:
    mc = _client(served)
    leads = [
        {"email": f"lead{i}@example{i % 7}.com", "firstName": f"F{i}", "lastName": "Doe",
         "company": f"Company {i % 7}", "title": "VP Marketing" if i % 2 else "Analyst",
         "numberOfEmployees": 500, "country": "United States", "favouriteColour": "teal"}
        for i in range(1000)
    ]  # fmt: skip
    ids: dict[str, int] = {}
    for start in range(0, 1000, 300):
        batch = leads[start : start + 300]
        result = mc.execute(
            method="create_update_leads", leads=batch, action="createOrUpdate", lookupField="email"
        )
        assert [r["status"] for r in result] == ["created"] * len(batch)
        ids.update({lead["email"]: r["id"] for lead, r in zip(batch, result, strict=True)})
    assert len(set(ids.values())) == 1000
    assert mc.expires_in == 3600 and mc.token

    again = mc.execute(method="create_update_leads", leads=leads[:3], action="createOnly")
    assert [r["status"] for r in again] == ["skipped"] * 3
    assert again[0]["reasons"][0]["code"] == "1005"

    found: list[dict[str, object]] = []
    emails = [lead["email"] for lead in leads]
    for start in range(0, 1000, 300):
        found += mc.execute(
            method="get_multiple_leads_by_filter_type",
            filterType="email",
            filterValues=emails[start : start + 300],
            fields=["email", "firstName", "company", "favouriteColour"],
        )
    assert len(found) == 1000
    assert {f["email"]: f["id"] for f in found} == ids
    sample = next(f for f in found if f["email"] == "lead5@example5.com")
    assert (sample["firstName"], sample["company"], sample["favouriteColour"]) == (
        "F5", "Company 5", "teal",
    )  # fmt: skip
    fields = {f["rest"]["name"] for f in mc.execute(method="describe")}
    assert {"email", "firstName", "leadScore"} <= fields

    custom = mc.execute(
        method="create_custom_activity_type",
        apiName="webinarPoll",
        name="Answer webinar poll",
        triggerName="Answers poll",
        filterName="Answered poll",
        primaryAttributeApiName="question",
        primaryAttributeName="Question",
    )[0]
    types = {t["apiName"]: t["id"] for t in mc.execute(method="get_activity_types")}
    assert types["webinar_poll"] == custom["id"] >= 100_000
    demo = types["demo_request"]

    token = mc.execute(method="get_paging_token", sinceDatetime=_utc_now())
    polls = [
        {"leadId": ids[lead["email"]], "activityDate": f"2025-05-{1 + i % 28:02d}T10:00:00Z",
         "activityTypeId": custom["id"], "primaryAttributeValue": "Which plan?",
         "attributes": [{"name": "answer", "value": f"plan {i % 3}"}]}
        for i, lead in enumerate(leads[:600])
    ]  # fmt: skip
    demos = [
        {"leadId": ids[lead["email"]], "activityDate": "2025-05-20T10:00:00Z",
         "activityTypeId": demo, "primaryAttributeValue": "pricing page"}
        for lead in leads[:300]
    ]  # fmt: skip
    for batch in (polls[:300], polls[300:], demos):
        added = mc.execute(method="add_custom_activities", input=batch)
        assert [a["status"] for a in added] == ["added"] * 300
    resent = mc.execute(method="add_custom_activities", input=polls[:300])
    assert [a["status"] for a in resent] == ["added"] * 300  # and nothing is stored twice

    pages = list(
        mc.execute(
            method="get_lead_activities_yield",
            activityTypeIds=[str(custom["id"]), str(demo)],
            nextPageToken=token,
            batchSize=250,
            return_full_result=True,
        )
    )
    activities = [a for page in pages for a in page["result"]]
    assert len(pages) == 4 and [p["moreResult"] for p in pages] == [True, True, True, False]
    assert len(activities) == 900 and len({a["id"] for a in activities}) == 900
    assert sum(a["activityTypeId"] == custom["id"] for a in activities) == 600
    first = next(
        a for a in activities
        if a["leadId"] == ids[leads[4]["email"]] and a["activityTypeId"] == custom["id"]
    )  # fmt: skip
    assert first["primaryAttributeValue"] == "Which plan?"
    assert first["attributes"] == [{"name": "answer", "value": "plan 1"}]
    assert first["activityDate"] == "2025-05-05T10:00:00Z"
    only_demos = mc.execute(
        method="get_lead_activities", activityTypeIds=[str(demo)], nextPageToken=token
    )
    assert len(only_demos) == 300

    opp = {"externalOpportunityId": "OPP-1", "name": "Example deal", "amount": 50000,
           "stage": "Negotiation", "closeDate": "2025-09-30", "isClosed": False,
           "createdAt": "2025-05-25T00:00:00Z"}  # fmt: skip
    created = mc.execute(method="create_update_opportunities", input=[opp])
    assert created[0]["status"] == "created"
    champion = ids[leads[0]["email"]]
    roles = mc.execute(
        method="create_update_opportunities_roles",
        input=[{"externalOpportunityId": "OPP-1", "leadId": champion, "role": "Champion"}],
    )
    assert roles[0]["status"] == "updated"
    won = mc.execute(
        method="create_update_opportunities",
        input=[{"externalOpportunityId": "OPP-1", "stage": "Closed Won", "isClosed": True,
                "isWon": True, "closeDate": "2025-06-15"}],
    )  # fmt: skip
    assert won[0]["status"] == "updated" and won[0]["marketoGUID"] == created[0]["marketoGUID"]
    read = mc.execute(
        method="get_opportunities", filterType="externalOpportunityId", filterValues=["OPP-1"]
    )
    assert (read[0]["amount"], read[0]["stage"], read[0]["isWon"]) == (50000.0, "Closed Won", True)
    assert "externalOpportunityId" in {
        f["name"] for f in mc.execute(method="describe_opportunity")[0]["fields"]
    }

    # What the client wrote is revmachine's data: the model runs on it.
    with httpx.Client(
        base_url=served.base_url, headers={"Authorization": f"Bearer {served.secret}"}
    ) as http:
        assert http.post("/v1/model/process").json()["people"] == 1000
        stages = http.get("/v1/model/stages").json()
        assert sum(stages.values()) == 1000
        winner = http.get(f"/v1/people/{champion}").json()
        assert winner["stage"] == "customer"
        assert stages.get("customer") == 1
        demo_lead = http.get("/v1/people/lead1@example1.com").json()
        quiet_lead = http.get("/v1/people/lead901@example5.com").json()
        assert demo_lead["score"]["behavior"] > quiet_lead["score"]["behavior"]
        assert demo_lead["attributes"] == {"favouriteColour": "teal"}
        assert http.get("/v1/activities", params={"limit": 1000}).json()["data"].__len__() == 900


def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
