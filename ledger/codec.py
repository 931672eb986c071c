"""How an agreement event is written to and read from its stored row, without the database.

The library's mapper and JSON transcoder, made faster and stricter (``LedgerMapper``,
``LedgerTranscoder``), and the stored form of an event the rules have prepared
(``stored_event``). Everything here works on bytes and values only: the event store
(``ledger.eventstore``, SQLAlchemy) and the lean append (``projections.lean_append``,
the standard library's ``sqlite3``) store and read rows through the same code, so the
two cannot write different bytes.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import msgspec
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    UUIDAsHex,
    find_id_convertor,
)
from eventsourcing.utils import get_topic

from agreement_ledger.ledger.chain import written_alike
from agreement_ledger.ledger.domain import (
    EVENT_CLASSES,
    Agreement,
    PreparedEvent,
    agreement_id,
    event_class_of,
)
from agreement_ledger.ledger.vocabulary import EventKind
from agreement_ledger.ledger.worldtime import iso_text, read_instant


def hash_of(state: bytes) -> str:
    """The ``hash`` a stored state holds (the fast decoder, or the standard library for
    what it refuses)."""
    try:
        found = _DECODER.decode(state)
    except READ_ALIKE:
        found = json.loads(state)
    return str(found["hash"])


def id_bytes(originator_id: UUID | str) -> bytes:
    """A stream id as SQLite stores it (``UUIDType``: the UUID's 16 bytes)."""
    return originator_id.bytes if isinstance(originator_id, UUID) else UUID(originator_id).bytes


class LedgerMapper(Mapper[Any]):
    """The library's mapper, refusing any stored topic that is not an agreement event.

    The library resolves a topic by importing the module it names; a tampered
    topic (``this:s``) would run that module's code. Only the ledger's own
    event classes are ever resolved here.
    """

    def to_domain_event(self, stored_event: StoredEvent) -> Agreement.Event:
        """One stored event as every reader of the log reads it (``event_of``)."""
        return self.event_of(
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.topic,
            bytes(stored_event.state),
        )

    def event_of(
        self, originator_id: UUID | str, version: int, topic: str, state: bytes
    ) -> Agreement.Event:
        """The event a stored row holds, made as the library's ``to_domain_event`` makes
        it (decoded state, stream id and version, class versions upcast, attributes
        set), without a ``StoredEvent`` made for each row first: every reader of the
        log reads every event through here. Follows eventsourcing 9.5's mapper (the
        version pinned); a test holds every event of the release database equal to
        what that mapper makes."""
        cls = event_class_of(topic)
        if cls is None:
            raise MapperDeserialisationError(f"stored topic {topic!r} is not an agreement event")
        if self.cipher or self.compressor:  # not the ledger's set-up: the library's own way
            made = super().to_domain_event(StoredEvent(originator_id, version, topic, state))
            return cast(Agreement.Event, made)
        try:
            event_state: dict[str, Any] = self.transcoder.decode(state)
        except Exception as error:  # worded as the library words it
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic '{topic}', "
                f"originator_id '{originator_id}' and originator_version {version}: {error}"
            ) from error
        if type(event_state.get("timestamp")) is not datetime:
            # Every event is stamped when recorded; a state without a date-time there was
            # not written by the ledger, and every reader must say so (not only those
            # that show the recording time).
            raise MapperDeserialisationError(
                f"stored event with topic '{topic}', originator_id '{originator_id}' and "
                f"originator_version {version} has no date-time as its timestamp"
            )
        event_state["originator_id"] = find_id_convertor(cls, cast(Hashable, type(originator_id)))(
            originator_id
        )
        event_state["originator_version"] = version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        return cast(Agreement.Event, _made(cls, event_state))


AGREEMENT_TOPIC = get_topic(Agreement)
EVENT_TOPIC = {kind: get_topic(cls) for kind, cls in EVENT_CLASSES.items()}
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()
READ_ALIKE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What the fast decoder refuses (malformed JSON, invalid UTF-8 in a text, nesting beyond
its depth); the library's own code then reads (or refuses, in its own words) it."""


class LedgerTranscoder(JSONTranscoder):
    """The library's JSON transcoder, writing and reading the same bytes about five
    times faster.

    The ledger's stored state holds one value of a custom type, its ``timestamp``
    (``{"_type_": "datetime_iso", "_data_": …}``); ``msgspec`` reads and writes the
    rest. Whatever it would treat differently goes through the library's own code: on
    writing, a number with a fraction or beyond 64 bits, a key that is not text or a
    value of another type (``chain.written_alike``); on reading, another custom value
    (``"_type_"`` twice, or any ``\\u`` escape, behind which one could hide) or what
    ``msgspec`` refuses (a lone surrogate, ``NaN``, a number beyond the range of a float,
    invalid UTF-8, nesting beyond its depth). Numbers are read alike (integers of any
    length whole, fractions correctly rounded by both).
    """

    def encode(self, obj: Any) -> bytes:
        return self.encode_known(obj, alike=type(obj) is dict and written_alike(obj, stamped=True))

    def encode_known(self, obj: Any, *, alike: bool, own: bool = False) -> bytes:
        """``encode``, told whether ``obj`` is written alike (``written_alike``, stamped)
        by a caller that already knows; ``own``: the caller made ``obj`` for this and
        lets its timestamp be written in place (no copy of every event's state)."""
        if alike:
            plain = obj
            stamp = obj.get("timestamp")
            if type(stamp) is datetime:  # else a copy: the caller's state stays as it was
                plain = obj if own else obj.copy()
                plain["timestamp"] = {"_type_": "datetime_iso", "_data_": iso_text(stamp)}
            try:
                return _ENCODER.encode(plain)
            except (TypeError, ValueError, msgspec.EncodeError):
                if plain is obj and type(stamp) is datetime:
                    obj["timestamp"] = stamp  # as it was given, for the library's own code
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        # One custom value, the timestamp: a second ``_type_`` could hide behind an escape
        # (``\u005f``), which the library would read as its custom value.
        if data.count(b'"_type_"') == 1 and b"\\u" not in data:
            try:
                state = _DECODER.decode(data)
            except READ_ALIKE:
                state = None
            if type(state) is dict:
                stamp = state.get("timestamp")
                if (
                    type(stamp) is dict
                    and len(stamp) == 2
                    and stamp.get("_type_") == "datetime_iso"
                    and type(stamp.get("_data_")) is str
                ):
                    state["timestamp"] = read_instant(stamp["_data_"])
                    return state
        return super().decode(data)


def ledger_mapper() -> LedgerMapper:
    """The mapper every reader and writer of stored events uses: the ledger's transcoder
    with the transcodings the library's application registers (``register_transcodings``)."""
    transcoder = LedgerTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    return LedgerMapper(transcoder=transcoder)


def stored_event(transcoder: Transcoder, prepared: PreparedEvent, now: datetime) -> StoredEvent:
    """A prepared event as the library's mapper would store the event object, without
    making it: the event's attributes in their order (``timestamp``, for a
    registration ``originator_topic``, then the ledger's fields) through the
    transcoder."""
    state: dict[str, Any] = {"timestamp": now}
    if prepared.kind is EventKind.REGISTERED:
        state["originator_topic"] = AGREEMENT_TOPIC
    state.update(prepared.fields)
    class_version = getattr(EVENT_CLASSES[prepared.kind], "class_version", 1)
    if class_version > 1:  # as the mapper marks an event of an evolved class
        state["class_version"] = class_version
    if prepared.written_alike and isinstance(transcoder, LedgerTranscoder):
        # The state holds the hashed values, a date-time and the ledger's own text and
        # whole numbers: written alike if those were.
        encoded = transcoder.encode_known(state, alike=True, own=True)
    else:
        encoded = transcoder.encode(state)
    return stored_row(
        agreement_id(prepared.envelope.agreement),
        prepared.version,
        EVENT_TOPIC[prepared.kind],
        encoded,
    )


def stored_row(originator_id: UUID, version: int, topic: str, state: bytes) -> StoredEvent:
    """The library's ``StoredEvent`` of these values (made as ``_made`` makes it)."""
    attributes = {
        "originator_id": originator_id,
        "originator_version": version,
        "topic": topic,
        "state": state,
    }
    return cast(StoredEvent, _made(StoredEvent, attributes))


def _made(cls: type, attributes: dict[str, Any]) -> object:
    """An instance of the frozen dataclass ``cls`` holding ``attributes``: what its
    ``__init__`` does, in one assignment instead of one ``object.__setattr__`` a field
    (a third of the cost). A stored row and an event are made for every event written
    or read."""
    made: object = object.__new__(cls)
    object.__setattr__(made, "__dict__", attributes)
    return made
