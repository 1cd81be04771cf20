"""`revmachine report …` end to end through its Typer app: JSON and CSV carry the same
numbers as the report functions, and `--html` writes one self-contained file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

from analytics_factory import load, make_history
from typer.testing import CliRunner

from revmachine.analytics import Period, Scope, funnel_report
from revmachine.cli_report import report_app
from revmachine.config import default_workspace
from revmachine.store.database import Database

RANGE = ["--from", "2025-02-01", "--to", "2025-04-30", "--as-of", "2025-06-15"]
runner = CliRunner()


def test_json_and_csv_carry_the_report_numbers(db: Database) -> None:
    load(db, make_history(seed=9, n=40))
    result = runner.invoke(report_app, ["funnel", *RANGE, "--format", "json", "--db", db.url])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    scope = Scope(
        Period(dt.date(2025, 2, 1), dt.date(2025, 5, 1)),
        dt.datetime(2025, 6, 15, tzinfo=dt.UTC),
    )
    with db.reading() as conn:
        direct = funnel_report(conn, default_workspace().revenue, scope)
    stages = document["result"]["groups"][0]["stages"]
    assert [(s["stage"], s["entered"], s["inventory"]) for s in stages] == [
        (s.stage, s.entered, s.inventory) for s in direct.groups[0].stages
    ]
    assert "Wilson" in document["definitions"]["conversion"]

    result = runner.invoke(
        report_app, ["funnel", *RANGE, "--format", "csv", "--table", "volume", "--db", db.url]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["bucket"], r["stage"]): int(r["entered"]) for r in rows} == {
        (v.bucket, v.stage): v.entered for v in direct.volume
    }


def test_html_report_is_written_and_self_contained(db: Database, tmp_path: Path) -> None:
    load(db, make_history(seed=9, n=40))
    out = tmp_path / "report"
    result = runner.invoke(report_app, ["--html", str(out), *RANGE, "--db", db.url])
    assert result.exit_code == 0, result.output
    html = (out / "index.html").read_text(encoding="utf-8")
    for section in ("funnel", "velocity", "inventory", "cost", "cohorts", "definitions"):
        assert f'id="{section}"' in html
    assert html.count("<svg") >= 5  # funnel, velocity, inventory, cost, cohort heatmap
    # Nothing is fetched: no scripts, stylesheets, images or fonts from anywhere.
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "@import" not in html
    assert "Aalen–Johansen" in html  # the definitions travel with the numbers

    # A split some reports cannot make is said in their section; the others still render.
    result = runner.invoke(
        report_app, ["--html", str(out), *RANGE, "--group-by", "seniority", "--db", db.url]
    )
    assert result.exit_code == 0, result.output
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "always by program and channel" in html  # cost
    assert "deals cannot be split by seniority" in html
    assert html.count("<svg") >= 3


def test_bad_options_get_a_clear_error(db: Database) -> None:
    result = runner.invoke(report_app, ["velocity", "--pair", "mql", "--db", db.url])
    assert result.exit_code == 2
    assert "FROM:TO" in result.output
    result = runner.invoke(
        report_app, ["velocity", "--pair", "mql:nowhere", *RANGE, "--db", db.url]
    )
    assert result.exit_code == 2
    assert "unknown stage 'nowhere'" in result.output
