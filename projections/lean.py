"""The read models of a SQLite ledger read through the standard library alone.

A query command spends most of its time loading SQLAlchemy, the event store and
the command-line parser, not answering. When the read models are current (the
projection version is this code's, every stored event is projected, and no
answer has changed by time alone), this module answers from them with
``sqlite3`` and ``json``. Whenever it cannot be sure, it says ``None`` and the
caller takes the full path, which catches up first. What is copied here of the
full path is its "is anything to do?" test (``store.up_to_date``), which a test
keeps in step; the one catch-up made without SQLAlchemy, of the agreement a lean
append has just written, is ``lean_append``'s, and only when this test passed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agreement_ledger.migrations import HEAD
from agreement_ledger.projections.version import PROJECTION_VERSION, TRACKING_NAME, VERSION_NAME

SQLITE_PREFIX = "sqlite:///"


def sqlite_instant(value: datetime | None) -> str | None:
    """A date-time as SQLAlchemy's SQLite ``DATETIME`` stores it (its fields, zone left out):
    ``read_agreements.changes_at``, which ``current`` compares with now."""
    if value is None:
        return None
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def sqlite_file(db: str) -> Path | None:
    """The existing SQLite file that ``db`` (a ``--db`` value) names, if it plainly names one.

    Anything the full path would interpret (a query string, an escape, another
    kind of database, a file not yet created) is ``None``.
    """
    if not db.isprintable() or "%" in db or "?" in db:
        return None
    if db.startswith(SQLITE_PREFIX):
        name = db[len(SQLITE_PREFIX) :]
        if not name or name.startswith(":memory:") or name.startswith("file:"):
            return None
        path = Path(name)
    elif "://" in db:
        return None
    else:
        path = Path(db)
    try:
        found = path.expanduser().resolve()
        return found if found.is_file() else None
    except (OSError, RuntimeError, ValueError):  # no such user (~x), a loop, no permission
        return None  # the full path says what it says of such a file


@contextmanager
def current_read_models(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to ``path`` if its read models are current, else ``None``.

    The connection is opened read-write with ``query_only`` set, where the file allows
    it: SQLite then removes the write-ahead log's ``-wal`` and ``-shm`` files when this
    last connection closes, as every other command leaves the folder; a ``mode=ro``
    connection cannot, and would leave them behind. A file that cannot be opened for
    writing is read with ``mode=ro``.
    """
    connection = _reader(path)
    if connection is None:
        yield None
        return
    with closing(connection):
        try:
            connection.execute("BEGIN")  # one snapshot for the check and the answer
            fresh = current(connection, datetime.now(UTC))
        except (sqlite3.Error, ValueError, TypeError):
            fresh = False
        yield connection if fresh else None


def _reader(path: Path) -> sqlite3.Connection | None:
    for mode in ("rw", "ro"):
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True)
        except (sqlite3.Error, ValueError, OSError):
            continue
        try:
            connection.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            connection.close()
            continue
        return connection
    return None


def current(connection: sqlite3.Connection, now: datetime) -> bool:
    """``store.up_to_date``, with the schema check ``ensure_schema`` makes first (a
    position past the log is damage, which the full path reports)."""
    schema = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    if schema != [(HEAD,)]:
        return False
    tracked = dict(
        connection.execute(
            "SELECT name, position FROM read_tracking WHERE name IN (?, ?)",
            (TRACKING_NAME, VERSION_NAME),
        ).fetchall()
    )
    (newest,) = connection.execute("SELECT coalesce(max(id), 0) FROM ledger_events").fetchone()
    position = tracked.get(TRACKING_NAME, -1)
    if tracked.get(VERSION_NAME) != PROJECTION_VERSION or position != newest:
        return False
    changed = connection.execute(
        "SELECT 1 FROM read_agreements WHERE changes_at IS NOT NULL AND changes_at <= ? LIMIT 1",
        (sqlite_instant(now),),
    ).fetchone()
    return changed is None


def show(connection: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    """``store.show``: the stored answer of ``show KEY``."""
    found = connection.execute(
        "SELECT show FROM read_agreements WHERE agreement = ?", (key,)
    ).fetchone()
    if found is None:
        return None
    state = _object(found[0])
    return state if well_formed_show(state) else None  # damaged: the full path says so


def listing(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """``store.listing``: every agreement, by key."""
    rows = connection.execute(
        "SELECT agreement, title, kind, status, party_count, flag_count "
        "FROM read_agreements ORDER BY agreement"
    )
    return [
        {
            "agreement": agreement,
            "title": title,
            "kind": kind,
            "status": status,
            "parties": party_count,
            "flags": flag_count,
        }
        for agreement, title, kind, status, party_count, flag_count in rows
    ]


FLAG_COLUMNS = "agreement, code, severity, certainty, party, message, events"
ALL_FLAGS = f"SELECT {FLAG_COLUMNS} FROM read_flags ORDER BY agreement, position"
FLAGS_OF = f"SELECT {FLAG_COLUMNS} FROM read_flags WHERE agreement = ? ORDER BY position"


def flag_rows(connection: sqlite3.Connection, key: str | None) -> list[dict[str, Any]]:
    """``store.flag_rows`` without filters but the agreement."""
    rows = connection.execute(ALL_FLAGS) if key is None else connection.execute(FLAGS_OF, (key,))
    return [
        {
            "agreement": agreement,
            "code": code,
            "severity": severity,
            "certainty": certainty,
            "party": party,
            "message": message,
            "events": json.loads(events),
        }
        for agreement, code, severity, certainty, party, message, events in rows
    ]


SHOW_TEXT_KEYS = ("agreement", "title", "status")
SHOW_LIST_KEYS = ("parties", "flags")


def well_formed_show(state: Any) -> bool:
    """Whether a stored ``show`` answer has the shape every reader of it relies on (a
    damaged read model is a storage error, not a crash in whoever prints it)."""
    return (
        isinstance(state, dict)
        and all(isinstance(state.get(key), str) for key in SHOW_TEXT_KEYS)
        and all(
            isinstance(state.get(key), list) and all(isinstance(item, dict) for item in state[key])
            for key in SHOW_LIST_KEYS
        )
        and isinstance(state.get("version"), int)
        and all(key in state for key in ("kind", "binding", "entered_into_force", "expires"))
        and (state.get("termination") is None or isinstance(state["termination"], dict))
    )


def _object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stored answer is not an object")
    return value
