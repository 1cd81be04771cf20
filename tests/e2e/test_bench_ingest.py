"""bench/ingest.py at a small size: it runs end to end and prints its figures and ratio.

A smoke test, not a timing test: the figures depend on the machine and are not checked,
only that the script completes, verifies its own row counts (exit 0) and reports a ratio.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


def test_ingest_bench_runs_and_prints_a_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--activities", "5000", "--people", "500"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^ratio import/bare: \d+\.\d+x", out, re.MULTILINE), out
    assert re.search(r"^activities import \(CSV -> store\)\s+5,000 rows", out, re.MULTILINE), out
    assert "activities table holds 5,000 rows, as expected" in out
    # SQLite's own floor (no Python in it) is measured on the same rows.
    assert re.search(r"^SQLite alone \(INSERT…SELECT, floor\)\s+5,000 rows", out, re.MULTILINE), out
