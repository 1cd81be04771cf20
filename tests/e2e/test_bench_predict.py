"""bench/predict.py runs end to end at a small size and prints its figures and ratios."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "predict.py"


def test_predict_bench_small() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--people", "3000", "--train-rows", "3000"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"train: [\d,]+ training examples", out)
    assert out.count("x baseline") == 2
    assert re.search(r"[\d,]+ people/minute end to end", out)
