"""An import projected from memory while it writes, in its own transaction.

Without this, an import commits its events and then a catch-up reads every one of
them back, decodes it again and projects its agreement, after the import's own work:
no other connection can read an uncommitted import. Here the importing process hands
each agreement's stored stream to projection workers as the bulk writer lets the
agreement go (``ledger.application.ImportObserver``), goes on writing while they
project, and writes the rows they send back through the import's own connection. The
tracked position moves to the import's last event in the same transaction, so events
and read models commit together, exactly once.

It works only when the read models were current when the import began: the tracked
position, locked for the import's transaction, is the newest event's, and no other
writer's event came between it and the import's first. Otherwise, or when a worker
fails, it stops projecting and leaves the position where it was, and the catch-up after
the import does the work (and reports any failure) as before; rows it wrote are already
the right ones for their agreements. A small import, or any when the projector may use
only one process, is projected in this process. A piped import's checking processes
project the agreements they let go themselves (``project_folded``), from the fold their
checks made, and send the rows with the lines they checked (``take``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection

from agreement_ledger.ledger.codec import LedgerMapper
from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.ledger.piping import Folded
from agreement_ledger.ledger.workers import Pool
from agreement_ledger.projections import store
from agreement_ledger.projections.facts import Facts, Recording
from agreement_ledger.projections.project import Projection, project, project_facts
from agreement_ledger.projections.rows import Prepared
from agreement_ledger.projections.version import PROJECTION_VERSION

CHUNK = 200
"""Agreements per message to a worker."""
POOL_FROM = 5_000
"""Events let go at once from which workers start (fewer: projected in this process)."""

AHEAD = 64
"""Messages a worker may have in hand, waiting or done but not yet read while the import
goes on writing (more, and the import waits: memory stays bounded however far the
workers fall behind; see docs/decisions.md for the measurements)."""

Done = tuple[list[str], Prepared]
"""An agreement's keys and their read-model rows, ready to write."""

Stream = tuple[UUID | str, list[tuple[int, str, bytes]]]
"""One agreement's stored stream as it travels to a worker: its id once, then each
event's version, topic and state (plain values pickle several times faster than the
library's ``StoredEvent``, each holding the id)."""


def _plain(stream: Sequence[StoredEvent]) -> Stream:
    return stream[0].originator_id, [(e.originator_version, e.topic, e.state) for e in stream]


class ImportProjection:
    """The read models of one import, projected while it writes (see module)."""

    def __init__(
        self, connection: Connection, mapper: LedgerMapper, now: datetime, start: int, workers: int
    ) -> None:
        self.connection = connection
        self.workers = workers
        self.mapper = mapper
        self.now = now
        self.start = start
        self.active = True
        self.pool: Pool | None = None
        self.stored: set[str] = set()
        """Agreements whose rows may be stored: known before the import, or written by it."""

    @classmethod
    def begin(
        cls, connection: Connection, mapper: LedgerMapper, now: datetime, workers: int
    ) -> ImportProjection | None:
        """Lock the tracked position for the import's transaction; ``None`` unless the read
        models are of this projection's version and have seen every stored event."""
        start = store.lock_position(connection)
        if start != store.head(connection) or not _current_version(connection, start):
            return None
        return cls(connection, mapper, now, start, workers)

    def let_go(
        self, fresh: list[Sequence[StoredEvent]], again: list[Sequence[StoredEvent]]
    ) -> None:
        """Project these agreements (each its whole stored stream), or hand them to workers.
        Rows of ``again`` agreements may be stored already: they are replaced."""
        if not self.active:
            return
        self.stored.update(self.mapper.to_domain_event(stream[0]).agreement for stream in again)
        streams = [_plain(stream) for stream in (*fresh, *again)]
        few = sum(len(events) for _, events in streams) < POOL_FROM
        if self.pool is None and (few or self.workers < 2):
            try:
                done = self.rows_of(streams)
            except Exception:  # the catch-up after the import redoes it, and reports it
                self.active = False
                return
            self._write([done])
            return
        self._from_pool(lambda pool: self._hand_over(pool, streams))

    def _hand_over(self, pool: Pool, streams: list[Stream]) -> Iterator[Done]:
        for index, share in _shares(streams, pool.size):
            for first in range(0, len(share), CHUNK):
                pool.send(index, share[first : first + CHUNK])
        return pool.ready(keep=AHEAD * pool.size)

    def finish(self, first: int, last: int) -> None:
        """Write what is still to come, and move the position to ``last`` if no other
        writer's event came between the position and ``first``."""
        if self.active and self.pool is not None:
            self._from_pool(lambda pool: pool.finish())
        if self.active and store.newest_before(self.connection, first) == self.start:
            store.set_position(self.connection, last)
            store.set_projection_version(self.connection, PROJECTION_VERSION)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def rows_of(self, streams: Sequence[Stream]) -> Done:
        """The read-model rows of these agreements (in a worker, or in this process)."""
        keys, projections = self._projections_of(streams)
        return keys, store.prepare(self.connection.dialect, projections)

    def _projections_of(self, streams: Sequence[Stream]) -> tuple[list[str], list[Projection]]:
        keys, projections = [], []
        for originator_id, rows in streams:
            events = [self.mapper.event_of(originator_id, *row) for row in rows]
            keys.append(events[0].agreement)
            projection = project(events, as_of=self.now)
            if projection is not None:
                projections.append(projection)
        return keys, projections

    def project_folded(
        self, folded: Sequence[Folded], stored: Sequence[Sequence[StoredEvent]]
    ) -> Done | None:
        """In a checking process of a piped import: the rows of the agreements it lets go.
        Those the import registered are projected from the fold its checks made (the same
        state ``Facts.build`` would fold from their stored events); the others from their
        stored streams. ``None`` on a failure: the catch-up after the import redoes it, and
        reports it."""
        try:
            keys, projections = self._projections_of([_plain(stream) for stream in stored])
            for agreement in folded:
                keys.append(agreement.stream.key)
                projections.append(project_facts(self._facts_of(agreement)))
            return keys, store.prepare(self.connection.dialect, projections)
        except Exception:
            return None

    def _facts_of(self, agreement: Folded) -> Facts:
        history = agreement.stream.history
        recordings = {
            event_id: Recording(version, at, agreement.recorded_by, history.originals[event_id])
            for event_id, version, at in agreement.recorded
        }
        return Facts.folded(
            history,
            agreement.stream.state,
            recordings,
            as_of=self.now,
            version=agreement.stream.version,
        )

    def take(self, rows: Done | None, again: tuple[str, ...]) -> None:
        """In the writer of a piped import: write the rows a checking process made."""
        if not self.active:
            return
        if rows is None:
            self.active = False
            return
        self.stored.update(again)
        self._write([rows])

    def _from_pool(self, results: Callable[[Pool], Iterator[Done]]) -> None:
        """Write the rows ``results`` gives from the pool (a failure writing them fails
        the import)."""
        for done in self._surviving(results):
            self._write([done])

    def _surviving(self, results: Callable[[Pool], Iterator[Done]]) -> Iterator[Done]:
        """What ``results`` gives from the pool, started if need be. A pool that cannot
        start, or a worker that fails or stops, ends the projecting: the catch-up after
        the import redoes it."""
        try:
            if self.pool is None:
                self.pool = Pool(self.rows_of, self.workers)
            yield from results(self.pool)
        except (StorageError, OSError):
            self.active = False
            self.close()

    def _write(self, done: Iterable[Done]) -> None:
        for keys, rows in done:
            store.forget(self.connection, [key for key in keys if key in self.stored])
            store.write_prepared(self.connection, rows)
            self.stored.update(keys)


def _current_version(connection: Connection, position: int) -> bool:
    """Whether the read models are this projection's (an empty ledger's have no version yet:
    nothing was projected, so there is nothing of another version to replace)."""
    version = store.projection_version(connection)
    return version == PROJECTION_VERSION or (version is None and position == 0)


def _shares(streams: list[Stream], count: int) -> Iterable[tuple[int, list[Stream]]]:
    """The streams by worker: one agreement always to the same one, so that a later
    stream of it (let go again) is projected after the earlier."""
    shares: dict[int, list[Stream]] = {}
    for stream in streams:
        shares.setdefault(hash(stream[0]) % count, []).append(stream)
    return shares.items()
