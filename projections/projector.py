"""Keeps the read models current: exactly once, resumable, and rebuildable.

``catch_up`` locks the tracked position, reads the events recorded after it,
re-projects every agreement they touch (and every agreement whose answer has
changed by time alone), and writes the rows and the new position in the same
transaction. A crash before the commit leaves the previous rows and position
in place; the next call does the work again. Two processes catching up at
once queue on the lock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy import Connection

from agreement_ledger.ledger.application import Ledger
from agreement_ledger.ledger.collection import bulk_work
from agreement_ledger.ledger.domain import Agreement
from agreement_ledger.ledger.errors import StorageError, WriteConflict
from agreement_ledger.ledger.eventstore import reading, storage_faults
from agreement_ledger.ledger.workers import PARALLEL_FROM, started, worker_count
from agreement_ledger.projections import store
from agreement_ledger.projections.importing import ImportProjection
from agreement_ledger.projections.parallel import projected_rows, shares_by_key, shares_by_range
from agreement_ledger.projections.project import Projection, project
from agreement_ledger.projections.version import PROJECTION_VERSION

BATCH = 500
WRITE_BATCH = 200
ATTEMPTS = 8
REBUILD_BACKLOG = 32
"""Batches (``parallel.CHUNK`` agreements each, about a megabyte) a rebuild's worker may
project ahead of the writer: enough to keep projecting while the old rows are dropped."""
Progress = Callable[[int], None]


class _LostRace(Exception):
    """A catch-up lost a lock race to another process: worth another try."""


def writing() -> AbstractContextManager[None]:
    """Writing read models: a lost lock race is retried, any other fault is a ``StorageError``."""
    return storage_faults(
        "cannot update the read models",
        "the read models cannot be brought up to date",
        lost_race=_LostRace,
    )


class Projector:
    """The live projection of a ledger into its read-model tables."""

    def __init__(self, ledger: Ledger, workers: int | None = None) -> None:
        self.ledger = ledger
        self.workers = worker_count() if workers is None else workers
        """Processes that project a rebuild, or a catch-up of at least ``PARALLEL_FROM``
        events (1: all in this process)."""

    def catch_up(self, now: datetime | None = None) -> int:
        """Bring the read models up to date; returns how many agreements were re-projected.

        The whole catch-up is one transaction that first locks the tracked
        position, so concurrent catch-ups queue instead of doing the same work:
        the next one finds the position moved on and little left to do.
        """
        now = now or datetime.now(UTC)
        if self._up_to_date(now):
            return 0
        with bulk_work():
            return self._catch_up(now)

    def _catch_up(self, now: datetime) -> int:
        for attempt in range(ATTEMPTS):
            try:
                with writing(), self.ledger.engine.begin() as connection:
                    return self._catch_up_locked(connection, now)
            except _LostRace:  # a lock wait that timed out, or a deadlock
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise WriteConflict(
            "could not bring the read models up to date while other processes wrote; try again"
        )

    def _up_to_date(self, now: datetime) -> bool:
        """A read-only look first: most queries find nothing to do and write nothing."""
        with reading(), self.ledger.engine.connect() as connection:
            return store.up_to_date(connection, now)

    def _catch_up_locked(self, connection: Connection, now: datetime) -> int:
        start = store.lock_position(connection)
        store.check_not_ahead(start, store.head(connection))
        if store.projection_version(connection) != PROJECTION_VERSION:
            return self._rebuild_locked(connection, now)  # rows of another projection version
        touched, last = self.ledger.store.touched_since(start)
        keys = sorted(touched | set(store.stale(connection, now)))
        if last - start >= PARALLEL_FROM and self.workers > 1:
            store.forget(connection, keys)
            shares = shares_by_key(keys, self.workers)
            for batch in projected_rows(self.ledger.url, shares, now):
                store.write_prepared(connection, batch.rows)
        else:
            for first in range(0, len(keys), BATCH):
                store.write_many(connection, self._project(keys[first : first + BATCH], now))
        store.set_position(connection, last)
        return len(keys)

    def _project(self, keys: list[str], now: datetime) -> list[Projection]:
        """Project the given agreements, reading their streams in one query."""
        projections = []
        for events in self.ledger.store.streams(keys) if keys else ():
            projection = project(events, as_of=now)
            if projection is not None:
                projections.append(projection)
        return projections

    def attach(self) -> Projector:
        """Keep the ledger's read models current as it writes: an import is projected while
        it writes (``projections.importing``), and every write is followed by a catch-up."""
        self.ledger.before_write = self.check_log_intact
        self.ledger.import_observer = self.import_observer
        self.ledger.on_saved.append(self.catch_up)
        return self

    def import_observer(self, connection: Connection) -> ImportProjection | None:
        """The projection of an import about to write through ``connection``, if the read
        models are current (looked at first through another connection, so that damaged
        read models never fail the import: the catch-up after it reports them)."""
        seen = self._position_and_head()
        if seen is None or seen[0] != seen[1]:
            return None
        return ImportProjection.begin(
            connection, self.ledger.mapper, datetime.now(UTC), self.workers
        )

    def check_log_intact(self) -> None:
        """Raise ``StorageError`` if the read models have seen events the log no longer holds
        (see ``store.check_not_ahead``); read models that cannot be read say nothing here.

        Run before every write: an event written to such a log would take the id of one
        the read models have seen, and once the ids caught up with the tracked position the
        read models would look current again, with the missing events never noticed."""
        seen = self._position_and_head()
        if seen is not None:
            store.check_not_ahead(*seen)

    def _position_and_head(self) -> tuple[int, int] | None:
        """The tracked position and the newest event's, read through a connection of their
        own; ``None`` when the read models cannot be read (the catch-up reports that)."""
        try:
            with reading(), self.ledger.engine.connect() as connection:
                store.projection_version(connection)  # readable too: an import reads it
                return store.position(connection), store.head(connection)
        except StorageError:
            return None

    def keys_after(self, position: int) -> set[str]:
        """The agreements with events recorded after ``position`` (read only)."""
        with reading():
            return self.ledger.store.touched_since(position)[0]

    def stream(self, key: str) -> list[Agreement.Event]:
        """One agreement's events (empty if unknown), read like every other stream."""
        return next(self.ledger.store.streams([key]), [])

    @bulk_work()
    def rebuild(self, progress: Progress | None = None, now: datetime | None = None) -> int:
        """Drop every read-model row and project every agreement again, in one transaction.

        The log is read once, in stream order, and rows are written in batches:
        memory holds one batch of agreements, not the ledger.
        """
        now = now or datetime.now(UTC)
        with writing(), self.ledger.engine.begin() as connection:
            store.ensure_tables(connection)
            store.lock_position(connection)
            return self._rebuild_locked(connection, now, progress)

    def _rebuild_locked(
        self, connection: Connection, now: datetime, progress: Progress | None = None
    ) -> int:
        head = self.ledger.recorder.max_notification_id() or 0
        if head >= PARALLEL_FROM and self.workers > 1:
            return self._rebuild_in_parallel(connection, head, now, progress)
        self._clear(connection, head)
        count = 0
        batch: list[Projection] = []
        for projection in self.projections(now, progress):
            batch.append(projection)
            count += 1
            if len(batch) >= WRITE_BATCH:
                store.write_many(connection, batch, replace=False)
                batch = []
        store.write_many(connection, batch, replace=False)
        return count

    def _clear(self, connection: Connection, head: int) -> None:
        """Drop every read-model row; what will be written is the projection of ``head``."""
        store.clear(connection)
        store.set_position(connection, head)
        store.set_projection_version(connection, PROJECTION_VERSION)

    def _rebuild_in_parallel(
        self, connection: Connection, head: int, now: datetime, progress: Progress | None
    ) -> int:
        """Every agreement projected by one worker per core, each over its own range of
        streams; this process writes what they send. The workers start first: they read
        only the log, and project while this process drops the old rows (on a large
        ledger, seconds), as far as ``REBUILD_BACKLOG`` batches each."""
        rows = projected_rows(
            self.ledger.url, shares_by_range(self.workers), now, backlog=REBUILD_BACKLOG
        )
        try:
            batches = started(rows)
            self._clear(connection, head)
            count = 0
            for batch in batches:
                store.write_prepared(connection, batch.rows)
                count += batch.keys
                if progress is not None:
                    progress(batch.events)
            return count
        finally:
            rows.close()  # the workers stop, whatever happened

    def projections(self, now: datetime, progress: Progress | None = None) -> Iterator[Projection]:
        """Project each agreement afresh from the event log (rebuild and audit)."""
        for events in self.ledger.store.streams():
            projection = project(events, as_of=now)
            if progress is not None:
                progress(len(events))
            if projection is not None:
                yield projection
