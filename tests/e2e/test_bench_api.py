"""bench/api.py runs end to end at a small size (over real HTTP) and prints its ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "api.py"


def test_api_bench_small() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--leads", "2000", "--singles", "20"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for label in ("in-process upsert_batch, new", "in-process upsert_batch, existing"):
        assert label in out
    for label in ("x 1,000, new", "x 1,000, existing"):
        assert f"HTTP POST /v1/people {label}" in out
    assert out.count("x baseline wall") == 2 and "(server " in out
    assert "HTTP single-lead upsert" in out and "p99" in out
    assert "goal: >= 30,000 new leads/s over HTTP" in out
