"""API benchmark: lead upserts over real HTTP against the same work in-process, same run.

Baseline: `upsert_batch("people", …)` called in-process with the same batches (validation,
merge and one transaction per batch: the floor the API adds its HTTP, JSON and auth to).
Against it, a real `uvicorn` server on a local port and an httpx client:

1. throughput: batches of 1,000 new leads per `POST /v1/people` (the native batch size);
2. latency: p50 and p99 of single-lead upserts, one request at a time.

    python bench/api.py                 # 100,000 leads, 500 single upserts, SQLite
    python bench/api.py --leads 5000 --singles 100
    python bench/api.py --db postgresql://postgres@127.0.0.1:5432/test

Wall-clock rates are printed with the rate per CPU second of this process (server and
client run in it), which a machine shared with other work disturbs less.

Goal (the API issue): >= 30,000 leads/s over HTTP, twenty times Marketo's published ceiling
(100 calls per 20 s × 300 records = 1,500 records/s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import text

from revmachine.api import ApiSettings, create_app
from revmachine.config import default_workspace
from revmachine.services.imports.batch import upsert_batch
from revmachine.services.keys import Role, create_key
from revmachine.store import migrate
from revmachine.store.database import Database

GOAL = 30_000
BATCH = 1000


def leads(n: int, tag: str) -> list[dict[str, object]]:
    return [
        {
            "email": f"{tag}{i}@bench{i % 97}.com",
            "first_name": f"First{i}",
            "last_name": "Bench",
            "title": "VP Marketing" if i % 3 else "Analyst",
            "company": f"Company {i % 97}",
            "country": "United States",
            "employee_count": 100 + i % 900,
            "created_at": "2025-01-01T00:00:00Z",
        }
        for i in range(n)
    ]


def fresh_store(url: str | None, directory: Path, name: str) -> Database:
    if url is None:
        db = Database(f"sqlite:///{directory / name}.db")
    else:
        db = Database(url)
        with db.transaction() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade(db)
    return db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--db", help="PostgreSQL URL (its public schema is replaced!)")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        base = fresh_store(args.db, directory, "baseline")
        records = leads(args.leads, "b")
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(records), BATCH):
            upsert_batch("people", base, records[i : i + BATCH], now=now)
        baseline = args.leads / (time.perf_counter() - start)
        base_cpu = args.leads / (time.process_time() - cpu)
        base.dispose()
        print(
            f"baseline: in-process upsert_batch   {baseline:12,.0f} leads/s "
            f"({base_cpu:,.0f} per CPU second)"
        )

        db = fresh_store(args.db, directory, "api")
        secret = create_key(
            db, name="bench", role=Role.MARKETING, rate_per_minute=10_000_000, now=now
        ).secret
        settings = ApiSettings(max_body_bytes=64 * 1024 * 1024)
        config = uvicorn.Config(
            create_app(db, default_workspace(), settings),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        headers = {"Authorization": f"Bearer {secret}"}
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120
            ) as http:
                records = leads(args.leads, "h")
                start, cpu = time.perf_counter(), time.process_time()
                for i in range(0, len(records), BATCH):
                    r = http.post("/v1/people", json={"records": records[i : i + BATCH]})
                    if r.status_code != 200 or r.json()["created"] != len(records[i : i + BATCH]):
                        print(f"unexpected answer: {r.status_code} {r.text[:300]}")
                        return 1
                rate = args.leads / (time.perf_counter() - start)
                rate_cpu = args.leads / (time.process_time() - cpu)
                print(
                    f"HTTP: POST /v1/people x {BATCH:,}     {rate:12,.0f} leads/s "
                    f"({rate / baseline:.2f} x baseline; goal {GOAL:,}: "
                    f"{'met' if rate >= GOAL else 'NOT met'}; {rate_cpu:,.0f} per CPU second "
                    "of client and server together)"
                )
                singles = leads(args.singles, "s")
                timings = []
                for record in singles:
                    t0 = time.perf_counter()
                    r = http.post("/v1/people", json={"records": [record]})
                    timings.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text
                timings.sort()
                p50 = statistics.median(timings) * 1000
                p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000
                print(f"HTTP: single-lead upsert latency  p50 {p50:.1f} ms, p99 {p99:.1f} ms")
                start = time.perf_counter()
                for record in leads(args.singles, "t"):
                    upsert_batch("people", db, [record], now=now)
                per_call = (time.perf_counter() - start) / args.singles * 1000
                print(
                    f"baseline: in-process single upsert {per_call:.1f} ms "
                    f"(p50 is {p50 / per_call:.2f} x baseline)"
                )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
