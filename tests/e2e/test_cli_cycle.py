"""`revmachine init|validate|process|explain|whatif|model`, run as a user runs them."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from test_cli import run

from revmachine.store import schema
from revmachine.store.database import Database

PEOPLE = (
    "email,title,industry,employee_count,country,created_at\n"
    "vp@acme.com,VP Engineering,Software,800,United States,2025-03-01T09:00:00Z\n"
    "mgr@initech.com,IT Manager,Manufacturing,300,Germany,2025-03-02T09:00:00Z\n"
)
ACTIVITIES = (
    "event_id,email,type,occurred_at\n"
    "a1,vp@acme.com,webinar_attended,2025-03-05T10:00:00Z\n"
    "a2,vp@acme.com,demo_request,2025-03-06T10:00:00Z\n"
    "a3,mgr@initech.com,content_download,2025-03-07T10:00:00Z\n"
)


def test_init_writes_a_valid_workspace_and_validate_points_at_errors(tmp_path: Path) -> None:
    ws = tmp_path / "acme"
    result = run("init", str(ws))
    assert result.returncode == 0, result.stderr
    assert (ws / "revenue_model.yml").is_file() and (ws / "scoring.yml").is_file()
    assert run("validate", str(ws)).returncode == 0

    text = (ws / "revenue_model.yml").read_text()
    lines = text.splitlines()
    line_no = next(i for i, line in enumerate(lines, 1) if "to: sal" in line)
    (ws / "revenue_model.yml").write_text(text.replace("to: sal", "to: sall", 1))
    bad = run("validate", str(ws))
    assert bad.returncode == 1
    assert f"revenue_model.yml:{line_no}:" in bad.stdout
    assert "unknown_stage" in bad.stdout and "sal" in bad.stdout
    # a command that needs the model refuses a broken workspace with the same message
    refused = run("process", "-w", str(ws), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert refused.returncode == 2 and "unknown_stage" in refused.stderr


def test_import_processes_and_explain_whatif_model_show_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    (tmp_path / "people.csv").write_text(PEOPLE)
    (tmp_path / "acts.csv").write_text(ACTIVITIES)
    assert run("import", "people", str(tmp_path / "people.csv"), "--db", url).returncode == 0
    imported = run("import", "activities", str(tmp_path / "acts.csv"), "--db", url)
    assert imported.returncode == 0, imported.stderr
    assert "stage moves" in imported.stdout
    db = Database(url)
    with db.reading() as conn:
        moves = conn.execute(
            select(func.count()).select_from(schema.stage_transitions)
        ).scalar_one()
    assert moves > 0

    explained = run("explain", "vp@acme.com", "--as-of", "2025-03-07", "--db", url)
    assert explained.returncode == 0, explained.stderr
    assert "stage mql" in explained.stdout
    assert "fast_track_demo" in explained.stdout and "decision_maker" in explained.stdout
    score = re.search(r"score ([\d.]+) = fit ([\d.]+) \+ behaviour ([\d.]+)", explained.stdout)
    assert score is not None
    total, fit, behaviour = (float(x) for x in score.groups())
    assert abs(total - fit - behaviour) < 0.11

    curve = run("whatif", "--sweep", "mql.behavior=0..100:50", "--db", url)
    assert curve.returncode == 0, curve.stderr
    rows = re.findall(r"│\s*(\d+)\s*│\s*(\d+)\s*│", curve.stdout)
    assert [int(v) for v, _ in rows] == [0, 50, 100]
    volumes = [int(n) for _, n in rows]
    assert volumes == sorted(volumes, reverse=True)

    compared = run("whatif", "--set", "mql.fit=0", "--db", url)
    assert compared.returncode == 0, compared.stderr
    assert "Nothing was changed" in compared.stdout
    unknown = run("whatif", "--set", "mql.nonsense=1", "--db", url)
    assert unknown.returncode == 2

    history = run("model", "--db", url)
    assert history.returncode == 0 and "adopted" in history.stdout
