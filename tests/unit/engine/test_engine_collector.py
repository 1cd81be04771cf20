"""The cycle collector is paused only for the run, and back on after it, failure or not."""

from __future__ import annotations

import gc

import pytest

from revmachine.engine.collector import cyclic_gc_paused


def test_the_collector_is_paused_inside_and_back_on_after_a_failure() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("the run failed")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
