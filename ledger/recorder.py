"""The event store's recorder: the library's, with inserts batched.

``eventsourcing-sqlalchemy`` adds one ORM object per event and flushes them;
this recorder sends a batch as one multi-row INSERT … RETURNING through
SQLAlchemy Core instead. The table lock (PostgreSQL), the notification ids and
the NOTIFY are the library's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import insert
from sqlalchemy.orm import Session

from agreement_ledger.ledger.domain import event_class_of


class BatchingRecorder(SQLAlchemyApplicationRecorder):
    """Application recorder whose inserts are one statement per batch."""

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        table = self.events_record_cls.__table__
        self._lock_table(session)
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        rows = [
            {
                "originator_id": e.originator_id,
                "originator_version": e.originator_version,
                "topic": e.topic,
                "state": e.state,
            }
            for e in stored_events
        ]
        ids = list(session.execute(statement, rows).scalars())
        self._notify_channel(session)
        return ids


class LedgerMapper(Mapper[Any]):
    """The library's mapper, refusing any stored topic that is not an agreement event.

    The library resolves a topic by importing the module it names; a tampered
    topic (``this:s``) would run that module's code. Only the ledger's own
    event classes are ever resolved here.
    """

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if event_class_of(stored_event.topic) is None:
            raise MapperDeserialisationError(
                f"stored topic {stored_event.topic!r} is not an agreement event"
            )
        return super().to_domain_event(stored_event)
