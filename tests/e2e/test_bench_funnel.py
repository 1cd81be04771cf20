"""bench/funnel.py runs end to end at a small size: the reports agree with DuckDB and the
cost of keeping `stage_spells` (rebuild and the three refresh cases) is printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "funnel.py"


def _run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--people", "3000", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "revmachine and DuckDB agree on entries, inventory and velocity cohorts" in out
    assert "rebuild from" in out and "one new transition each" in out
    assert "whole history rewritten" in out and "nothing new" in out
    return out


def test_funnel_bench_small_sqlite() -> None:
    pytest.importorskip("duckdb")
    _run()


def test_funnel_bench_small_postgres() -> None:
    pytest.importorskip("duckdb")
    url = os.environ.get("REVMACHINE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("REVMACHINE_TEST_POSTGRES_URL is not set")
    _run("--db", url)
