"""`store.bulk.gc_relaxed`: the collector's threshold is raised while any bulk step runs,
and comes back exactly as it was when the last one ends (even after an error)."""

from __future__ import annotations

import gc
import threading

import pytest

from revmachine.store.bulk import BATCH_GC_THRESHOLD, gc_relaxed


def test_nested_and_concurrent_batches_restore_the_thresholds() -> None:
    before = gc.get_threshold()
    assert before[0] < BATCH_GC_THRESHOLD
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with gc_relaxed():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with gc_relaxed():
        thread.start()
        assert inside.wait(10)
        assert gc.get_threshold() == (BATCH_GC_THRESHOLD, *before[1:])
        assert gc.isenabled()  # relaxed, never off: overlapping batches still collect
    assert gc.get_threshold()[0] == BATCH_GC_THRESHOLD  # the other batch still runs
    release.set()
    thread.join(10)
    assert gc.get_threshold() == before


def test_an_error_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), gc_relaxed():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before


def test_a_higher_threshold_is_kept() -> None:
    before = gc.get_threshold()
    gc.set_threshold(BATCH_GC_THRESHOLD * 2, *before[1:])
    try:
        with gc_relaxed():
            assert gc.get_threshold()[0] == BATCH_GC_THRESHOLD * 2
        assert gc.get_threshold()[0] == BATCH_GC_THRESHOLD * 2
    finally:
        gc.set_threshold(*before)
