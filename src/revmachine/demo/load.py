"""`load_demo`: the generated company into a store, through the same imports a user's files
go through (`services.imports.IMPORTERS`), in an order that satisfies every reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from revmachine.demo.tables import KINDS
from revmachine.demo.world import DemoWorld
from revmachine.services.imports import IMPORTERS, ImportReport
from revmachine.store.database import Database

#: Called with the kind being imported, rows done and rows in its file.
LoadProgress = Callable[[str, int, int], None]


@dataclass
class LoadSummary:
    """One import report per kind, in load order."""

    reports: dict[str, ImportReport] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.reports.values())

    @property
    def inserted(self) -> dict[str, int]:
        return {kind: r.inserted for kind, r in self.reports.items()}


def load_demo(
    db: Database,
    world: DemoWorld,
    progress: LoadProgress | None = None,
    *,
    now: dt.datetime | None = None,
) -> LoadSummary:
    """Import every table of `world` into `db`; `now` (the import time) defaults to the
    world's end, so that nothing in the store is received before it happened."""
    when = now or dt.datetime.combine(world.end, dt.time(), dt.UTC)
    summary = LoadSummary()
    for kind in (*KINDS, "decisions"):  # decisions last: they name people and reps

        def step(done: int, total: int, kind: str = kind) -> None:
            if progress is not None:
                progress(kind, done, total)

        report = IMPORTERS[kind](
            db, world.csv(kind), now=when, name=f"demo/{kind}.csv", progress=step
        )
        summary.reports[kind] = report
        summary.seconds += report.seconds
    return summary
