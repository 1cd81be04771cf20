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
    assert "baseline: in-process upsert_batch" in out
    assert "x baseline; goal 30,000" in out and "p99" in out
