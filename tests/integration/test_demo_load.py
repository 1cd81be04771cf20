"""Loading the small demo company through the import services, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from revmachine.demo import DemoWorld, generate, load_demo, write_ground_truth
from revmachine.demo.tables import KINDS
from revmachine.store import schema
from revmachine.store.database import Database


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate("small", seed=5)


def _count(db: Database, table: object, *where: object) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_small_world_loads_without_rejections(db: Database, world: DemoWorld) -> None:
    seen: dict[str, int] = {}

    def progress(kind: str, done: int, total: int) -> None:
        assert 0 <= done <= total
        seen[kind] = done

    summary = load_demo(db, world, progress)
    assert list(summary.reports) == [*KINDS, "decisions"]
    assert summary.reports["decisions"].inserted == world.decisions.height
    assert summary.rejected == 0, [r.sorted_rejections()[:3] for r in summary.reports.values()]
    assert seen["activities"] == world.tables["activities"].height

    t = world.tables
    assert _count(db, schema.sales_reps) == t["reps"].height
    assert _count(db, schema.programs) == t["programs"].height
    assert _count(db, schema.program_costs) == t["costs"].height
    assert _count(db, schema.accounts) == t["accounts"].height
    assert _count(db, schema.people) == t["people"].height
    assert _count(db, schema.activities) == t["activities"].height
    opp_ids = t["opportunities"]["opportunity_id"].n_unique()
    assert _count(db, schema.opportunities) == opp_ids
    assert summary.reports["opportunities"].inserted == opp_ids
    won = t["opportunities"].filter(pl.col("status") == "won")["opportunity_id"].n_unique()
    assert _count(db, schema.opportunities, schema.opportunities.c.status == "won") == won
    pairs = {
        (opp, part.split(":")[0])
        for opp, cell in t["opportunities"].select("opportunity_id", "contacts").iter_rows()
        if cell
        for part in cell.split(";")
    }
    assert _count(db, schema.opportunity_contacts) == len(pairs)
    # Every snapshot that changes the deal is history; contact-only rows are not.
    assert _count(db, schema.opportunity_history) >= opp_ids + won

    # People land on their accounts (by work email domain, else by company name).
    p, a = schema.people, schema.accounts
    with db.reading() as conn:
        linked = dict(
            conn.execute(select(p.c.email, a.c.domain).join(a, p.c.account_id == a.c.id)).all()
        )
    truth = dict(world.truth.people.select("email", "account").drop_nulls().iter_rows())
    assert linked == truth
    unsubscribed = world.tables["activities"].filter(pl.col("type") == "unsubscribe")["email"]
    assert _count(db, p, p.c.unsubscribed.is_(True)) == unsubscribed.n_unique()


def test_ground_truth_is_written_next_to_the_store(tmp_path: Path, world: DemoWorld) -> None:
    written = write_ground_truth(world, tmp_path / "demo.truth")
    assert sorted(path.name for path in written) == sorted(
        f"{name}.parquet" for name in world.truth.frames()
    )
    people = pl.read_parquet(tmp_path / "demo.truth" / "people.parquet")
    assert people.equals(world.truth.people)
    reference = pl.read_parquet(tmp_path / "demo.truth" / "reference.parquet")
    assert reference["reference_at"].dtype == pl.Datetime("us", "UTC")
    assert reference["reference_at"].min() > dt.datetime.combine(world.start, dt.time(), dt.UTC)  # type: ignore[operator]
    with pytest.raises(ValueError, match="parquet or csv"):
        write_ground_truth(world, tmp_path / "x", "xlsx")
