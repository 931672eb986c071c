"""The facts a projection works from: an agreement's effective events at a moment.

``Facts.build`` takes stored events (from the event store, an import file, a
scratch copy: the source does not matter), keeps those the ledger knew at
``known_at``, applies corrections, and keeps the world facts that had begun by
``as_of``. Everything downstream — state, flags, timeline — reads only this.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from agreement_ledger.ledger.domain import Agreement, History
from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.ledger.rules import Fact, StreamState
from agreement_ledger.ledger.vocabulary import Envelope, EventKind
from agreement_ledger.ledger.worldtime import Chronology, Dated, Occurred, Order, start_of_day


class Recording(NamedTuple):
    """When and by whom the ledger stored an event, and its place in the stream (a named
    tuple: one is made for every event projected)."""

    version: int
    recorded_at: datetime
    recorded_by: str
    original: Envelope


class _Index(NamedTuple):
    """One list of facts by type, and by (party, type), each in world order."""

    by_type: dict[str, list[Fact]]
    by_party_type: dict[tuple[str, str], list[Fact]]

    @classmethod
    def of(cls, facts: Iterable[Fact]) -> _Index:
        by_type: dict[str, list[Fact]] = {}
        by_party_type: dict[tuple[str, str], list[Fact]] = {}
        for fact in world_order(facts):
            kind = fact.envelope.type
            by_type.setdefault(kind, []).append(fact)
            party = fact.envelope.fields.get("party")
            if isinstance(party, str):
                by_party_type.setdefault((party, kind), []).append(fact)
        return cls(by_type, by_party_type)


@dataclass
class Facts:
    """An agreement's effective world facts, as known at ``known_at``, begun by ``as_of``."""

    key: str
    registration: Envelope
    parties: dict[str, dict[str, str]]
    facts: list[Fact]
    all_facts: list[Fact]  # begun or not: the timeline shows everything known
    recordings: dict[str, Recording]
    retracted: set[str]
    corrected_by: dict[str, list[str]]
    as_of: datetime
    version: int
    chronology: Chronology = field(init=False)
    _indexes: dict[str, _Index] = field(init=False, repr=False)
    """Per list (``facts``, ``all_facts``): its facts by type and by party and type."""

    def __post_init__(self) -> None:
        self.chronology = Chronology(
            Dated(f.id, f.occurred, f.envelope.after) for f in self.all_facts
        )
        self._indexes = {}
        self._answers: dict[tuple[Any, ...], list[Fact]] = {}

    @classmethod
    def build(
        cls,
        events: Iterable[Agreement.Event],
        *,
        as_of: datetime,
        known_at: datetime | None = None,
    ) -> Facts | None:
        """The facts of one agreement's stored events; ``None`` if it was not yet known."""
        stream = [e for e in events if known_at is None or e.timestamp <= known_at]
        if not stream:
            return None
        first = stream[0]
        if first.TYPE is not EventKind.REGISTERED or first.originator_version != 1:
            raise StorageError(
                f"the stored stream of {stream[0].agreement!r} does not begin with its "
                "registration (damaged); run `ledger verify` to see where"
            )
        history = History(stream[0].agreement)
        recordings: dict[str, Recording] = {}
        for event in stream:
            envelope = event.envelope()
            history.add(event.event_id, event.originator_version, envelope)
            recordings[event.event_id] = Recording(
                event.originator_version, event.timestamp, event.recorded_by, envelope
            )
        return cls.folded(
            history,
            history.effective_state(),
            recordings,
            as_of=as_of,
            version=stream[-1].originator_version,
        )

    @classmethod
    def folded(
        cls,
        history: History,
        state: StreamState,
        recordings: dict[str, Recording],
        *,
        as_of: datetime,
        version: int,
    ) -> Facts:
        """The facts of a history already folded (``state`` is its ``effective_state()``):
        how ``build`` ends, and where a piped import's checking process begins, which holds
        the fold its checks made (``ledger.application``) and need not decode and fold the
        events again."""
        every = [f for f in state.facts.values() if f.envelope.type != EventKind.CORRECTED]
        begun = [f for f in every if f.occurred is None or f.occurred.start <= as_of]
        registration = next(
            (f.envelope for f in every if f.envelope.type == EventKind.REGISTERED), None
        )
        if registration is None:
            raise StorageError(
                f"the stored stream of {history.key!r} has no registration in force "
                "(damaged); run `ledger verify` to see where"
            )
        corrected_by = {
            target: [str(correction.id) for correction in corrections]
            for target, corrections in history.corrections.items()
        }
        return cls(
            key=history.key,
            registration=registration,
            parties=state.parties,
            facts=begun,
            all_facts=every,
            recordings=recordings,
            retracted=state.retracted,
            corrected_by=corrected_by,
            as_of=as_of,
            version=version,
        )

    # -- reading -----------------------------------------------------------

    @property
    def tz(self) -> str | None:
        return self.registration.fields.get("tz")

    @property
    def is_open(self) -> bool:
        return bool(self.registration.fields.get("open"))

    @property
    def requires_ratification(self) -> set[str]:
        return set(self.registration.fields.get("requires_ratification") or [])

    def of_type(self, *types: str) -> list[Fact]:
        """Facts of the given types in world order (start, then recording order)."""
        return self._of_types("facts", types)

    def _of_types(self, which: str, types: tuple[str, ...]) -> list[Fact]:
        """The facts of ``which`` list with one of ``types``, in world order; a copy, which
        the caller may change. The flag rules and the state ask the same questions often:
        answered from an index by type built once per list, an answer of several types
        remembered."""
        if len(types) == 1:
            return list(self._index(which).by_type.get(types[0], ()))
        asked = (which, *types)
        answer = self._answers.get(asked)
        if answer is None:
            by_type = self._index(which).by_type
            answer = self._answers[asked] = _merged(by_type, dict.fromkeys(types))
        return list(answer)

    def of_party(self, code: str, *types: str) -> list[Fact]:
        return self._of_party("facts", code, types)

    def _of_party(self, which: str, code: str, types: tuple[str, ...]) -> list[Fact]:
        """One party's facts of ``which`` list with one of ``types``, answered like
        ``_of_types``' from an index by party and type; a copy."""
        if len(types) == 1:
            return list(self._index(which).by_party_type.get((code, types[0]), ()))
        asked = (which, code, types)  # ``types`` a tuple: never a key of ``_of_types``
        answer = self._answers.get(asked)
        if answer is None:
            by_party_type = self._index(which).by_party_type
            wanted = [(code, kind) for kind in dict.fromkeys(types)]
            answer = self._answers[asked] = _merged(by_party_type, wanted)
        return list(answer)

    def _index(self, which: str) -> _Index:
        index = self._indexes.get(which)
        if index is None:
            index = self._indexes[which] = _Index.of(getattr(self, which))
        return index

    def known_of_kind(self, *types: str) -> list[Fact]:
        """Every known fact of the given types, begun by ``as_of`` or not, in world order."""
        return self._of_types("all_facts", types)

    def known_of_party(self, code: str, *types: str) -> list[Fact]:
        """Like ``of_party``, but also the facts known that had not begun by ``as_of``."""
        return self._of_party("all_facts", code, types)

    def begun(self, fact: Fact) -> bool:
        return fact.occurred is None or fact.occurred.start <= self.as_of

    def day_start(self, day: str) -> datetime:
        """When a date-valued field takes effect: the start of that day in the agreement's zone."""
        return start_of_day(datetime.fromisoformat(day).date(), self.tz)

    def field_start(self, fact: Fact, name: str) -> datetime:
        """When a date field of ``fact`` takes effect: the start of that day in the zone its
        own ``occurred`` is read in (the event's, else the acting party's, else the agreement's)."""
        return start_of_day(datetime.fromisoformat(fact.envelope.fields[name]).date(), fact.zone)

    def at(self, instant: datetime) -> Facts:
        """The same knowledge, evaluated at another instant."""
        view = copy.copy(self)
        view.as_of = instant
        view.facts = [
            f for f in self.all_facts if f.occurred is None or f.occurred.start <= instant
        ]
        view._indexes = {k: v for k, v in self._indexes.items() if k == "all_facts"}
        view._answers = {k: v for k, v in self._answers.items() if k[0] == "all_facts"}
        return view

    def order(self, a: Fact, b: Fact) -> Order:
        return self.chronology.order(a.id, b.id)


def _merged(index: dict[Any, list[Fact]], keys: Iterable[Any]) -> list[Fact]:
    """The facts under ``keys`` of an index of lists in world order, in world order."""
    lists = [index[key] for key in keys if key in index]
    if len(lists) == 1:
        return list(lists[0])
    return world_order(fact for facts in lists for fact in facts)


def world_order(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=_world_key)


def _world_key(fact: Fact) -> tuple[Any, ...]:
    occurred = fact.occurred
    if occurred is None:
        return (0, None, fact.version)
    return (1, occurred.start, fact.version)


def start_of(fact: Fact) -> datetime:
    """The first instant of a dated fact."""
    assert fact.occurred is not None
    return fact.occurred.start


def end_of(fact: Fact) -> datetime:
    """The end (exclusive) of a dated fact's interval."""
    assert fact.occurred is not None
    return fact.occurred.end


def relative_to(occurred: Occurred | None, instant: datetime) -> Order:
    """Whether an event is definitely before, definitely after, or around an instant."""
    if occurred is None:
        return Order.POSSIBLE
    if occurred.end <= instant:
        return Order.BEFORE
    if occurred.start >= instant:
        return Order.AFTER
    return Order.POSSIBLE
