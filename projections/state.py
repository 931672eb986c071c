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
from datetime import datetime
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
    """A stretch of time during which the agreement bound a party."""

    consent: Fact | None
    start: Fact
    withdrawal: Notice | None = None


@dataclass
class PartyState:
    code: str
    name: str | None
    status: str = "pending"
    signed: Fact | None = None
    consented: Fact | None = None
    periods: list[Period] = field(default_factory=list)
    withdrawn: Notice | None = None

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
            "in_force": _text(self.in_force),
            "withdrawn": self.withdrawn.fact.envelope.fields["effective"]
            if self.withdrawn
            else None,
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
    return AgreementState(
        status=status,
        parties=parties,
        general_entry_into_force=general,
        expires=expires,
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
    for fact in world_order(f for f in facts.all_facts if f.envelope.type in kinds):
        party = fact.envelope.fields["party"]
        if fact.envelope.type == EventKind.TERMINATION_NOTIFIED:
            notice = Notice(fact, party, facts.day_start(fact.envelope.fields["effective"]))
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
    schedule = _periods(facts, code, withdrawals)
    state.periods = [p for p in schedule if facts.begun(p.start)]
    ratifications = facts.of_party(code, EventKind.RATIFIED)
    rejoining = [
        r
        for r in ratifications
        if state.withdrawn is None or start_of(r) >= state.withdrawn.effective_at
    ]
    consents = rejoining or ratifications
    state.consented = consents[-1] if consents else None
    current = state.periods[-1] if state.periods else None
    if current is not None and (
        current.withdrawal is None or current.withdrawal.effective_at > facts.as_of
    ):
        state.status = "suspended" if _suspended(facts, code) else "in_force"
    elif state.withdrawn is not None:
        state.status = "consented" if rejoining else "withdrawn"
    elif state.consented is not None:
        state.status = "consented"
    elif state.signed is not None:
        state.status = "signed"
    return state


def _joined_after(facts: Facts, code: str, general: Fact | None) -> bool:
    """Whether the party was added to the agreement after its general entry into force."""
    added = next(
        (
            f
            for f in facts.all_facts
            if f.envelope.type == EventKind.PARTY_ADDED
            and f.envelope.fields["party"]["code"] == code
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
            for f in world_order(facts.all_facts)
            if f.envelope.type == EventKind.ENTERED_INTO_FORCE and "party" not in f.envelope.fields
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


def _expiry(facts: Facts) -> str | None:
    extensions = facts.of_type(EventKind.EXTENDED)
    if extensions:
        return str(extensions[-1].envelope.fields["until"])
    expires = facts.registration.fields.get("expires")
    return str(expires) if expires else None


def _agreement_status(
    facts: Facts,
    parties: dict[str, PartyState],
    general: Fact | None,
    notices: list[Notice],
    expires: str | None,
    changes: list[datetime],
) -> tuple[str, datetime | None, Fact | None]:
    """The agreement's status, and when and by what it ended, if it has."""
    explicit = facts.of_type(EventKind.TERMINATED, EventKind.EXPIRED)
    if explicit:
        end = explicit[0]
        return end.envelope.type, start_of(end), end
    if expires is not None:
        expiry = facts.day_start(expires)
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
