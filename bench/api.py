"""API benchmark: lead upserts over real HTTP against the same work in-process, same run.

Baseline: `upsert_batch("people", …)` called in-process with the same records in the same
batches (validation, merge and one transaction per batch: the floor the API adds its
HTTP, JSON and auth to). Against it, a real uvicorn server in its own process (as
`revmachine serve` runs it: with uvloop and httptools) on a local port, driven
by an httpx client in this process, so that neither shares the other's GIL:

1. throughput: batches of 1,000 new leads per `POST /v1/people` (the native batch size),
   then the same leads again with changes (updates of existing people), reported apart;
2. latency: p50 and p99 of single-lead upserts, one request at a time, against the
   in-process single upsert of the same records.

    python bench/api.py                 # 100,000 leads, 500 single upserts, SQLite
    python bench/api.py --leads 5000 --singles 100
    python bench/api.py --db postgresql://postgres@127.0.0.1:5432/test

Every rate is printed with CPU time beside wall time: the baseline's is this process's;
over HTTP it is the server's process and the client's together (a machine shared with
other work inflates wall time, not CPU time).

Goal (the API issue): >= 30,000 leads/s over HTTP, twenty times Marketo's published ceiling
(100 calls per 20 s × 300 records = 1,500 records/s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from revmachine.services.imports.batch import upsert_batch
from revmachine.services.keys import Role, create_key
from revmachine.store.database import Database
from revmachine.store.scratch import scratch_store

GOAL = 30_000
BATCH = 1000
_TICK = os.sysconf("SC_CLK_TCK")
Record = dict[str, object]


def leads(n: int, tag: str) -> list[Record]:
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


def changed(records: list[Record]) -> list[Record]:
    """The same people a month later, as a CRM sync sends them: a newer `updated_at`, a
    new title for one in two and a new size for one in five (the others unchanged)."""
    out = []
    for i, record in enumerate(records):
        new = dict(record, updated_at="2025-02-01T00:00:00Z")
        if i % 2 == 0:
            new["title"] = "Chief Marketing Officer"
        if i % 5 == 0:
            new["employee_count"] = int(str(record["employee_count"])) + 50
        out.append(new)
    return out


def batches(records: list[Record], size: int) -> list[list[Record]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class Clock:
    """Wall time and CPU time (of this process, and of `pid` when given) over a block."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid
        self.wall = self.cpu = self.server_cpu = 0.0

    @contextmanager
    def run(self) -> Iterator[Clock]:
        w, c = time.perf_counter(), time.process_time()
        s = cpu_seconds(self.pid) if self.pid else 0.0
        yield self
        self.wall = time.perf_counter() - w
        self.cpu = time.process_time() - c
        self.server_cpu = (cpu_seconds(self.pid) - s) if self.pid else 0.0


def in_process(db: Database, work: list[list[Record]], now: dt.datetime) -> Clock:
    clock = Clock()
    with clock.run():
        for batch in work:
            upsert_batch("people", db, batch, now=now)
    return clock


def over_http(
    http: httpx.Client, work: list[list[Record]], pid: int, created: bool, clients: int = 1
) -> Clock:
    """POST each batch; every record must be created (`created`) or else updated or
    unchanged, none rejected. `clients` > 1 sends that many batches at a time (threads
    sharing the connection pool), as several integrations of one workspace would."""

    def post(batch: list[Record]) -> None:
        r = http.post("/v1/people", json={"records": batch})
        body = r.json() if r.status_code == 200 else {}
        done = (
            body.get("created", 0) if created else body.get("updated", 0) + body.get("unchanged", 0)
        )
        if r.status_code != 200 or done != len(batch):
            raise SystemExit(f"unexpected answer: {r.status_code} {r.text[:300]}")

    clock = Clock(pid)
    with clock.run():
        if clients == 1:
            for batch in work:
                post(batch)
        else:
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(post, work))
    return clock


def line(label: str, n: int, clock: Clock, base: Clock | None = None) -> str:
    rate = n / clock.wall
    cpu = clock.cpu + clock.server_cpu
    text = f"{label:<38} {rate:9,.0f} leads/s  wall {clock.wall:6.2f} s  CPU {cpu:6.2f} s"
    if clock.server_cpu:
        text += f" (server {clock.server_cpu:.2f}, client {clock.cpu:.2f})"
    text += f"  {n / cpu:9,.0f} per CPU s"
    if base is not None:
        text += f"  [{rate / (n / base.wall):.2f} x baseline wall, "
        text += f"{(n / cpu) / (n / base.cpu):.2f} x per CPU s]"
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int) -> None:
    """The server process: the app as `revmachine serve` runs it (uvicorn picks uvloop and
    httptools when they are installed), with a body limit for the bench's batches."""
    import uvicorn

    from revmachine.api import ApiSettings, create_app
    from revmachine.config import default_workspace

    app = create_app(Database(url), default_workspace(), ApiSettings())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", url, "--port", str(port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the API server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def latencies(call: Callable[[Record], None], records: list[Record]) -> tuple[float, float]:
    timings = []
    for record in records:
        t0 = time.perf_counter()
        call(record)
        timings.append(time.perf_counter() - t0)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return statistics.median(timings) * 1000, p99 * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument(
        "--clients", type=int, default=1, help="batches in flight at a time over HTTP (1)"
    )
    parser.add_argument("--db", help="PostgreSQL URL (a scratch database is made beside it)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    now = dt.datetime.now(dt.UTC)
    new = batches(leads(args.leads, "b"), BATCH)
    again = batches(changed(leads(args.leads, "b")), BATCH)
    singles = leads(args.singles, "s")
    # Not measured, on both sides: a first batch pays one-time costs (imports, caches).
    warm_up = batches(leads(2 * BATCH, "w"), BATCH)
    n = args.leads
    print(
        f"{n:,} leads in batches of {BATCH:,} ({args.clients} at a time over HTTP), "
        f"{args.singles} single upserts; "
        f"load {os.getloadavg()[0]:.1f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "base").mkdir()
        (Path(tmp) / "api").mkdir()
        with scratch_store(args.db, Path(tmp) / "base") as base:
            in_process(base, warm_up, now)
            base_new = in_process(base, new, now)
            print(line("in-process upsert_batch, new", n, base_new))
            base_upd = in_process(base, again, now)
            print(line("in-process upsert_batch, existing", n, base_upd))
            base_p50, base_p99 = latencies(
                lambda r: upsert_batch("people", base, [r], now=now), singles
            )
            print(f"{'in-process single upsert':<38} p50 {base_p50:.1f} ms, p99 {base_p99:.1f} ms")

        with scratch_store(args.db, Path(tmp) / "api") as db:
            secret = create_key(
                db, name="bench", role=Role.MARKETING, rate_per_minute=10_000_000, now=now
            ).secret
            with (
                server(db.url) as (address, pid),
                httpx.Client(
                    base_url=address, headers={"Authorization": f"Bearer {secret}"}, timeout=120
                ) as http,
            ):
                over_http(http, warm_up, pid, created=True)
                http_new = over_http(http, new, pid, created=True, clients=args.clients)
                print(line(f"HTTP POST /v1/people x {BATCH:,}, new", n, http_new, base_new))
                http_upd = over_http(http, again, pid, created=False, clients=args.clients)
                print(line(f"HTTP POST /v1/people x {BATCH:,}, existing", n, http_upd, base_upd))

                def one(record: Record) -> None:
                    r = http.post("/v1/people", json={"records": [record]})
                    assert r.status_code == 200 and r.json()["created"] == 1, r.text

                p50, p99 = latencies(one, singles)
                print(
                    f"{'HTTP single-lead upsert':<38} p50 {p50:.1f} ms, p99 {p99:.1f} ms  "
                    f"[p50 {p50 / base_p50:.2f} x in-process]"
                )
    rate = n / http_new.wall
    print(
        f"goal: >= {GOAL:,} new leads/s over HTTP: {'met' if rate >= GOAL else 'NOT met'} "
        f"({rate:,.0f}; {n / (http_new.cpu + http_new.server_cpu):,.0f} per CPU second)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
