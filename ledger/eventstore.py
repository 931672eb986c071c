"""The event store adapter: how the ledger's events live in the database.

Everything that knows the library's persistence and the event table is here:
the recorder (the library's, with batched inserts), SQLite's write-ahead log, and
the one decoder of stored rows (through ``ledger.codec``'s mapper, which resolves
only the ledger's own topics) that history, export, verification, catch-up, rebuild
and replay all read through. Whatever the damage to a row, reading it is one
``StorageError`` line, never a traceback, and never an import of a module that
a stored topic names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from agreement_ledger.ledger.uuidtype import load_uuid_type

load_uuid_type()  # before the library's table models import it (see that module)

# isort: split
from eventsourcing.persistence import (
    MapperDeserialisationError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import Engine, LargeBinary, func, insert, select, type_coerce
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from agreement_ledger.ledger import codec
from agreement_ledger.ledger.codec import LedgerMapper, hash_of, id_bytes
from agreement_ledger.ledger.domain import Agreement, PreparedEvent, agreement_id
from agreement_ledger.ledger.errors import StorageError, UnknownAgreement
from agreement_ledger.ledger.storage import copy_rows, retryable, storage_error
from agreement_ledger.ledger.verification import StoredRow, iterate, stream_label

STORED_COLUMNS = ("originator_id", "originator_version", "topic", "state")
IDS_PER_QUERY = 500
"""Values named in one ``IN`` list (databases limit the parameters of a statement)."""


class BatchingRecorder(SQLAlchemyApplicationRecorder):
    """The library's application recorder, writing a batch through the database's own
    bulk path.

    ``eventsourcing-sqlalchemy`` adds one ORM object per event and flushes them
    (SQLAlchemy then sends one ``INSERT`` per row to get its id back). Here the
    rows go in one DB-API ``executemany`` on SQLite and one ``COPY`` on PostgreSQL,
    in the library's transaction, after its table lock and before its NOTIFY. The
    bytes stored are the ones the library's mapper made.

    The notification ids are read back as the newest ``len(batch)`` ids: under the
    write lock (SQLite's, or the library's ``LOCK TABLE … IN EXCLUSIVE MODE``) no
    other writer can insert between our rows, so they are consecutive.
    """

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        table = self.events_record_cls.__table__
        self._lock_table(session)
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            copy_rows(
                connection,
                table.name,
                STORED_COLUMNS,
                ((e.originator_id, e.originator_version, e.topic, e.state) for e in stored_events),
                types=("uuid", "int8", "text", "bytea"),
            )
        else:
            statement = insert(table).compile(
                dialect=connection.dialect, column_keys=list(STORED_COLUMNS)
            )
            rows = [
                (id_bytes(e.originator_id), e.originator_version, e.topic, e.state)
                for e in stored_events
            ]
            connection.exec_driver_sql(str(statement), rows)
        newest = connection.execute(select(func.max(table.c.id))).scalar_one()
        self._notify_channel(session)
        return list(range(newest - len(stored_events) + 1, newest + 1))


@dataclass(frozen=True)
class StoredRecord:
    """A stored event with the ledger's own fields, as ``history`` and ``export`` show it."""

    seq: int
    record: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {**self.record, "seq": self.seq}


UNREADABLE = (
    MapperDeserialisationError,
    AttributeError,
    TypeError,
    KeyError,
    ValueError,
    OverflowError,
)


@contextmanager
def storage_faults(
    doing: str, damage: str, *, lost_race: type[Exception] | None = None
) -> Iterator[None]:
    """Database work whose every failure is one ``StorageError`` line.

    A database error says ``doing`` and the database's reason; an unreadable
    value says ``damage``; with ``lost_race``, a lock or serialisation failure
    raises that instead, for the caller to retry.
    """
    try:
        yield
    except StorageError:
        raise
    except (PersistenceError, SQLAlchemyError) as exc:
        if lost_race is not None and retryable(exc):
            raise lost_race from exc
        raise storage_error(doing, exc) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise StorageError(f"{damage} ({type(exc).__name__}: {exc}); {ADVICE}") from None


ADVICE = "run `ledger verify` to see what is damaged"


def reading() -> AbstractContextManager[None]:
    """Reading stored rows: a database failure or an unreadable value is a ``StorageError``."""
    return storage_faults("cannot read from the database", "a stored event cannot be read")


def unreadable(where: str, version: int, error: BaseException) -> StorageError:
    return StorageError(
        f"{where} (version {version}) cannot be read ({type(error).__name__}); "
        "run `ledger verify` to see what is damaged"
    )


def damaged(key: str, error: BaseException) -> StorageError:
    return StorageError(
        f"the stored events of {key!r} are damaged ({type(error).__name__}); "
        "run `ledger verify` to see where"
    )


def _driver_rows(cursor: Any, batch_size: int, dialect: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a driver's cursor, as the driver gives them; its errors as SQLAlchemy's
    would be reported (``storage_faults``)."""
    while True:
        try:
            batch = cursor.fetchmany(batch_size)
        except dialect.loaded_dbapi.Error as exc:
            raise storage_error("cannot read from the database", exc) from None
        if not batch:
            return
        yield from batch


class EventStore:
    """The stored events of a ledger: set-up, reading and decoding rows.

    Built on the library application's recorder and mapper, so that reads made
    inside a write transaction see that transaction's own rows.
    """

    def __init__(self, recorder: BatchingRecorder, mapper: LedgerMapper) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.decode_state = mapper.transcoder.decode

    @property
    def engine(self) -> Engine:
        engine = self.recorder.datastore.engine
        assert isinstance(engine, Engine)
        return engine

    def use_write_ahead_log(self) -> None:
        """Switch SQLite to WAL now, before any transaction of ours holds a lock.

        The library would do it lazily inside the first transaction, which can
        then wait on a lock this process itself holds.
        """
        try:
            self.recorder.datastore.init_sqlite_wal_mode()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database: {exc}") from None

    # -- encoding and decoding --------------------------------------------

    def stored_event(self, prepared: PreparedEvent, now: datetime) -> StoredEvent:
        """A prepared event as the library's mapper would store the event object, without
        making it: the event's attributes in their order (``timestamp``, for a
        registration ``originator_topic``, then the ledger's fields) through the
        transcoder."""
        return codec.stored_event(self.mapper.transcoder, prepared, now)

    def decode(self, row: Any, where: str) -> Agreement.Event:
        """Decode one stored row or notification (the one decoder of stored events)."""
        return self._decode(
            row.originator_id, row.originator_version, row.topic, row.state, lambda: where
        )

    def _decode(
        self, originator_id: UUID, version: int, topic: str, state: bytes, where: Callable[[], str]
    ) -> Agreement.Event:
        """``where`` names the event, asked only when it cannot be read (a label costs)."""
        try:
            return self.mapper.event_of(originator_id, version, topic, bytes(state))
        except UNREADABLE as exc:
            raise unreadable(where(), version, exc) from None

    def record(self, row: Any) -> StoredRecord:
        """A stored row as the export record ``history`` and ``export`` show."""
        where = f"stored event {row.id}"
        event = self.decode(row, where)
        try:
            record = event.record()
        except UNREADABLE as exc:
            raise unreadable(where, row.originator_version, exc) from None
        return StoredRecord(seq=row.id, record=record)

    # -- reading -----------------------------------------------------------

    def stream(self, key: str) -> list[StoredRecord]:
        """Every stored event of one agreement, in version order, with its ``seq``.

        Read as stored, without rebuilding the agreement: an auditor can list the
        history of a stream with a gap or an edited event that ``verify`` reports.
        """
        rows = self.recorder.events_record_cls
        with reading(), self.recorder.transaction(commit=False) as session:
            found = session.scalars(
                select(rows)
                .where(rows.originator_id == agreement_id(key))
                .order_by(rows.originator_version)
            ).all()
            records = [self.record(row) for row in found]
        if not records:
            raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
        return records

    def streams(
        self,
        keys: Iterable[str] | None = None,
        id_range: tuple[UUID | None, UUID | None] | None = None,
    ) -> Iterator[list[Agreement.Event]]:
        """Agreements' events, one stream at a time, from one ordered scan of the log.

        All agreements, those with ``keys`` (which must exist), or those whose stream
        id lies in ``id_range`` (from, inclusive, to, exclusive; ``None``: unbounded).
        """
        current: list[Agreement.Event] = []
        for row in self.rows(keys=keys, id_range=id_range):
            if not isinstance(row.originator_id, UUID):
                raise unreadable(
                    f"an event of stream {stream_label(row.originator_id)}",
                    row.version,
                    ValueError("stream id is not a UUID"),
                )
            event = self._decode(
                row.originator_id,
                row.version,
                row.topic,
                row.state,
                lambda: f"an event of stream {stream_label(row.originator_id)}",  # noqa: B023
            )
            if current and event.originator_id != current[0].originator_id:
                yield current
                current = []
            current.append(event)
        if current:
            yield current

    def rows(
        self,
        key: str | None = None,
        batch_size: int = 1000,
        keys: Iterable[str] | None = None,
        id_range: tuple[UUID | None, UUID | None] | None = None,
    ) -> Iterator[StoredRow]:
        """Raw event rows ordered by stream and version, streamed (for verification)."""
        rows = self.recorder.events_record_cls
        stream_id = rows.originator_id
        if self.engine.dialect.name == "sqlite":
            # Read the id's bytes as stored: a damaged id is a finding, not a crash.
            stream_id = type_coerce(rows.originator_id, LargeBinary).label("originator_id")
        query = select(stream_id, rows.originator_version, rows.topic, rows.state)
        if key is not None:
            query = query.where(rows.originator_id == agreement_id(key))
        if keys is not None:
            query = query.where(rows.originator_id.in_([agreement_id(k) for k in keys]))
        if id_range is not None:
            low, high = id_range
            if low is not None:
                query = query.where(rows.originator_id >= low)
            if high is not None:
                query = query.where(rows.originator_id < high)
        query = query.order_by(rows.originator_id, rows.originator_version)
        with reading(), self.engine.connect() as connection:
            if self.engine.dialect.name != "sqlite":  # PostgreSQL: a server-side cursor
                yield from iterate(
                    connection.execution_options(yield_per=batch_size).execute(query)
                )
                return
            # SQLite's driver reads rows as they are asked for: take them from it as it
            # gives them (a SQLAlchemy row for each event cost half as much as decoding it).
            result = connection.execute(query)  # kept: it owns the cursor
            yield from iterate(_driver_rows(result.cursor, batch_size, self.engine.dialect))

    def records(self, batch_size: int = 1000) -> Iterator[StoredRecord]:
        """Every stored event in recording order (``seq``), read in batches."""
        start = 1
        while True:
            with reading():
                notifications = self.recorder.select_notifications(start=start, limit=batch_size)
            if not notifications:
                return
            for notification in notifications:
                yield self.record(notification)
            start = notifications[-1].id + 1

    def event_hashes(self, batch_size: int = 5000) -> Iterator[str]:
        """Every event's hash in recording order (``seq``): the leaves of the Merkle tree."""
        rows = self.recorder.events_record_cls
        query = select(rows.state).order_by(rows.id)
        with reading(), self.engine.connect() as connection:
            for (state,) in connection.execution_options(yield_per=batch_size).execute(query):
                yield hash_of(bytes(state))

    def touched_since(self, position: int) -> tuple[set[str], int]:
        """The agreements with events recorded after ``position``, and the newest event's
        position (``position`` if none).

        One event of each such stream, its newest, is read and decoded for its agreement,
        not every event: a catch-up after a large import would otherwise read and decode
        the whole import once more, in one process, before projecting it.
        """
        rows = self.recorder.events_record_cls
        newest_of_each = (
            select(func.max(rows.id)).where(rows.id > position).group_by(rows.originator_id)
        )
        keys: set[str] = set()
        newest = position
        with reading(), self.engine.connect() as connection:
            ids = sorted(connection.execute(newest_of_each).scalars())
            for first in range(0, len(ids), IDS_PER_QUERY):
                found = connection.execute(
                    select(
                        rows.id, rows.originator_id, rows.originator_version, rows.topic, rows.state
                    ).where(rows.id.in_(ids[first : first + IDS_PER_QUERY]))
                )
                keys.update(self.decode(row, f"stored event {row.id}").agreement for row in found)
        if ids:
            newest = ids[-1]
        return keys, newest

    def position_of(self, seq: int) -> int:
        """How many events were recorded before the one with ``seq`` (its leaf index)."""
        rows = self.recorder.events_record_cls
        with reading(), self.engine.connect() as connection:
            found = connection.execute(select(func.count()).where(rows.id < seq)).scalar_one()
        return int(found)

    def unregistered(self, keys: Iterable[str | None]) -> set[str]:
        """Which of ``keys`` have no stream yet: one query, not one per agreement."""
        wanted = {key for key in keys if key is not None}
        if len(wanted) < 2:
            return set()  # not worth a query: the repository will say
        rows = self.recorder.events_record_cls
        ids = {agreement_id(key): key for key in wanted}
        found: set[str] = set()
        chunk = list(ids)
        with self.engine.connect() as connection:
            for start in range(0, len(chunk), IDS_PER_QUERY):
                query = select(rows.originator_id).where(
                    rows.originator_id.in_(chunk[start : start + IDS_PER_QUERY]),
                    rows.originator_version == Agreement.INITIAL_VERSION,
                )
                found.update(ids[i] for i in connection.execute(query).scalars())
        return wanted - found
