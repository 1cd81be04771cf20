"""Python's cycle collector, paused for bulk runs of the engines.

The engines and the processing around them allocate a few objects per input and per
person (states, facts, rows), none of them in reference cycles. Each collection of the
oldest generation walks every object alive — the caller's too — so in a process holding
a million inputs the collector cost as much as the column-wise engine's own work (a
million events of 100,000 people: 3.1 s CPU with it paused, 6–7 s with it running).
Reference counting still frees everything; the collector is back on as soon as the run
ends, failure included.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
