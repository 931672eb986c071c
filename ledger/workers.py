"""Work spread over forked worker processes, with the caller the single writer.

Rebuilding the read models, catching up after a large import and verifying every
chain do the same pure-Python work for each agreement, independently of the
others. Each worker takes one share of the agreements, reads it through its own
database connection, and sends back small results; the caller merges them and
writes, so exactly-once and all-or-nothing hold as with one process. A worker's
failure reaches the caller as the same one-line ``StorageError`` one process
would raise; a worker that dies is one line too, never a hang. A large import's
checking processes (``Ledger._write_piped``) are such workers, one share of the
agreements each, their lines sent back for the caller to put in line order.

Workers are forked (they start at once and share the loaded code); they never
touch the caller's connections, and leave with ``os._exit`` without running the
caller's clean-up. Each works in a new, empty context: the event store library joins
the transaction in progress in the current context (a context variable, which a fork
inherits), so a worker's own ledger would otherwise read through the caller's
connection, in the caller's transaction, while the caller uses it.
"""

from __future__ import annotations

import contextvars
import itertools
import multiprocessing
import os
import pickle
import queue as queues
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from agreement_ledger.ledger.errors import LedgerError, StorageError

S = TypeVar("S")
T = TypeVar("T")
PARALLEL_FROM = 20_000
"""Events from which work is spread: below, starting workers costs more than it saves."""
WAIT_SECONDS = 1.0
INBOX = 8
"""Items waiting for one pool worker at most (an import lets go of agreements in bursts)."""
NICER = 19
"""How much less a pool's worker is scheduled than the process feeding it: on a machine
with as many busy processes as cores, the feeding process (an import writing, and the
process checking its events) is the one everything waits for; the workers take what it
leaves, and the feeder waits for them when they fall too far behind. (A piped import of
10^6 events: 23.0k events/s at 10, 23.4k at 19, 20.4k at 0; two pairs each.)"""
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


def spread(
    work: Work[S], shares: Sequence[S], backlog: int = 4
) -> Generator[tuple[int, Any], None, None]:
    """Run ``work(share, send)`` in one worker per share; yield ``(share index, message)``
    for every message sent, as they arrive. Raises ``StorageError`` on a failure.
    Each worker may send ``backlog`` messages ahead of the caller before it waits."""
    if not shares:
        return
    context = multiprocessing.get_context("fork")
    messages: Any = context.Queue(maxsize=backlog * len(shares))
    workers = [
        context.Process(target=_run, args=(work, index, share, messages, os.getpid()), daemon=True)
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


def started(items: Iterator[T]) -> Iterator[T]:
    """``items`` with its first item already taken: what a generator does before it first
    yields (``spread`` starting its workers) is under way when this returns."""
    for first in items:
        return itertools.chain([first], items)
    return iter(())


def _run(work: Work[S], index: int, share: S, messages: Any, caller: int) -> None:
    """In a worker: do the work, then say it finished, or say why it failed. A worker
    whose caller died (killed outright) stops instead of waiting for ever to send."""

    def send(kind: str, payload: Any) -> None:
        while True:
            try:
                messages.put((index, kind, payload), timeout=WAIT_SECONDS)
                return
            except queues.Full:
                if os.getppid() != caller:
                    os._exit(1)

    try:
        contextvars.Context().run(work, share, lambda payload: send("message", payload))
        send(FINISHED, None)
    except KeyboardInterrupt:  # Ctrl-C reached the whole group: the caller stops us all
        return
    except Exception as error:  # reported by the caller as one line, never a traceback
        send(FAILED, _failure(error))


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
    items are still being worked on (so that memory stays bounded however far the
    workers fall behind); ``finish()`` waits for all of them. A worker's failure, or a
    worker that stops without finishing (killed, interrupted alone), is a
    ``StorageError`` (one line) from any of them, never a hang; ``close()`` (or leaving a
    ``with`` block) stops the workers and removes what they left, whatever happened.

    Items and results travel as files in a folder of the pool's, pickled by the process
    that made them; the queues carry only their names. A name is written to a pipe at
    once, whole, so a worker killed while sending cannot leave half a message for the
    caller to wait on, and a value that cannot be pickled fails in the worker, as a
    failure, instead of vanishing in a queue's background thread. A worker whose caller
    died stops by itself.
    """

    def __init__(self, work: Callable[[Any], Any], count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._folder = tempfile.mkdtemp(prefix="ledger-pool-")
        self._inboxes: list[Any] = [context.Queue(maxsize=INBOX) for _ in range(count)]
        self._results: Any = context.Queue()
        self._done = [False] * count
        self._arrived: list[Any] = []
        self._outstanding = 0
        """Items sent whose result has not been read."""
        self._workers: list[Any] = []
        try:
            for index, inbox in enumerate(self._inboxes):
                worker = context.Process(
                    target=_serve,
                    args=(work, index, inbox, self._results, self._folder, os.getpid()),
                    daemon=True,
                )
                worker.start()
                self._workers.append(worker)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        return len(self._inboxes)

    def send(self, index: int, item: Any) -> None:
        """Give worker ``index`` an item (waits while it has ``INBOX`` waiting)."""
        self._put(index, _spill(self._folder, item))
        self._outstanding += 1

    def ready(self, keep: int) -> Iterator[Any]:
        """The results that have arrived, and more until at most ``keep`` items are left
        being worked on."""
        self._take_arrived(wait=False)
        while self._outstanding - len(self._arrived) > keep:
            self._take_arrived(wait=True)
        yield from self._results_arrived()

    def finish(self) -> Iterator[Any]:
        """Every result still to come, once each worker has done all it was sent."""
        for index in range(self.size):
            self._put(index, None)
        while not all(self._done):
            self._take_arrived(wait=True)
            yield from self._results_arrived()
        self._take_arrived(wait=False)
        yield from self._results_arrived()

    def close(self) -> None:
        for worker in self._workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        for queue in [*self._inboxes, self._results]:
            queue.cancel_join_thread()
            queue.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _put(self, index: int, name: str | None) -> None:
        while True:
            try:
                self._inboxes[index].put(name, timeout=WAIT_SECONDS)
                return
            except queues.Full:
                self._check_alive()

    def _take_arrived(self, *, wait: bool) -> None:
        """Read the messages that have arrived (with ``wait``: at least one, unless a
        worker stopped without finishing, which raises)."""
        while True:
            try:
                message = (
                    self._results.get(timeout=WAIT_SECONDS)
                    if wait
                    else (self._results.get_nowait())
                )
            except queues.Empty:
                if not wait:
                    return
                self._check_alive()
                continue
            self._note(message)
            wait = False

    def _note(self, message: tuple[int, str, Any]) -> None:
        index, kind, payload = message
        if kind == FINISHED:
            self._done[index] = True
        elif kind == FAILED:
            raise StorageError(payload)
        else:
            self._arrived.append(payload)

    def _results_arrived(self) -> Iterator[Any]:
        while self._arrived:
            name = self._arrived.pop(0)
            self._outstanding -= 1
            yield _load(name)

    def _check_alive(self) -> None:
        """Raise if a worker stopped without saying it finished (its last messages, sent
        before it stopped, are read first)."""
        stopped = [i for i, w in enumerate(self._workers) if w.exitcode is not None]
        if not any(not self._done[i] for i in stopped):
            return
        self._take_arrived(wait=False)
        if any(not self._done[i] for i in stopped):
            raise StorageError("a worker process stopped unexpectedly; nothing was written")


_spilled = itertools.count()


def _spill(folder: str, value: Any) -> str:
    """``value`` pickled into a new file of ``folder`` (the pool's own, private folder:
    named by process and count, where ``mkstemp``'s random names cost as much as the
    pickling of a small item); the file's name."""
    name = os.path.join(folder, f"{os.getpid()}-{next(_spilled)}")
    with open(name, "xb") as file:
        pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
    return name


def _load(name: str) -> Any:
    """The value spilled to ``name``, and the file gone."""
    with open(name, "rb") as file:
        value = pickle.load(file)
    os.unlink(name)
    return value


def _serve(
    work: Callable[[Any], Any], index: int, inbox: Any, results: Any, folder: str, caller: int
) -> None:
    """In a pool's worker: do each item sent until told to stop (``None``), or until the
    process that feeds it is gone."""
    os.nice(NICER)
    try:
        while True:
            try:
                name = inbox.get(timeout=WAIT_SECONDS)
            except queues.Empty:
                if os.getppid() != caller:  # the caller died without closing the pool
                    shutil.rmtree(folder, ignore_errors=True)
                    return
                continue
            if name is None:
                results.put((index, FINISHED, None))
                return
            done = contextvars.Context().run(work, _load(name))
            results.put((index, "result", _spill(folder, done)))
    except KeyboardInterrupt:  # Ctrl-C: the caller stops too, or sees that this one stopped
        return
    except Exception as error:  # reported by the caller as one line, never a traceback
        results.put((index, FAILED, _failure(error)))
