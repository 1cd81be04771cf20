"""Processing through the column-wise engine writes exactly what the scalar engine writes:
every stage transition (rule, reason, time), every score change (floats compared exactly)
and every stored state, over imports in several steps with late activities, late field
changes, deals and timers; and its incremental runs equal one run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from test_revenue_cycle import (
    ACCOUNTS,
    END,
    FIRST,
    OPPS,
    OPPS_WON,
    PEOPLE,
    SECOND,
    T0,
    UPDATES,
    activities,
)

from revmachine.config import Workspace, default_workspace
from revmachine.config.workspace import make_workspace
from revmachine.engine import Engine
from revmachine.engine.columns import supports
from revmachine.services.cycle import process
from revmachine.services.cycle import processing as process_module
from revmachine.services.imports import (
    import_accounts,
    import_activities,
    import_opportunities,
    import_people,
)
from revmachine.store import schema
from revmachine.store.database import Database

# more activities, so that people cross the thresholds, go quiet and come back
MORE = [
    (f"m{i:02d}", who, kind, (T0 + dt.timedelta(days=5 + 3 * i, hours=i % 5)).isoformat())
    for i, (who, kind) in enumerate(
        [
            ("kid@gmail.com", "web_visit"),
            ("quiet@umbrella.com", "webinar_attended"),
            ("quiet@umbrella.com", "content_download"),
            ("quiet@umbrella.com", "webinar_attended"),
            ("mgr@initech.com", "email_open"),
            ("quiet@umbrella.com", "pricing_page_visit"),
            ("kid@gmail.com", "unsubscribe"),
            ("mgr@initech.com", "email_sent"),
        ]
        * 3
    )
] + [
    # at one instant: the engine orders by event id, whatever the order of the rows
    ("tie-b", "quiet@umbrella.com", "demo_request", "2025-03-21T08:00:00+00:00"),
    ("tie-a", "quiet@umbrella.com", "web_visit", "2025-03-21T08:00:00+00:00"),
    ("tie-c", "quiet@umbrella.com", "content_download", "2025-03-21T08:00:00+00:00"),
]


def cap_free() -> Workspace:
    """The shipped model without caps: what the column-wise engine handles."""
    live = default_workspace()
    rules = [r.model_copy(update={"cap": None}) for r in live.scoring.behavior.rules]
    behavior = live.scoring.behavior.model_copy(update={"rules": rules})
    return make_workspace(live.revenue, live.scoring.model_copy(update={"behavior": behavior}))


def written(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    st, sc, js = schema.stage_transitions, schema.score_changes, schema.journey_states
    with db.reading() as conn:
        return {
            "transitions": [
                tuple(r)
                for r in conn.execute(
                    select(
                        st.c.person_id,
                        st.c.occurred_at,
                        st.c.from_stage,
                        st.c.to_stage,
                        st.c.rule,
                        st.c.reason,
                        st.c.model_version,
                    ).order_by(st.c.person_id, st.c.occurred_at, st.c.id)
                )
            ],
            "scores": [
                tuple(r)
                for r in conn.execute(
                    select(
                        sc.c.person_id,
                        sc.c.occurred_at,
                        sc.c.fit,
                        sc.c.behavior,
                        sc.c.total,
                        sc.c.rule,
                        sc.c.reason,
                        sc.c.model_version,
                    ).order_by(sc.c.person_id, sc.c.occurred_at, sc.c.id)
                )
            ],
            "states": [
                tuple(r)
                for r in conn.execute(
                    select(js.c.person_id, js.c.stage, js.c.state).order_by(js.c.person_id)
                )
            ],
        }


def run_in_steps(db: Database, workspace: Workspace) -> None:
    import_accounts(db, ACCOUNTS, now=T0)
    import_people(db, PEOPLE, now=T0)
    import_activities(db, activities(FIRST + MORE[:10]), now=T0)
    process(db, workspace, dt.datetime(2025, 3, 25, tzinfo=dt.UTC))
    import_people(db, UPDATES, now=T0)
    import_activities(db, activities(SECOND + MORE[10:]), now=T0)
    process(db, workspace, dt.datetime(2025, 4, 5, tzinfo=dt.UTC))
    import_opportunities(db, OPPS, now=T0)
    process(db, workspace, dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    import_opportunities(db, OPPS_WON, now=T0)
    process(db, workspace, END)


def test_the_model_takes_the_column_wise_path() -> None:
    assert supports(Engine(cap_free()))
    assert not supports(Engine(default_workspace()))  # caps: the scalar engine


def test_columns_write_what_the_scalar_engine_writes(
    db: Database, reset_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = cap_free()
    run_in_steps(db, workspace)
    columns = written(db)

    reset_store(db)
    with monkeypatch.context() as m:
        m.setattr(process_module, "supports", lambda engine: False)
        run_in_steps(db, workspace)
    scalar = written(db)

    assert len(columns["transitions"]) > 10 and len(columns["scores"]) > 20
    assert columns == scalar


def test_incremental_runs_equal_one_run_through_columns(db: Database, reset_store: Any) -> None:
    workspace = cap_free()
    run_in_steps(db, workspace)
    steps = written(db)

    reset_store(db)
    import_accounts(db, ACCOUNTS, now=T0)
    import_people(db, PEOPLE, now=T0)
    import_people(db, UPDATES, now=T0)
    import_activities(db, activities(FIRST + SECOND + MORE), now=T0)
    import_opportunities(db, OPPS, now=T0)
    import_opportunities(db, OPPS_WON, now=T0)
    process(db, workspace, END)
    once = written(db)

    def history(data: dict[str, list[tuple[Any, ...]]]) -> Any:
        # the stored state's bookkeeping (cursor times) differs between runs; the history
        # and the stage do not
        return data["transitions"], data["scores"], [(p, s) for p, s, _ in data["states"]]

    assert history(steps) == history(once)
