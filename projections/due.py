"""The compliance calendar: what falls due, read off each agreement's current state.

A treaty office asks every Monday: which notifications are owed and by when, which
notices of termination or withdrawal and which ends of provisional application take
effect soon, which agreements expire, and what is already overdue. Each item is read
off the ``show`` answer of one agreement (the read models), so the calendar says
what ``show`` says, in the agreement's own calendar: a date is the day in the zone
the event was read in, and "today" is today in the agreement's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import isodate

from agreement_ledger.projections.parties import requirement_text

DEFAULT_WINDOW = "P90D"


@dataclass(frozen=True)
class DueItem:
    """One thing that falls due: when, what, for whom, and whether it is overdue."""

    agreement: str
    due: str  # the day, as the agreement's events give it ("" if unknown)
    kind: str  # notification | termination | provisional_end | expiry
    party: str | None
    what: str  # in words
    overdue: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "agreement": self.agreement,
            "due": self.due,
            "kind": self.kind,
            "party": self.party,
            "what": self.what,
            "overdue": self.overdue,
        }


def calendar(
    states: Iterable[dict[str, Any]],
    now: datetime,
    within: str = DEFAULT_WINDOW,
    party: str | None = None,
) -> list[DueItem]:
    """Everything due from ``now`` to ``within`` later, and everything overdue, soonest
    first (overdue items first of all), for every agreement or one ``party``."""
    window = isodate.parse_duration(within)
    found: list[DueItem] = []
    for state in states:
        today = now.astimezone(ZoneInfo(state.get("tz") or "UTC")).date()
        until = today + window
        for item in _items(state):
            if party is not None and not _concerns(item, state, party):
                continue
            if item.overdue or today <= date.fromisoformat(item.due[:10]) <= until:
                found.append(item)
    return sorted(found, key=lambda item: (not item.overdue, item.due, item.agreement))


AGREEMENT_WIDE = ("termination", "expiry")
"""What concerns every party of the agreement, not only the one that acts."""


def _concerns(item: DueItem, state: dict[str, Any], code: str) -> bool:
    if item.party == code:
        return True
    return item.kind in AGREEMENT_WIDE and any(p["code"] == code for p in state["parties"])


def _items(state: dict[str, Any]) -> Iterator[DueItem]:
    key = state["agreement"]
    for requirement in state.get("required_notifications") or []:
        deadline = requirement.get("deadline")
        missed = requirement["status"] == "missing"
        if missed or (requirement["status"] == "due" and deadline):
            what = f"notify {requirement['body']} {requirement_text(requirement)}"
            yield DueItem(key, deadline or "", "notification", requirement["party"], what, missed)
    for notice in state.get("notices") or []:
        if notice.get("status") == "pending":
            what = (
                f"notice of termination or withdrawal by {notice['party']} "
                f"(given {notice['notified']}) takes effect"
            )
            yield DueItem(key, notice["effective"], "termination", notice["party"], what, False)
    for entry in state["parties"]:
        if entry.get("provisional_until") and entry.get("status") == "provisional":
            what = f"provisional application by {entry['code']} ends"
            yield DueItem(
                key, entry["provisional_until"], "provisional_end", entry["code"], what, False
            )
    if state.get("expires") and state.get("status") not in ("expired", "terminated", "ended"):
        yield DueItem(key, state["expires"], "expiry", None, "the agreement expires", False)
