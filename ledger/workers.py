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
INBOX = 8
"""Items waiting for one pool worker at most (an import lets go of agreements in bursts)."""
NICER = 10
"""How much less a pool's worker is scheduled than the process feeding it: on a machine
with as many busy processes as cores, the feeding process (an import writing) is the one
everything waits for; the workers take what it leaves."""
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
    except Exception as error:  # reported by the caller as one line, never a traceback
        messages.put((index, FAILED, _failure(error)))


def _failure(error: Exception) -> str:
    """A worker's failure as the one line the caller raises."""
    if isinstance(error, LedgerError):
        return str(error)
    return f"a worker process failed ({type(error).__name__}: {error})"


class Pool:
    """Forked workers that live as long as a piece of work feeds them (an import):
    ``send(index, item)`` gives worker ``index`` an item, which it turns into one result
    with ``work``; items sent to one worker are done in the order sent, so a caller that
    sends everything about one thing to the same worker gets its results in order.

    ``ready(keep)`` yields the results that have arrived, waiting while more than ``keep``
    items are still being worked on (their results would pile up in the workers'
    buffers, since a worker's results are sent one at a time as the reader takes them);
    ``finish()`` waits for all of them.
    A worker's failure is a ``StorageError`` (one line) from either; ``close()`` stops
    the workers whatever happened.
    """

    def __init__(self, work: Callable[[Any], Any], count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._inboxes: list[Any] = [context.Queue(maxsize=INBOX) for _ in range(count)]
        self._results: Any = context.Queue()  # unbounded: a worker never waits to give back
        self._workers = [
            context.Process(target=_serve, args=(work, index, inbox, self._results), daemon=True)
            for index, inbox in enumerate(self._inboxes)
        ]
        for worker in self._workers:
            worker.start()
        self._finished = 0
        self._outstanding = 0
        """Items sent whose result has not come back."""

    @property
    def size(self) -> int:
        return len(self._workers)

    def send(self, index: int, item: Any) -> None:
        """Give worker ``index`` an item (waits while it has ``INBOX`` waiting)."""
        self._put(index, item)
        self._outstanding += 1

    def _put(self, index: int, item: Any) -> None:
        while True:
            try:
                self._inboxes[index].put(item, timeout=WAIT_SECONDS)
                return
            except queues.Full:
                self._check_alive()

    def ready(self, keep: int) -> Iterator[Any]:
        """The results that have arrived, and more until at most ``keep`` items are left
        being worked on."""
        while True:
            try:
                if self._outstanding > keep:
                    message = self._results.get(timeout=WAIT_SECONDS)
                else:
                    message = self._results.get_nowait()
            except queues.Empty:
                if self._outstanding <= keep:
                    return
                self._check_alive()
                continue
            yield from self._result_of(message)

    def finish(self) -> Iterator[Any]:
        """Every result still to come, once each worker has done all it was sent."""
        for index in range(len(self._inboxes)):
            self._put(index, None)
        while self._finished < len(self._workers):
            try:
                message = self._results.get(timeout=WAIT_SECONDS)
            except queues.Empty:
                self._check_alive()
                continue
            yield from self._result_of(message)

    def close(self) -> None:
        for worker in self._workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        for inbox in self._inboxes:
            inbox.cancel_join_thread()
            inbox.close()
        self._results.close()

    def _result_of(self, message: tuple[str, Any]) -> Iterator[Any]:
        kind, payload = message
        if kind == FINISHED:
            self._finished += 1
        elif kind == FAILED:
            raise StorageError(payload)
        else:
            self._outstanding -= 1
            yield payload

    def _check_alive(self) -> None:
        if any(w.exitcode not in (None, 0) for w in self._workers):
            raise StorageError("a worker process stopped unexpectedly; nothing was written")


def _serve(work: Callable[[Any], Any], index: int, inbox: Any, results: Any) -> None:
    """In a pool's worker: do each item sent until told to stop (``None``)."""
    os.nice(NICER)
    try:
        while (item := inbox.get()) is not None:
            results.put(("result", work(item)))
        results.put((FINISHED, None))
    except KeyboardInterrupt:  # Ctrl-C reached the whole group: the caller stops us all
        return
    except Exception as error:  # reported by the caller as one line, never a traceback
        results.put((FAILED, _failure(error)))
