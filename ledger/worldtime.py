"""World time: when something happened, to the precision the source gives.

An ``occurred`` value is kept exactly as written and denotes an interval of
instants ``[start, end)`` in UTC. "2014-12-29" read in Asia/Seoul is
2014-12-28T15:00Z up to 2014-12-29T15:00Z; "2014" is the whole year.

Order between two events is *definite* when one interval ends before the other
starts, or when ``after`` links (transitively, mixed with interval order) say so;
otherwise, when the intervals overlap, it is only *possible*.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agreement_ledger.ledger.errors import InvalidOccurred, InvalidTimeZone


class Precision(StrEnum):
    """How much of a point in time the source gave."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"
    MINUTE = "minute"
    SECOND = "second"


_FORMS: tuple[tuple[Precision, re.Pattern[str]], ...] = (
    (Precision.YEAR, re.compile(r"\d{4}")),
    (Precision.MONTH, re.compile(r"\d{4}-\d{2}")),
    (Precision.DAY, re.compile(r"\d{4}-\d{2}-\d{2}")),
    (Precision.MINUTE, re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})?")),
    (Precision.SECOND, re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})?")),
)

ACCEPTED_FORMS = "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]"

_STEP = {Precision.MINUTE: timedelta(minutes=1), Precision.SECOND: timedelta(seconds=1)}


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    """The IANA zone called ``name`` (UTC when ``None``)."""
    if name is None:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name of a folder of the zone database ("Asia"), or too long for a file
        raise InvalidTimeZone(f"unknown IANA time zone {name!r}") from None


_set_attribute = object.__setattr__


def check_zone_name(name: str) -> str:
    """Return ``name`` if it is a known IANA zone, else raise ``InvalidTimeZone``."""
    zone(name)
    return name


@dataclass(frozen=True, init=False)
class Occurred:
    """A world time as written, with the interval of instants it denotes."""

    text: str
    precision: Precision
    start: datetime
    end: datetime
    zone: str

    def __init__(
        self, text: str, precision: Precision, start: datetime, end: datetime, zone: str
    ) -> None:
        # The generated frozen ``__init__``, in one assignment instead of five.
        _set_attribute(
            self,
            "__dict__",
            {"text": text, "precision": precision, "start": start, "end": end, "zone": zone},
        )

    @property
    def utc_texts(self) -> tuple[str, str]:
        """``start`` and ``end`` as the timeline shows them (``as_utc_text``), written the
        first time they are asked for: an ``Occurred`` is shared by every event that gives
        the same time in the same zone."""
        texts: tuple[str, str] | None = self.__dict__.get("_utc_texts")
        if texts is None:
            texts = self.__dict__["_utc_texts"] = (as_utc_text(self.start), as_utc_text(self.end))
        return texts

    def definitely_before(self, other: Occurred) -> bool:
        """True when this interval ends no later than ``other`` starts."""
        return self.end <= other.start


_FORMS_BY_LENGTH = {4: _FORMS[:1], 7: _FORMS[1:2], 10: _FORMS[2:3]}
"""The one form a text of a calendar length can have; any other length is a time."""


def _precision_of(text: str) -> Precision:
    for precision, pattern in _FORMS_BY_LENGTH.get(len(text), _FORMS[3:]):
        if pattern.fullmatch(text):
            return precision
    raise InvalidOccurred(f"cannot read occurred {text!r}: expected {ACCEPTED_FORMS}")


_PADDING = {Precision.YEAR: "-01-01", Precision.MONTH: "-01"}


def _calendar_start(text: str, precision: Precision) -> date:
    padded = text + _PADDING[precision] if precision in _PADDING else text
    try:
        return date.fromisoformat(padded)
    except ValueError as exc:
        raise InvalidOccurred(f"impossible occurred {text!r}: {exc}") from None


def _next_calendar_start(first: date, precision: Precision) -> date:
    if precision is Precision.YEAR:
        return first.replace(year=first.year + 1)
    if precision is Precision.MONTH:
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first + timedelta(days=1)


@lru_cache(maxsize=16384)
def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``, as a UTC datetime.

    Where a zone skips midnight (a DST jump at 00:00), fold=0 maps the missing
    wall time onto the transition instant, which is the first instant of the day.
    Cached: a day ends where the next begins, and a register names the same days
    in the same zones over and over.
    """
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _wall_clock_interval(
    text: str, precision: Precision, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidOccurred(f"impossible occurred {text!r}: {exc}") from None
    step = _STEP[precision]
    if parsed.tzinfo is not None:
        start = parsed.astimezone(UTC)
        return start, start + step
    earlier = parsed.replace(tzinfo=tz, fold=0)
    later = parsed.replace(tzinfo=tz, fold=1)
    if earlier.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != parsed:
        raise InvalidOccurred(
            f"impossible occurred {text!r}: that wall-clock time does not exist in {tz.key}"
        )
    # An ambiguous wall time (clocks turned back) covers both of its readings.
    first, second = sorted((earlier.astimezone(UTC), later.astimezone(UTC)))
    return first, second + step


def parse_occurred(text: object, zone_name: str | None = None) -> Occurred:
    """Read ``text`` as an occurred value, offset-less forms in ``zone_name``."""
    if not isinstance(text, str):
        raise InvalidOccurred(f"occurred must be a string in the form {ACCEPTED_FORMS}")
    return _parse_occurred(text, zone_name)


@lru_cache(maxsize=65536)
def _parse_occurred(text: str, zone_name: str | None) -> Occurred:
    """Cached: a register repeats the same dates in the same zones many times over."""
    precision = _precision_of(text)
    tz = zone(zone_name)
    try:
        return _interval(text, precision, tz)
    except (OverflowError, ValueError):  # the year after 9999, or before year 1 in UTC
        raise InvalidOccurred(
            f"impossible occurred {text!r}: it lies outside the calendar the ledger can "
            f"represent (years 1 to 9999) when read in {tz.key}"
        ) from None


def _interval(text: str, precision: Precision, tz: ZoneInfo) -> Occurred:
    if precision in (Precision.YEAR, Precision.MONTH, Precision.DAY):
        first = _calendar_start(text, precision)
        start = local_midnight(first, tz)
        end = local_midnight(_next_calendar_start(first, precision), tz)
        if end <= start:  # Samoa skipped 30 December 2011
            raise InvalidOccurred(
                f"impossible occurred {text!r}: that day does not exist in {tz.key}"
            )
    else:
        start, end = _wall_clock_interval(text, precision, tz)
    return Occurred(text=text, precision=precision, start=start, end=end, zone=tz.key)


def start_of_day(day: date, zone_name: str | None) -> datetime:
    """The first instant of ``day`` in the zone (how date-valued fields take effect).

    Date fields are checked to lie inside the calendar on entry; a day at its very
    edge that still cannot be read in the zone clamps to the edge of time.
    """
    try:
        return local_midnight(day, zone(zone_name))
    except OverflowError:
        return EARLIEST if day.year == 1 else LATEST


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def _exact_instant(text: str, zone_name: str | None) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone(zone_name))
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidOccurred(f"impossible moment {text!r}: {exc}") from None


class Order(StrEnum):
    """How two events stand in time."""

    BEFORE = "before"
    AFTER = "after"
    POSSIBLE = "possible"  # neither order is established


@dataclass(frozen=True, slots=True)
class Dated:
    """An event as far as ordering is concerned."""

    id: str
    occurred: Occurred | None
    after: tuple[str, ...] = ()


class Chronology:
    """Definite and possible order among one agreement's events.

    ``a`` is definitely before ``b`` when a chain of steps leads from ``a`` to
    ``b``, each step either an ``after`` link (``b`` names ``a``) or interval
    order (one interval ends no later than the next starts).
    """

    def __init__(self, events: Iterable[Dated]) -> None:
        self._events: dict[str, Dated] = {e.id: e for e in events}
        self._successors: dict[str, set[str]] = {e: set() for e in self._events}
        for event in self._events.values():
            for earlier in event.after:
                if earlier in self._successors:
                    self._successors[earlier].add(event.id)
        self._linked = any(self._successors.values())
        """Whether any event names another in ``after`` (most agreements: none)."""
        self._reach: dict[str, frozenset[str]] = {}
        # Events with a world time by start: those definitely after an interval are the
        # ones starting at or after its end, a slice found by bisection.
        dated = sorted(
            (e for e in self._events.values() if e.occurred is not None),
            key=lambda e: e.occurred.start,  # type: ignore[union-attr]
        )
        self._starts = [e.occurred.start for e in dated]  # type: ignore[union-attr]
        self._ids_by_start = [e.id for e in dated]

    @property
    def events(self) -> Mapping[str, Dated]:
        return self._events

    def _later_than(self, event_id: str) -> frozenset[str]:
        """Every event definitely after ``event_id``."""
        cached = self._reach.get(event_id)
        if cached is not None:
            return cached
        seen: set[str] = set()
        frontier = [event_id]
        while frontier:
            current = frontier.pop()
            step = set(self._successors[current])
            occurred = self._events[current].occurred
            if occurred is not None:  # every other.start >= occurred.end (definitely_before)
                step.update(self._ids_by_start[bisect_left(self._starts, occurred.end) :])
            for nxt in step - seen:
                seen.add(nxt)
                frontier.append(nxt)
        result = frozenset(seen)
        self._reach[event_id] = result
        return result

    def order(self, a: str, b: str) -> Order:
        """Whether ``a`` is definitely before, definitely after, or possibly either."""
        first, second = self._events[a].occurred, self._events[b].occurred
        dated = first is not None and second is not None
        if dated and first.definitely_before(second):  # type: ignore[union-attr, arg-type]
            return Order.BEFORE  # one interval step: ``b`` is in ``_later_than(a)``
        if not self._linked:  # interval order alone is transitive: nothing more to find
            after = dated and second.definitely_before(first)  # type: ignore[union-attr, arg-type]
            return Order.AFTER if after else Order.POSSIBLE
        if b in self._later_than(a):
            return Order.BEFORE
        if a in self._later_than(b):
            return Order.AFTER
        return Order.POSSIBLE

    def definitely_before(self, a: str, b: str) -> bool:
        return self.order(a, b) is Order.BEFORE


def as_utc_text(instant: datetime) -> str:
    """An instant as ISO-8601 in UTC with a ``Z`` (the form recorded_at is shown in)."""
    if instant.tzinfo is not UTC:  # the clock's are: no conversion for each event recorded
        instant = instant.astimezone(UTC)
    return iso_text(instant).replace("+00:00", "Z")


_last_iso: tuple[datetime | None, str] = (None, "")
_last_read: tuple[datetime | None, str] = (None, "")


def iso_text(instant: datetime) -> str:
    """``instant.isoformat()``, remembered for the last instant asked (the same object:
    a datetime never changes). An event's recording time is written twice, in its hashed
    record and in its stored state, and writing it cost 0.6 µs each time."""
    global _last_iso
    last = _last_iso
    if last[0] is instant:
        return last[1]
    read = _last_read
    if read[0] is instant:
        return read[1]
    text = instant.isoformat()
    _last_iso = (instant, text)
    return text


def read_instant(text: str) -> datetime:
    """``datetime.fromisoformat(text)``, and when ``text`` is already the instant's
    ``isoformat()`` in UTC (how the ledger stores a recording time), remembered as its
    ``iso_text``: verifying an event writes its recording time again for the hash, just
    after reading it, which cost 0.6 µs an event. Any other form is formatted when asked.
    (Remembered apart from the last instant written, which a projection that reads events
    writes over and over.)"""
    global _last_read
    instant = datetime.fromisoformat(text)
    if (
        len(text) == 32
        and text[26:] == "+00:00"
        and text[4] == text[7] == "-"
        and text[10] == "T"
        and text[13] == text[16] == ":"
        and text[19] == "."
        and text[20:26] != "000000"  # a whole second: ``isoformat`` writes no fraction
    ):
        _last_read = (instant, text)
    return instant


_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,6}(?:Z|[+-]\d{2}:\d{2})?")
"""A time to the microsecond, as the ledger prints ``recorded_at``."""


def as_of_instant(text: str, zone_name: str | None = None) -> datetime:
    """The instant a moment like ``--as-of`` names.

    A time names itself (to the microsecond, as ``recorded_at`` is printed); a
    bare date (or month, or year) names the last instant of that period in the
    zone, so that everything that began that day counts.
    """
    if _INSTANT.fullmatch(text):
        return _exact_instant(text, zone_name)
    occurred = parse_occurred(text, zone_name)
    if occurred.precision in (Precision.MINUTE, Precision.SECOND):
        return occurred.start
    return occurred.end - timedelta(microseconds=1)
