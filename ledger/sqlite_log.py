"""The event log of a SQLite ledger, read and appended through the standard library.

For the lean append (``projections.lean_append``): one agreement's stream read and
rebuilt as the library's repository rebuilds it, and one stored event inserted, on
a ``sqlite3`` connection whose transaction the caller holds. The rows are the ones
the event store reads and writes through SQLAlchemy: decoded and encoded by the one
codec (``ledger.codec``); the statements are SQLAlchemy's own for the table, which a
test keeps in step.
"""

from __future__ import annotations

import sqlite3

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import StoredEvent

from agreement_ledger.ledger.codec import LedgerMapper, id_bytes
from agreement_ledger.ledger.domain import Agreement, agreement_id

STREAM = (
    "SELECT ledger_events.originator_version, ledger_events.topic, ledger_events.state \n"
    "FROM ledger_events \n"
    "WHERE ledger_events.originator_id = ? ORDER BY ledger_events.originator_version"
)
INSERT_EVENT = (
    "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
    "VALUES (?, ?, ?, ?)"
)


class UnexpectedStream(Exception):
    """A stored stream this path does not read: the full path says what is wrong with it."""


def stream_of(
    connection: sqlite3.Connection, mapper: LedgerMapper, key: str
) -> list[Agreement.Event]:
    """The stored events of the agreement ``key`` (none if it is not registered)."""
    stream_id = agreement_id(key)
    return [
        mapper.event_of(stream_id, version, topic, bytes(state))
        for version, topic, state in connection.execute(STREAM, (stream_id.bytes,))
    ]


def rebuilt(events: list[Agreement.Event], key: str) -> Agreement:
    """The aggregate as the library's repository reconstructs it (its own projector
    function: a gap in the versions or a damaged event raises)."""
    aggregate = project_aggregate(None, events)
    if not isinstance(aggregate, Agreement) or aggregate.key != key:
        raise UnexpectedStream("not this agreement's stream")
    return aggregate


def insert(connection: sqlite3.Connection, stored: StoredEvent) -> int:
    """Insert one stored event; its position in the log (its notification id)."""
    written = connection.execute(
        INSERT_EVENT,
        (id_bytes(stored.originator_id), stored.originator_version, stored.topic, stored.state),
    )
    if written.lastrowid is None:
        raise sqlite3.DatabaseError("the database gave no id for the stored event")
    return written.lastrowid
