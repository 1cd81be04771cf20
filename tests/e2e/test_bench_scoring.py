"""bench/scoring.py runs end to end at a small size and checks its own results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scoring.py"


def test_scoring_bench_small() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--events", "3000", "--people", "300"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "scores equal to the baseline" in out
    assert "incremental transitions equal to the replay: True" in out
    assert "store: first run, all replays" in out and "store: second run, incremental" in out
    assert "vs baseline" in out
    assert "(0 incremental, 300 replayed)" in out  # the first run replays everyone
    assert " 0 replayed)" in out.split("second run")[1]  # the second continues everyone
