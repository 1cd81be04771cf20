"""`revmachine predict train|evaluate|explain|score|models`, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

from test_cli import run
from typer.testing import CliRunner

from revmachine.cli import app
from revmachine.predict import synthetic
from revmachine.store import migrate
from revmachine.store.database import Database


def test_predict_commands_on_a_store_with_history(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Database(url)
    migrate.upgrade(store)
    data = synthetic.company(800, days=240, seed=3)
    with store.transaction() as conn:
        synthetic.load(conn, data)
    store.dispose()

    # Train and evaluate run as a user runs them; the rest in-process (each subprocess
    # costs seconds of imports).
    runner = CliRunner()
    assert runner.invoke(app, ["predict", "evaluate", "--db", url]).exit_code == 2

    trained = run("predict", "train", "--horizon", "30d", "--db", url)
    assert trained.returncode == 0, trained.stderr
    assert "model version 1: opportunity within 30 days" in trained.stdout
    assert "lightgbm" in trained.stdout and "logistic_regression" in trained.stdout

    evaluated = run("predict", "evaluate", "--db", url)
    assert evaluated.returncode == 0, evaluated.stderr
    out = evaluated.stdout
    assert "AUC" in out and "average precision" in out and "top-decile lift" in out
    assert "calibration by decile of score" in out
    for share in ("10%", "20%", "50%"):
        assert share in out

    email = data.people.get_column("email")[0]
    explained = runner.invoke(
        app, ["predict", "explain", email, "--db", url, "--as-of", "2024-08-01"]
    )
    assert explained.exit_code == 0, explained.output
    assert "chance of becoming opportunity within 30 days" in explained.output
    assert "the chance by" in explained.output

    scored = runner.invoke(app, ["predict", "score", "--db", url, "--as-of", "2024-08-01"])
    assert scored.exit_code == 0, scored.output
    assert "people scored with model version 1" in scored.output
    assert "opportunity" in runner.invoke(app, ["predict", "models", "--db", url]).output
    nobody = runner.invoke(app, ["predict", "explain", "nobody@nowhere.com", "--db", url])
    assert nobody.exit_code == 1
    bad = runner.invoke(app, ["predict", "train", "--horizon", "soon", "--db", url])
    assert bad.exit_code == 2 and "horizon" in bad.output
