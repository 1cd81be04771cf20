"""A synthetic B2B company for demos and tests: seeded, reproducible, with ground truth.

    world = generate("medium", seed=7)         # pure: no database, no clock
    summary = load_demo(db, world, progress)   # through the import services
    write_ground_truth(world, path)            # the hidden state, kept apart

See `world` for the steps and `truth` for what the ground truth holds.
"""

from __future__ import annotations

from pathlib import Path

from revmachine.demo.load import LoadProgress, LoadSummary, load_demo
from revmachine.demo.sizes import SIZES, Size
from revmachine.demo.truth import GroundTruth, write_truth
from revmachine.demo.world import DEFAULT_START, DemoWorld, StepProgress, generate


def write_ground_truth(world: DemoWorld, path: Path, fmt: str = "parquet") -> list[Path]:
    """Write the ground truth tables into the directory `path` (one file per table)."""
    return write_truth(world.truth, Path(path), fmt)


__all__ = [
    "DEFAULT_START",
    "SIZES",
    "DemoWorld",
    "GroundTruth",
    "LoadProgress",
    "LoadSummary",
    "Size",
    "StepProgress",
    "generate",
    "load_demo",
    "write_ground_truth",
]
