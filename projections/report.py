"""The self-contained HTML audit report of one agreement.

Everything comes from the same projection as ``show`` and ``replay`` (at
``--as-of``, as known at ``--known-at``), the stored history, and the chain
verification of the stream. The page has no scripts or assets from outside:
styles and the SVG timeline are inline, so it opens offline and prints to PDF.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Template

from agreement_ledger.ledger.verification import make_digest
from agreement_ledger.ledger.worldtime import as_utc_text
from agreement_ledger.projections.audit import replay_projection
from agreement_ledger.projections.chart import KINDS, PERIODS, Mark, Picture, TimeAxis, picture
from agreement_ledger.projections.pages import environment
from agreement_ledger.projections.projector import Projector

WIDTH, LEFT, PLOT_RIGHT, ROW, TOP = 1000, 110, 640, 22, 78


@dataclass(frozen=True)
class Row:
    """One row of the SVG: a lane's periods (``mark`` is None) or one of its events."""

    y: int
    lane: str
    mark: Mark | None
    evidence: bool


def svg_rows(found: Picture, evidence: set[str]) -> list[Row]:
    """Each lane's row of periods, then a row per event of that lane."""
    rows = []
    y = TOP
    for lane in found.lanes:
        rows.append(Row(y, lane, None, False))
        y += ROW
        for mark in found.lane_marks(lane):
            rows.append(Row(y, lane, mark, mark.id in evidence))
            y += ROW
        y += 6
    return rows


def x_of(fraction: float) -> float:
    """Where a point of the axis (0..1) is drawn; labels go right of ``PLOT_RIGHT``."""
    return round(LEFT + fraction * (PLOT_RIGHT - LEFT), 1)


def render_report(
    projector: Projector,
    key: str,
    as_of: str | None = None,
    known_at: str | None = None,
    *,
    site_root: str | None = None,
) -> str:
    """The report as one HTML document; within a site (``site_root``, the way up to the
    site's index), with a way back to the index and a link to each party's page."""
    projection, as_of_at, known_at_at = replay_projection(projector, key, as_of, known_at)
    state = projection.show
    found = picture(state, projection.timeline, as_of_at)
    evidence = {event_id for flag in projection.flags for event_id in flag.events}
    rows = svg_rows(found, evidence)
    history = [
        r
        for r in projector.ledger.history(key)
        if known_at_at is None or r.record["recorded_at"] <= as_utc_text(known_at_at)
    ]
    checked = projector.ledger.verify(key)
    digest = make_digest(checked.heads, checked.events_checked, as_utc_text(datetime.now(UTC)))
    return _template().render(
        state=state,
        flags=projection.flags,
        rows=rows,
        ticks=_ticks(found.axis),
        breaks=found.axis.breaks,
        picture=found,
        periods=PERIODS,
        kinds=KINDS,
        height=(rows[-1].y if rows else TOP) + ROW + 32,  # room for two rows of break labels
        history=history,
        verification=checked,
        digest=digest,
        as_of=as_utc_text(as_of_at),
        known_at=as_utc_text(known_at_at) if known_at_at else None,
        generated=as_utc_text(datetime.now(UTC)),
        zones=_zones(projection.timeline, state),
        site_root=site_root,
    )


@functools.cache
def _template() -> Template:
    """The report's template, compiled once per process (a site renders hundreds)."""
    env = environment()
    env.globals.update(x_of=x_of, WIDTH=WIDTH, LEFT=LEFT, PLOT_RIGHT=PLOT_RIGHT, ROW=ROW, TOP=TOP)
    return env.get_template("report.html.j2")


def _ticks(axis: TimeAxis) -> list[tuple[float, str]]:
    """Tick labels that do not crowd each other (at least 28 px apart)."""
    chosen: list[tuple[float, str]] = []
    for fraction, label in axis.ticks(slots=(PLOT_RIGHT - LEFT) // 48):
        if not chosen or x_of(fraction) - x_of(chosen[-1][0]) >= 28:
            chosen.append((fraction, label))
    return chosen


def _zones(timeline: list[dict[str, Any]], state: dict[str, Any]) -> list[str]:
    """The time zones in play, the agreement's first."""
    zones = [state["tz"] or "UTC"]
    for entry in timeline:
        if entry.get("zone") and entry["zone"] not in zones:
            zones.append(entry["zone"])
    return zones


__all__ = ["render_report"]
