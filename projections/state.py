"""The current state of an agreement (§5), computed from its facts at an instant.

Closed agreements bind every party at the general entry into force. Open
agreements (and parties that joined a closed one after it took effect) bind
each party per consent: its own ``entered_into_force`` that follows the
consent, else the general one if the consent came before it. A termination
notice withdraws its party when it becomes effective; when fewer than two
parties remain bound, the agreement is terminated. Scheduled changes (a notice
taking effect, an expiry date) apply by time: each computation also says when
its answer next changes (``changes_at``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agreement_ledger.ledger.rules import Fact
from agreement_ledger.ledger.vocabulary import EventKind
from agreement_ledger.ledger.worldtime import Order
from agreement_ledger.projections.facts import Facts, start_of, world_order


@dataclass
class Notice:
    """A termination notice and what became of it."""

    fact: Fact
    party: str
    effective_at: datetime
    status: str = "pending"  # pending, suspended, withdrawn, effective
    endings: list[Fact] = field(default_factory=list)  # its suspensions and withdrawal

    @property
    def ended_by(self) -> Fact | None:
        """What stopped the notice from taking effect, if anything did."""
        return self.endings[0] if self.endings else None

    def as_json(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "notified": self.fact.envelope.occurred,
            "effective": self.fact.envelope.fields["effective"],
            "status": self.status,
        }


@dataclass
class Period:
    """A stretch of time during which the agreement bound a party.

    It starts at its ``start`` fact's first instant, or, for a succession, at the
    succession's ``effective`` day (``start_at``, shown as ``since``).
    """

    consent: Fact | None
    start: Fact
    withdrawal: Notice | None = None
    start_at: datetime | None = None
    since: str | None = None

    def __post_init__(self) -> None:
        if self.start_at is None:
            self.start_at = start_of(self.start)
        if self.since is None:
            self.since = self.start.envelope.occurred

    @property
    def starts(self) -> datetime:
        assert self.start_at is not None
        return self.start_at


@dataclass
class Provisional:
    """A stretch of provisional application: from ``since``, until ``until`` if it ended."""

    since: str
    start_at: datetime
    until: str | None = None
    end_at: datetime | None = None


@dataclass
class Statement:
    """A reservation, declaration or objection, as the status table lists it."""

    fact: Fact

    def as_json(self) -> dict[str, Any]:
        fields = self.fact.envelope.fields
        return {
            "id": self.fact.id,
            "kind": fields["kind"],
            "text": fields["text"],
            "made_at": fields.get("made_at"),
            "objects_to": fields.get("objects_to"),
        }


@dataclass
class PartyState:
    code: str
    name: str | None
    status: str = "pending"
    signed: Fact | None = None
    consented: Fact | None = None
    instrument: str | None = None
    periods: list[Period] = field(default_factory=list)
    withdrawn: Notice | None = None
    succeeded_from: str | None = None
    succeeded_at: str | None = None  # when its position passed to a successor
    provisional: Provisional | None = None
    ended: str | None = None
    consent_steps: list[dict[str, Any]] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)

    @property
    def in_force(self) -> Fact | None:
        return self.periods[-1].start if self.periods else None

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "status": self.status,
            "signed": _text(self.signed),
            "consented": _text(self.consented),
            "in_force": self.periods[-1].since if self.periods else None,
            "withdrawn": self.withdrawn.fact.envelope.fields["effective"]
            if self.withdrawn
            else None,
            "instrument": self.instrument,
            "succeeded_from": self.succeeded_from,
            "succeeded": self.succeeded_at,
            "provisional": self.provisional.since if self.provisional else None,
            "provisional_until": self.provisional.until if self.provisional else None,
            "ended": self.ended,
            "consent_steps": self.consent_steps,
            "statements": [s.as_json() for s in self.statements],
        }


@dataclass
class AgreementState:
    status: str
    parties: dict[str, PartyState]
    general_entry_into_force: Fact | None
    expires: str | None
    notices: list[Notice]
    ended_at: datetime | None  # when the agreement ended, if it has
    ending: Fact | None  # the event that ended it, where one did
    changes_at: list[datetime]

    @property
    def termination(self) -> Notice | None:
        return self.notices[-1] if self.notices else None


def _text(fact: Fact | None) -> str | None:
    return fact.envelope.occurred if fact is not None else None


def compute_state(facts: Facts) -> AgreementState:
    """The state of the agreement at ``facts.as_of``."""
    changes: list[datetime] = []
    notices = _notices(facts, changes)
    general = next(
        (
            f
            for f in facts.of_type(EventKind.ENTERED_INTO_FORCE)
            if "party" not in f.envelope.fields
        ),
        None,
    )
    parties = {
        code: _party_state(facts, code, party.get("name"), notices)
        for code, party in facts.parties.items()
    }
    expires = _expiry(facts)
    begun = [n for n in notices if facts.begun(n.fact)]
    status, ended_at, ending = _agreement_status(facts, parties, general, begun, expires, changes)
    if status in ("terminated", "expired"):
        _end_parties(parties, _ending_text(facts, ending, expires, begun))
    changes.extend(_scheduled(facts, parties))
    return AgreementState(
        status=status,
        parties=parties,
        general_entry_into_force=general,
        expires=expires[0] if expires else None,
        notices=begun,
        ended_at=ended_at,
        ending=ending,
        changes_at=sorted(c for c in changes if c > facts.as_of),
    )


def _notices(facts: Facts, changes: list[datetime]) -> list[Notice]:
    """Every known termination notice, its fate, and its status at ``as_of``.

    A notice takes effect at the start of its effective day unless it was
    suspended or withdrawn before then. Its fate is read from every known fact;
    its status only from those begun by ``as_of``.
    """
    notices: list[Notice] = []
    open_notice: dict[str, Notice] = {}
    kinds = (
        EventKind.TERMINATION_NOTIFIED,
        EventKind.TERMINATION_NOTICE_SUSPENDED,
        EventKind.TERMINATION_NOTICE_WITHDRAWN,
    )
    for fact in facts.known_of_kind(*kinds):
        party = fact.envelope.fields["party"]
        if fact.envelope.type == EventKind.TERMINATION_NOTIFIED:
            notice = Notice(fact, party, facts.field_start(fact, "effective"))
            notices.append(notice)
            open_notice[party] = notice
            continue
        pending = open_notice.get(party)
        if pending is None or (not pending.endings and start_of(fact) >= pending.effective_at):
            continue  # no notice on hold or pending to act on
        pending.endings.append(fact)
        if fact.envelope.type == EventKind.TERMINATION_NOTICE_WITHDRAWN:
            del open_notice[party]  # revoked for good
    for notice in notices:
        begun = [f for f in notice.endings if facts.begun(f)]
        if begun:
            notice.status = (
                "withdrawn"
                if begun[-1].envelope.type is EventKind.TERMINATION_NOTICE_WITHDRAWN
                else "suspended"
            )
        elif notice.ended_by is None and notice.effective_at <= facts.as_of:
            notice.status = "effective"
        elif notice.ended_by is None:
            changes.append(notice.effective_at)
    return notices


def _consents(facts: Facts, code: str) -> list[Fact]:
    """The party's known consents to be bound: ratification where required, else signature."""
    if code in facts.requires_ratification:
        return facts.known_of_party(code, EventKind.RATIFIED)
    return facts.known_of_party(code, EventKind.SIGNED, EventKind.RATIFIED)


def _party_state(facts: Facts, code: str, name: str | None, notices: list[Notice]) -> PartyState:
    state = PartyState(code=code, name=name)
    signatures = facts.of_party(code, EventKind.SIGNED)
    state.signed = signatures[0] if signatures else None
    withdrawals = [n for n in notices if n.party == code and n.ended_by is None]
    withdrawals.sort(key=lambda n: n.effective_at)
    taken_effect = [n for n in withdrawals if n.effective_at <= facts.as_of and facts.begun(n.fact)]
    state.withdrawn = taken_effect[-1] if taken_effect else None
    succession = _succession_of(facts, code, notices)
    schedule = _periods(facts, code, withdrawals)
    if succession is not None and succession.bound:
        schedule = sorted([*succession.periods(withdrawals), *schedule], key=lambda p: p.starts)
    state.periods = [p for p in schedule if p.starts <= facts.as_of]
    ratifications = facts.of_party(code, EventKind.RATIFIED)
    rejoining = [
        r
        for r in ratifications
        if state.withdrawn is None or start_of(r) >= state.withdrawn.effective_at
    ]
    consents = rejoining or ratifications
    state.consented = consents[-1] if consents else None
    if state.consented is not None:
        state.instrument = state.consented.envelope.fields.get("instrument", "ratification")
    state.provisional = _provisional(facts, code, schedule)
    current = state.periods[-1] if state.periods else None
    if current is not None and (
        current.withdrawal is None or current.withdrawal.effective_at > facts.as_of
    ):
        state.status = "suspended" if _suspended(facts, code) else "in_force"
    elif _provisional_now(state.provisional, facts.as_of):
        state.status = "provisional"
    elif state.withdrawn is not None:
        state.status = "consented" if rejoining else "withdrawn"
    elif state.consented is not None or (succession and succession.consented):
        state.status = "consented"
    elif state.signed is not None or (succession and succession.signed):
        state.status = "signed"
    if succession is not None:
        succession.apply(state)
    passed_on = _passed_on(facts, code)
    if passed_on is not None:
        state.status = "succeeded"
        state.succeeded_at = passed_on.envelope.fields["effective"]
    state.consent_steps = [
        {
            "body": f.envelope.fields["body"],
            "outcome": f.envelope.fields.get("outcome"),
            "date": f.envelope.occurred,
        }
        for f in facts.of_party(code, EventKind.CONSENT_GIVEN)
    ]
    withdrawn = _withdrawn_statements(facts).get(code, set())
    inherited = succession.statements if succession is not None else []
    own = [Statement(f) for f in facts.of_party(code, EventKind.STATEMENT_MADE)]
    state.statements = [s for s in [*inherited, *own] if s.fact.id not in withdrawn]
    return state


@dataclass
class Succession:
    """What a successor took over from its predecessor, at the succession's date."""

    fact: Fact
    predecessor: PartyState  # the predecessor's position just before the date
    start_at: datetime

    @property
    def continuation(self) -> bool:
        return bool(self.fact.envelope.fields.get("kind") == "continuation")

    @property
    def bound(self) -> bool:
        return self.predecessor.status in ("in_force", "suspended")

    @property
    def consented(self) -> bool:
        return self.bound or self.predecessor.status == "consented"

    @property
    def signed(self) -> bool:
        return self.predecessor.signed is not None

    @property
    def statements(self) -> list[Statement]:
        return self.predecessor.statements

    def periods(self, withdrawals: list[Notice]) -> list[Period]:
        """Where the predecessor was bound: a continuation carries its periods on, a
        succession starts a period on the succession's date."""
        if self.continuation:
            return [p for p in self.predecessor.periods if p.withdrawal is None]
        effective = str(self.fact.envelope.fields["effective"])
        withdrawal = _withdrawal_after(self.start_at, withdrawals)
        return [Period(self.fact, self.fact, withdrawal, self.start_at, effective)]

    def apply(self, state: PartyState) -> None:
        """The successor's columns: a continuation keeps the predecessor's dates; a
        succession is consent by notification (``d``), in force from its date."""
        state.succeeded_from = self.fact.envelope.fields["predecessor"]
        previous = self.predecessor
        if self.continuation:
            state.signed = state.signed or previous.signed
            state.consented = state.consented or previous.consented
            state.instrument = state.instrument or previous.instrument
        elif state.consented is None and self.consented:
            state.consented = self.fact
            state.instrument = "succession"
        if state.signed is None and previous.signed is not None and not self.consented:
            state.signed = previous.signed  # succession to a signature
        if state.status in ("pending", "signed") and self.consented:
            state.status = "consented"
        if state.status == "pending" and self.signed:
            state.status = "signed"


def _succession_of(facts: Facts, code: str, notices: list[Notice]) -> Succession | None:
    """The succession by which ``code`` took another's place, once its date has come.

    A succession recorded late (notified in May, effective 1 January) counts from its
    date for every as-of instant, as soon as the ledger knows of it.
    """
    successions = facts.known_of_kind(EventKind.SUCCEEDED)
    for fact in successions:
        if fact.envelope.fields["party"]["code"] != code:
            continue
        start_at = facts.field_start(fact, "effective")
        if start_at > facts.as_of:
            continue
        predecessor = fact.envelope.fields["predecessor"]
        # Several successors (a dissolution) each take the predecessor's position as
        # it was before the first of them, not the `succeeded` state the first left.
        first = min(
            facts.field_start(f, "effective")
            for f in successions
            if f.envelope.fields["predecessor"] == predecessor
        )
        before = facts.at(first - timedelta(microseconds=1))
        name = facts.parties.get(predecessor, {}).get("name")
        position = _party_state(before, predecessor, name, notices)
        return Succession(fact, position, start_at)
    return None


def _passed_on(facts: Facts, code: str) -> Fact | None:
    """The succession that took ``code``'s place, once its date has come."""
    return next(
        (
            f
            for f in facts.known_of_kind(EventKind.SUCCEEDED)
            if f.envelope.fields["predecessor"] == code
            and facts.field_start(f, "effective") <= facts.as_of
        ),
        None,
    )


def _withdrawn_statements(facts: Facts) -> dict[str, set[str]]:
    """For each party, the statements it has withdrawn with effect by ``as_of`` (its own,
    or those it inherited: one successor's withdrawal is not another's)."""
    withdrawn: dict[str, set[str]] = {}
    for fact in facts.of_type(EventKind.STATEMENT_WITHDRAWN):
        fields = fact.envelope.fields
        effective = (
            facts.field_start(fact, "effective") if "effective" in fields else start_of(fact)
        )
        if effective <= facts.as_of:
            withdrawn.setdefault(str(fields["party"]), set()).add(str(fields["target"]))
    return withdrawn


def _provisional(facts: Facts, code: str, schedule: list[Period]) -> Provisional | None:
    """The party's latest provisional application begun by ``as_of``, and its end.

    It begins on its ``effective`` day (else when it was recorded to happen) and ends
    when the party's consent enters into force for it, or on the ``effective`` day of a
    notice ending it.
    """
    latest: Provisional | None = None
    for fact in facts.known_of_kind(EventKind.PROVISIONALLY_APPLIED):
        party = fact.envelope.fields.get("party")
        if party is None and not _signed_by(facts, code, fact):
            continue
        if party not in (None, code):
            continue
        if "effective" in fact.envelope.fields:
            start_at, since = (
                facts.field_start(fact, "effective"),
                fact.envelope.fields["effective"],
            )
        else:
            start_at, since = start_of(fact), str(fact.envelope.occurred)
        if start_at <= facts.as_of:
            latest = Provisional(since, start_at)
    if latest is None:
        return None
    ends: list[tuple[datetime, str]] = [
        (facts.field_start(f, "effective"), str(f.envelope.fields["effective"]))
        for f in facts.known_of_party(code, EventKind.PROVISIONAL_APPLICATION_TERMINATED)
        if facts.field_start(f, "effective") > latest.start_at
    ]
    ends += [(p.starts, str(p.since)) for p in schedule if p.starts > latest.start_at]
    if ends:
        latest.end_at, latest.until = min(ends)
        if latest.end_at > facts.as_of:
            latest.until = None  # ends later: not yet known to have ended
    return latest


def _provisional_now(provisional: Provisional | None, instant: datetime) -> bool:
    return provisional is not None and (provisional.end_at is None or provisional.end_at > instant)


def _signed_by(facts: Facts, code: str, applied: Fact) -> bool:
    """Whether ``code`` had signed by the time of a provisional application of every signatory."""
    return any(
        facts.order(s, applied) is not Order.AFTER
        for s in facts.known_of_party(code, EventKind.SIGNED)
    )


def _joined_after(facts: Facts, code: str, general: Fact | None) -> bool:
    """Whether the party was added to the agreement after its general entry into force."""
    added = next(
        (
            f
            for f in facts.known_of_kind(EventKind.PARTY_ADDED)
            if f.envelope.fields["party"]["code"] == code
        ),
        None,
    )
    return added is not None and general is not None and facts.order(added, general) is Order.AFTER


def _periods(facts: Facts, code: str, withdrawals: list[Notice]) -> list[Period]:
    """The party's periods in force, from every known fact (begun or not).

    A closed agreement binds its parties at its general entry into force. Otherwise,
    for each consent given while the party is not bound, it enters into force on
    its own entry into force that follows the consent (with no withdrawal between),
    else on the general one if the consent came before it. Each period ends at the
    first withdrawal that takes effect after it began.
    """
    general = next(
        (
            f
            for f in facts.known_of_kind(EventKind.ENTERED_INTO_FORCE)
            if "party" not in f.envelope.fields
        ),
        None,
    )
    periods: list[Period] = []
    if general is not None and not facts.is_open and not _joined_after(facts, code, general):
        periods.append(Period(None, general, _withdrawal_after(start_of(general), withdrawals)))
    own = facts.known_of_party(code, EventKind.ENTERED_INTO_FORCE)
    for consent in _consents(facts, code):
        last = periods[-1] if periods else None
        if last is not None and (
            last.withdrawal is None or start_of(consent) < last.withdrawal.effective_at
        ):
            continue  # already bound, or the consent predates the withdrawal
        start = next(
            (
                e
                for e in own
                if facts.order(e, consent) is not Order.BEFORE
                and not _withdrawal_between(start_of(consent), start_of(e), withdrawals)
            ),
            None,
        )
        if (
            start is None
            and general is not None
            and facts.order(consent, general) is not Order.AFTER
        ):
            start = general
        if start is None or any(p.start is start for p in periods):
            continue
        periods.append(Period(consent, start, _withdrawal_after(start_of(start), withdrawals)))
    return periods


def _withdrawal_after(start: datetime, withdrawals: list[Notice]) -> Notice | None:
    return next((n for n in withdrawals if n.effective_at >= start), None)


def _withdrawal_between(earlier: datetime, later: datetime, withdrawals: list[Notice]) -> bool:
    return any(earlier <= n.effective_at <= later for n in withdrawals)


def _suspended(facts: Facts, party: str | None) -> bool:
    """Whether the last suspension (of the party, or of everything) is not yet resumed."""
    relevant = [
        f
        for f in facts.of_type(EventKind.SUSPENDED, EventKind.RESUMED)
        if f.envelope.fields.get("party") in (None, party)
    ]
    return bool(relevant) and relevant[-1].envelope.type == EventKind.SUSPENDED


def _expiry(facts: Facts) -> tuple[str, datetime] | None:
    """The expiry date in force and its first instant: the latest extension's ``until``
    (read in its event's zone), else the registration's ``expires`` (the agreement's)."""
    extensions = facts.of_type(EventKind.EXTENDED)
    if extensions:
        last = extensions[-1]
        return str(last.envelope.fields["until"]), facts.field_start(last, "until")
    expires = facts.registration.fields.get("expires")
    return (str(expires), facts.day_start(expires)) if expires else None


def _end_parties(parties: dict[str, PartyState], ended: str | None) -> None:
    """Parties still bound when the agreement itself ended are ``ended``, on that date."""
    for party in parties.values():
        if party.status in ("in_force", "suspended"):
            party.status = "ended"
            party.ended = ended


def _ending_text(
    facts: Facts, ending: Fact | None, expires: tuple[str, datetime] | None, notices: list[Notice]
) -> str | None:
    if ending is not None and ending.envelope.type in (EventKind.TERMINATED, EventKind.EXPIRED):
        return ending.envelope.occurred
    if ending is not None:  # a termination notice that left fewer than two parties bound
        return str(ending.envelope.fields["effective"])
    return expires[0] if expires else None


def _scheduled(facts: Facts, parties: dict[str, PartyState]) -> list[datetime]:
    """Instants at which a party's answer changes by time alone: a succession's date,
    a provisional application beginning or ending."""
    instants = [facts.field_start(f, "effective") for f in facts.known_of_kind(EventKind.SUCCEEDED)]
    for fact in facts.known_of_kind(
        EventKind.PROVISIONALLY_APPLIED, EventKind.PROVISIONAL_APPLICATION_TERMINATED
    ):
        if "effective" in fact.envelope.fields:
            instants.append(facts.field_start(fact, "effective"))
    for party in parties.values():
        if party.provisional is not None and party.provisional.end_at is not None:
            instants.append(party.provisional.end_at)
    return instants


def _agreement_status(
    facts: Facts,
    parties: dict[str, PartyState],
    general: Fact | None,
    notices: list[Notice],
    expires: tuple[str, datetime] | None,
    changes: list[datetime],
) -> tuple[str, datetime | None, Fact | None]:
    """The agreement's status, and when and by what it ended, if it has."""
    explicit = facts.of_type(EventKind.TERMINATED, EventKind.EXPIRED)
    if explicit:
        end = explicit[0]
        return end.envelope.type, start_of(end), end
    if expires is not None:
        expiry = expires[1]
        if expiry <= facts.as_of:
            return "expired", expiry, None
        changes.append(expiry)
    bound = [p for p in parties.values() if p.status in ("in_force", "suspended")]
    ever_bound = any(p.periods for p in parties.values())
    effective = [n for n in notices if n.status == "effective"]
    if ever_bound and effective and len(bound) < 2:
        last = max(effective, key=lambda n: n.effective_at)
        return "terminated", last.effective_at, last.fact
    if bound or (general is not None and not facts.is_open):
        return ("suspended" if _suspended(facts, None) else "in_force"), None, None
    signed = [p for p in parties.values() if p.signed is not None]
    if parties and len(signed) == len(parties):
        return "signed", None, None
    return ("signing" if signed else "registered"), None, None


__all__ = ["AgreementState", "Notice", "PartyState", "compute_state", "world_order"]
