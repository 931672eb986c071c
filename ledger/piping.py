"""What the checking processes of a piped import send, and how the writer puts it back
in line order (``Ledger._write_piped``).

A piped import's checks run in several forked processes, each reading the whole import
and checking the lines of its own share of the agreements (``share_of``), which it folds,
hashes and encodes; at the points where it lets agreements go it also projects their read
models from the fold it holds, without decoding and folding their events again. The
writer inserts the rows in line order, whichever process sent them: each line carries its
position in the import, and each message says up to which position its sender has sent
every line of its share (``InOrder``). The first refused line is the lowest one: a
refusal is raised only once every other process has passed its position.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from agreement_ledger.ledger.domain import AgreementStream
from agreement_ledger.ledger.workers import WAIT_SECONDS

FINAL = sys.maxsize
"""``through`` of a process's last message: it has sent every line of its share."""

Row = tuple[str, int, str, bytes]
"""A stored row to write: agreement, version, topic, state."""

Line = tuple[int, str, Row | None]
"""A checked line: its position in the import, its event's id, and the row to write
(``None``: an exact repeat, skipped)."""


class GaveUp(Exception):
    """A checking process met what it cannot settle alone: the import is written again the
    usual way."""


class Folded(NamedTuple):
    """An agreement a piped import registered, as its checking process folded it: the read
    models are projected from this there (``ImportObserver.project_folded``)."""

    stream: AgreementStream
    recorded: list[tuple[str, int, datetime]]
    """Each of its events' id, version and recording time."""
    recorded_by: str


class Checked(NamedTuple):
    """What a checking process sends: its lines since its last message, in line order;
    the position up to which it has now sent every line of its share; and, where it let
    agreements go, their read-model rows (``None``: projecting them failed) and those of
    them known before the import (whose stored rows are replaced)."""

    lines: list[Line]
    through: int
    projected: bool = False
    rows: Any = None
    again: tuple[str, ...] = ()


class Refused(NamedTuple):
    """A checking process refused the line at ``position``: the error, pickled."""

    position: int
    error: bytes


def share_of(key: str | None, count: int) -> int:
    """Which of ``count`` checking processes checks the lines of agreement ``key`` (a line
    naming none: the first). ``hash`` is the same in every process forked from one."""
    return 0 if key is None else hash(key) % count


class InOrder:
    """The lines of several checking processes, back in line order."""

    def __init__(self, count: int) -> None:
        self.waiting: list[deque[Line]] = [deque() for _ in range(count)]
        self.through = [-1] * count
        self.refused: list[Refused] = []

    def take(self, index: int, message: Checked | Refused) -> None:
        if isinstance(message, Refused):
            self.refused.append(message)
            self.through[index] = FINAL  # it sends nothing more: wait for the others only
        else:
            self.waiting[index].extend(message.lines)
            self.through[index] = message.through

    @property
    def passed(self) -> int:
        """The position every process has passed: the lines up to it are all known."""
        return min(self.through)

    def ready(self) -> Iterator[Line]:
        """The lines every process has passed, in line order (each position belongs to one
        process's share, so those up to the lowest ``through`` are all known)."""
        safe = self.passed
        ready = []
        for waiting in self.waiting:
            taken = []
            while waiting and waiting[0][0] <= safe:
                taken.append(waiting.popleft())
            if taken:
                ready.append(taken)
        if len(ready) == 1:
            return iter(ready[0])
        return heapq.merge(*ready)

    def complete(self) -> bool:
        """Whether every process said it sent all its lines, and every line was taken (a
        message lost on its way would otherwise be lines never written)."""
        return all(through == FINAL for through in self.through) and not any(self.waiting)

    def refusal(self) -> bytes | None:
        """The lowest refused line, once no process can still refuse a lower one."""
        if not self.refused:
            return None
        lowest = min(self.refused)
        return lowest.error if self.passed >= lowest.position else None


class Credit:
    """How many messages each checking process may have in the writer's hands: sent and
    not yet written (``backlog``). Without it, a process whose share is cheaper runs ahead,
    and the writer, which must hold its lines until the slower ones pass them, would hold
    ever more of them. The process furthest behind always has its lines written, so never
    waits: the others wait for it, not for each other.

    Made before the processes are forked: each ``spend``s one before it sends, the writer
    ``note``s each message's last line as it takes it and ``settle``s once the lines up to
    a position are written."""

    def __init__(self, count: int, backlog: int) -> None:
        context = multiprocessing.get_context("fork")
        self._left = [context.Semaphore(backlog) for _ in range(count)]
        self._unwritten: list[deque[int]] = [deque() for _ in range(count)]
        self._caller = os.getpid()

    @property
    def count(self) -> int:
        return len(self._left)

    def spend(self, which: int) -> None:
        """In checking process ``which``: wait until the writer has room for a message
        (and stop if the writer is gone)."""
        while not self._left[which].acquire(timeout=WAIT_SECONDS):
            if os.getppid() != self._caller:
                os._exit(1)

    def note(self, which: int, message: Checked | Refused) -> None:
        """In the writer: a message of process ``which`` taken, unwritten up to its last
        line (a refusal, or a message without lines, has nothing to write)."""
        last = message.lines[-1][0] if isinstance(message, Checked) and message.lines else -1
        self._unwritten[which].append(last)

    def settle(self, written: int) -> None:
        """In the writer: every line up to ``written`` is written."""
        for left, unwritten in zip(self._left, self._unwritten, strict=True):
            while unwritten and unwritten[0] <= written:
                unwritten.popleft()
                left.release()
