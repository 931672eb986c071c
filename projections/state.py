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

from ledger.rules import Fact
from ledger.worldtime import Order
from projections.facts import Facts, world_order


@dataclass
class Notice:
    """A termination notice and what became of it."""

    fact: Fact
    party: str
    effective_at: datetime
    status: str = "pending"  # pending, suspended, withdrawn, effective
    ended_by: Fact | None = None

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
        (f for f in facts.of_type("entered_into_force") if "party" not in f.envelope.fields), None
    )
    parties = {
        code: _party_state(facts, code, party.get("name"), general, notices)
        for code, party in facts.parties.items()
    }
    expires = _expiry(facts)
    status, ended_at, ending = _agreement_status(facts, parties, general, notices, expires, changes)
    return AgreementState(
        status=status,
        parties=parties,
        general_entry_into_force=general,
        expires=expires,
        notices=notices,
        ended_at=ended_at,
        ending=ending,
        changes_at=sorted(c for c in changes if c > facts.as_of),
    )


def _notices(facts: Facts, changes: list[datetime]) -> list[Notice]:
    """Every termination notice, folded with its suspensions and withdrawals."""
    notices: list[Notice] = []
    open_notice: dict[str, Notice] = {}
    for fact in facts.of_type(
        "termination_notified", "termination_notice_suspended", "termination_notice_withdrawn"
    ):
        party = fact.envelope.fields["party"]
        if fact.envelope.type == "termination_notified":
            notice = Notice(fact, party, facts.day_start(fact.envelope.fields["effective"]))
            notices.append(notice)
            open_notice[party] = notice
            continue
        pending = open_notice.pop(party, None)
        if pending is None or pending.effective_at <= _start(fact):
            continue  # nothing pending to put on hold or revoke
        pending.status = "suspended" if fact.envelope.type.endswith("suspended") else "withdrawn"
        pending.ended_by = fact
    for notice in notices:
        if notice.status == "pending":
            if notice.effective_at <= facts.as_of:
                notice.status = "effective"
            else:
                changes.append(notice.effective_at)
    return notices


def _start(fact: Fact) -> datetime:
    assert fact.occurred is not None
    return fact.occurred.start


def _consents(facts: Facts, code: str) -> list[Fact]:
    """The party's consents to be bound: ratification where required, else signature."""
    if code in facts.requires_ratification:
        return facts.of_party(code, "ratified")
    return facts.of_party(code, "signed", "ratified")


def _party_state(
    facts: Facts, code: str, name: str | None, general: Fact | None, notices: list[Notice]
) -> PartyState:
    state = PartyState(code=code, name=name)
    signatures = facts.of_party(code, "signed")
    state.signed = signatures[0] if signatures else None
    withdrawals = sorted(
        (n for n in notices if n.party == code and n.status == "effective"),
        key=lambda n: n.effective_at,
    )
    state.withdrawn = withdrawals[-1] if withdrawals else None
    bound_at_once = not facts.is_open and not _joined_after(facts, code, general)
    initial = Period(None, general) if bound_at_once and general is not None else None
    state.periods = _periods(facts, code, general, withdrawals, initial)
    ratifications = facts.of_party(code, "ratified")
    rejoining = [
        r
        for r in ratifications
        if state.withdrawn is None or _start(r) >= state.withdrawn.effective_at
    ]
    consents = rejoining or ratifications
    state.consented = consents[-1] if consents else None
    current = state.periods[-1] if state.periods and state.periods[-1].withdrawal is None else None
    if current is not None:
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
        (f for f in facts.of_type("party_added") if f.envelope.fields["party"]["code"] == code),
        None,
    )
    return added is not None and general is not None and facts.order(added, general) is Order.AFTER


def _periods(
    facts: Facts,
    code: str,
    general: Fact | None,
    withdrawals: list[Notice],
    initial: Period | None,
) -> list[Period]:
    """The party's periods in force, each opened by a consent and closed by a withdrawal.

    For each consent given while the party is not bound, it enters into force on
    its own entry into force that follows the consent, else on the general one
    if the consent came before it.
    """
    periods = [initial] if initial is not None else []
    _close_last(periods, withdrawals)
    own = facts.of_party(code, "entered_into_force")
    for consent in _consents(facts, code):
        if periods and periods[-1].withdrawal is None:
            continue  # already bound: a further consent changes nothing
        if periods and _start(consent) < periods[-1].withdrawal.effective_at:  # type: ignore[union-attr]
            continue  # a consent from before the withdrawal does not re-join
        start = next((e for e in own if facts.order(e, consent) is not Order.BEFORE), None)
        if (
            start is None
            and general is not None
            and facts.order(consent, general) is not Order.AFTER
        ):
            start = general
        if start is None or any(p.start is start for p in periods):
            continue
        periods.append(Period(consent, start))
        _close_last(periods, withdrawals)
    return periods


def _close_last(periods: list[Period], withdrawals: list[Notice]) -> None:
    """Close the newest period with the first withdrawal that took effect after it began."""
    if not periods:
        return
    period = periods[-1]
    period.withdrawal = next(
        (n for n in withdrawals if n.effective_at >= _start(period.start)), None
    )


def _suspended(facts: Facts, party: str | None) -> bool:
    """Whether the last suspension (of the party, or of everything) is not yet resumed."""
    relevant = [
        f
        for f in facts.of_type("suspended", "resumed")
        if f.envelope.fields.get("party") in (None, party)
    ]
    return bool(relevant) and relevant[-1].envelope.type == "suspended"


def _expiry(facts: Facts) -> str | None:
    extensions = facts.of_type("extended")
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
    explicit = facts.of_type("terminated", "expired")
    if explicit:
        end = explicit[0]
        return end.envelope.type, _start(end), end
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
