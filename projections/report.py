"""The self-contained HTML audit report of one agreement.

Everything comes from the same projection as ``show`` and ``replay`` (at
``--as-of``, as known at ``--known-at``), the stored history, and the chain
verification of the stream. The page has no scripts or assets from outside:
styles and the SVG timeline are inline, so it opens offline and prints to PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from agreement_ledger.ledger.text import visible
from agreement_ledger.ledger.verification import make_digest
from agreement_ledger.ledger.worldtime import as_utc_text
from agreement_ledger.projections import parties as status_table
from agreement_ledger.projections.audit import replay_projection
from agreement_ledger.projections.chart import Axis, Mark, layout
from agreement_ledger.projections.projector import Projector

WIDTH, LEFT, PLOT_RIGHT, ROW, TOP = 1000, 110, 620, 24, 70


@dataclass(frozen=True)
class Row:
    """One event's row in the SVG: its lane label (on the lane's first row) and mark."""

    y: int
    lane: str | None
    mark: Mark
    evidence: bool


def svg_rows(lanes: list[str], marks: list[Mark], evidence: set[str]) -> list[Row]:
    rows = []
    y = TOP
    for lane in lanes:
        first = True
        for mark in (m for m in marks if m.lane == lane):
            rows.append(Row(y, lane if first else None, mark, mark.id in evidence))
            first = False
            y += ROW
    return rows


def x_of(fraction: float) -> float:
    """Where a point of the axis (0..1) is drawn; labels go right of ``PLOT_RIGHT``."""
    return round(LEFT + fraction * (PLOT_RIGHT - LEFT), 1)


def render_report(
    projector: Projector, key: str, as_of: str | None = None, known_at: str | None = None
) -> str:
    """The report as one HTML document."""
    projection, as_of_at, known_at_at = replay_projection(projector, key, as_of, known_at)
    state = projection.show
    party_codes = [p["code"] for p in state["parties"]]
    axis, lanes, marks = layout(projection.timeline, party_codes, state["tz"])
    evidence = {event_id for flag in projection.flags for event_id in flag.events}
    rows = svg_rows(lanes, marks, evidence)
    history = [
        r
        for r in projector.ledger.history(key)
        if known_at_at is None or r.record["recorded_at"] <= as_utc_text(known_at_at)
    ]
    checked = projector.ledger.verify(key)
    digest = make_digest(checked.heads, checked.events_checked, as_utc_text(datetime.now(UTC)))
    environment = Environment(
        loader=PackageLoader("agreement_ledger.projections", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        finalize=_shown,
    )
    environment.globals.update(
        x_of=x_of, WIDTH=WIDTH, LEFT=LEFT, PLOT_RIGHT=PLOT_RIGHT, ROW=ROW, TOP=TOP
    )
    environment.globals.update(
        participant=status_table.participant,
        consent_text=status_table.consent_text,
        end_text=status_table.end_text,
        provisional_text=status_table.provisional_text,
        requirement_text=status_table.requirement_text,
    )
    return environment.get_template("report.html.j2").render(
        state=state,
        flags=projection.flags,
        rows=rows,
        ticks=_ticks(axis),
        height=TOP + ROW * max(len(rows), 1) + 20,
        history=history,
        verification=checked,
        digest=digest,
        as_of=as_utc_text(as_of_at),
        known_at=as_utc_text(known_at_at) if known_at_at else None,
        generated=as_utc_text(datetime.now(UTC)),
        zones=_zones(projection.timeline, state),
    )


def _shown(value: Any) -> Any:
    """Every printed string with its control characters visible (then HTML-escaped)."""
    return visible(value) if isinstance(value, str) else value


def _ticks(axis: Axis) -> list[tuple[float, str]]:
    """Tick labels that do not crowd each other (at least 28 px apart)."""
    chosen: list[tuple[float, str]] = []
    for fraction, label in axis.ticks():
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
