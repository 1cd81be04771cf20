"""`imports.batch.gc_paused`: the collector is off while any batch runs, and comes back
exactly as it was when the last one ends (even after an error)."""

from __future__ import annotations

import gc
import threading

import pytest

from revmachine.services.imports.batch import gc_paused


def test_nested_and_concurrent_pauses_restore_the_collector() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert inside.wait(10)
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other batch is still running
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_an_error_restores_the_collector() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
