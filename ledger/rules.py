"""The §4 invariants that need an agreement's history, and the state they need.

``StreamState`` folds an agreement's effective events (corrections applied,
retractions removed). ``admit`` checks one more event against it and raises a
``Rejected`` error; ``apply`` only changes state and never raises, so that
replaying stored history cannot fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from agreement_ledger.ledger.errors import (
    AlreadyInForce,
    AlreadySigned,
    ContradictoryOrder,
    DuplicateParty,
    EffectiveBeforeNotice,
    InvalidCorrection,
    InvalidField,
    InvalidStatement,
    InvalidSuccession,
    NotAParticipant,
    OccurredInFuture,
    Rejected,
    UnknownEvent,
    UnknownParty,
)
from agreement_ledger.ledger.vocabulary import ENVELOPE_KEYS, EVENT_TYPES, Envelope, EventKind
from agreement_ledger.ledger.worldtime import Occurred, as_utc_text, parse_occurred, start_of_day

UNCORRECTABLE_KEYS = frozenset({"agreement", "type", "id"})


@dataclass
class Fact:
    """An effective event: its envelope (corrected if need be) and when it happened."""

    id: str
    version: int
    envelope: Envelope
    occurred: Occurred | None
    zone: str | None = None  # the zone its occurred and date fields are read in


@dataclass
class StreamState:
    """What the rules need to know about an agreement's effective history."""

    key: str
    tz: str | None = None
    parties: dict[str, dict[str, str]] = field(default_factory=dict)
    facts: dict[str, Fact] = field(default_factory=dict)
    known_ids: set[str] = field(default_factory=set)
    retracted: set[str] = field(default_factory=set)
    signers: set[str] = field(default_factory=set)
    bound: set[str] = field(default_factory=set)  # consented, in force for itself, or succeeded
    is_open: bool = False
    predecessors: dict[str, set[str]] = field(default_factory=dict)  # successor -> predecessors
    general_entry_into_force: str | None = None
    _zone_read: tuple[Envelope, str | None] | None = field(default=None, repr=False, compare=False)
    """The last envelope whose zone was found, and that zone: checking and then folding an
    event asks for it several times over, and nothing it depends on changes before
    ``apply`` (which forgets it)."""
    _occurred_read: tuple[Envelope, Occurred] | None = field(
        default=None, repr=False, compare=False
    )
    """The same for its ``occurred`` (read when the event is checked, again when folded)."""

    # -- reading time ------------------------------------------------------

    def zone_for(self, envelope: Envelope) -> str | None:
        """The zone that reads an offset-less ``occurred``: event, acting party, agreement."""
        read = self._zone_read
        if read is None or read[0] is not envelope:
            read = self._zone_read = (envelope, self._zone_for(envelope))
        return read[1]

    def read_occurred(self, envelope: Envelope) -> Occurred | None:
        if envelope.occurred is None:
            return None
        read = self._occurred_read
        if read is None or read[0] is not envelope:
            read = self._occurred_read = (
                envelope,
                parse_occurred(envelope.occurred, self.zone_for(envelope)),
            )
        return read[1]

    def _zone_for(self, envelope: Envelope) -> str | None:
        if envelope.tz:
            return envelope.tz
        if envelope.type == EventKind.REGISTERED:
            return envelope.fields.get("tz")
        acting = envelope.acting_party()
        if envelope.type in (EventKind.PARTY_ADDED, EventKind.SUCCEEDED):
            new_party = envelope.fields["party"]
            if new_party.get("tz"):
                return str(new_party["tz"])
            known = self.parties.get(new_party["code"], {})
            if known.get("tz"):
                return known["tz"]
        elif acting and self.parties.get(acting, {}).get("tz"):
            return self.parties[acting]["tz"]
        return self.tz

    # -- rules -------------------------------------------------------------

    def admit(self, envelope: Envelope, now: datetime) -> Occurred | None:
        """Check ``envelope`` against the rules; return its ``occurred`` interval."""
        occurred = self.read_occurred(envelope)
        if occurred is not None and occurred.start > now:
            raise OccurredInFuture(
                f"occurred {envelope.occurred!r} starts {as_utc_text(occurred.start)}, "
                f"after the time of recording {as_utc_text(now)}"
            )
        for field_name, code in envelope.party_refs():
            if code not in self.parties:
                known = ", ".join(sorted(self.parties)) or "none"
                raise UnknownParty(
                    f"{field_name} {code!r} is not a party of the agreement (parties: {known})"
                )
        self._check_type_rule(envelope)
        self._check_dates(envelope, occurred)
        self._check_participation(envelope, occurred)
        self._check_after(envelope, occurred)
        return occurred

    # Date-valued fields take effect at the start of their day in the event's zone.
    DATE_FIELDS = ("effective", "until", "expires")
    # Notices whose `effective` date may not come before the notice itself.
    NOTICES = (
        EventKind.TERMINATION_NOTIFIED,
        EventKind.STATEMENT_WITHDRAWN,
        EventKind.PROVISIONAL_APPLICATION_TERMINATED,
    )

    def _check_dates(self, envelope: Envelope, occurred: Occurred | None) -> None:
        """A date field names a day that existed in its zone; a notice is not backdated."""
        zone = self._zone_of(envelope)
        for name in self.DATE_FIELDS:
            value = envelope.fields.get(name)
            if value is None:
                continue
            day = date.fromisoformat(value)
            if start_of_day(day + timedelta(days=1), zone) <= start_of_day(day, zone):
                raise InvalidField(f"field {name!r}: {value} is a day that did not exist in {zone}")
        effective = envelope.fields.get("effective")
        if envelope.type in self.NOTICES and effective and occurred is not None:
            day = date.fromisoformat(effective)
            if start_of_day(day + timedelta(days=1), zone) <= occurred.start:
                raise EffectiveBeforeNotice(
                    f"effective {effective} is before the notice itself ({envelope.occurred}): "
                    "a notice cannot take effect before it was given"
                )

    # Steps only a participant can take: suspend, withdraw, end what it applied.
    PARTICIPANT_STEPS = (
        EventKind.SUSPENDED,
        EventKind.RESUMED,
        EventKind.TERMINATION_NOTIFIED,
        EventKind.STATEMENT_WITHDRAWN,
        EventKind.PROVISIONAL_APPLICATION_TERMINATED,
    )

    def _check_participation(self, envelope: Envelope, occurred: Occurred | None) -> None:
        """A party acts only once it has something to act on (§4)."""
        code = envelope.fields.get("party")
        acts = isinstance(code, str) and envelope.type in self.PARTICIPANT_STEPS
        if acts and not self._participated(str(code), occurred, provisional=True):
            raise NotAParticipant(
                f"party {code!r} had not signed, consented, succeeded or applied the "
                f"agreement provisionally before this {envelope.type.replace('_', ' ')}"
            )
        whole = code is None and envelope.type in (EventKind.SUSPENDED, EventKind.RESUMED)
        if whole and not any(
            self._participated(other, occurred, provisional=True) for other in self.parties
        ):
            raise NotAParticipant(
                f"no party had signed, consented, succeeded or applied the agreement before this "
                f"{envelope.type}: there is nothing to suspend or resume"
            )
        self._check_not_succeeded(envelope, occurred)
        own = isinstance(code, str) and envelope.type == EventKind.ENTERED_INTO_FORCE
        if own and not self._participated(str(code), None, provisional=False):
            raise NotAParticipant(
                f"party {code!r} has neither signed, consented nor succeeded: "
                "nothing can enter into force for it"
            )
        if envelope.type == EventKind.SUCCEEDED:
            self._check_succession(envelope)
        if envelope.type == EventKind.STATEMENT_MADE and envelope.fields.get("objects_to"):
            self._check_statement_ref(envelope, envelope.fields["objects_to"], other=True)
        if envelope.type == EventKind.STATEMENT_WITHDRAWN:
            self._check_statement_ref(envelope, envelope.fields["target"], other=False)

    # What a party does in its own name: none of it after its place passed to a successor.
    OWN_ACTS = (
        EventKind.SIGNED,
        EventKind.RATIFIED,
        EventKind.CONSENT_GIVEN,
        EventKind.STATEMENT_MADE,
        EventKind.STATEMENT_WITHDRAWN,
        EventKind.TERMINATION_NOTIFIED,
        EventKind.PROVISIONALLY_APPLIED,
        EventKind.PROVISIONAL_APPLICATION_TERMINATED,
        EventKind.SUSPENDED,
        EventKind.ENTERED_INTO_FORCE,
    )

    def _check_not_succeeded(self, envelope: Envelope, occurred: Occurred | None) -> None:
        code = envelope.fields.get("party")
        if envelope.type not in self.OWN_ACTS or not isinstance(code, str) or occurred is None:
            return
        for fact in self.facts.values():
            kind, fields = fact.envelope.type, fact.envelope.fields
            if kind != EventKind.SUCCEEDED or fields["predecessor"] != code:
                continue
            passed = start_of_day(date.fromisoformat(fields["effective"]), fact.zone)
            if occurred.start >= passed:
                raise NotAParticipant(
                    f"party {code!r} was succeeded by {fields['party']['code']!r} from "
                    f"{fields['effective']}: it no longer acts under the agreement"
                )

    def _participated(self, code: str, occurred: Occurred | None, *, provisional: bool) -> bool:
        """Whether ``code`` signed, consented, succeeded (or applied provisionally) at some
        instant that may lie before ``occurred`` (any time at all, without it)."""
        for fact in self.facts.values():
            if not _participates(fact, code, self.signers, provisional):
                continue
            if occurred is None or fact.occurred is None or fact.occurred.start < occurred.end:
                return True
        return False

    def _check_succession(self, envelope: Envelope) -> None:
        successor = envelope.fields["party"]["code"]
        predecessor = envelope.fields["predecessor"]
        if successor == predecessor:
            raise InvalidSuccession(f"party {successor!r} cannot succeed itself")
        closed_and_in_force = not self.is_open and self.general_entry_into_force is not None
        if successor in self.bound or (closed_and_in_force and successor in self.signers):
            raise InvalidSuccession(
                f"party {successor!r} is already bound by the agreement: it cannot succeed "
                f"{predecessor!r}"
            )

    def _check_statement_ref(self, envelope: Envelope, target: str, *, other: bool) -> None:
        if target not in self.known_ids:
            raise UnknownEvent(f"statement {target!r} is not an event of this agreement")
        fact = self.facts.get(target)
        party = envelope.fields["party"]
        if fact is None or fact.envelope.type != EventKind.STATEMENT_MADE:
            raise InvalidStatement(f"event {target!r} is not a statement (statement_made)")
        owner = fact.envelope.fields["party"]
        occurred = self.read_occurred(envelope)
        if (
            occurred is not None
            and fact.occurred is not None
            and occurred.end <= fact.occurred.start
        ):
            raise InvalidStatement(
                f"this {envelope.type.replace('_', ' ')} ({envelope.occurred}) is dated before "
                f"statement {target!r} ({fact.envelope.occurred}) was made"
            )
        if other and owner == party:
            raise InvalidStatement(f"party {party!r} cannot object to its own statement {target!r}")
        if not other and owner != party and owner not in self.predecessors.get(party, set()):
            raise InvalidStatement(
                f"statement {target!r} was made by {owner!r}, not {party!r}: only its author "
                "(or its author's successor) withdraws it"
            )

    def _check_type_rule(self, envelope: Envelope) -> None:
        fields = envelope.fields
        if envelope.type == EventKind.SIGNED and fields["party"] in self.signers:
            raise AlreadySigned(f"party {fields['party']!r} has already signed")
        general = envelope.type == EventKind.ENTERED_INTO_FORCE and "party" not in fields
        if general and self.general_entry_into_force is not None:
            raise AlreadyInForce(
                "the agreement already entered into force "
                f"(event {self.general_entry_into_force!r}); retract that event first"
            )
        if envelope.type == EventKind.PARTY_ADDED and fields["party"]["code"] in self.parties:
            raise DuplicateParty(f"party {fields['party']['code']!r} is already a party")
        if envelope.type == EventKind.REGISTERED:
            _check_registration(fields)
        if envelope.type == EventKind.CORRECTED:
            self._check_correction(envelope)

    def _check_after(self, envelope: Envelope, occurred: Occurred | None) -> None:
        for earlier in envelope.after:
            if earlier not in self.known_ids:
                raise UnknownEvent(f"'after' names unknown event {earlier!r}")
            fact = self.facts.get(earlier)
            if (
                occurred is not None
                and fact is not None
                and fact.occurred is not None
                and occurred.definitely_before(fact.occurred)
            ):
                raise ContradictoryOrder(
                    f"'after' says this follows {earlier!r} ({fact.envelope.occurred}), "
                    f"but occurred {envelope.occurred!r} ends before that starts"
                )

    def _check_correction(self, envelope: Envelope) -> None:
        target = envelope.fields["target"]
        replacement = envelope.fields.get("replacement")
        retracted = envelope.fields.get("retracted", False)
        if target not in self.known_ids:
            raise UnknownEvent(f"'target' names unknown event {target!r}")
        if (replacement is None) == (not retracted):
            raise InvalidCorrection(
                "give either 'replacement' (the corrected fields) or 'retracted': true"
            )
        if target in self.retracted:
            raise InvalidCorrection(f"event {target!r} is already retracted")
        fact = self.facts[target]
        if fact.envelope.type == EventKind.CORRECTED:
            raise InvalidCorrection("a correction cannot be corrected; correct the original event")
        if retracted and fact.envelope.type == EventKind.REGISTERED:
            raise InvalidCorrection("the registration cannot be retracted")
        if replacement is not None:
            allowed = (
                set(ENVELOPE_KEYS) | set(EVENT_TYPES[fact.envelope.type].by_name)
            ) - UNCORRECTABLE_KEYS
            wrong = set(replacement) - allowed
            if wrong:
                raise InvalidCorrection(
                    f"cannot correct field(s) {', '.join(sorted(wrong))} of a "
                    f"{fact.envelope.type} event; correctable: {', '.join(sorted(allowed))}"
                )

    # -- state -------------------------------------------------------------

    def apply(
        self, event_id: str, version: int, envelope: Envelope, occurred: Occurred | None
    ) -> None:
        """Fold one effective event into the state. Never raises."""
        self.known_ids.add(event_id)
        self.facts[event_id] = Fact(event_id, version, envelope, occurred, self._zone_of(envelope))
        self._zone_read = self._occurred_read = None  # parties and zone may change below
        fields = envelope.fields
        if envelope.type == EventKind.REGISTERED:
            self.tz = fields.get("tz")
            self.is_open = bool(fields.get("open"))
            for party in fields.get("parties", []):
                self.parties[party["code"]] = party
        elif envelope.type == EventKind.PARTY_ADDED:
            self.parties[fields["party"]["code"]] = fields["party"]
        elif envelope.type == EventKind.SUCCEEDED:
            successor = fields["party"]
            known = self.parties.get(successor["code"], {})
            self.parties[successor["code"]] = {**successor, **known}
            self.bound.add(successor["code"])
            self.predecessors.setdefault(successor["code"], set()).add(fields["predecessor"])
        elif envelope.type == EventKind.SIGNED:
            self.signers.add(fields["party"])
        elif envelope.type == EventKind.RATIFIED:
            self.bound.add(fields["party"])
        elif envelope.type == EventKind.ENTERED_INTO_FORCE:
            if "party" in fields:
                self.bound.add(fields["party"])
            else:
                self.general_entry_into_force = event_id

    def _zone_of(self, envelope: Envelope) -> str | None:
        if envelope.type == EventKind.REGISTERED:
            return envelope.fields.get("tz")
        return self.zone_for(envelope)


PARTICIPATION = (
    EventKind.SIGNED,
    EventKind.RATIFIED,
    EventKind.SUCCEEDED,
    EventKind.PROVISIONALLY_APPLIED,
)


def _participates(fact: Fact, code: str, signers: set[str], provisional: bool) -> bool:
    """Whether ``fact`` makes ``code`` a participant: its signature, consent, succession,
    or (with ``provisional``) a provisional application covering it."""
    kind, fields = fact.envelope.type, fact.envelope.fields
    if kind not in PARTICIPATION or (kind == EventKind.PROVISIONALLY_APPLIED and not provisional):
        return False
    if kind == EventKind.SUCCEEDED:
        return bool(fields["party"]["code"] == code)
    if kind == EventKind.PROVISIONALLY_APPLIED and "party" not in fields:
        return code in signers  # every signatory
    return bool(fields.get("party") == code)


def _check_registration(fields: dict[str, Any]) -> None:
    """Parties listed once; requirements name parties of the agreement."""
    codes: list[str] = [party["code"] for party in fields.get("parties", [])]
    for code in codes:
        if codes.count(code) > 1:
            raise DuplicateParty(f"party {code!r} is listed twice in 'parties'")
    named = [("requires_ratification", code) for code in fields.get("requires_ratification") or []]
    named += [("notify", r["party"]) for r in fields.get("notify") or []]
    for field_name, code in named:
        if code not in codes:
            known = ", ".join(sorted(codes)) or "none"
            raise UnknownParty(
                f"{field_name} names {code!r}, which is not a party of the agreement "
                f"(parties: {known})"
            )


def corrected_envelope(original: Envelope, replacement: dict[str, Any]) -> dict[str, Any]:
    """The raw object of ``original`` with ``replacement`` merged in (null removes a field)."""
    merged = {**original.content(), **replacement}
    return {k: v for k, v in merged.items() if v is not None}


def reject_in_correction(target: str, error: Rejected) -> InvalidCorrection:
    """A re-check failure of corrected history, reported as the correction's fault."""
    return InvalidCorrection(
        f"correcting {target!r} would break a rule: {error.reason} ({error.rule})"
    )
