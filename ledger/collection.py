"""Garbage collection paced for bulk work.

An import, a rebuild, a catch-up or a verification makes and drops millions of
small objects (envelopes, facts, rows), almost none of them in reference cycles.
With the interpreter's default pace (a young collection every 700 allocations,
each older one walking every object still alive) about a fifth of such work was
the collector's: measured on a 10^5-event register, an import went from 10.0 k to
13.1 k events/s and a rebuild from 26.8 k to 34.5 k with a pace of 50,000; 10^6 (below)
took a further 3-4 µs an event off an import's writer.

``bulk_work`` moves what is alive when the work starts (the loaded code, and
whatever the caller holds) out of the collector's sight (``gc.freeze``) and lets
young objects build up longer before a collection. Cycles are still collected, so
memory stays bounded; the previous pace is restored when the outermost bulk
operation ends. Worker processes forked inside inherit the pace.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 1_000_000
"""Allocations (net of frees) between young collections, instead of 700.

A young collection walks every object made since the last one that is still alive, and
an import's writer keeps each agreement's stream, history and staged rows alive until it
lets the agreement go: at 50,000 a 3 x 10^5-event import made 45 collections that walked
those again and again (1.1 s, about 7% of the writer's time, to free 1,270 objects in
cycles). At 10^6 it makes one or two; the cycles are still found, a little later."""
OLDER_THRESHOLDS = (20, 100)


class _Pace:
    """How many bulk operations are running (in any thread), and the pace before them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.previous = gc.get_threshold()
        self.froze = False
        """Whether the first bulk operation froze what was alive (not if the program had:
        unfreezing would undo its own freeze, which a server may need before forking)."""


_pace = _Pace()


@contextmanager
def bulk_work() -> Iterator[None]:
    """Collect garbage less often while the enclosed bulk operation runs (see module).

    Bulk operations in several threads share one pace: the first to start sets it, the
    last to end restores it.
    """
    with _pace.lock:
        _pace.running += 1
        if _pace.running == 1:
            _pace.previous = gc.get_threshold()
            _pace.froze = gc.get_freeze_count() == 0
            if _pace.froze:
                gc.freeze()
            gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    try:
        yield
    finally:
        with _pace.lock:
            _pace.running -= 1
            if _pace.running == 0:
                gc.set_threshold(*_pace.previous)
                if _pace.froze:
                    gc.unfreeze()
