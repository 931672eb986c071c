"""Layout arithmetic for pictures of an agreement's life (terminal chart and report).

The time axis is *ordinal*: every distinct boundary of an event's interval gets
its own evenly spaced tick, so that events hours apart and events years apart
both stay legible. An event is drawn over the ticks its interval covers, so its
precision shows: a year is a long span, a day a short one, a time a point.
Tick labels are dates in the agreement's zone.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agreement_ledger.ledger.worldtime import zone

AGREEMENT_LANE = "agreement"
POINT_PRECISIONS = frozenset({"minute", "second"})


@dataclass(frozen=True)
class Mark:
    """One event placed on the chart: its lane, and where it starts and ends (0..1)."""

    id: str
    lane: str
    x0: float
    x1: float
    point: bool
    entry: dict[str, Any]

    @property
    def flags(self) -> list[str]:
        return list(self.entry.get("flags", []))


class Axis:
    """An ordinal axis over the boundaries of the given intervals."""

    def __init__(
        self, intervals: Iterable[tuple[datetime, datetime]], zone_name: str | None
    ) -> None:
        boundaries = sorted({instant for interval in intervals for instant in interval})
        self.boundaries: list[datetime] = boundaries
        self.zone_name = zone_name

    def x(self, instant: datetime) -> float:
        """Where an instant falls, from 0 (first boundary) to 1 (last)."""
        if len(self.boundaries) < 2:
            return 0.0
        index = bisect_left(self.boundaries, instant)
        return min(index, len(self.boundaries) - 1) / (len(self.boundaries) - 1)

    def label(self, instant: datetime) -> str:
        """The date of an instant in the agreement's zone."""
        try:
            return instant.astimezone(zone(self.zone_name)).date().isoformat()
        except OverflowError:  # year 1 read west of its offset: say it in UTC
            return instant.date().isoformat()

    def ticks(self) -> list[tuple[float, str]]:
        """One labelled tick per distinct local date, at its first boundary."""
        seen: set[str] = set()
        ticks = []
        for instant in self.boundaries:
            text = self.label(instant)
            if text not in seen:
                seen.add(text)
                ticks.append((self.x(instant), text))
        return ticks


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def layout(
    timeline: Sequence[dict[str, Any]], parties: Sequence[str], zone_name: str | None
) -> tuple[Axis, list[str], list[Mark]]:
    """The axis, the lanes (agreement first, then parties) and the placed events."""
    dated = [e for e in timeline if e.get("start") and e.get("end")]
    axis = Axis(((_instant(e["start"]), _instant(e["end"])) for e in dated), zone_name)
    lanes = [AGREEMENT_LANE, *parties]
    marks = []
    for entry in dated:
        party = entry.get("party")
        lane = party if isinstance(party, str) and party in parties else AGREEMENT_LANE
        point = entry.get("precision") in POINT_PRECISIONS
        x0 = axis.x(_instant(entry["start"]))
        x1 = x0 if point else axis.x(_instant(entry["end"]))
        marks.append(Mark(entry["id"], lane, x0, x1, point, entry))
    return axis, lanes, marks


def columns(mark: Mark, width: int) -> tuple[int, int]:
    """The character columns ``[first, last]`` a mark covers on a track ``width`` wide."""
    first = round(mark.x0 * (width - 1))
    last = max(first, round(mark.x1 * (width - 1)) - (0 if mark.point else 1))
    return first, max(first, last)


def track(mark: Mark, width: int) -> str:
    """A text track with the mark drawn: ``●`` for a point in time, ``━`` for a span."""
    first, last = columns(mark, width)
    cells = ["·"] * width
    if mark.point:
        cells[first] = "●"
    else:
        for column in range(first, last + 1):
            cells[column] = "━"
    return "".join(cells)
