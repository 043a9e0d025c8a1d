"""Pausing Python's cyclic garbage collector while a large result is built."""

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """Run the block without the cyclic collector. Everything a load allocates survives it (it is the
    result), so the collector's passes would walk it for nothing: loading 10,000 messages took 160-170 ms,
    or 240-370 ms when a full pass fell inside; 152-164 ms paused. With threads, another thread may
    re-enable it early; that costs only the saving, never a collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
