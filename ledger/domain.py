"""The ``Agreement`` aggregate: one event stream per agreement.

Commands (``register``, ``record``) check the rules first and only then trigger
an event; ``apply`` only folds state, so replaying history never raises. Every
event carries its place in the stream's hash chain (``ledger.chain``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, cast
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, register_topic

from agreement_ledger.ledger.chain import (
    GENESIS,
    UNHASHED_KEYS,
    chain_record,
    envelope_of,
    record_hash_alike,
)
from agreement_ledger.ledger.errors import (
    AlreadyRegistered,
    ConflictingId,
    Rejected,
    UnknownAgreement,
)
from agreement_ledger.ledger.rules import StreamState, corrected_envelope, reject_in_correction
from agreement_ledger.ledger.vocabulary import ENVELOPE_KEYS, Envelope, EventKind, read_envelope
from agreement_ledger.ledger.worldtime import Occurred

AGREEMENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:agreement-ledger:agreement")


@functools.lru_cache(maxsize=1 << 16)
def agreement_id(key: str) -> UUID:
    """The stream id of the agreement with ``key`` (no lookup table needed; remembered,
    since imports, verification and projection ask it for every event)."""
    return uuid5(AGREEMENT_NAMESPACE, key)


def ledger_assigned_id(key: str, version: int) -> str:
    return f"{key}/{version}"


class Agreement(Aggregate):
    """A treaty, pact or memorandum and everything that happened to it."""

    class Event(Aggregate.Event):
        """Common envelope of every agreement event (the type is the class)."""

        TYPE: ClassVar[EventKind]

        agreement: str
        event_id: str
        occurred: str | None
        tz: str | None
        source: str | None
        citation: dict[str, str] | None
        note: str | None
        after: list[str]
        fields: dict[str, Any]
        recorded_by: str
        prev_hash: str
        hash: str

        def envelope(self) -> Envelope:
            return envelope_of(self.TYPE, vars(self))

        def record(self) -> dict[str, Any]:
            """The event as ``export`` writes it, without ``seq``."""
            data = chain_record(
                self.envelope(),
                self.originator_version,
                self.timestamp,
                self.recorded_by,
                self.prev_hash,
            )
            data["hash"] = self.hash
            return data

        def apply(self, aggregate: Any) -> None:
            aggregate.fold(self)

    # -- state -------------------------------------------------------------

    def __init__(self) -> None:
        """State is set up by ``fold`` from the ``Registered`` event."""

    def fold(self, event: Agreement.Event) -> None:
        """Apply one stored event. Never raises."""
        if event.TYPE is EventKind.REGISTERED:
            self.stream = AgreementStream(event.agreement)
        self.stream.fold(event.event_id, event.originator_version, event.envelope(), event.hash)

    @property
    def key(self) -> str:
        return self.stream.key

    @property
    def state(self) -> StreamState:
        return self.stream.state

    @property
    def history(self) -> History:
        return self.stream.history

    @property
    def head_hash(self) -> str:
        return self.stream.head_hash

    @property
    def last_event_id(self) -> str:
        return self.stream.last_event_id

    # -- commands ----------------------------------------------------------

    @classmethod
    def register(cls, envelope: Envelope, *, recorded_by: str, now: datetime) -> Agreement:
        """Start a new agreement's stream with its ``registered`` event."""
        stream = AgreementStream(envelope.agreement)
        prepared = stream.next_event(envelope, recorded_by=recorded_by, now=now)
        assert prepared is not None  # a new stream has nothing to repeat
        return cls._create(
            cast("type[Aggregate.Created]", EVENT_CLASSES[EventKind.REGISTERED]),
            id=agreement_id(envelope.agreement),
            timestamp=now,
            **prepared.fields,
        )

    def record(self, envelope: Envelope, *, recorded_by: str, now: datetime) -> bool:
        """Append one event; ``False`` when it repeats an existing ``id`` exactly."""
        prepared = self.stream.next_event(envelope, recorded_by=recorded_by, now=now)
        if prepared is None:
            return False
        self.trigger_event(EVENT_CLASSES[envelope.type], timestamp=now, **prepared.fields)
        return True


class PreparedEvent(NamedTuple):
    """The next event of a stream, checked against every rule and hashed, not yet written.

    ``fields`` are the event's attributes beyond the library's own (id, version,
    timestamp): what the aggregate triggers, and what the bulk writer stores. (A named
    tuple: one is made for every event written, and a frozen dataclass cost three times
    as much to make.)
    """

    kind: EventKind
    version: int
    envelope: Envelope
    fields: dict[str, Any]
    written_alike: bool = False
    """Whether every value of ``fields`` is one the fast encoder (``msgspec``) writes as the
    standard library does (``chain.written_alike``), found when the event was hashed."""

    @property
    def event_id(self) -> str:
        return str(self.fields["event_id"])

    @property
    def hash(self) -> str:
        return str(self.fields["hash"])


class AgreementStream:
    """What the rules know of one agreement's stream: its checks and its fold.

    The one set of checks and the one fold, shared by both ways of writing: the
    ``Agreement`` aggregate (a single append) holds one, and the bulk writer of an
    import holds one per agreement without making aggregate or event objects.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.version = 0
        self.head_hash = GENESIS
        self.history = History(key)
        self.state = StreamState(key=key)

    @property
    def last_event_id(self) -> str:
        return next(reversed(self.history.versions))

    def next_event(
        self, envelope: Envelope, *, recorded_by: str, now: datetime
    ) -> PreparedEvent | None:
        """Check ``envelope`` as this stream's next event and prepare it; ``None`` when it
        repeats an existing ``id`` exactly (nothing to write). Raises ``Rejected``."""
        version = self.version + 1
        if self.version == 0:
            if envelope.type != EventKind.REGISTERED:
                raise UnknownAgreement(f"agreement {self.key!r} is not registered")
            self.state.admit(envelope, now)
            event_id = envelope.id or ledger_assigned_id(self.key, version)
            _check_reserved_id(self.key, event_id, version)
        else:
            if envelope.id is not None and envelope.id in self.history.originals:
                if self.history.originals[envelope.id].content() == envelope.content():
                    return None
                raise ConflictingId(
                    f"event id {envelope.id!r} already exists with different content"
                )
            if envelope.type == EventKind.REGISTERED:
                raise AlreadyRegistered(f"agreement {self.key!r} is already registered")
            event_id = envelope.id or ledger_assigned_id(self.key, version)
            _check_reserved_id(self.key, event_id, version)
            self.state.admit(envelope, now)
            if envelope.type == EventKind.CORRECTED:
                self._recheck_with(event_id, version, envelope, now)
        fields, alike = _event_kwargs(envelope, event_id, version, recorded_by, self.head_hash, now)
        return PreparedEvent(envelope.type, version, envelope, fields, alike)

    def fold(self, event_id: str, version: int, envelope: Envelope, hash_: str) -> None:
        """Apply one event (stored, or just prepared). Never raises."""
        self.version = version
        self.head_hash = hash_
        self.history.add(event_id, version, envelope)
        if envelope.type is EventKind.CORRECTED:
            self.state = self.history.effective_state()
        else:
            self.state.apply(event_id, version, envelope, _quiet_occurred(self.state, envelope))

    def fold_prepared(self, prepared: PreparedEvent) -> None:
        """Apply an event this stream prepared, as its stored form would fold."""
        self.fold(
            prepared.event_id,
            prepared.version,
            identified(prepared.envelope, prepared.event_id),
            prepared.hash,
        )

    def _recheck_with(
        self, event_id: str, version: int, correction: Envelope, now: datetime
    ) -> None:
        """Re-check the whole effective history as it would be after ``correction``."""
        trial = self.history.copy()
        trial.add(event_id, version, correction)
        try:
            trial.effective_state(now)
        except Rejected as error:
            raise reject_in_correction(correction.fields["target"], error) from None


@dataclass
class History:
    """An agreement's events as written, and the corrections made to them."""

    key: str
    originals: dict[str, Envelope] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    corrections: dict[str, list[Envelope]] = field(default_factory=dict)

    def add(self, event_id: str, version: int, envelope: Envelope) -> None:
        self.originals[event_id] = envelope
        self.versions[event_id] = version
        if envelope.type == EventKind.CORRECTED:
            self.corrections.setdefault(envelope.fields["target"], []).append(envelope)

    def copy(self) -> History:
        return History(
            self.key,
            dict(self.originals),
            dict(self.versions),
            {k: list(v) for k, v in self.corrections.items()},
        )

    def effective(self, event_id: str) -> Envelope | None:
        """The event with its corrections applied; ``None`` once retracted."""
        current: Envelope | None = self.originals[event_id]
        for correction in self.corrections.get(event_id, []):
            if correction.fields.get("retracted"):
                return None
            assert current is not None
            current = read_envelope(corrected_envelope(current, correction.fields["replacement"]))
        return current

    def effective_state(self, now: datetime | None = None) -> StreamState:
        """Fold the effective history; with ``now``, re-check every event as it goes."""
        state = StreamState(key=self.key)
        for event_id, version in self.versions.items():
            envelope = self.effective(event_id)
            if envelope is None:
                state.known_ids.add(event_id)
                state.retracted.add(event_id)
                continue
            if now is None or envelope.type == EventKind.CORRECTED:
                occurred = _quiet_occurred(state, envelope)  # corrections were checked on entry
            else:
                occurred = state.admit(envelope, now)
            state.apply(event_id, version, envelope, occurred)
        return state


def _quiet_occurred(state: StreamState, envelope: Envelope) -> Occurred | None:
    """Read ``occurred`` during replay, where nothing may raise."""
    try:
        return state.read_occurred(envelope)
    except Rejected:
        return None


def _event_class(kind: EventKind) -> type[Agreement.Event]:
    """The event class of one kind, nested on the aggregate (``Agreement.Signed``).

    Made from the vocabulary, which defines each type once; the registration is
    the aggregate's "created" event.
    """
    bases: tuple[type, ...] = (Agreement.Event,)
    if kind is EventKind.REGISTERED:
        bases = (Agreement.Event, Aggregate.Created)
    name = kind.class_name
    namespace = {"TYPE": kind, "__qualname__": f"Agreement.{name}", "__module__": __name__}
    event_class: type[Agreement.Event] = type(name, bases, namespace)
    setattr(Agreement, name, event_class)
    return event_class


EVENT_CLASSES: dict[str, type[Agreement.Event]] = {kind: _event_class(kind) for kind in EventKind}


LEGACY_MODULE = "ledger.domain"
"""Where release 0.1 defined the event classes, before the package had one import name:
its stored rows name topics such as ``ledger.domain:Agreement.Signed``."""

EVENT_TOPICS: dict[str, type[Agreement.Event]] = {
    **{f"{LEGACY_MODULE}:{cls.__qualname__}": cls for cls in EVENT_CLASSES.values()},
    **{get_topic(cls): cls for cls in EVENT_CLASSES.values()},
}
"""The only topics a stored row may name: decoding never imports anything else."""

# The library resolves old topics (of the events, and of the aggregate that a
# registration names as its originator) to today's classes.
register_topic(f"{LEGACY_MODULE}:Agreement", Agreement)
for _topic, _cls in EVENT_TOPICS.items():
    if _topic.startswith(f"{LEGACY_MODULE}:"):
        register_topic(_topic, _cls)


def event_class_of(topic: str) -> type[Agreement.Event] | None:
    """The agreement event class a stored topic names, or ``None`` for any other topic."""
    return EVENT_TOPICS.get(topic)


def _check_reserved_id(key: str, event_id: str, version: int) -> None:
    prefix = f"{key}/"
    suffix = event_id[len(prefix) :]
    if (
        event_id.startswith(prefix)
        and suffix.isascii()
        and suffix.isdigit()
        and int(suffix) != version
    ):
        raise ConflictingId(
            f"ids of the form {key}/N are assigned by the ledger; "
            f"{event_id!r} would be version {version}"
        )


def restored_event(record: dict[str, Any]) -> Agreement.Event:
    """An event rebuilt from its export record exactly as it was recorded: the same id,
    version, ``recorded_at``, ``recorded_by`` and hashes, no rule re-applied.

    Raises ``ValueError`` when the record does not hash to its own ``hash`` once
    rebuilt (it would not verify): a restore is faithful or refused.
    """
    envelope = read_envelope(record)
    version, recorded_at = int(record["version"]), datetime.fromisoformat(record["recorded_at"])
    kwargs, _ = _event_kwargs(
        envelope, record["id"], version, record["recorded_by"], record["prev_hash"], recorded_at
    )
    if kwargs["hash"] != record.get("hash"):
        raise ValueError(f"event {record['id']!r} does not hash to its recorded hash")
    event_class = EVENT_CLASSES[envelope.type]
    identity: dict[str, Any] = {
        "originator_id": agreement_id(envelope.agreement),
        "originator_version": version,
        "timestamp": recorded_at,
    }
    if envelope.type is EventKind.REGISTERED:
        identity["originator_topic"] = get_topic(Agreement)
    return event_class(**identity, **kwargs)


def identified(envelope: Envelope, event_id: str) -> Envelope:
    """``envelope`` under the id the ledger stores it with (itself when the writer gave it:
    an import's events mostly carry their ids, and copying a dataclass costs)."""
    return envelope if envelope.id == event_id else replace(envelope, id=event_id)


def _event_kwargs(
    envelope: Envelope, event_id: str, version: int, recorded_by: str, prev_hash: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """The event's attributes, with its hash; and whether all of them are written alike by
    the fast encoder and the standard library (``PreparedEvent.written_alike``)."""
    record = chain_record(identified(envelope, event_id), version, now, recorded_by, prev_hash)
    hash_, alike = record_hash_alike(record)
    fields = {
        "agreement": envelope.agreement,
        "event_id": event_id,
        "occurred": envelope.occurred,
        "tz": envelope.tz,
        "source": envelope.source,
        "citation": envelope.citation,
        "note": envelope.note,
        "after": list(envelope.after),
        "fields": envelope.fields,
        "recorded_by": recorded_by,
        "prev_hash": prev_hash,
        "hash": hash_,
    }
    # The hashed record holds every value of ``fields`` unless a field of the event is
    # named like a key of the record's own (the envelope's, or one set after the fields,
    # or left out): then ask again. A registration's ``tz`` field is one: it asks again.
    return fields, alike and not (envelope.fields.keys() & HIDDEN_FROM_RECORD)


HIDDEN_FROM_RECORD = (
    frozenset({"version", "recorded_at", "recorded_by", "prev_hash"})
    | UNHASHED_KEYS
    | frozenset(ENVELOPE_KEYS)
)
