"""One projection, many sources: the state, flags and timeline of an agreement.

``project`` is the single code path behind the live read models, ``rebuild``,
``replay`` and ``audit``: they differ only in where the events come from and
at which instants (``as_of``, ``known_at``) they are evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from agreement_ledger.ledger.domain import Agreement
from agreement_ledger.ledger.rules import Fact
from agreement_ledger.ledger.vocabulary import EventKind
from agreement_ledger.ledger.worldtime import as_utc_text, zone
from agreement_ledger.projections.facts import Facts, world_order
from agreement_ledger.projections.flags import (
    SUBJECT_DEFAULT,
    Deadline,
    Flag,
    deadline_of,
    evaluate,
    matches,
)
from agreement_ledger.projections.state import AgreementState, compute_state


@dataclass(frozen=True)
class Projection:
    """Everything the read models hold about one agreement, and its timeline."""

    key: str
    show: dict[str, Any]
    flags: list[Flag]
    changes_at: datetime | None  # when the answer next changes by time alone
    facts: Facts | None = field(repr=False, compare=False)
    state: AgreementState | None = field(repr=False, compare=False)
    """What the timeline is made from (``None`` once let go: ``kept``)."""

    @property
    def flag_rows(self) -> list[dict[str, Any]]:
        return [flag.as_json(self.key) for flag in self.flags]

    @cached_property
    def timeline(self) -> list[dict[str, Any]]:
        """Made when asked (``ledger timeline``, the report), not for every projection:
        no read model stores it (see docs/decisions.md)."""
        if self.facts is None or self.state is None:
            raise LookupError("this projection was kept without what its timeline is made of")
        return timeline(self.facts, self.state, self.flags)

    def kept(self) -> Projection:
        """This projection without the facts and state its timeline is made of (most of
        its memory), to keep for answers in memory (a replica's recomputed agreements)."""
        return replace(self, facts=None, state=None)


def project(
    events: Iterable[Agreement.Event], *, as_of: datetime, known_at: datetime | None = None
) -> Projection | None:
    """Project one agreement's stored events; ``None`` if nothing was known at ``known_at``."""
    facts = Facts.build(events, as_of=as_of, known_at=known_at)
    return None if facts is None else project_facts(facts)


def project_facts(facts: Facts) -> Projection:
    """Project one agreement's facts (``project``, once its events are read and folded)."""
    state = compute_state(facts)
    flags = evaluate(facts, state)
    registration = facts.registration.fields
    show = {
        "agreement": facts.key,
        "title": registration["title"],
        "kind": registration.get("kind"),
        "binding": registration.get("binding"),
        "open": bool(registration.get("open")),
        "tz": registration.get("tz"),
        "status": state.status,
        "parties": [party.as_json() for party in state.parties.values()],
        "entered_into_force": (
            state.general_entry_into_force.envelope.occurred
            if state.general_entry_into_force
            else None
        ),
        "expires": state.expires,
        "termination": state.termination.as_json() if state.termination else None,
        "notices": [notice.as_json() for notice in state.notices],
        "notifications": notifications(facts),
        "required_notifications": required_notifications(facts, state, flags),
        "flags": [flag.as_json(facts.key) for flag in flags],
        "version": facts.version,
    }
    return Projection(
        key=facts.key,
        show=show,
        flags=flags,
        changes_at=state.changes_at[0] if state.changes_at else None,
        facts=facts,
        state=state,
    )


def notifications(facts: Facts) -> list[dict[str, Any]]:
    """Every notification of a parliament or other body, in world order."""
    return [
        {
            "id": fact.id,
            "party": fact.envelope.fields["party"],
            "body": fact.envelope.fields["body"],
            "subject": fact.envelope.fields.get("subject"),
            "about": fact.envelope.fields.get("about") or SUBJECT_DEFAULT,
            "notified": fact.envelope.occurred,
        }
        for fact in facts.of_type(EventKind.NOTIFIED)
    ]


LATE_CODES = ("notified_late", "notified_after_entry_into_force")


def required_notifications(
    facts: Facts, state: AgreementState, flags: list[Flag]
) -> list[dict[str, Any]]:
    """Each ``notify`` requirement and where it stands, read off the flags.

    ``made`` in time, ``late``, ``missing`` (deadline passed), ``due`` (deadline to
    come: after entry into force for ``within``, before its step for ``before``) or
    ``awaiting_entry_into_force``.
    """
    result = []
    for requirement in facts.registration.fields.get("notify") or []:
        party = requirement["party"]
        met_by = next(
            (f.id for f in facts.of_type(EventKind.NOTIFIED) if matches(f, requirement)), None
        )
        about = [f for f in flags if f.party == party]
        if met_by is not None:
            late = any(f.code in LATE_CODES and met_by in f.events for f in about)
            status = "late" if late else "made"
        elif any(f.code == "notification_missing" for f in about):
            status = "missing"
        elif (
            "before" in requirement
            or "lead" in requirement
            or state.general_entry_into_force is not None
            or state.parties[party].periods
        ):
            status = "due"
        else:
            status = "awaiting_entry_into_force"
        deadline = deadline_of(facts, state, requirement)
        result.append(
            {
                **requirement,
                "within": requirement.get("within"),
                "status": status,
                "notified_by": met_by,
                "deadline": last_day(deadline) if deadline is not None else None,
            }
        )
    return result


def last_day(deadline: Deadline) -> str:
    """The last day on which notifying draws no flag at all, in the zone the step was read
    in: the day before the deadline's earliest possible instant. A step known to the day
    may have happened at any time of it, so a notification on the next day is possibly
    late (``notified_late``, possible), and the calendar names the day that is safe."""
    zone_name = deadline.step.zone or "UTC"
    last = deadline.earliest - timedelta(microseconds=1)
    return last.astimezone(zone(zone_name)).date().isoformat()


def timeline(facts: Facts, state: AgreementState, flags: list[Flag]) -> list[dict[str, Any]]:
    """Begun events in world order (retracted ones marked), with recording time beside them."""
    retracted = [
        Fact(
            event_id, facts.recordings[event_id].version, facts.recordings[event_id].original, None
        )
        for event_id in facts.retracted
    ]
    flagged: dict[str, list[str]] = {}
    for flag in flags:
        for event_id in flag.events[:1]:
            flagged.setdefault(event_id, []).append(flag.code)
    entries = []
    for fact in world_order([*facts.facts, *retracted]):
        recording = facts.recordings[fact.id]
        envelope = fact.envelope
        start, end = fact.occurred.utc_texts if fact.occurred else (None, None)
        entries.append(
            {
                "id": fact.id,
                "version": fact.version,
                "type": envelope.type,
                "occurred": envelope.occurred,
                "precision": fact.occurred.precision.value if fact.occurred else None,
                "start": start,
                "end": end,
                "zone": fact.occurred.zone if fact.occurred else None,
                "party": envelope.acting_party(),
                "summary": envelope.summary(),
                "recorded_at": as_utc_text(recording.recorded_at),
                "recorded_by": recording.recorded_by,
                "corrected_by": facts.corrected_by.get(fact.id, []),
                "retracted": fact.id in facts.retracted,
                "flags": flagged.get(fact.id, []),
            }
        )
    del state
    return entries
