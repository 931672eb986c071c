"""The picture of an agreement's life: a time-true axis, lanes, periods, events, marks.

One layout serves the terminal chart (``ledger timeline --chart``) and the report's
SVG timeline, so that both say the same thing.

**The axis is proportional** within each stretch of time that holds something, and
long empty stretches are cut out and drawn as narrow, labelled *breaks* ("≈ 12
years"): a treaty signed in 1992, in force in 2002 and left in 2020 gets room for
each of those moments without pretending they were close together. A gap becomes a
break (largest first, at most ``MAX_BREAKS``) when it is longer than a week and than
2% of the whole, and either longer than a tenth of the whole or longer than all the
time still drawn beside it — so that a year known only as "2012" does not push the
week that mattered into a corner, and six months beside thirty years are not cut.

**Each lane** (the agreement, then each party) shows its *periods* as bars —
signed, provisionally applied, consented, bound, suspended, no longer bound —
*scheduled* changes as marks (a notice taking effect, an expiry), and its events,
each over the interval its date denotes (a year is a long span, a day a short one,
a time a point), coloured by the kind of step it is and labelled in words.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agreement_ledger.ledger.worldtime import parse_occurred, zone

AGREEMENT_LANE = "agreement"
POINT_PRECISIONS = frozenset({"minute", "second"})
MAX_BREAKS = 6
SHORTEST_BREAK = timedelta(days=7)
LONG = 0.1
"""A gap longer than this share of the whole timespan is cut."""
NEGLIGIBLE = 0.02
"""A gap shorter than this share of the whole timespan is never cut."""
BREAK_WIDTH = 0.035
"""Share of the axis one break takes."""
POINT_WIDTH = 0.03
"""Share of the axis a stretch of a single moment takes."""
LEAST_SHARE = 0.1
"""No stretch is drawn narrower than this share of the time drawn (a cluster of days
beside years stays legible)."""

# -- what a step is, in words and by kind ------------------------------------------

KIND_OF_TYPE = {
    "signed": "consent",
    "delivered": "consent",
    "consent_given": "consent",
    "ratified": "consent",
    "ratification_assessed": "consent",
    "party_added": "consent",
    "succeeded": "consent",
    "entered_into_force": "force",
    "provisionally_applied": "force",
    "extended": "force",
    "amended": "force",
    "resumed": "force",
    "notified": "notification",
    "termination_notified": "ending",
    "termination_notice_suspended": "ending",
    "termination_notice_withdrawn": "ending",
    "provisional_application_terminated": "ending",
    "suspended": "ending",
    "terminated": "ending",
    "expired": "ending",
}
"""Each event type's kind; anything else (registered, noted, statements, corrections,
a postponed signing) is ``context``."""

KINDS = {
    "consent": "signature and consent",
    "force": "in force, applied, extended",
    "notification": "notification of a body",
    "ending": "notice, suspension, end",
    "context": "context, statements, corrections",
}

TYPE_WORDS = {
    "termination_notified": "notice of termination or withdrawal",
    "termination_notice_suspended": "notice put on hold",
    "termination_notice_withdrawn": "notice withdrawn",
    "provisional_application_terminated": "provisional application ended",
    "ratification_assessed": "ratification assessed",
    "consent_given": "consent of a body",
    "party_added": "party added",
    "statement_made": "statement made",
    "statement_withdrawn": "statement withdrawn",
    "signing_postponed": "signing postponed",
}


def kind_of(event_type: str) -> str:
    return KIND_OF_TYPE.get(event_type, "context")


def type_words(event_type: str) -> str:
    """An event type said in words: ``entered_into_force`` → ``entered into force``."""
    return TYPE_WORDS.get(event_type, event_type.replace("_", " "))


PERIODS = {
    "signed": "signed, not yet bound",
    "provisional": "applied provisionally",
    "consented": "consent given, not yet in force",
    "bound": "bound (in force)",
    "suspended": "suspended",
    "ended": "no longer bound",
}
"""The periods a lane's bars show, in the order of the legend."""

SHORT_PERIODS = {
    "signed": "signed",
    "provisional": "provisional",
    "consented": "consent",
    "bound": "bound",
    "suspended": "suspended",
    "ended": "ended",
}


# -- the axis ------------------------------------------------------------------------


@dataclass(frozen=True)
class Stretch:
    """A stretch of time drawn from ``x0`` to ``x1`` (shares of the axis, 0..1).

    A break is a stretch cut short: ``x1 - x0`` is ``BREAK_WIDTH`` whatever its length.
    """

    start: datetime
    end: datetime
    x0: float
    x1: float
    broken: bool = False

    def x(self, instant: datetime) -> float:
        length = (self.end - self.start).total_seconds()
        if length <= 0:
            return (self.x0 + self.x1) / 2
        share = (instant - self.start).total_seconds() / length
        return self.x0 + share * (self.x1 - self.x0)

    @property
    def words(self) -> str:
        """How long a break is, roughly: ``12 years``, ``7 months``, ``3 weeks``."""
        return span_words(self.end - self.start)


def span_words(length: timedelta) -> str:
    """A length of time, roughly, in the largest unit that says it: ``1 year``,
    ``20 months``, ``18 years``, ``3 weeks``, ``5 days``."""
    days = length.total_seconds() / 86400
    if 350 <= days < 400:
        return "1 year"
    for unit, size, least in (
        ("year", 365.25, 700),
        ("month", 30.44, 59),
        ("week", 7.0, 14),
        ("day", 1.0, 1),
    ):
        if days >= least:
            count = max(1, round(days / size))
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a day"


class TimeAxis:
    """A proportional axis over the given instants, long empty gaps drawn as breaks."""

    def __init__(self, instants: Iterable[datetime], zone_name: str | None) -> None:
        self.zone_name = zone_name
        moments = sorted(set(instants))
        self.last = moments[-1] if moments else None
        self.stretches = _stretches(moments)
        self._starts = [s.start for s in self.stretches]

    @property
    def breaks(self) -> list[Stretch]:
        return [s for s in self.stretches if s.broken]

    def x(self, instant: datetime) -> float:
        """Where an instant falls, from 0 (the first moment) to 1 (the last)."""
        if not self.stretches:
            return 0.0
        index = max(0, bisect_right(self._starts, instant) - 1)
        while index > 0 and self.stretches[index].broken and self._starts[index] == instant:
            index -= 1  # a moment of its own, just before a break: drawn in its stretch
        stretch = self.stretches[index]
        return min(1.0, max(0.0, stretch.x(min(instant, stretch.end))))

    def label(self, instant: datetime, unit: str = "day") -> str:
        """An instant's date in the agreement's zone, as precise as ``unit``."""
        try:
            day = instant.astimezone(zone(self.zone_name)).date()
        except OverflowError:  # year 1 read west of its offset: say it in UTC
            day = instant.date()
        text = day.isoformat()
        return {"year": text[:4], "month": text[:7]}.get(unit, text)

    def ticks(self, slots: int = 12) -> list[tuple[float, str]]:
        """Labelled ticks: per drawn stretch, whole years, months or days of the zone,
        as many as fit ``slots`` labels across the whole axis."""
        ticks: list[tuple[float, str]] = []
        for stretch in self.stretches:
            if stretch.broken:
                continue
            room = max(1, round((stretch.x1 - stretch.x0) * slots))
            ticks.extend(self._stretch_ticks(stretch, room))
        return ticks

    def _stretch_ticks(self, stretch: Stretch, room: int) -> list[tuple[float, str]]:
        tz = zone(self.zone_name)
        if stretch.end == stretch.start:
            return [(stretch.x(stretch.start), self.label(stretch.start))]
        for unit, step in _TICK_STEPS:
            steps = _calendar_steps(stretch.start, stretch.end, unit, step, tz)
            instants = list(itertools.islice(steps, room + 1))  # more than fit: a longer step
            if 0 < len(instants) <= room:
                return [(stretch.x(i), self.label(i, unit)) for i in instants]
        return [(stretch.x(stretch.start), self.label(stretch.start))]


_TICK_STEPS = [
    ("day", 1),
    ("day", 7),
    ("month", 1),
    ("month", 3),
    ("month", 6),
    ("year", 1),
    ("year", 2),
    ("year", 5),
    ("year", 10),
    ("year", 25),
    ("year", 50),
    ("year", 100),
]


def _calendar_steps(
    start: datetime, end: datetime, unit: str, step: int, tz: Any
) -> Iterable[datetime]:
    """Local midnights of whole days, months or years within ``[start, end]``."""
    try:
        local = start.astimezone(tz).date()
    except OverflowError:
        local = start.date()
    day: date | None = _first_boundary(local, unit, step)
    while day is not None:
        try:
            instant = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        except (OverflowError, ValueError):
            return
        if instant > end:
            return
        if instant >= start:
            yield instant
        day = _advance(day, unit, step)


def _first_boundary(day: date, unit: str, step: int) -> date:
    if unit == "day":
        return day
    if unit == "month":
        month0 = day.month - 1
        return date(day.year, month0 - month0 % step + 1, 1)
    return date(max(1, day.year - day.year % step), 1, 1)  # there is no year 0


def _advance(day: date, unit: str, step: int) -> date | None:
    try:
        if unit == "day":
            return day + timedelta(days=step)
        if unit == "month":
            months = day.year * 12 + day.month - 1 + step
            return date(months // 12, months % 12 + 1, 1)
        return date(day.year + step, 1, 1)
    except (OverflowError, ValueError):
        return None


def _stretches(moments: list[datetime]) -> list[Stretch]:
    """Cut the timespan of ``moments`` at its long empty gaps and share out the axis."""
    if not moments:
        return []
    gaps = sorted(
        ((b - a, i) for i, (a, b) in enumerate(itertools.pairwise(moments))),
        reverse=True,
    )
    total = drawn = moments[-1] - moments[0]
    cut: set[int] = set()
    for length, index in gaps:
        if len(cut) == MAX_BREAKS or length <= SHORTEST_BREAK or length <= total * NEGLIGIBLE:
            break
        if length > total * LONG or length > drawn - length:
            cut.add(index)
            drawn -= length
    # The stretches between cuts, and the breaks themselves.
    pieces: list[tuple[datetime, datetime, bool]] = []
    start = moments[0]
    for index in sorted(cut):
        pieces.append((start, moments[index], False))
        pieces.append((moments[index], moments[index + 1], True))
        start = moments[index + 1]
    pieces.append((start, moments[-1], False))
    kept = sum(((b - a) for a, b, broken in pieces if not broken), timedelta())
    least = kept * LEAST_SHARE
    weights = [None if broken or b == a else max(b - a, least) for a, b, broken in pieces]
    fixed = sum(
        BREAK_WIDTH if broken else POINT_WIDTH
        for (a, b, broken), w in zip(pieces, weights, strict=True)
        if w is None
    )
    weighted = sum((w for w in weights if w is not None), timedelta())
    free = 1.0 - fixed if weighted else 0.0
    stretches = []
    x = 0.0
    for (a, b, broken), weight in zip(pieces, weights, strict=True):
        if weight is None:
            width = BREAK_WIDTH if broken else POINT_WIDTH
        else:
            width = free * (weight / weighted)
        stretches.append(Stretch(a, b, x, x + width, broken))
        x += width
    if x > 0:  # only fixed widths (a single moment, say): spread them over the axis
        stretches = [Stretch(s.start, s.end, s.x0 / x, s.x1 / x, s.broken) for s in stretches]
    return stretches


# -- lanes, events, periods, marks ---------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One event placed on the axis: its lane, and where it starts and ends (0..1)."""

    id: str
    lane: str
    x0: float
    x1: float
    point: bool
    entry: dict[str, Any]

    @property
    def flags(self) -> list[str]:
        return list(self.entry.get("flags", []))

    @property
    def kind(self) -> str:
        return kind_of(str(self.entry.get("type", "")))

    @property
    def words(self) -> str:
        return type_words(str(self.entry.get("type", "")))


@dataclass(frozen=True)
class Period:
    """A bar on a lane: ``kind`` (a key of ``PERIODS``) from ``x0`` to ``x1``."""

    lane: str
    kind: str
    start: str
    end: str | None
    x0: float
    x1: float

    @property
    def words(self) -> str:
        until = f" to {self.end}" if self.end else ""
        return f"{PERIODS[self.kind]}: {self.start}{until}"

    @property
    def short(self) -> str:
        """``bound 2002-01-01``: the period's short name and its first day (a suspension
        also its last, so that a resumed lane does not read as suspended)."""
        if self.kind == "suspended" and self.end:
            return f"{SHORT_PERIODS[self.kind]} {self.start} to {self.end}"
        return f"{SHORT_PERIODS[self.kind]} {self.start}"


@dataclass(frozen=True)
class Scheduled:
    """A change fixed in advance: a notice taking effect, an expiry, an end."""

    lane: str
    day: str
    words: str
    x: float


@dataclass(frozen=True)
class Picture:
    axis: TimeAxis
    lanes: list[str]
    marks: list[Mark]
    periods: list[Period]
    scheduled: list[Scheduled]

    def lane_marks(self, lane: str) -> list[Mark]:
        return [m for m in self.marks if m.lane == lane]

    def lane_periods(self, lane: str) -> list[Period]:
        """A lane's periods, earliest first."""
        return sorted((p for p in self.periods if p.lane == lane), key=lambda p: p.x0)

    def lane_scheduled(self, lane: str) -> list[Scheduled]:
        return [s for s in self.scheduled if s.lane == lane]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _start(day: str | None, zone_name: str | None) -> datetime | None:
    """The first instant of a date (or month, or year) in the agreement's zone."""
    if not day:
        return None
    try:
        return parse_occurred(day, zone_name).start
    except ValueError:
        return None


def picture(
    state: dict[str, Any], timeline: Sequence[dict[str, Any]], today: datetime | None = None
) -> Picture:
    """Everything the chart and the report draw, from ``show``'s state and the timeline.

    A bar still running reaches the end of the axis: ``today`` (the moment the picture
    is as of), which joins the axis when something is still running, or a later change
    fixed in advance (an expiry, a notice taking effect), whose ◆ then ends it.
    """
    zone_name = state.get("tz")
    codes = [str(p["code"]) for p in state.get("parties", [])]
    lanes = [AGREEMENT_LANE, *codes]
    dated = [e for e in timeline if e.get("start") and e.get("end")]
    spans = _period_spans(state, dated, zone_name)
    planned = _scheduled_days(state)
    running = any(end is None for *_, end in spans)
    instants = [_instant(e[k]) for e in dated for k in ("start", "end")]
    instants += [s for *_, s, _e in spans if s is not None]
    instants += [e for *_, e in spans if e is not None]
    instants += [i for _lane, day, _w in planned if (i := _start(day, zone_name)) is not None]
    if running and today is not None and (not instants or today > max(instants)):
        instants.append(today)
    axis = TimeAxis(instants, zone_name)
    horizon = axis.last
    marks = []
    for entry in dated:
        party = entry.get("party")
        lane = party if isinstance(party, str) and party in codes else AGREEMENT_LANE
        point = entry.get("precision") in POINT_PRECISIONS
        x0 = axis.x(_instant(entry["start"]))
        x1 = x0 if point else axis.x(_instant(entry["end"]))
        marks.append(Mark(str(entry["id"]), lane, x0, x1, point, entry))
    periods = [
        Period(lane, kind, first, last, axis.x(start), axis.x(end or horizon or start))
        for lane, kind, first, last, start, end in spans
    ]
    scheduled = [
        Scheduled(lane, day, words, axis.x(i))
        for lane, day, words in planned
        if (i := _start(day, zone_name)) is not None
    ]
    return Picture(axis, lanes, marks, periods, scheduled)


Span = tuple[str, str, str, str | None, datetime, datetime | None]
"""(lane, period kind, first day, last day or None, start instant, end instant or None)"""


def _period_spans(
    state: dict[str, Any], dated: Sequence[dict[str, Any]], zone_name: str | None
) -> list[Span]:
    spans: list[Span] = []
    zones = _party_zones(dated)
    for party in state.get("parties", []):
        spans.extend(_party_spans(party, zones.get(str(party["code"]), zone_name)))
    in_force = state.get("entered_into_force")
    if in_force and (start := _start(in_force, zone_name)) is not None:
        ending = state.get("status") in ("terminated", "expired")
        last = _agreement_end(state) if ending else None
        spans.append(
            (
                AGREEMENT_LANE,
                "bound",
                in_force,
                last,
                start,
                _start(last, zone_name) if last else None,
            )
        )
        if last:
            spans.append(
                (AGREEMENT_LANE, "ended", last, None, _start(last, zone_name) or start, None)
            )
    spans.extend(_suspensions(dated, {str(p["code"]) for p in state.get("parties", [])}))
    return spans


def _agreement_end(state: dict[str, Any]) -> str | None:
    termination = state.get("termination") or {}
    if termination.get("status") == "effective" and termination.get("effective"):
        return str(termination["effective"])
    return state.get("expires")


def _party_zones(dated: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The zone each party's own events are read in (the first that names one), so that
    a bar starts where its event is drawn: a party's dates are days of its zone."""
    zones: dict[str, str] = {}
    for entry in dated:
        party, where = entry.get("party"), entry.get("zone")
        if isinstance(party, str) and isinstance(where, str):
            zones.setdefault(party, where)
    return zones


def _party_spans(party: dict[str, Any], zone_name: str | None) -> list[Span]:
    """A party's bars, its dates read in ``zone_name``: each step lasts until the next
    one it reached."""
    lane = str(party["code"])
    end_day = party.get("withdrawn") or party.get("ended") or party.get("succeeded")
    steps = [
        ("signed", party.get("signed")),
        ("consented", party.get("consented")),
        ("bound", party.get("in_force")),
        ("ended", end_day),
    ]
    reached = [(kind, day, _start(day, zone_name)) for kind, day in steps if day]
    reached = [(k, d, s) for k, d, s in reached if s is not None]
    spans: list[Span] = []
    for n, (kind, day, start) in enumerate(reached):
        following = reached[n + 1] if n + 1 < len(reached) else None
        assert start is not None
        if following is None:
            spans.append((lane, kind, day, None, start, None))
        else:
            spans.append((lane, kind, day, following[1], start, following[2]))
    provisional = party.get("provisional")
    if provisional and (start := _start(provisional, zone_name)) is not None:
        until = party.get("provisional_until")
        spans.append((lane, "provisional", provisional, until, start, _start(until, zone_name)))
    return spans


def _suspensions(dated: Sequence[dict[str, Any]], codes: set[str]) -> list[Span]:
    """Suspended … resumed, per lane (the agreement's, or a party's)."""
    spans: list[Span] = []
    open_since: dict[str, dict[str, Any]] = {}
    for entry in sorted(dated, key=lambda e: e["start"]):
        if entry.get("retracted"):
            continue
        party = entry.get("party")
        lane = party if isinstance(party, str) and party in codes else AGREEMENT_LANE
        if entry.get("type") == "suspended" and lane not in open_since:
            open_since[lane] = entry
        elif entry.get("type") == "resumed" and lane in open_since:
            began = open_since.pop(lane)
            spans.append(
                (
                    lane,
                    "suspended",
                    began["occurred"],
                    entry["occurred"],
                    _instant(began["start"]),
                    _instant(entry["start"]),
                )
            )
    for lane, began in open_since.items():
        spans.append((lane, "suspended", began["occurred"], None, _instant(began["start"]), None))
    return spans


def _scheduled_days(state: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(lane, day, words) of each change that takes effect by time."""
    codes = {str(p["code"]) for p in state.get("parties", [])}
    planned = []
    for notice in state.get("notices") or []:
        if notice.get("effective") and notice.get("status") in ("pending", "effective"):
            party = notice.get("party")
            lane = party if party in codes else AGREEMENT_LANE
            planned.append(
                (
                    lane,
                    str(notice["effective"]),
                    f"{notice['effective']} notice of {party} takes effect",
                )
            )
    if state.get("expires"):
        planned.append((AGREEMENT_LANE, str(state["expires"]), f"{state['expires']} expires"))
    for party in state.get("parties", []):
        until = party.get("provisional_until")
        if until:
            planned.append(
                (str(party["code"]), str(until), f"{until} provisional application ends")
            )
    return planned


# -- text tracks (the terminal chart) ----------------------------------------------

PERIOD_GLYPHS = {
    "signed": "─",
    "provisional": "╌",
    "consented": "▒",
    "bound": "█",
    "suspended": "░",
    "ended": "×",  # noqa: RUF001  (a cross, on purpose)
}
BREAK_GLYPH = "≈"


def columns(mark: Mark, width: int) -> tuple[int, int]:
    """The character columns ``[first, last]`` a mark covers on a track ``width`` wide."""
    first = round(mark.x0 * (width - 1))
    last = max(first, round(mark.x1 * (width - 1)) - (0 if mark.point else 1))
    return first, max(first, last)


def _break_column(stretch: Stretch, width: int) -> int:
    """The column of a track ``width`` wide where a break's ``≈`` goes: its middle."""
    return min(width - 1, round((stretch.x0 + stretch.x1) / 2 * (width - 1)))


def _blank(axis: TimeAxis, width: int) -> list[str]:
    cells = ["·"] * width
    for stretch in axis.breaks:
        cells[_break_column(stretch, width)] = BREAK_GLYPH
    return cells


def track(mark: Mark, width: int, axis: TimeAxis | None = None) -> str:
    """A text track with the mark drawn: ``●`` for a point in time, ``━`` for a span;
    ``≈`` where the axis breaks."""
    first, last = columns(mark, width)
    cells = _blank(axis, width) if axis else ["·"] * width
    if mark.point:
        cells[first] = "●"
    else:
        for column in range(first, last + 1):
            cells[column] = "━"
    return "".join(cells)


def period_track(found: Picture, lane: str, width: int) -> str:
    """A lane's periods as one text track (later steps drawn over earlier ones), its
    scheduled changes as ``◆``, the breaks as ``≈``."""
    cells = _blank(found.axis, width)
    for period in sorted(found.lane_periods(lane), key=lambda p: p.kind == "suspended"):
        first = round(period.x0 * (width - 1))
        last = max(first, round(period.x1 * (width - 1)))
        for column in range(first, last + 1):
            if cells[column] != BREAK_GLYPH or period.kind == "suspended":
                cells[column] = PERIOD_GLYPHS[period.kind]
    for planned in found.lane_scheduled(lane):
        cells[round(planned.x * (width - 1))] = "◆"
    return "".join(cells)


def axis_line(axis: TimeAxis, width: int) -> str:
    """Tick labels placed under a track ``width`` wide, none overlapping another or a
    break's ``≈``: a label that does not fit moves a column or two, then says less
    (``1992-03-24``, ``1992-03``, ``1992``), then is left out."""
    cells = [" "] * width
    for stretch in axis.breaks:
        cells[_break_column(stretch, width)] = BREAK_GLYPH
    for fraction, label in axis.ticks(slots=max(1, width // 7)):
        ideal = round(fraction * (width - 1))
        for text in dict.fromkeys((label, label[:7], label[:4])):
            column = _free_run(cells, ideal, len(text))
            if column is not None:
                cells[column : column + len(text)] = text
                break
    return "".join(cells)


def _free_run(cells: list[str], ideal: int, length: int) -> int | None:
    """A column near ``ideal`` where ``length`` cells (and one on each side) are blank."""
    for column in (ideal, ideal + 1, ideal - 1, ideal + 2, ideal - 2, ideal - length + 1):
        first, last = column - 1, column + length
        if column < 0 or column + length > len(cells):
            continue
        if all(cells[i] == " " for i in range(max(0, first), min(len(cells), last + 1))):
            return column
    return None
