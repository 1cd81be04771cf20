"""bench/forecast.py runs end to end at a small size and prints its timings and ratio."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "forecast.py"


def test_forecast_bench_small() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--people", "3000", "--deals", "800", "--paths", "300"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"rate-estimation SQL \(sqlite\)\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"simulation, 300 paths\s+[\d.]+", out)
    assert re.search(r"simulation / baseline: [\d.]+x wall", out)
    assert "DISAGREE" not in out
