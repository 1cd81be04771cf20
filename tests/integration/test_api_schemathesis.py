"""schemathesis against the published OpenAPI document: no request makes a server error.

A bounded number of generated examples per operation (the suite must stay fast), sent to
the app in-process through its ASGI interface, as an admin (every route is reachable).
Each operation is driven by its own Hypothesis run, so a failure names the operation.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from revmachine.api import create_app
from revmachine.config import default_workspace
from revmachine.services.keys import Role, create_key
from revmachine.store import migrate
from revmachine.store.database import Database

EXAMPLES = int(os.environ.get("REVMACHINE_FUZZ_EXAMPLES", "5"))


def test_no_operation_answers_with_a_server_error(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'api.db'}")
    migrate.upgrade(db)
    secret = create_key(
        db, name="fuzz", role=Role.ADMIN, rate_per_minute=10**9, now=dt.datetime.now(dt.UTC)
    ).secret
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(db, default_workspace()))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def no_server_error(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {secret}"})
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
            )

        no_server_error()
    db.dispose()
