"""Keeps the read models current: exactly once, resumable, and rebuildable.

``catch_up`` reads the events recorded after the tracked position, re-projects
every agreement they touch (and every agreement whose answer has changed by
time alone), and writes the rows and the new position in one transaction. A
crash before the commit leaves the previous rows and position in place; the
next call does the work again. Two processes catching up at once are
serialised by a compare-and-set on the position: the loser redoes its work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Connection

from ledger.application import Ledger
from ledger.domain import Agreement, agreement_id
from projections import store
from projections.project import Projection, project

BATCH = 500
ATTEMPTS = 8
Progress = Callable[[int], None]


class Projector:
    """The live projection of a ledger into its read-model tables."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def catch_up(self, now: datetime | None = None) -> int:
        """Bring the read models up to date; returns how many agreements were re-projected."""
        now = now or datetime.now(UTC)
        done = 0
        for _attempt in range(ATTEMPTS):
            try:
                done += self._catch_up_once(now)
                return done
            except store.PositionMoved:
                continue
        return done

    def _catch_up_once(self, now: datetime) -> int:
        done = 0
        with self.ledger.engine.connect() as connection:
            start = store.position(connection)
        while True:
            notifications = self.ledger.recorder.select_notifications(start=start + 1, limit=BATCH)
            if not notifications:
                break
            keys = list(dict.fromkeys(self._key_of(n) for n in notifications))
            end = notifications[-1].id
            self._commit(self._project(keys, now), start, end)
            done += len(keys)
            start = end
        with self.ledger.engine.connect() as connection:
            expired = store.stale(connection, now)
        if expired:
            self._commit(self._project(expired, now), start, start)
            done += len(expired)
        return done

    def _key_of(self, notification: object) -> str:
        event = self.ledger.mapper.to_domain_event(notification)  # type: ignore[arg-type]
        assert isinstance(event, Agreement.Event)
        return event.agreement

    def _project(self, keys: list[str], now: datetime) -> list[Projection]:
        projections = []
        for key in keys:
            projection = project(self.stream(key), as_of=now)
            if projection is not None:
                projections.append(projection)
        return projections

    def stream(self, key: str) -> list[Agreement.Event]:
        events = self.ledger.events.get(agreement_id(key))
        return [e for e in events if isinstance(e, Agreement.Event)]

    def _commit(self, projections: list[Projection], old: int, new: int) -> None:
        with self.ledger.engine.begin() as connection:
            self.write(connection, projections, old, new)

    def write(
        self, connection: Connection, projections: list[Projection], old: int, new: int
    ) -> None:
        """Write rows and move the position in the caller's transaction."""
        for projection in projections:
            store.write(connection, projection)
        store.advance(connection, old, new)

    def rebuild(self, progress: Progress | None = None, now: datetime | None = None) -> int:
        """Drop every read-model row and project every agreement again, in one transaction."""
        now = now or datetime.now(UTC)
        head = self.ledger.recorder.max_notification_id() or 0
        keys = self.ledger.agreement_keys()
        with self.ledger.engine.begin() as connection:
            old = store.position(connection)
            store.clear(connection)
            for projection in self.projections(keys, now, progress):
                store.write(connection, projection)
            store.advance(connection, old, head)
        return len(keys)

    def projections(
        self, keys: list[str], now: datetime, progress: Progress | None = None
    ) -> Iterator[Projection]:
        """Project each agreement afresh from the event log (rebuild and audit)."""
        for key in keys:
            events = self.stream(key)
            projection = project(events, as_of=now)
            if progress is not None:
                progress(len(events))
            if projection is not None:
                yield projection
