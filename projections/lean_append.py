"""One event appended to a SQLite ledger, and projected, through the standard library.

``ledger append`` as a process spent most of its time importing SQLAlchemy, the
event store's library and the command-line parser, not appending (issue 14).
When the read models are current, this writes the event and brings its
agreement's read models up to date in one SQLite transaction, with ``sqlite3``:

- the same checks and the same stored bytes as every other write: the stream is
  folded by the library's own aggregate reconstruction (``Agreement`` from its
  decoded events), the next event is checked and prepared by its
  ``AgreementStream`` and encoded by ``ledger.codec``, as the bulk writer does;
- the projection from memory: the agreement's events, the new one decoded from
  its stored row as a catch-up would read it, go through ``project``, and the
  rows through ``rows.prepare``; the tracked position moves to the new event,
  so the catch-up has nothing left to do, exactly once.

``BEGIN IMMEDIATE`` takes SQLite's write lock before the stream is read, so no
other writer can come between the check and the write. Whenever this cannot be
sure — read models behind or of another version, an agreement stored in a way
it does not expect, an event the rules refuse, a repeat to skip, a lock held
too long, any database error — it rolls back, answers ``None``, and the full
command does everything and says what it has to say. The statements below are
SQLAlchemy's own for these tables, which a test keeps in step.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from agreement_ledger.ledger.codec import id_bytes, ledger_mapper, stored_event
from agreement_ledger.ledger.domain import Agreement, AgreementStream, agreement_id
from agreement_ledger.ledger.vocabulary import read_envelope
from agreement_ledger.projections import lean, rows
from agreement_ledger.projections.project import project
from agreement_ledger.projections.version import TRACKING_NAME

BUSY_SECONDS = 5.0
"""How long to wait for another writer's lock before handing over to the full path
(which waits longer and retries)."""

STREAM = (
    "SELECT originator_version, topic, state FROM ledger_events "
    "WHERE originator_id = ? ORDER BY originator_version"
)
INSERT_EVENT = (
    "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
    "VALUES (?, ?, ?, ?)"
)
POSITION = "SELECT position FROM read_tracking WHERE name = ?"
HEAD = "SELECT coalesce(max(id), 0) FROM ledger_events"
SET_POSITION = "UPDATE read_tracking SET position=? WHERE read_tracking.name = ?"
FORGET = {
    rows.AGREEMENTS: "DELETE FROM read_agreements WHERE read_agreements.agreement IN (?)",
    rows.PARTIES: "DELETE FROM read_parties WHERE read_parties.agreement IN (?)",
    rows.FLAGS: "DELETE FROM read_flags WHERE read_flags.agreement IN (?)",
    rows.TIMELINE: "DELETE FROM read_timeline WHERE read_timeline.agreement IN (?)",
}
INSERT_ROWS = {
    rows.AGREEMENTS: (
        "INSERT INTO read_agreements (agreement, title, kind, status, party_count, "
        "flag_count, version, show, changes_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    rows.PARTIES: (
        "INSERT INTO read_parties (agreement, code, name, status, signed, consented, "
        "in_force, withdrawn, instrument, succeeded_from, provisional, ended, entry) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    rows.FLAGS: (
        "INSERT INTO read_flags (agreement, position, code, severity, certainty, party, "
        "message, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    rows.TIMELINE: (
        "INSERT INTO read_timeline (agreement, position, event_id, type, occurred, entry) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
}


class HandOver(Exception):
    """This path cannot be sure: roll back, and let the full command do it."""


def append(
    path: Path, raw: dict[str, Any], recorded_by: str, now: datetime | None = None
) -> str | None:
    """Append ``raw`` (an event as ``ledger append`` builds it) to the SQLite ledger at
    ``path`` and project it; the id it was appended with, or ``None`` with nothing
    written."""
    now = now or datetime.now(UTC)
    connection = _writer(path)
    if connection is None:
        return None
    with closing(connection):
        try:
            connection.execute("BEGIN IMMEDIATE")
            event_id = _append_locked(connection, raw, recorded_by, now)
            connection.execute("COMMIT")
        except Exception:  # nothing is stored: the full path does it all and words any error
            with suppress(sqlite3.Error):  # closing the connection rolls back all the same
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            return None
    return event_id


def _writer(path: Path) -> sqlite3.Connection | None:
    try:
        return sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw",
            uri=True,
            timeout=BUSY_SECONDS,
            isolation_level=None,  # transactions as written here, not as the module guesses
        )
    except (sqlite3.Error, ValueError, OSError):
        return None


def _append_locked(
    connection: sqlite3.Connection, raw: dict[str, Any], recorded_by: str, now: datetime
) -> str:
    if not lean.current(connection, now) or _position(connection) != _head(connection):
        raise HandOver("the read models are behind (or, damaged, ahead of the log)")
    envelope = read_envelope(raw, ignore_ledger_keys=False)
    key = envelope.agreement
    mapper = ledger_mapper()
    events = _events(connection, mapper, key)
    stream = _agreement(events, key).stream if events else AgreementStream(key)
    prepared = stream.next_event(envelope, recorded_by=recorded_by, now=now)
    if prepared is None:
        raise HandOver("a repeat, to be reported as skipped")
    stored = stored_event(mapper.transcoder, prepared, now)
    written = connection.execute(
        INSERT_EVENT,
        (id_bytes(stored.originator_id), stored.originator_version, stored.topic, stored.state),
    )
    events.append(_decoded(mapper, stored))
    projection = project(events, as_of=now)
    if projection is None or written.lastrowid is None:
        raise HandOver("nothing to project")
    for statement in FORGET.values():
        connection.execute(statement, (key,))
    for table, ready in rows.prepare([projection], rows.sqlite_ready).items():
        connection.executemany(INSERT_ROWS[table], ready)
    connection.execute(SET_POSITION, (written.lastrowid, TRACKING_NAME))
    return prepared.event_id


def _position(connection: sqlite3.Connection) -> int:
    (found,) = connection.execute(POSITION, (TRACKING_NAME,)).fetchone()
    return int(found)


def _head(connection: sqlite3.Connection) -> int:
    (found,) = connection.execute(HEAD).fetchone()
    return int(found)


def _events(connection: sqlite3.Connection, mapper: Any, key: str) -> list[Agreement.Event]:
    stream_id = agreement_id(key)
    return [
        _decoded(mapper, StoredEvent(stream_id, version, topic, bytes(state)))
        for version, topic, state in connection.execute(STREAM, (stream_id.bytes,))
    ]


def _decoded(mapper: Any, stored: StoredEvent) -> Agreement.Event:
    event = mapper.to_domain_event(stored)
    if not isinstance(event, Agreement.Event):
        raise HandOver("not an agreement event")
    return event


def _agreement(events: list[Agreement.Event], key: str) -> Agreement:
    """The aggregate as the library's repository reconstructs it (each event mutating
    the last state; a gap or a damaged event raises, and the full path says what)."""
    aggregate: Any = None
    try:
        for event in events:
            aggregate = event.mutate(aggregate)
    except Exception as error:  # the library's version check, or damage: not ours to word
        raise HandOver("the stored stream is not as expected") from error
    if not isinstance(aggregate, Agreement) or aggregate.key != key:
        raise HandOver("not this agreement's stream")
    return aggregate
