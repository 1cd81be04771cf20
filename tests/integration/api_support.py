"""A real HTTP server for the API tests: uvicorn on an ephemeral port, in a thread.

Tests talk to it with httpx over TCP, as any client would; nothing is called in-process.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from revmachine.api import ApiSettings, create_app
from revmachine.config import Workspace, default_workspace
from revmachine.services.keys import Role, create_key
from revmachine.store import migrate
from revmachine.store.database import Database

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def sqlite_store(directory: Path) -> Iterator[Database]:
    """A migrated SQLite store, for tests whose subject does not depend on the backend."""
    store = Database(f"sqlite:///{directory / 'api.db'}")
    migrate.upgrade(store)
    try:
        yield store
    finally:
        store.dispose()


@dataclass
class Server:
    base_url: str
    db: Database

    def key(
        self, role: Role, *, rep: str | None = None, rate: int | None = None, name: str = "t"
    ) -> tuple[str, str]:
        """(client_id, secret) of a new key."""
        new = create_key(
            self.db,
            name=name,
            role=role,
            rep_email=rep,
            rate_per_minute=rate,
            now=dt.datetime.now(dt.UTC),
        )
        return new.key.client_id, new.secret

    def client(self, secret: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@contextmanager
def serving(
    db: Database, settings: ApiSettings | None = None, workspace: Workspace | None = None
) -> Iterator[Server]:
    app = create_app(db, workspace or default_workspace(), settings)
    with served(app) as url:
        yield Server(url, db)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` (any ASGI application) on uvicorn at an ephemeral port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def people(n: int, start: int = 0, domain: str = "acme.com") -> list[dict[str, object]]:
    return [
        {"email": f"p{i}@{domain}", "first_name": f"P{i}", "created_at": "2025-01-01T00:00:00Z"}
        for i in range(start, start + n)
    ]
