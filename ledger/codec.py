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
import re
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    UUIDAsHex,
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


def hash_of(state: bytes) -> str:
    """The ``hash`` a stored state holds (``orjson``, or the standard library for what
    ``orjson`` refuses)."""
    try:
        found = orjson.loads(state)
    except orjson.JSONDecodeError:
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

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if event_class_of(stored_event.topic) is None:
            raise MapperDeserialisationError(
                f"stored topic {stored_event.topic!r} is not an agreement event"
            )
        return super().to_domain_event(stored_event)


def _custom_value(value: Any) -> dict[str, str]:
    """A date-time as the library's ``DatetimeAsISO`` transcoding writes it."""
    if type(value) is datetime:
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not stored by the ledger")


AGREEMENT_TOPIC = get_topic(Agreement)
EVENT_TOPIC = {kind: get_topic(cls) for kind, cls in EVENT_CLASSES.items()}


DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
LONG_RUN = b"0" * 19
NUMBER_OF_19_DIGITS = re.compile(rb"[:,\[\s]-?[0-9]{19}")


def _long_number(data: bytes) -> bool:
    """Whether ``data`` may hold a number of 19 digits or more. A run of 19 digits is
    looked for first (cheap); most such runs are inside text (a hash of zeros), which
    the pattern of a number's start then tells apart."""
    return LONG_RUN in data.translate(DIGITS_AS_ZERO) and bool(NUMBER_OF_19_DIGITS.search(data))


class LedgerTranscoder(JSONTranscoder):
    """The library's JSON transcoder, writing and reading the same bytes about five
    times faster.

    The ledger's stored state holds one value of a custom type, its ``timestamp``
    (``{"_type_": "datetime_iso", "_data_": …}``); ``orjson`` reads and writes the
    rest. Whatever ``orjson`` would treat differently goes through the library's
    own code: on writing, a number with a fraction or beyond 64 bits or a value of
    another type; on reading, another custom value (``"_type_"`` twice), a run of 19
    digits or more (a number that may lie beyond 64 bits, which ``orjson`` would read
    as a float: cheaper to find in the bytes than in the values), or what ``orjson``
    refuses (a lone surrogate, ``NaN``). Numbers with a fraction are read alike
    (both round correctly).
    """

    def encode(self, obj: Any) -> bytes:
        return self.encode_known(
            obj, alike=type(obj) is dict and written_alike(obj, datetimes=True)
        )

    def encode_known(self, obj: Any, *, alike: bool) -> bytes:
        """``encode``, told whether ``obj`` is written alike (``written_alike``, with
        date-times) by a caller that already knows."""
        if alike:
            try:
                encoded = orjson.dumps(
                    obj, default=_custom_value, option=orjson.OPT_PASSTHROUGH_DATETIME
                )
                # orjson's bytes keep their whole working buffer (8 KiB for a 700-byte
                # state); a batch waiting to be written holds thousands: keep a tight copy.
                return bytes(memoryview(encoded))
            except (orjson.JSONEncodeError, TypeError):
                pass
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        if data.count(b'"_type_"') == 1 and not _long_number(data):
            try:
                state = orjson.loads(data)
            except orjson.JSONDecodeError:
                state = None
            if type(state) is dict:
                stamp = state.get("timestamp")
                if (
                    type(stamp) is dict
                    and len(stamp) == 2
                    and stamp.get("_type_") == "datetime_iso"
                    and type(stamp.get("_data_")) is str
                ):
                    state["timestamp"] = datetime.fromisoformat(stamp["_data_"])
                    return state
        return super().decode(data)


def agreement_event(mapper: Mapper[Any], stored: StoredEvent) -> Agreement.Event:
    """One stored event as every reader of the log reads it; ``TypeError`` when what is
    stored there is not an agreement event."""
    event = mapper.to_domain_event(stored)
    if not isinstance(event, Agreement.Event):
        raise TypeError(f"topic {stored.topic!r} is not an agreement event")
    return event


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
        encoded = transcoder.encode_known(state, alike=True)
    else:
        encoded = transcoder.encode(state)
    return StoredEvent(
        originator_id=agreement_id(prepared.envelope.agreement),
        originator_version=prepared.version,
        topic=EVENT_TOPIC[prepared.kind],
        state=encoded,
    )
