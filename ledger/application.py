"""The ledger application: appends events to agreement streams and reads them back.

A batch of events (one ``append`` or a whole import file) is checked in memory
against each agreement's history and then saved in one transaction: either
every event is written or none is. A concurrent writer that took the same
version first causes a retry from fresh state, a bounded number of times. A large
import is checked, and its read models projected, in processes of their own while this
one writes (``_write_piped``).
"""

from __future__ import annotations

import io
import itertools
import os
import pickle
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    MapperDeserialisationError,
    PersistenceError,
    StoredEvent,
)
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from agreement_ledger.ledger import merkle
from agreement_ledger.ledger.codec import LedgerMapper, ledger_mapper, stored_row
from agreement_ledger.ledger.collection import bulk_work
from agreement_ledger.ledger.domain import (
    Agreement,
    AgreementStream,
    agreement_id,
    restored_event,
)
from agreement_ledger.ledger.errors import (
    ChainBroken,
    InvalidActor,
    InvalidArgument,
    InvalidField,
    Rejected,
    StorageError,
    UnknownAgreement,
    UnknownEvent,
    WriteConflict,
)
from agreement_ledger.ledger.eventstore import (
    UNREADABLE,
    BatchingRecorder,
    EventStore,
    StoredRecord,
    damaged,
)
from agreement_ledger.ledger.piping import (
    FINAL,
    Checked,
    Credit,
    Folded,
    GaveUp,
    InOrder,
    Line,
    Refused,
    share_of,
)
from agreement_ledger.ledger.storage import (
    EVENTS_TABLE,
    bulk_cache,
    ensure_schema,
    is_in_memory,
    normalise_url,
    retryable,
    storage_error,
)
from agreement_ledger.ledger.text import (
    actor_problem,
    decode_utf8,
    default_actor,
    plain_json,
    plainly_storable,
    read_json,
)
from agreement_ledger.ledger.verification import (
    Verification,
    check_export,
    check_merkle_root,
    check_missing,
    check_streams,
    digest_heads,
    join,
    link_of_row,
    make_digest,
    make_proof,
    verify,
)
from agreement_ledger.ledger.vocabulary import EventKind, describe, read_envelope
from agreement_ledger.ledger.workers import (
    PARALLEL_FROM,
    Send,
    id_ranges,
    spread,
    worker_count,
)
from agreement_ledger.ledger.worldtime import as_utc_text

WRITE_ATTEMPTS = 16
FLUSH_AGREEMENTS = 2000
BULK_CHUNK = 5000
"""Rows handed to the recorder at a time by the bulk writer (one statement each)."""
READ_CHUNK = 5_000
"""Events the bulk writer reads ahead, to ask in one query which agreements are new."""
PIPE_FROM = 10_000
"""Events an import is expected to hold from which its checks run in processes of their
own (``Ledger._write_piped``): for fewer, starting them costs more than they save."""
PIPE_WORKERS = 4
"""Most checking processes a piped import starts (each reads the whole import)."""
PIPE_ROWS = 1_000
"""Lines of the import after which each checking process sends what it checked."""
PIPE_BACKLOG = 8
"""Messages each may send ahead of the writer before it waits (memory stays bounded)."""
FILE_BLOCK = 1 << 20
"""Bytes an import reads from its file at a time."""
BYTES_PER_LINE = 200
"""What a line of an import file is taken to hold, to guess its events from its size."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ImportObserver(Protocol):
    """Told, inside an import's transaction, of what the import wrote (the read models
    project it from memory this way, ``projections.importing``): each agreement's whole
    stored stream as the import lets it go (or, for a piped import, asked by its checking
    processes to project what they let go, and given the rows to write), then the ids of
    the import's first and last events. ``close`` comes last, whether the import was
    written or rolled back. Once ``active`` is false it wants nothing more (the catch-up
    after the import will do it)."""

    active: bool

    def let_go(
        self, fresh: list[Sequence[StoredEvent]], again: list[Sequence[StoredEvent]]
    ) -> None:
        """``fresh``: agreements this import registered, let go for the first time;
        ``again``: the others (known before, or let go before)."""

    def project_folded(self, folded: list[Folded], stored: list[list[StoredEvent]]) -> Any:
        """In a checking process of a piped import: the read-model rows of the agreements
        it lets go, ``folded`` (registered by the import) and ``stored`` (the others, each
        its whole stored stream); ``None`` if they could not be made."""

    def take(self, rows: Any, again: tuple[str, ...]) -> None:
        """In the writer: write what ``project_folded`` made (stop projecting if ``None``);
        ``again``: agreements whose stored rows it replaces."""

    def finish(self, first: int, last: int) -> None: ...

    def close(self) -> None: ...


ObserverFactory = Callable[[Connection], "ImportObserver | None"]


class Submission(NamedTuple):
    """One raw event to append, and the import line it came from (for error messages).
    A named tuple: one is made for every line of an import."""

    raw: Any
    line: int | None = None
    checked: bool = False
    """The line it was read from showed it storable (``text.plainly_storable``)."""


@dataclass
class AppendResult:
    """What an append did: ids written, ids skipped as exact repeats."""

    appended: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, list[str]]:
        return {"appended": list(self.appended), "skipped": list(self.skipped)}


def read_export(data: bytes) -> list[dict[str, Any]]:
    """The records of an export (JSON Lines); a line that is not a JSON object is ``Rejected``."""
    records = []
    for submission in read_json_lines(data):
        if not isinstance(submission.raw, dict):
            raise InvalidField("an export line must be a JSON object", line=submission.line)
        records.append(submission.raw)
    return records


def read_json_lines(data: bytes) -> list[Submission]:
    """Events from JSON Lines, each with its line number; a bad line is ``Rejected``."""
    return list(json_lines(data.split(b"\n")))


def json_lines(lines: Iterable[bytes]) -> Iterator[Submission]:
    """Events from JSON Lines read one at a time, each with its line number; a bad line
    is ``Rejected`` when it is reached.

    Lines end with ``\n`` alone (a trailing ``\r`` is dropped): U+2028 or U+0085
    inside a text is data. Blank lines are skipped.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        data = line.removesuffix(b"\n").removesuffix(b"\r")
        plain = plain_json(data)
        if plain is not None:
            yield Submission(plain, line=number, checked=True)
            continue
        try:
            text = decode_utf8(data)
            checked = plainly_storable(text)
            raw = read_json(text, checked=checked)
        except Rejected as error:
            raise error.locate(line=number) from None
        yield Submission(raw, line=number, checked=checked)


def file_lines(file: BinaryIO) -> Callable[[], Iterator[Submission]]:
    """The events of a rewindable JSON Lines file, read afresh from its start each call
    (an import that must retry reads it again): memory does not grow with the file."""

    def read() -> Iterator[Submission]:
        return json_lines(_lines_from_start(file))

    return read


def is_plain_file(file: BinaryIO) -> bool:
    """Whether ``file`` is an open file of the system's, read as it is stored: a wrapper
    (``gzip.open``'s) gives the descriptor of the file under it, whose bytes are not the
    lines."""
    return isinstance(file, io.FileIO | io.BufferedReader | io.BufferedRandom)


def may_share(file: BinaryIO) -> bool:
    """Whether processes forked while ``file`` is open may each read it from its start: a
    plain file (read at offsets of each reader's own), or one in memory (copied by the
    fork); a wrapper over a file would share the position of the file under it."""
    return is_plain_file(file) or isinstance(file, io.BytesIO)


def _lines_from_start(file: BinaryIO) -> Iterator[bytes]:
    """The lines of ``file`` from its start. An open file read at offsets of this reader's
    own (``pread``), not at the file's position: the checking processes of a piped import,
    forked from one, share the open file, and so its position."""
    if not is_plain_file(file):
        file.seek(0)
        yield from file
        return
    descriptor = file.fileno()
    file.flush()
    offset = 0
    pieces: list[bytes] = []  # of the line being read (a long one spans many blocks)
    while block := os.pread(descriptor, FILE_BLOCK, offset):
        offset += len(block)
        *lines, tail = block.split(b"\n")
        if lines:
            lines[0] = b"".join([*pieces, lines[0]])
            pieces = []
            yield from lines
        pieces.append(tail)
    if last := b"".join(pieces):
        yield last


class Ledger(Application[Any]):
    """The agreement ledger application (events table ``ledger_events``)."""

    name = "Ledger"
    mapper: LedgerMapper

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
        self.before_write: Callable[[], object] | None = None
        """Checked before each write (the read models refuse a log that lost events)."""
        self.import_observer: ObserverFactory | None = None
        """Makes the observer of an import (a bulk write), given its transaction's connection."""
        self.workers = worker_count()
        """Processes that verify a large ledger (1: all in this one); with 2 or more, a
        large import's checks run in processes of their own (``_write_piped``)."""
        self.pipe_from = PIPE_FROM
        """Events an import is expected to hold from which it is piped (tests lower it)."""
        self.clock: Callable[[], datetime] = _utc_now
        """When an event is recorded (its ``recorded_at``); tests set a fixed clock."""
        assert isinstance(self.recorder, BatchingRecorder)
        self.store = EventStore(self.recorder, self.mapper)
        if check_schema:
            ensure_schema(self.engine)
            self.store.use_write_ahead_log()

    def construct_mapper(self) -> LedgerMapper:
        """The library's mapper on a faster transcoder, resolving only the ledger's own
        event topics (``ledger.codec``)."""
        return ledger_mapper()

    def construct_recorder(self) -> ApplicationRecorder:
        """The library's SQLAlchemy recorder, with batched inserts."""
        return BatchingRecorder(
            datastore=self.factory.datastore,  # type: ignore[attr-defined]
            events_table_name=EVENTS_TABLE,
        )

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def close(self) -> None:
        """Close the library's application and every connection of its datastore.

        The library leaves the datastore's engine open; disposing it here closes the
        SQLite connections, which checkpoints the write-ahead log into the database
        file (a copied ``.db`` then holds every event), and ends PostgreSQL sessions.
        """
        super().close()
        self.engine.dispose()

    # -- writing -----------------------------------------------------------

    def append(
        self,
        submissions: Iterable[Submission],
        *,
        actor: str | None = None,
        ignore_ledger_keys: bool = True,
        bulk: bool | None = None,
    ) -> AppendResult:
        """Check and write a batch of events, all or nothing.

        One event goes through the ``Agreement`` aggregate; a batch (an import) through
        the bulk writer, which applies the same checks and stores the same bytes
        without making aggregate or event objects. ``bulk`` chooses (tests compare).
        """
        batch = list(submissions)
        return self.append_from(
            lambda: batch,
            actor=actor,
            ignore_ledger_keys=ignore_ledger_keys,
            bulk=len(batch) > 1 if bulk is None else bulk,
            expected=len(batch),
        )

    @bulk_work()
    def append_from(
        self,
        source: Callable[[], Iterable[Submission]],
        *,
        actor: str | None = None,
        ignore_ledger_keys: bool = True,
        bulk: bool = True,
        expected: int | None = None,
    ) -> AppendResult:
        """``append`` for events read from ``source`` as they are written (an import):
        ``source`` gives them afresh on each call, so that a retry can read them again.
        ``expected``: about how many there are (a large import is piped, ``_write_piped``)."""
        recorded_by = actor or default_actor()
        problem = actor_problem(recorded_by)
        if problem is not None:
            raise InvalidActor(f"the actor {recorded_by!r} {problem}; give --actor or LEDGER_ACTOR")
        if self.before_write is not None:
            self.before_write()
        piped = bulk and self._may_pipe(expected)
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.recorder.transaction(commit=True) as session:  # type: ignore[attr-defined]
                    if bulk:
                        result = self._write_observed(
                            session, source, recorded_by, ignore_ledger_keys, piped=piped
                        )
                    else:
                        result = self._write_batch(source(), recorded_by, ignore_ledger_keys)
            except GaveUp:
                piped = False  # written again the usual way, which says what went wrong
                continue
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
        self, submissions: Iterable[Submission], recorded_by: str, ignore_ledger_keys: bool
    ) -> AppendResult:
        """Check every event and write it, inside the caller's transaction.

        Agreements are written and let go every ``FLUSH_AGREEMENTS``, so memory
        does not grow with the file. A rejected event raises, and the caller's
        transaction rolls everything back.
        """
        result = AppendResult()
        batch = list(submissions)
        absent = self.store.unregistered(_agreement_of(s.raw) for s in batch)
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

    def _write_observed(
        self,
        session: Any,
        source: Callable[[], Iterable[Submission]],
        recorded_by: str,
        ignore_ledger_keys: bool,
        *,
        piped: bool,
    ) -> AppendResult:
        """The bulk writer (piped, or not), with the import's observer (if any) told what
        it writes."""
        make = self.import_observer
        observer = make(session.connection()) if make is not None else None
        try:
            with bulk_cache(session.connection()):
                if piped:
                    return self._write_piped(source, recorded_by, ignore_ledger_keys, observer)
                return self._write_bulk(source(), recorded_by, ignore_ledger_keys, observer)
        finally:
            if observer is not None:
                observer.close()

    def _may_pipe(self, expected: int | None) -> bool:
        """Whether an import of about ``expected`` events is piped: a large one, with a
        core to spare, on a database another process can open (not SQLite in memory)."""
        return (
            (expected or 0) >= self.pipe_from and self.workers >= 2 and not is_in_memory(self.url)
        )

    def _write_piped(
        self,
        source: Callable[[], Iterable[Submission]],
        recorded_by: str,
        ignore_ledger_keys: bool,
        observer: ImportObserver | None,
    ) -> AppendResult:
        """``_write_bulk`` with its checks in processes of their own, one per share of the
        agreements (``_check_share``, ``ledger.piping``), which also project the read
        models of what they check; this process writes what they send, in line order. The
        lowest refused line is raised here as it was raised there. ``GaveUp`` when one of
        them met what it cannot settle alone, or failed: the caller writes the import again
        the usual way (which says what is wrong, if anything is)."""
        result = AppendResult()
        written = _Written(None)
        count = min(self.workers, PIPE_WORKERS)
        projecting = observer if observer is not None and observer.active else None
        credit = Credit(count, PIPE_BACKLOG)
        work = self._checking(source, recorded_by, ignore_ledger_keys, credit, projecting)
        lines = InOrder(count)
        try:
            with closing(spread(work, list(range(count)), PIPE_BACKLOG)) as messages:
                for index, message in messages:
                    lines.take(index, message)
                    credit.note(index, message)
                    refused = lines.refusal()
                    if refused is not None:  # a rejected line, as it was raised
                        raise pickle.loads(refused)
                    self._take_lines(lines.ready(), written, result)
                    credit.settle(lines.passed)
                    if isinstance(message, Checked) and message.projected and observer:
                        observer.take(message.rows, message.again)
        except StorageError as error:
            raise GaveUp(str(error)) from None
        if not lines.complete():
            raise GaveUp("a checking process ended without sending all its lines")
        self._insert(written)
        if observer is not None and written.last:
            observer.finish(written.first, written.last)
        return result

    def _take_lines(self, lines: Iterable[Line], written: _Written, result: AppendResult) -> None:
        for _position, event_id, row in lines:
            if row is None:
                result.skipped.append(event_id)
                continue
            key, version, topic, state = row
            written.add(stored_row(agreement_id(key), version, topic, state))
            result.appended.append(event_id)
            if len(written.pending) >= BULK_CHUNK:
                self._insert(written)

    def _checking(
        self,
        source: Callable[[], Iterable[Submission]],
        recorded_by: str,
        ignore_ledger_keys: bool,
        credit: Credit,
        observer: ImportObserver | None,
    ) -> Callable[[int, Send], None]:
        """The work of a piped import's checking processes (forked: ``source`` and the
        observer that projects, if any, are there too). Each reads stored streams with a
        ledger of its own, through its own connection."""
        url, clock = self.url, self.clock

        count = credit.count

        def work(share: int, send: Send) -> None:
            def paid(message: object) -> None:
                credit.spend(share)
                send(message)

            own = Ledger(url, check_schema=False)
            own.clock = clock
            try:
                own._check_share(
                    _Share(share, count, observer, recorded_by, ignore_ledger_keys),
                    source(),
                    paid,
                )
            finally:
                own.close()

        return work

    def _check_share(self, share: _Share, submissions: Iterable[Submission], send: Send) -> None:
        """In a checking process: ``_write_bulk`` for the lines of one share of the
        agreements, without the writing; its lines sent in line order, with its progress
        every ``PIPE_ROWS`` lines of the import. Agreements in hand are let go every
        ``FLUSH_AGREEMENTS`` (but for the current line's, whose next line is likely near),
        their read models projected then. One let go and met again gives up: this process
        reads the database as it was before the import, without the import's rows of it.
        A refused line is sent, and ends the work."""
        absent: set[str] = set()
        looked_up: set[str] = set()
        hand = _InHand()
        lines: list[Line] = []
        position = 0
        try:
            for chunk in _chunks(submissions, READ_CHUNK):
                owned = [share.owns(submission) for submission in chunk]
                self._look_up(list(itertools.compress(chunk, owned)), looked_up, absent)
                for submission, mine in zip(chunk, owned, strict=True):
                    now = self.clock()  # every line's: a clock that counts gives the bulk writer's
                    if mine:
                        lines.append(
                            self._check_line(position, submission, hand, absent, share, now)
                        )
                        if len(hand.streams) >= FLUSH_AGREEMENTS:
                            keep = _agreement_of(submission.raw)
                            send(Checked(lines, position, *self._let_go(share, hand, keep)))
                            lines = []
                    position += 1
                    if position % PIPE_ROWS == 0:
                        send(Checked(lines, position - 1))
                        lines = []
        except Rejected as error:  # at its line, or at the chunk the source could not read
            send(Refused(position, pickle.dumps(error)))
            return
        send(Checked(lines, FINAL, *self._let_go(share, hand, None)))

    def _check_line(
        self,
        position: int,
        submission: Submission,
        hand: _InHand,
        absent: set[str],
        share: _Share,
        now: datetime,
    ) -> Line:
        """One line of this process's share, recorded at ``now``."""
        key = _agreement_of(submission.raw)
        if key in hand.gone:
            raise GaveUp(f"agreement {key!r} came back after it was let go")
        event_id, stored = self._write_one(
            submission, hand.streams, absent, share.recorded_by, share.ignore_ledger_keys, now
        )
        if stored is None:
            return position, event_id, None
        hand.recorded.setdefault(str(key), []).append((event_id, now, stored))
        return position, event_id, (str(key), stored.originator_version, stored.topic, stored.state)

    def _let_go(
        self, share: _Share, hand: _InHand, keep: str | None
    ) -> tuple[bool, Any, tuple[str, ...]]:
        """Let go of the agreements in hand but ``keep``; with an observer, project those
        this import wrote to: ``Checked``'s ``projected``, ``rows`` and ``again``."""
        kept = hand.streams.pop(keep) if keep is not None else None
        kept_recorded = hand.recorded.pop(keep, None) if keep is not None else None
        hand.gone.update(hand.streams)
        projected: tuple[bool, Any, tuple[str, ...]] = (False, None, ())
        if share.observer is not None:
            folded, stored, again = [], [], []
            for key, recorded in hand.recorded.items():
                if recorded[0][2].originator_version == 1:  # registered by this import
                    events = [(i, s.originator_version, at) for i, at, s in recorded]
                    folded.append(Folded(hand.streams[key], events, share.recorded_by))
                else:  # known before: projected from its whole stored stream
                    before = self.recorder.select_events(agreement_id(key))
                    stored.append([*before, *(s for _, _, s in recorded)])
                    again.append(key)
            rows = share.observer.project_folded(folded, stored)
            projected = (True, rows, tuple(again))
        hand.streams = {} if kept is None else {str(keep): kept}
        hand.recorded = {} if kept_recorded is None else {str(keep): kept_recorded}
        return projected

    def _write_bulk(
        self,
        submissions: Iterable[Submission],
        recorded_by: str,
        ignore_ledger_keys: bool,
        observer: ImportObserver | None = None,
    ) -> AppendResult:
        """Check every event and write it, inside the caller's transaction, without
        aggregate or event objects: one ``AgreementStream`` per agreement folds what
        was prepared, and the stored rows go to the recorder every ``BULK_CHUNK``
        events. Events are read ``READ_CHUNK`` at a time (one query says which of their
        agreements are new), and agreements in hand are let go every
        ``FLUSH_AGREEMENTS`` (after their rows are written): memory does not grow with
        the file.
        """
        result = AppendResult()
        absent: set[str] = set()
        looked_up: set[str] = set()
        streams: dict[str, AgreementStream] = {}
        written = _Written(observer)
        for chunk in _chunks(submissions, READ_CHUNK):
            self._look_up(chunk, looked_up, absent)
            for submission in chunk:
                event_id, stored = self._write_one(
                    submission, streams, absent, recorded_by, ignore_ledger_keys, self.clock()
                )
                if stored is None:
                    result.skipped.append(event_id)
                else:
                    written.add(stored)
                    result.appended.append(event_id)
                if len(written.pending) >= BULK_CHUNK or len(streams) >= FLUSH_AGREEMENTS:
                    self._insert(written)
                    if len(streams) >= FLUSH_AGREEMENTS:
                        written.let_go(self.recorder)
                        streams.clear()
        self._insert(written)
        written.finish(self.recorder)
        return result

    def _look_up(self, chunk: list[Submission], looked_up: set[str], absent: set[str]) -> None:
        """Add to ``absent`` the agreements of ``chunk`` not looked up before that have no
        stream yet (one query for the chunk)."""
        new_keys = {key for s in chunk if (key := _agreement_of(s.raw)) is not None} - looked_up
        absent |= self.store.unregistered(new_keys)
        looked_up |= new_keys

    def _write_one(
        self,
        submission: Submission,
        streams: dict[str, AgreementStream],
        absent: set[str],
        recorded_by: str,
        ignore_ledger_keys: bool,
        now: datetime,
    ) -> tuple[str, StoredEvent | None]:
        """Check one event against its agreement's stream, recorded at ``now``: its id, and
        its stored row to write (``None``: a repeat, nothing to write)."""
        try:
            envelope = read_envelope(
                submission.raw, ignore_ledger_keys=ignore_ledger_keys, checked=submission.checked
            )
            stream = streams.get(envelope.agreement)
            if stream is None:
                stream = self._stream_of(envelope.agreement, absent)
                streams[envelope.agreement] = stream
            prepared = stream.next_event(envelope, recorded_by=recorded_by, now=now)
        except Rejected as error:
            raise error.locate(
                agreement=_agreement_of(submission.raw),
                where=describe(submission.raw),
                line=submission.line,
            ) from None
        if prepared is None:
            return str(envelope.id), None
        stored = self.store.stored_event(prepared, now)
        stream.fold_prepared(prepared)
        absent.discard(envelope.agreement)  # registered now: read it back if let go
        return prepared.event_id, stored

    def _stream_of(self, key: str, absent: set[str]) -> AgreementStream:
        """The stream of ``key`` as stored (read through this transaction), or a new one."""
        if key not in absent:
            agreement = self._find(key)
            if agreement is not None:
                return agreement.stream
            absent.add(key)
        return AgreementStream(key)

    def _insert(self, written: _Written) -> None:
        if written.pending:
            ids = self.recorder.insert_events(written.pending)
            written.inserted(ids or [])

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
        envelope = read_envelope(
            submission.raw, ignore_ledger_keys=ignore_ledger_keys, checked=submission.checked
        )
        now = self.clock()
        key = envelope.agreement
        agreement = in_hand.get(key)
        if agreement is None and key not in absent:
            agreement = self._find(key)
            if agreement is None:
                absent.add(key)
            else:
                in_hand[key] = agreement
        if agreement is None:
            if envelope.type != EventKind.REGISTERED:
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

    def _find(self, key: str) -> Agreement | None:
        try:
            agreement: Any = self.repository.get(agreement_id(key))
        except AggregateNotFoundError:
            return None
        except (PersistenceError, SQLAlchemyError) as exc:
            if isinstance(exc, MapperDeserialisationError):
                raise damaged(key, exc) from None
            raise storage_error("cannot read from the database", exc) from None
        except (OriginatorVersionError, *UNREADABLE, AssertionError) as exc:
            raise damaged(key, exc) from None
        if not isinstance(agreement, Agreement) or getattr(agreement, "key", None) != key:
            raise damaged(key, TypeError("not an agreement stream"))
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
        records = self.store.stream(key)
        corrected_by: dict[str, list[str]] = {}
        for stored in records:
            if stored.record["type"] == EventKind.CORRECTED:
                corrected_by.setdefault(stored.record["target"], []).append(stored.record["id"])
        for stored in records:
            stored.record["corrected_by"] = corrected_by.get(stored.record["id"], [])
        return records

    @bulk_work()
    def restore(
        self,
        records: list[dict[str, Any]],
        readable: Callable[[list[Agreement.Event]], object] | None = None,
    ) -> int:
        """Load an export into an empty ledger, keeping every event's provenance.

        Ids, versions, ``recorded_at``, ``recorded_by`` and hashes are kept, so the
        copy verifies against the original's digest and answers ``known_at`` as it
        did. Every chain is checked first; a broken one is refused (``ChainBroken``)
        and nothing is written. Rules are not applied again: the restore reproduces
        what was recorded, under the rules of its day.
        """
        checked = check_export(records, None)
        if not checked.ok:
            first = checked.problems[0]
            raise ChainBroken(
                f"{first.agreement}, version {first.version}: {first.problem} "
                f"({len(checked.problems)} problem(s)); nothing restored"
            )
        try:
            events = [restored_event(r) for r in sorted(records, key=_recording_order)]
        except (Rejected, ValueError, KeyError, TypeError) as error:
            raise ChainBroken(f"{error}; nothing restored") from None
        for stream in _streams_of(events):
            _check_restorable(stream, readable)
        try:
            with self.recorder.transaction(commit=True):  # type: ignore[attr-defined]
                if self.recorder.max_notification_id():
                    raise InvalidArgument(
                        "a restore goes into an empty ledger; this one holds events "
                        "(use `ledger import` to add events under today's rules)"
                    )
                self.recorder.insert_events([self.mapper.to_stored_event(e) for e in events])
        except (PersistenceError, SQLAlchemyError) as exc:
            raise storage_error("cannot write to the database", exc) from None
        if events:
            self._after_saved(AppendResult(appended=[e.event_id for e in events]))
        return len(events)

    def prove(self, key: str, event_id: str, tree_size: int | None = None) -> dict[str, Any]:
        """An inclusion proof of one event in the Merkle tree of the first ``tree_size``
        events (all of them by default), as a digest taken then names it."""
        stored = next((r for r in self.history(key) if r.record["id"] == event_id), None)
        if stored is None:
            raise UnknownEvent(f"agreement {key!r} has no event {event_id!r}", agreement=key)
        hashes = list(self.store.event_hashes())
        size = len(hashes) if tree_size is None else tree_size
        index = self.store.position_of(stored.seq)
        if not 0 < size <= len(hashes) or index >= size:
            raise InvalidArgument(
                f"the event is number {index + 1} in recording order; a tree of {size} "
                f"events (the ledger holds {len(hashes)}) cannot include it"
            )
        leaves = [bytes.fromhex(h) for h in hashes[:size]]
        return make_proof(stored.as_json(), index, leaves)

    @bulk_work()
    def verify(self, key: str | None = None, digest: dict[str, Any] | None = None) -> Verification:
        """Re-check every hash chain (or one agreement's), optionally against a digest."""
        if key is not None and next(self.store.rows(key, batch_size=1), None) is None:
            raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
        events = self.recorder.max_notification_id() or 0
        if key is None and events >= PARALLEL_FROM and self.workers > 1:
            result = self._verify_in_parallel(digest)
        else:
            result = verify(self.store.rows(key), self.store.decode_state, digest, only=key)
        if digest is not None and key is None and result.ok:
            check_merkle_root(digest, self.store.event_hashes(), result)
        return result

    def _verify_in_parallel(self, digest: dict[str, Any] | None) -> Verification:
        """Every chain checked by one worker per core, each over its own range of streams
        (chains never cross streams); the findings joined in stream order, as one
        process would have found them."""
        result = Verification()
        wanted = digest_heads(digest, None, result)
        url = self.url

        def work(share: tuple[UUID | None, UUID | None], send: Callable[[object], None]) -> None:
            ledger = Ledger(url, check_schema=False)
            part = Verification()
            rows = ledger.store.rows(id_range=share)
            check_streams(
                (link_of_row(row, ledger.store.decode_state) for row in rows), wanted, part
            )
            ledger.close()
            send(part)

        parts = dict(spread(work, id_ranges(self.workers)))
        for index in sorted(parts):
            join(result, parts[index])
        check_missing(wanted, digest, result)
        return result

    def digest(self) -> dict[str, Any]:
        """A digest of every stream head and the Merkle root of every event, after
        checking the chains it summarises."""
        checked = self.verify()
        leaves = [bytes.fromhex(h) for h in self.store.event_hashes()] if checked.ok else []
        document = make_digest(
            checked.heads,
            checked.events_checked,
            as_utc_text(datetime.now(UTC)),
            merkle.root(leaves).hex(),
        )
        document["verified"] = checked.ok
        return document


class _Written:
    """What the bulk writer has staged and written, and what its observer is told.

    Rows wait in ``pending`` until inserted. With an observer, each agreement's rows
    written since it was taken in hand are kept until it is let go; then the observer
    gets its whole stored stream: those rows when they begin at version 1 (an agreement
    this import registered, in hand since), else the stream as this transaction reads it.
    """

    def __init__(self, observer: ImportObserver | None) -> None:
        self.observer = observer
        self.pending: list[StoredEvent] = []
        self.held: dict[UUID | str, list[StoredEvent]] = {}
        self.first = self.last = 0

    def add(self, stored: StoredEvent) -> None:
        self.pending.append(stored)
        if self.observer is not None and self.observer.active:
            self.held.setdefault(stored.originator_id, []).append(stored)

    def inserted(self, ids: Sequence[int]) -> None:
        if ids:
            self.first = self.first or ids[0]
            self.last = ids[-1]
        self.pending.clear()

    def let_go(self, recorder: ApplicationRecorder) -> None:
        """Tell the observer of the agreements in hand (their rows are written)."""
        if self.observer is None or not self.observer.active or not self.held:
            self.held.clear()
            return
        fresh: list[Sequence[StoredEvent]] = [
            rows for rows in self.held.values() if rows[0].originator_version == 1
        ]
        again: list[Sequence[StoredEvent]] = [
            recorder.select_events(stream_id)
            for stream_id, rows in self.held.items()
            if rows[0].originator_version > 1
        ]
        self.held.clear()
        self.observer.let_go(fresh, again)

    def finish(self, recorder: ApplicationRecorder) -> None:
        self.let_go(recorder)
        if self.observer is not None and self.last:
            self.observer.finish(self.first, self.last)


class _Share(NamedTuple):
    """One checking process's share of a piped import: the agreements ``share_of`` gives
    to ``which`` of ``shares``; the observer that projects what it lets go, if any; and
    the import's actor and way with ledger keys."""

    which: int
    shares: int
    observer: ImportObserver | None
    recorded_by: str
    ignore_ledger_keys: bool

    def owns(self, submission: Submission) -> bool:
        return share_of(_agreement_of(submission.raw), self.shares) == self.which


@dataclass
class _InHand:
    """A checking process's agreements in hand: their folds, what this import recorded of
    each (id, recording time, stored row), and the agreements it has let go."""

    streams: dict[str, AgreementStream] = field(default_factory=dict)
    recorded: dict[str, list[tuple[str, datetime, StoredEvent]]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)


class StoredButNotProjected(StorageError):
    """Raised when events were stored but the read models could not be brought up to date."""

    def __init__(self, result: AppendResult, error: StorageError) -> None:
        super().__init__(
            f"{len(result.appended)} event(s) were recorded ({', '.join(result.appended)}), "
            f"but the read models could not be brought up to date: {error}; "
            "do not append them again"
        )
        self.result = result


def _streams_of(events: list[Agreement.Event]) -> list[list[Agreement.Event]]:
    streams: dict[str, list[Agreement.Event]] = {}
    for event in events:
        streams.setdefault(event.agreement, []).append(event)
    return list(streams.values())


def _check_restorable(
    stream: list[Agreement.Event], readable: Callable[[list[Agreement.Event]], object] | None
) -> None:
    """A restored stream must be one the ledger could have written: recorded in version
    order, ids used once, recorded by someone, foldable into its agreement, and readable
    by the projection (``readable``). Otherwise nothing is restored."""
    key = stream[0].agreement
    versions = [e.originator_version for e in stream]
    ids = [e.event_id for e in stream]
    problem = None
    if versions != sorted(versions):
        problem = "its events were recorded out of version order"
    elif len(set(ids)) != len(ids):
        problem = "an event id is used twice"
    elif any(not isinstance(e.recorded_by, str) or actor_problem(e.recorded_by) for e in stream):
        problem = "an event has no valid recorded_by"
    else:
        try:
            aggregate: Any = None
            for event in sorted(stream, key=lambda e: e.originator_version):
                aggregate = event.mutate(aggregate)
            if readable is not None:
                readable(sorted(stream, key=lambda e: e.originator_version))
        except Exception as error:
            problem = f"it cannot be read back ({type(error).__name__}: {error})"
    if problem is not None:
        raise ChainBroken(f"{key}: {problem}; nothing restored")


def _recording_order(record: dict[str, Any]) -> tuple[int, str, int]:
    """An export's own order: ``seq``, else recording time and version."""
    seq = record.get("seq")
    return (
        seq if isinstance(seq, int) else 0,
        str(record.get("recorded_at")),
        int(record["version"]),
    )


def _chunks(items: Iterable[Submission], size: int) -> Iterator[list[Submission]]:
    """``items`` ``size`` at a time. A line the source cannot read is raised after the
    lines read before it are given: a lower line that breaks a rule is reported first, as
    the lowest failing line always is."""
    iterator = iter(items)
    while True:
        chunk: list[Submission] = []
        try:
            chunk.extend(itertools.islice(iterator, size))
        except Rejected as error:
            if chunk:
                yield chunk
            raise error from None
        if not chunk:
            return
        yield chunk


def _agreement_of(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("agreement"), str):
        return str(raw["agreement"])
    return None
