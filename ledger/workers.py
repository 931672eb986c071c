"""Work spread over forked worker processes, with the caller the single writer.

Rebuilding the read models, catching up after a large import and verifying every
chain do the same pure-Python work for each agreement, independently of the
others. Each worker takes one share of the agreements, reads it through its own
database connection, and sends back small results; the caller merges them and
writes, so exactly-once and all-or-nothing hold as with one process. A worker's
failure reaches the caller as the same one-line ``StorageError`` one process
would raise; a worker that dies is one line too, never a hang.

Workers are forked (they start at once and share the loaded code); they never
touch the caller's connections, and leave with ``os._exit`` without running the
caller's clean-up.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queues
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from agreement_ledger.ledger.errors import LedgerError, StorageError

S = TypeVar("S")
PARALLEL_FROM = 20_000
"""Events from which work is spread: below, starting workers costs more than it saves."""
WAIT_SECONDS = 1.0
FINISHED = "finished"
FAILED = "failed"

Send = Callable[[Any], None]
Work = Callable[[S, Send], None]


def worker_count() -> int:
    """The cores this process may use (at most four)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, 4))


def id_ranges(count: int) -> list[tuple[UUID | None, UUID | None]]:
    """The stream-id space cut into ``count`` equal ranges (from, inclusive, to, exclusive).

    Stream ids are uuid5 hashes: uniform, so the shares are even. The first range has no
    lower bound and the last no upper one, so that every stored id, even a damaged one
    that sorts before every UUID, falls in exactly one range.
    """
    bounds: list[UUID | None] = [UUID(int=(index << 128) // count) for index in range(count)]
    bounds[0] = None
    return [(bounds[i], bounds[i + 1] if i + 1 < count else None) for i in range(count)]


def spread(work: Work[S], shares: Sequence[S]) -> Iterator[tuple[int, Any]]:
    """Run ``work(share, send)`` in one worker per share; yield ``(share index, message)``
    for every message sent, as they arrive. Raises ``StorageError`` on a failure."""
    if not shares:
        return
    context = multiprocessing.get_context("fork")
    messages: Any = context.Queue(maxsize=4 * len(shares))
    workers = [
        context.Process(target=_run, args=(work, index, share, messages), daemon=True)
        for index, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    finished = 0
    try:
        while finished < len(workers):
            try:
                index, kind, payload = messages.get(timeout=WAIT_SECONDS)
            except queues.Empty:
                if any(w.exitcode not in (None, 0) for w in workers):
                    raise StorageError(
                        "a worker process stopped unexpectedly; nothing was written"
                    ) from None
                continue
            if kind == FINISHED:
                finished += 1
            elif kind == FAILED:
                raise StorageError(payload)
            else:
                yield index, payload
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        messages.close()


def _run(work: Work[S], index: int, share: S, messages: Any) -> None:
    """In a worker: do the work, then say it finished, or say why it failed."""
    try:
        work(share, lambda payload: messages.put((index, "message", payload)))
        messages.put((index, FINISHED, None))
    except KeyboardInterrupt:  # Ctrl-C reached the whole group: the caller stops us all
        return
    except LedgerError as error:
        messages.put((index, FAILED, str(error)))
    except Exception as error:  # reported by the caller as one line, never a traceback
        messages.put((index, FAILED, f"a worker process failed ({type(error).__name__}: {error})"))
