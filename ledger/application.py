"""The ledger application: appends events to agreement streams and reads them back.

A batch of events (one ``append`` or a whole import file) is checked in memory
against each agreement's history and then saved in one transaction: either
every event is written or none is. A concurrent writer that took the same
version first causes a retry from fresh state, a bounded number of times.
"""

from __future__ import annotations

import getpass
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Mapper,
    MapperDeserialisationError,
    PersistenceError,
    StoredEvent,
)
from sqlalchemy import Engine, LargeBinary, select, type_coerce
from sqlalchemy.exc import SQLAlchemyError

from agreement_ledger.ledger.domain import Agreement, agreement_id
from agreement_ledger.ledger.errors import (
    InvalidActor,
    Rejected,
    StorageError,
    UnknownAgreement,
    WriteConflict,
)
from agreement_ledger.ledger.recorder import BatchingRecorder, LedgerMapper
from agreement_ledger.ledger.storage import (
    EVENTS_TABLE,
    ensure_schema,
    normalise_url,
    retryable,
    storage_error,
)
from agreement_ledger.ledger.text import actor_problem
from agreement_ledger.ledger.verification import (
    StoredRow,
    Verification,
    iterate,
    make_digest,
    stream_label,
    verify,
)
from agreement_ledger.ledger.vocabulary import describe, read_envelope
from agreement_ledger.ledger.worldtime import as_utc_text

WRITE_ATTEMPTS = 16
FLUSH_AGREEMENTS = 2000


def default_actor() -> str:
    """Who is recording: ``LEDGER_ACTOR``, else the operating-system user."""
    actor = os.environ.get("LEDGER_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Submission:
    """One raw event to append, and the import line it came from (for error messages)."""

    raw: Any
    line: int | None = None


@dataclass
class AppendResult:
    """What an append did: ids written, ids skipped as exact repeats."""

    appended: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredRecord:
    """A stored event with the ledger's own fields, as ``history`` and ``export`` show it."""

    seq: int
    record: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {**self.record, "seq": self.seq}


class Ledger(Application[Any]):
    """The agreement ledger application (events table ``ledger_events``)."""

    name = "Ledger"

    def __init__(self, db: str | None = None, *, check_schema: bool = True) -> None:
        self.url = normalise_url(db)
        super().__init__(
            env={
                "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
                "SQLALCHEMY_URL": self.url,
                "CREATE_TABLE": "n",
            }
        )
        self.on_saved: list[Callable[[], object]] = []
        if check_schema:
            ensure_schema(self.engine)
            self._use_write_ahead_log()

    def _use_write_ahead_log(self) -> None:
        """Switch SQLite to WAL now, before any transaction of ours holds a lock.

        The library would do it lazily inside the first transaction, which can
        then wait on a lock this process itself holds.
        """
        try:
            self.factory.datastore.init_sqlite_wal_mode()  # type: ignore[attr-defined]
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database: {exc}") from None

    def construct_mapper(self) -> Mapper[Any]:
        """The library's mapper, resolving only the ledger's own event topics."""
        return LedgerMapper(transcoder=self.construct_transcoder())

    def construct_recorder(self) -> ApplicationRecorder:
        """The library's SQLAlchemy recorder, with batched inserts."""
        return BatchingRecorder(
            datastore=self.factory.datastore,  # type: ignore[attr-defined]
            events_table_name=EVENTS_TABLE,
        )

    @property
    def engine(self) -> Engine:
        engine = self.factory.datastore.engine  # type: ignore[attr-defined]
        assert isinstance(engine, Engine)
        return engine

    # -- writing -----------------------------------------------------------

    def append(
        self,
        submissions: Iterable[Submission],
        *,
        actor: str | None = None,
        ignore_ledger_keys: bool = True,
    ) -> AppendResult:
        """Check and write a batch of events, all or nothing."""
        batch = list(submissions)
        recorded_by = actor or default_actor()
        problem = actor_problem(recorded_by)
        if problem is not None:
            raise InvalidActor(
                f"the actor {recorded_by!r} {problem}; give --actor or LEDGER_ACTOR"
            )
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.recorder.transaction(commit=True):  # type: ignore[attr-defined]
                    result = self._write_batch(batch, recorded_by, ignore_ledger_keys)
            except (PersistenceError, SQLAlchemyError) as exc:
                if not (isinstance(exc, IntegrityError) or retryable(exc)):
                    raise storage_error("cannot write to the database", exc) from None
                # Another writer took a version first (or held the lock too long):
                # wait a little, then redo the whole batch from fresh state.
                time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))
                continue
            if result.appended:
                self._after_saved(result)
            return result
        raise WriteConflict(
            "other writers kept changing the same agreement; "
            f"gave up after {WRITE_ATTEMPTS} attempts"
        )

    def _after_saved(self, result: AppendResult) -> None:
        """Tell the listeners (the read models); the events are stored whatever they say."""
        for listener in self.on_saved:
            try:
                listener()
            except StorageError as error:
                raise StoredButNotProjected(result, error) from None

    def _write_batch(
        self, batch: list[Submission], recorded_by: str, ignore_ledger_keys: bool
    ) -> AppendResult:
        """Check every event and write it, inside the caller's transaction.

        Agreements are written and let go every ``FLUSH_AGREEMENTS``, so memory
        does not grow with the file. A rejected event raises, and the caller's
        transaction rolls everything back.
        """
        result = AppendResult()
        absent = self._unregistered(_agreement_of(s.raw) for s in batch)
        in_hand: dict[str, Agreement] = {}
        for submission in batch:
            agreement_key = _agreement_of(submission.raw)
            try:
                self._check_one(
                    submission, in_hand, absent, result, recorded_by, ignore_ledger_keys
                )
            except Rejected as error:
                raise error.locate(
                    agreement=agreement_key,
                    where=describe(submission.raw),
                    line=submission.line,
                ) from None
            if len(in_hand) >= FLUSH_AGREEMENTS:
                self._flush(in_hand)
        self._flush(in_hand)
        return result

    def _check_one(
        self,
        submission: Submission,
        in_hand: dict[str, Agreement],
        absent: set[str],
        result: AppendResult,
        recorded_by: str,
        ignore_ledger_keys: bool,
    ) -> None:
        """Check one event against its agreement and record it there (not yet written)."""
        envelope = read_envelope(submission.raw, ignore_ledger_keys=ignore_ledger_keys)
        now = datetime.now(UTC)
        key = envelope.agreement
        agreement = in_hand.get(key)
        if agreement is None and key not in absent:
            agreement = self._find(key)
            if agreement is None:
                absent.add(key)
            else:
                in_hand[key] = agreement
        if agreement is None:
            if envelope.type != "registered":
                raise UnknownAgreement(f"agreement {key!r} is not registered")
            agreement = Agreement.register(envelope, recorded_by=recorded_by, now=now)
            absent.discard(key)
            in_hand[key] = agreement
            result.appended.append(agreement.last_event_id)
        elif agreement.record(envelope, recorded_by=recorded_by, now=now):
            result.appended.append(agreement.last_event_id)
        else:
            result.skipped.append(str(envelope.id))

    def _flush(self, in_hand: dict[str, Agreement]) -> None:
        """Write the pending events of the agreements in hand, and let them go.

        One that comes back later in the batch is read again, through this
        same (uncommitted) transaction.
        """
        pending = [a for a in in_hand.values() if a.pending_events]
        if pending:
            self.save(*pending)
        in_hand.clear()

    def _unregistered(self, keys: Iterable[str | None]) -> set[str]:
        """Which of ``keys`` have no stream yet: one query, not one per agreement."""
        wanted = {key for key in keys if key is not None}
        if len(wanted) < 2:
            return set()  # not worth a query: the repository will say
        rows = self.recorder.events_record_cls  # type: ignore[attr-defined]
        ids = {agreement_id(key): key for key in wanted}
        found: set[str] = set()
        chunk = list(ids)
        with self.engine.connect() as connection:
            for start in range(0, len(chunk), 500):
                query = select(rows.originator_id).where(
                    rows.originator_id.in_(chunk[start : start + 500]),
                    rows.originator_version == Agreement.INITIAL_VERSION,
                )
                found.update(ids[i] for i in connection.execute(query).scalars())
        return wanted - found

    def _find(self, key: str) -> Agreement | None:
        try:
            agreement: Any = self.repository.get(agreement_id(key))
        except AggregateNotFoundError:
            return None
        except (PersistenceError, SQLAlchemyError) as exc:
            if isinstance(exc, MapperDeserialisationError):
                raise _damaged(key, exc) from None
            raise storage_error("cannot read from the database", exc) from None
        except (OriginatorVersionError, *UNREADABLE, AssertionError) as exc:
            raise _damaged(key, exc) from None
        if not isinstance(agreement, Agreement) or getattr(agreement, "key", None) != key:
            raise _damaged(key, TypeError("not an agreement stream"))
        return agreement

    # -- reading -----------------------------------------------------------

    def get(self, key: str) -> Agreement:
        """The agreement with ``key``, or ``UnknownAgreement``."""
        agreement = self._find(key)
        if agreement is None:
            raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
        return agreement

    def history(self, key: str) -> list[StoredRecord]:
        """Every stored event of one agreement with ``corrected_by``: the later corrections."""
        records = self.stream(key)
        corrected_by: dict[str, list[str]] = {}
        for stored in records:
            if stored.record["type"] == "corrected":
                corrected_by.setdefault(stored.record["target"], []).append(stored.record["id"])
        for stored in records:
            stored.record["corrected_by"] = corrected_by.get(stored.record["id"], [])
        return records

    def stream(self, key: str) -> list[StoredRecord]:
        """Every stored event of one agreement, in version order, with its ``seq``.

        Read as stored, without rebuilding the agreement: an auditor can list the
        history of a stream with a gap or an edited event that ``verify`` reports.
        """
        rows = self.recorder.events_record_cls  # type: ignore[attr-defined]
        with reading(), self.recorder.transaction(commit=False) as session:  # type: ignore[attr-defined]
            found = session.scalars(
                select(rows)
                .where(rows.originator_id == agreement_id(key))
                .order_by(rows.originator_version)
            ).all()
            records = [self._stored_record(row) for row in found]
        if not records:
            raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
        return records

    def streams(self, keys: Iterable[str] | None = None) -> Iterator[list[Agreement.Event]]:
        """Agreements' events, one stream at a time, from one ordered scan of the log.

        All agreements, or those with ``keys`` (which must exist).
        """
        current: list[Agreement.Event] = []
        for row in self.stored_rows(keys=keys):
            where = f"an event of stream {stream_label(row.originator_id)}"
            if not isinstance(row.originator_id, UUID):
                raise _unreadable(where, row.version, ValueError("stream id is not a UUID"))
            event = self._event_of(row.originator_id, row.version, row.topic, row.state, where)
            if current and event.originator_id != current[0].originator_id:
                yield current
                current = []
            current.append(event)
        if current:
            yield current

    def stored_rows(
        self, key: str | None = None, batch_size: int = 1000, keys: Iterable[str] | None = None
    ) -> Iterator[StoredRow]:
        """Raw event rows ordered by stream and version, streamed (for verification)."""
        rows = self.recorder.events_record_cls  # type: ignore[attr-defined]
        stream_id = rows.originator_id
        if self.engine.dialect.name == "sqlite":
            # Read the id's bytes as stored: a damaged id is a finding, not a crash.
            stream_id = type_coerce(rows.originator_id, LargeBinary).label("originator_id")
        query = select(stream_id, rows.originator_version, rows.topic, rows.state)
        if key is not None:
            query = query.where(rows.originator_id == agreement_id(key))
        if keys is not None:
            query = query.where(rows.originator_id.in_([agreement_id(k) for k in keys]))
        query = query.order_by(rows.originator_id, rows.originator_version)
        with reading(), self.engine.connect() as connection:
            result = connection.execution_options(yield_per=batch_size).execute(query)
            yield from iterate(result)

    def verify(self, key: str | None = None, digest: dict[str, Any] | None = None) -> Verification:
        """Re-check every hash chain (or one agreement's), optionally against a digest."""
        if key is not None and next(self.stored_rows(key, batch_size=1), None) is None:
            raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
        return verify(self.stored_rows(key), self.mapper.transcoder.decode, digest)

    def digest(self) -> dict[str, Any]:
        """A digest of every stream head, after checking the chains it summarises."""
        checked = self.verify()
        document = make_digest(
            checked.heads, checked.events_checked, as_utc_text(datetime.now(UTC))
        )
        document["verified"] = checked.ok
        return document

    def records(self, batch_size: int = 1000) -> Iterator[StoredRecord]:
        """Every stored event in recording order (``seq``), read in batches."""
        start = 1
        while True:
            with reading():
                notifications = self.recorder.select_notifications(start=start, limit=batch_size)
            if not notifications:
                return
            for notification in notifications:
                yield self._stored_record(notification)
            start = notifications[-1].id + 1

    def event_of(self, row: Any, where: str) -> Agreement.Event:
        """Decode one stored row or notification (the one decoder of stored events)."""
        return self._event_of(
            row.originator_id, row.originator_version, row.topic, row.state, where
        )

    def _stored_record(self, row: Any) -> StoredRecord:
        where = f"stored event {row.id}"
        event = self.event_of(row, where)
        try:
            record = event.record()
        except UNREADABLE as exc:
            raise _unreadable(where, row.originator_version, exc) from None
        return StoredRecord(seq=row.id, record=record)

    def _event_of(
        self, originator_id: UUID, version: int, topic: str, state: bytes, where: str
    ) -> Agreement.Event:
        """Decode one stored row; a damaged one is a ``StorageError``, not a traceback."""
        try:
            event = self.mapper.to_domain_event(
                StoredEvent(originator_id, version, topic, bytes(state))
            )
            if not isinstance(event, Agreement.Event):
                raise TypeError(f"topic {topic!r} is not an agreement event")
        except UNREADABLE as exc:
            raise _unreadable(where, version, exc) from None
        return event


UNREADABLE = (
    MapperDeserialisationError,
    AttributeError,
    TypeError,
    KeyError,
    ValueError,
    OverflowError,
)


class StoredButNotProjected(StorageError):
    """Raised when events were stored but the read models could not be brought up to date."""

    def __init__(self, result: AppendResult, error: StorageError) -> None:
        super().__init__(
            f"{len(result.appended)} event(s) were recorded ({', '.join(result.appended)}), "
            f"but the read models could not be brought up to date: {error}; "
            "do not append them again"
        )
        self.result = result


@contextmanager
def reading() -> Iterator[None]:
    """Reading stored rows: a database failure or an unreadable value is a ``StorageError``."""
    try:
        yield
    except StorageError:
        raise
    except (PersistenceError, SQLAlchemyError) as exc:
        raise storage_error("cannot read from the database", exc) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise StorageError(
            f"a stored event cannot be read ({type(exc).__name__}: {exc}); "
            "run `ledger verify` to see what is damaged"
        ) from None


def _damaged(key: str, error: BaseException) -> StorageError:
    return StorageError(
        f"the stored events of {key!r} are damaged ({type(error).__name__}); "
        "run `ledger verify` to see where"
    )


def _unreadable(where: str, version: int, error: Exception) -> StorageError:
    return StorageError(
        f"{where} (version {version}) cannot be read ({type(error).__name__}); "
        "run `ledger verify` to see what is damaged"
    )


def _agreement_of(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("agreement"), str):
        return raw["agreement"]
    return None
