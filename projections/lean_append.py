"""One event appended to a SQLite ledger, and projected, through the standard library.

``ledger append`` as a process spent most of its time importing SQLAlchemy, the
event store's library and the command-line parser, not appending (issue 14).
When the read models are current, this writes the event and brings its
agreement's read models up to date in one SQLite transaction, with ``sqlite3``:

- the same checks and the same stored bytes as every other write: the stream is
  read and rebuilt by ``ledger.sqlite_log`` (the library's own aggregate
  reconstruction from events decoded by the one codec), the next event is checked
  and prepared by its ``AgreementStream`` and encoded by ``ledger.codec``, as the
  bulk writer does;
- the projection from memory: the agreement's events, the new one decoded from
  its stored row as a catch-up would read it, go through ``project``, and the
  rows through ``rows.prepare``; the tracked position moves to the new event,
  so the catch-up has nothing left to do, exactly once.

``BEGIN IMMEDIATE`` takes SQLite's write lock before the stream is read, so no
other writer can come between the check and the write. Whenever this cannot be
sure — read models behind or of another version, an agreement stored in a way
it does not expect, an event the rules refuse, a repeat to skip, a lock held
too long, any error at all — it rolls back, answers ``None``, and the full
command does everything and says what it has to say. The statements below are
SQLAlchemy's own for these tables, which a test keeps in step.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agreement_ledger.ledger import sqlite_log
from agreement_ledger.ledger.codec import ledger_mapper, stored_event
from agreement_ledger.ledger.domain import AgreementStream
from agreement_ledger.ledger.vocabulary import read_envelope
from agreement_ledger.projections import lean, rows
from agreement_ledger.projections.project import project
from agreement_ledger.projections.version import TRACKING_NAME

BUSY_SECONDS = 5.0
"""How long to wait for another writer's lock before handing over to the full path
(which waits longer and retries)."""

SET_POSITION = "UPDATE read_tracking SET position=? WHERE read_tracking.name = ?"
FORGET = {
    rows.AGREEMENTS: "DELETE FROM read_agreements WHERE read_agreements.agreement IN (?)",
    rows.PARTIES: "DELETE FROM read_parties WHERE read_parties.agreement IN (?)",
    rows.FLAGS: "DELETE FROM read_flags WHERE read_flags.agreement IN (?)",
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
    if not lean.current(connection, now):
        raise HandOver("the read models are behind (or, damaged, ahead of the log)")
    envelope = read_envelope(raw, ignore_ledger_keys=False)
    key = envelope.agreement
    mapper = ledger_mapper()
    events = sqlite_log.stream_of(connection, mapper, key)
    stream = sqlite_log.rebuilt(events, key).stream if events else AgreementStream(key)
    prepared = stream.next_event(envelope, recorded_by=recorded_by, now=now)
    if prepared is None:
        raise HandOver("a repeat, to be reported as skipped")
    stored = stored_event(mapper.transcoder, prepared, now)
    seq = sqlite_log.insert(connection, stored)
    events.append(mapper.to_domain_event(stored))  # as a catch-up would read it
    projection = project(events, as_of=now)
    if projection is None:
        raise HandOver("nothing to project")
    for statement in FORGET.values():
        connection.execute(statement, (key,))
    for table, ready in rows.prepare([projection], rows.sqlite_ready).items():
        connection.executemany(INSERT_ROWS[table], ready)
    connection.execute(SET_POSITION, (seq, TRACKING_NAME))
    return prepared.event_id
