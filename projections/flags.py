"""Compliance flags (§5): small pure rules, registered in one place.

A rule takes the agreement's facts and computed state and returns flags. The
runner calls every rule; a rule that crashes becomes a reported ``rule_failed``
flag rather than a crash. Certainty follows §3: an order the dates (or
``after`` links) establish is ``definite``; an order they leave open is
``possible``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from agreement_ledger.ledger.durations import duration_words
from agreement_ledger.ledger.errors import InvalidArgument
from agreement_ledger.ledger.rules import Fact
from agreement_ledger.ledger.vocabulary import EventKind, parse_duration
from agreement_ledger.ledger.worldtime import EARLIEST, LATEST, Order, as_utc_text, zone
from agreement_ledger.projections.facts import Facts, end_of, relative_to, start_of
from agreement_ledger.projections.state import AgreementState

WARNING, INFO = "warning", "info"
DEFINITE, POSSIBLE = "definite", "possible"


@dataclass(frozen=True)
class Flag:
    code: str
    severity: str
    certainty: str
    party: str | None
    message: str
    events: tuple[str, ...]

    def as_json(self, agreement: str) -> dict[str, Any]:
        return {
            "agreement": agreement,
            "code": self.code,
            "severity": self.severity,
            "certainty": self.certainty,
            "party": self.party,
            "message": self.message,
            "events": list(self.events),
        }


Rule = Callable[[Facts, AgreementState], Iterator[Flag]]
RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    """Register a flag rule under its code."""

    def register(function: Rule) -> Rule:
        RULES[code] = function
        return function

    return register


RULE_FAILED = "rule_failed"


def known_codes() -> list[str]:
    """Every code a flag can carry: one per rule, and the report of a rule that failed."""
    return [*RULES, RULE_FAILED]


def check_filter(code: str | None, severity: str | None) -> None:
    """Refuse a flag code or severity that no flag can have (a usage error, not "no flags")."""
    if code is not None and code not in known_codes():
        raise InvalidArgument(
            f"unknown flag code {code!r}; known codes: {', '.join(known_codes())}"
        )
    if severity is not None and severity not in (INFO, WARNING):
        raise InvalidArgument(f"unknown severity {severity!r}; one of {INFO}, {WARNING}")


def evaluate(facts: Facts, state: AgreementState) -> list[Flag]:
    """Every flag of every rule, in a stable order."""
    flags: list[Flag] = []
    for code, check in RULES.items():
        try:
            flags.extend(check(facts, state))
        except Exception as error:
            flags.append(
                Flag(
                    RULE_FAILED,
                    WARNING,
                    DEFINITE,
                    None,
                    f"the {code} rule failed: {type(error).__name__}: {error}",
                    (),
                )
            )
    return flags


def _hedged(word: str, certainty: str) -> str:
    """``after`` when definite, ``possibly after`` when only possible."""
    return word if certainty == DEFINITE else f"possibly {word}"


def _certainty(order: Order) -> str | None:
    """``definite`` for BEFORE-or-AFTER as asked, ``possible`` when open, else ``None``."""
    return {Order.AFTER: DEFINITE, Order.POSSIBLE: POSSIBLE}.get(order)


def _entry_for(facts: Facts, state: AgreementState, party: str) -> Fact | None:
    """When the agreement (or that party) first entered into force."""
    party_state = state.parties.get(party)
    candidates = [p.start for p in party_state.periods] if party_state else []
    if state.general_entry_into_force is not None:
        candidates.append(state.general_entry_into_force)
    return min(candidates, key=start_of) if candidates else None


def _requirements(facts: Facts) -> list[dict[str, str]]:
    return list(facts.registration.fields.get("notify") or [])


SUBJECT_DEFAULT = "conclusion"
"""What a notification, or a requirement, is about when it does not say (version 1)."""

ABOUT_ENTRY_INTO_FORCE = ("conclusion", "entry_into_force")


def _about(fields: dict[str, Any]) -> str:
    return str(fields.get("about") or SUBJECT_DEFAULT)


def matches(fact: Fact, requirement: dict[str, str]) -> bool:
    """Whether a notification meets a requirement: same party, body and subject."""
    fields = fact.envelope.fields
    return bool(
        fields["party"] == requirement["party"]
        and fields["body"] == requirement["body"]
        and _about(fields) == _about(requirement)
    )


def _plus(instant: datetime, duration: str, zone_name: str | None, sign: int = 1) -> datetime:
    """``instant`` plus (or minus) an ISO duration, calendar parts counted in the zone."""
    local = instant.astimezone(zone(zone_name))
    try:
        step = parse_duration(duration)
        moved: datetime = local + step if sign > 0 else local - step
        return moved.astimezone(instant.tzinfo)
    except OverflowError:  # a deadline beyond the calendar never passes (or always has)
        return LATEST if sign > 0 else EARLIEST


def _days_after(day: date, length: Any) -> date:
    """``day`` plus a notice period; past the calendar's end, its last day."""
    try:
        result: date = day + length
    except OverflowError:
        return date.max
    return result


@dataclass(frozen=True)
class Deadline:
    """When a required notification is due, as an interval of possible instants."""

    requirement: dict[str, str]
    step: Fact  # the step it is measured from: entry into force, consent, a notice
    earliest: datetime
    latest: datetime
    wording: str  # "within P30D after entry into force on …", "at least P120D before …"

    @property
    def party(self) -> str:
        return self.requirement["party"]

    @property
    def body(self) -> str:
        return self.requirement["body"]

    @property
    def explicit(self) -> bool:
        """Whether the requirement states its deadline (``within``, ``before`` or ``lead``)."""
        return any(key in self.requirement for key in ("within", "before", "lead"))


STEP_NAMES = {
    "consent": "consent to be bound",
    "entry_into_force": "entry into force",
    "termination_notified": "notice of termination",
}


def _step(facts: Facts, state: AgreementState, requirement: dict[str, str]) -> Fact | None:
    """The step a requirement is measured from, once it has happened."""
    party, before = requirement["party"], requirement.get("before", "entry_into_force")
    if "within" in requirement or before == "entry_into_force":
        return _entry_for(facts, state, party)
    kind = EventKind.RATIFIED if before == "consent" else EventKind.TERMINATION_NOTIFIED
    found = facts.of_party(party, kind)
    return found[0] if found else None


def deadline_of(
    facts: Facts, state: AgreementState, requirement: dict[str, str]
) -> Deadline | None:
    """When a notification requirement must be met, once the step it hangs on happened."""
    step = _step(facts, state, requirement)
    if step is None:
        return None
    zone_name = step.zone or facts.tz
    within = requirement.get("within")
    if within is not None:
        earliest = _plus(start_of(step), within, zone_name)
        latest = _plus(end_of(step), within, zone_name)
        wording = (
            f"within {duration_words(within)} after entry into force on {step.envelope.occurred}"
        )
        return Deadline(requirement, step, earliest, latest, wording)
    lead = requirement.get("lead")
    name = STEP_NAMES[requirement.get("before", "entry_into_force")]
    earliest, latest = start_of(step), end_of(step)
    if lead is not None:
        earliest, latest = _plus(earliest, lead, zone_name, -1), _plus(latest, lead, zone_name, -1)
    ahead = f"at least {duration_words(lead)} before" if lead else "before"
    return Deadline(
        requirement, step, earliest, latest, f"{ahead} {name} on {step.envelope.occurred}"
    )


@rule("notified_after_entry_into_force")
def notified_after_entry_into_force(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    """Only a notification about the conclusion or the entry into force itself: telling a
    parliament about a later step (a withdrawal, an extension) is never late for this."""
    for notified in facts.of_type(EventKind.NOTIFIED):
        fields = notified.envelope.fields
        if _about(fields) not in ABOUT_ENTRY_INTO_FORCE:
            continue
        party, body = fields["party"], fields["body"]
        if any(matches(notified, r) and r.get("within") for r in _requirements(facts)):
            continue  # a requirement allows notice after entry into force
        entry = _entry_for(facts, state, party)
        if entry is None:
            continue
        certainty = _certainty(facts.order(notified, entry))
        if certainty:
            yield Flag(
                "notified_after_entry_into_force",
                WARNING,
                certainty,
                party,
                f"{body} ({party}) was notified on {notified.envelope.occurred}, "
                f"{_hedged('after', certainty)} the agreement "
                f"entered into force on {entry.envelope.occurred}",
                (notified.id, entry.id),
            )


@rule("notified_late")
def notified_late(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    """A required notification made after its stated deadline (``within``, or ``lead``
    ahead of the step it must precede)."""
    for requirement in _requirements(facts):
        deadline = deadline_of(facts, state, requirement)
        if deadline is None or not deadline.explicit:
            continue
        notified = next(
            (f for f in facts.of_type(EventKind.NOTIFIED) if matches(f, requirement)), None
        )
        if notified is None:
            continue
        if start_of(notified) >= deadline.latest:
            certainty = DEFINITE
        elif end_of(notified) > deadline.earliest:
            certainty = POSSIBLE
        else:
            continue
        yield Flag(
            "notified_late",
            WARNING,
            certainty,
            deadline.party,
            f"{deadline.body} ({deadline.party}) was notified on {notified.envelope.occurred}, "
            f"{_hedged('after', certainty)} the deadline: {deadline.wording}",
            (notified.id, deadline.step.id),
        )


@rule("notification_missing")
def notification_missing(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    """A required notification not made by the evaluation instant although it was due."""
    for requirement in _requirements(facts):
        deadline = deadline_of(facts, state, requirement)
        if deadline is None or any(
            matches(f, requirement) for f in facts.of_type(EventKind.NOTIFIED)
        ):
            continue
        if facts.as_of >= deadline.latest:
            certainty = DEFINITE
        elif facts.as_of >= deadline.earliest:
            certainty = POSSIBLE
        else:
            continue
        yield Flag(
            "notification_missing",
            WARNING,
            certainty,
            deadline.party,
            f"{deadline.body} ({deadline.party}) has not been notified; it was due "
            f"{deadline.wording} (deadline {as_utc_text(deadline.latest)})",
            (deadline.step.id,),
        )


def _unsigned_at(facts: Facts, moment: Fact, code: str) -> tuple[str, tuple[str, ...]] | None:
    """Whether ``code`` had not signed at ``moment``: certainty and evidence."""
    signature = next(iter(facts.of_party(code, EventKind.SIGNED)), None)
    if signature is None:
        return DEFINITE, (moment.id,)
    certainty = _certainty(facts.order(signature, moment))
    return (certainty, (moment.id, signature.id)) if certainty else None


def _original_parties(facts: Facts, moment: Fact) -> list[str]:
    """Parties of the agreement at ``moment`` (those added later are left out)."""
    later = {
        f.envelope.fields["party"]["code"]
        for f in facts.of_type(EventKind.PARTY_ADDED)
        if facts.order(f, moment) is Order.AFTER
    }
    return [code for code in facts.parties if code not in later]


@rule("entered_into_force_before_all_signatures")
def entered_before_all_signatures(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    entry = state.general_entry_into_force
    if facts.is_open or entry is None:
        return
    for code in _original_parties(facts, entry):
        found = _unsigned_at(facts, entry, code)
        if found:
            certainty, evidence = found
            yield Flag(
                "entered_into_force_before_all_signatures",
                WARNING,
                certainty,
                code,
                f"the agreement entered into force on {entry.envelope.occurred} "
                f"{_hedged('before', certainty)} {code} signed",
                evidence,
            )


@rule("delivered_before_all_signatures")
def delivered_before_all_signatures(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    if facts.is_open:
        return
    for delivery in facts.of_type(EventKind.DELIVERED):
        for code in _original_parties(facts, delivery):
            found = _unsigned_at(facts, delivery, code)
            if found:
                certainty, evidence = found
                yield Flag(
                    "delivered_before_all_signatures",
                    WARNING,
                    certainty,
                    code,
                    f"the {delivery.envelope.fields.get('instrument', 'instrument')} was "
                    f"delivered on {delivery.envelope.occurred} "
                    f"{_hedged('before', certainty)} {code} signed",
                    evidence,
                )


@rule("entered_into_force_without_ratification")
def entered_without_ratification(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    for code in sorted(facts.requires_ratification & set(state.parties)):
        ratifications = facts.of_party(code, EventKind.RATIFIED)
        periods = state.parties[code].periods
        for own in facts.of_party(code, EventKind.ENTERED_INTO_FORCE):
            unratified = not any(facts.order(r, own) is not Order.AFTER for r in ratifications)
            if unratified and not any(p.start is own for p in periods):
                yield Flag(
                    "entered_into_force_without_ratification",
                    WARNING,
                    DEFINITE,
                    code,
                    f"{code}'s own entry into force on {own.envelope.occurred} was recorded "
                    "without its ratification (it does not bind it)",
                    (own.id,),
                )
        for period in periods:
            if period.consent is not None and period.consent.envelope.type is EventKind.SUCCEEDED:
                continue  # a successor consents by its notification of succession
            ratified = next(
                (r for r in ratifications if facts.order(r, period.start) is not Order.AFTER), None
            )
            evidence: tuple[str, ...]
            if ratified is None:
                certainty, evidence = DEFINITE, (period.start.id,)
            else:
                found = _certainty(facts.order(ratified, period.start))
                if not found:
                    continue
                certainty, evidence = found, (period.start.id, ratified.id)
            yield Flag(
                "entered_into_force_without_ratification",
                WARNING,
                certainty,
                code,
                f"{code} was put in force on {period.start.envelope.occurred} "
                f"{_hedged('before', certainty)} its ratification",
                evidence,
            )


@rule("ratification_disputed")
def ratification_disputed(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    for code in facts.parties:
        positions = facts.of_party(code, EventKind.RATIFICATION_ASSESSED)
        if len({p.envelope.fields["required"] for p in positions}) > 1:
            said = "; ".join(
                f"{p.envelope.fields['by']}: "
                + ("required" if p.envelope.fields["required"] else "not required")
                for p in positions
            )
            yield Flag(
                "ratification_disputed",
                INFO,
                DEFINITE,
                code,
                f"whether {code} must ratify is disputed ({said})",
                tuple(p.id for p in positions),
            )


@rule("short_notice")
def short_notice(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    """Notice periods count whole days in the agreement's zone, like the effective date.

    The notice is definitely short if even its first possible day plus the period
    falls after the effective date, possibly short if its last possible day does.
    """
    period = facts.registration.fields.get("notice_period")
    if not period:
        return
    length = parse_duration(period)
    for notice in state.notices:
        given = notice.fact
        effective = date.fromisoformat(given.envelope.fields["effective"])
        first, last = _local_days(given, given.zone or facts.tz)  # both ends in its zone
        if _days_after(first, length) > effective:
            certainty = DEFINITE
        elif _days_after(last, length) > effective:
            certainty = POSSIBLE
        else:
            continue
        yield Flag(
            "short_notice",
            WARNING,
            certainty,
            notice.party,
            f"{notice.party} gave notice on {given.envelope.occurred} effective "
            f"{given.envelope.fields['effective']}: {_hedged('less', certainty)} than the "
            f"notice period of {period}",
            (given.id,),
        )


def _local_days(fact: Fact, zone_name: str | None) -> tuple[date, date]:
    """The first and last calendar day, in the zone, that an event's interval touches."""
    tz = zone(zone_name)
    first = start_of(fact).astimezone(tz).date()
    last = (end_of(fact) - timedelta(microseconds=1)).astimezone(tz).date()
    return first, last


ENDING_EXEMPT = frozenset(
    {EventKind.NOTED, EventKind.REGISTERED, EventKind.TERMINATED, EventKind.EXPIRED}
)


@rule("event_after_termination")
def event_after_termination(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    ending = state.ending
    if state.ended_at is not None:
        by_event = ending is not None and ending.envelope.type in (
            EventKind.TERMINATED,
            EventKind.EXPIRED,
        )
        for fact in facts.facts:
            if fact.envelope.type in ENDING_EXEMPT or fact is ending or fact.occurred is None:
                continue
            if by_event:
                assert ending is not None
                order = facts.order(fact, ending)  # same day, no time, no link: possible
            else:
                order = relative_to(fact.occurred, state.ended_at)  # a date takes effect at 00:00
            certainty = _certainty(order)
            if certainty:
                yield Flag(
                    "event_after_termination",
                    WARNING,
                    certainty,
                    fact.envelope.acting_party(),
                    f"{fact.envelope.type} on {fact.envelope.occurred} "
                    f"{_hedged('after', certainty)} the agreement "
                    f"ended ({as_utc_text(state.ended_at)})",
                    _evidence(fact, ending),
                )
    yield from _after_withdrawal(facts, state)


def _after_withdrawal(facts: Facts, state: AgreementState) -> Iterator[Flag]:
    """A party's own events after it withdrew, until it consents again (``ratified``)."""
    for notice in state.notices:
        if notice.status != "effective":
            continue
        own = [f for f in facts.facts if f.envelope.acting_party() == notice.party]
        rejoined = next(
            (
                f
                for f in own
                if f.envelope.type == EventKind.RATIFIED and start_of(f) >= notice.effective_at
            ),
            None,
        )
        for fact in own:
            if fact.envelope.type in ENDING_EXEMPT or fact.envelope.type.startswith("termination"):
                continue
            if rejoined is not None and start_of(fact) >= start_of(rejoined):
                continue  # re-joining, and what follows it
            if state.ended_at is not None and start_of(fact) >= state.ended_at:
                continue  # already flagged as after the end of the agreement
            certainty = _certainty(relative_to(fact.occurred, notice.effective_at))
            if certainty:
                yield Flag(
                    "event_after_termination",
                    WARNING,
                    certainty,
                    notice.party,
                    f"{notice.party}'s {fact.envelope.type} on {fact.envelope.occurred} came "
                    f"{_hedged('after', certainty)} its withdrawal "
                    f"effective {notice.fact.envelope.fields['effective']}",
                    (fact.id, notice.fact.id),
                )


def _evidence(fact: Fact, ending: Fact | None) -> tuple[str, ...]:
    return (fact.id, ending.id) if ending is not None else (fact.id,)
