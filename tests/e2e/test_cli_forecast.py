"""`revmachine forecast` and `revmachine forecast backtest` as a user runs them, on a
store holding a planted world (`tests/forecast_world.py`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forecast_world import plant
from revmachine.cli import app
from revmachine.store import migrate
from revmachine.store.database import Database


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("forecast") / "store.db"
    store = Database(f"sqlite:///{path}")
    migrate.upgrade(store)
    plant(store, per_month=25.0)
    store.dispose()
    return f"sqlite:///{path}"


def test_forecast_table_json_and_html(url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["--db", url, "--as-of", "2025-07-01", "--horizon", "3", "--paths", "500"]
    table = runner.invoke(app, ["forecast", *common])
    assert table.exit_code == 0, table.output
    for text in ("Bookings forecast", "Funnel forecast", "Drivers", "win rate"):
        assert text in table.output

    as_json = runner.invoke(app, ["forecast", *common, "--format", "json", "--no-drivers"])
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert doc["report"] == "forecast" and "forecast_interval" in doc["definitions"]
    series = doc["result"]["forecast"]["series"]
    total, pipeline, new = (
        series[n] for n in ("bookings", "pipeline_bookings", "new_deal_bookings")
    )
    for k in range(3):
        q = total["quantiles"]
        assert q["0.1"][k] <= q["0.5"][k] <= q["0.9"][k]
        assert total["mean"][k] == pytest.approx(pipeline["mean"][k] + new["mean"][k], rel=1e-9)
    assert pipeline["mean"][0] > pipeline["mean"][2]  # the open pipeline drains

    quarterly = ["forecast", *common[:4], "--grain", "quarter", "--horizon", "2", "--paths", "300"]
    quarter = runner.invoke(app, quarterly)
    assert quarter.exit_code == 0, quarter.output
    labels = json.loads(
        runner.invoke(
            app,
            [*quarterly, "--format", "json", "--no-drivers"],
        ).stdout
    )["result"]["forecast"]["labels"]
    assert labels == ["2025-Q3", "2025-Q4"]

    html = runner.invoke(app, ["forecast", *common, "--no-drivers", "--html", str(tmp_path)])
    assert html.exit_code == 0, html.output
    page = (tmp_path / "index.html").read_text()
    assert "<svg" in page and "Bookings forecast" in page and "forecast_interval" in page


def test_scenarios_and_bad_input(url: str) -> None:
    runner = CliRunner()
    common = ["--db", url, "--as-of", "2025-07-01", "--horizon", "2", "--paths", "500"]
    base = json.loads(
        runner.invoke(app, ["forecast", *common, "--format", "json", "--no-drivers"]).stdout
    )
    better = runner.invoke(
        app, ["forecast", *common, "--format", "json", "--no-drivers", "--rate", "win_rate=+20%"]
    )
    assert better.exit_code == 0, better.output
    mean = json.loads(better.stdout)["result"]["forecast"]["series"]["bookings"]["mean"]
    assert sum(mean) > sum(base["result"]["forecast"]["series"]["bookings"]["mean"])

    no_people = runner.invoke(app, ["forecast", *common, "--rate", "mql_to_sal=+10%"])
    assert no_people.exit_code == 2 and "no stage history" in no_people.output
    bad = runner.invoke(app, ["forecast", *common, "--rate", "mql_to_sal=better"])
    assert bad.exit_code == 2 and "FROM_to_TO=+10%" in bad.output


def test_backtest_command(url: str) -> None:
    runner = CliRunner()
    args = ["forecast", "backtest", "--db", url, "--from", "2024-09-01", "--to", "2025-02-01"]
    args += ["--known-at", "2025-07-01", "--horizon", "2", "--paths", "300"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Backtest scores" in result.output and "bookings" in result.output
    doc = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    scores = {s["series"]: s for s in doc["result"]["scores"]}
    assert scores["bookings"]["points"] == 12  # 6 cut-offs x 2 months
    assert 0.0 <= scores["bookings"]["coverage_80"] <= 1.0
    late = runner.invoke(
        app,
        ["forecast", "backtest", "--db", url, "--from", "2026-01-01", "--known-at", "2025-07-01"],
    )
    assert late.exit_code == 2
