"""The ledger's typed errors, each with a message a person can act on.

``Rejected`` errors are breaches of the §4 invariants: nothing was written.
The CLI maps each family to an exit code (see ``exit_code``).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Raised when the ledger cannot do what was asked."""

    exit_code = 1


class Rejected(LedgerError):
    """Raised when an event breaks a rule of the ledger; nothing is written."""

    exit_code = 3
    rule = "rejected"

    def __init__(
        self,
        message: str,
        *,
        agreement: str | None = None,
        where: str | None = None,
        line: int | None = None,
    ):
        super().__init__(message)
        self.reason = message
        self.agreement = agreement
        self.where = where
        self.line = line

    def locate(
        self, *, agreement: str | None = None, where: str | None = None, line: int | None = None
    ) -> Rejected:
        """Fill in which agreement, which import line and which event the error is about."""
        if self.agreement is None:
            self.agreement = agreement
        if self.where is None:
            self.where = where
        if self.line is None:
            self.line = line
        return self

    def __str__(self) -> str:
        line = f"line {self.line}" if self.line is not None else None
        subject = ", ".join(part for part in (self.agreement, line, self.where) if part)
        prefix = f"{subject}: " if subject else ""
        return f"{prefix}{self.reason} [{self.rule}]"


class UnknownAgreement(Rejected):
    """Raised when an event names an agreement that was never registered."""

    rule = "unknown_agreement"


class AlreadyRegistered(Rejected):
    """Raised when a key is registered a second time."""

    rule = "already_registered"


class UnknownEventType(Rejected):
    """Raised when an event's type is not in the vocabulary."""

    rule = "unknown_type"


class InvalidField(Rejected):
    """Raised when a field is missing, mistyped or malformed."""

    rule = "invalid_field"


class InvalidOccurred(Rejected):
    """Raised when ``occurred`` cannot be read or names an impossible time."""

    rule = "invalid_occurred"


class InvalidTimeZone(Rejected):
    """Raised when a time zone is not a known IANA zone."""

    rule = "invalid_tz"


class OccurredInFuture(Rejected):
    """Raised when ``occurred`` starts after the moment of recording."""

    rule = "occurred_in_future"


class UnknownParty(Rejected):
    """Raised when an event names a party that is not (yet) a party of the agreement."""

    rule = "unknown_party"


class DuplicateParty(Rejected):
    """Raised when a party is added that the agreement already has."""

    rule = "duplicate_party"


class AlreadySigned(Rejected):
    """Raised when a party signs a second time."""

    rule = "already_signed"


class AlreadyInForce(Rejected):
    """Raised when a second agreement-wide entry into force is recorded."""

    rule = "already_in_force"


class UnknownEvent(Rejected):
    """Raised when ``after`` or ``target`` names an event the agreement does not have."""

    rule = "unknown_event"


class ContradictoryOrder(Rejected):
    """Raised when ``after`` claims an order that the dates make impossible."""

    rule = "contradictory_order"


class ConflictingId(Rejected):
    """Raised when an event ``id`` is re-used with different content."""

    rule = "conflicting_id"


class EffectiveBeforeNotice(Rejected):
    """Raised when a notice would take effect before the day it was given."""

    rule = "effective_before_notice"


class NotAParticipant(Rejected):
    """Raised when a party suspends, withdraws or enters into force with nothing to act on."""

    rule = "not_a_participant"


class InvalidSuccession(Rejected):
    """Raised when a succession names the successor itself or a successor already bound."""

    rule = "invalid_succession"


class InvalidStatement(Rejected):
    """Raised when an objection or a withdrawal names something that is not a fitting statement."""

    rule = "invalid_statement"


class InvalidCorrection(Rejected):
    """Raised when a correction cannot apply to its target."""

    rule = "invalid_correction"


class InvalidArgument(LedgerError):
    """Raised when a query's argument names nothing the ledger knows: a usage error."""

    exit_code = 2


class InvalidMoment(LedgerError):
    """Raised when an ``as-of`` or ``known-at`` moment cannot be read: a usage error."""

    exit_code = 2


class InvalidActor(LedgerError):
    """Raised when the recording actor's name cannot be stored: a usage error."""

    exit_code = 2


class ChainBroken(LedgerError):
    """Raised when a restore's export has a broken or forged chain: a finding, exit 1."""

    exit_code = 1


class WriteConflict(LedgerError):
    """Raised when concurrent writers kept colliding after every retry."""

    exit_code = 4


class StorageError(LedgerError):
    """Raised when the database cannot be reached or used."""

    exit_code = 5


class SchemaOutdated(StorageError):
    """Raised when the database schema is behind the ledger's migrations."""


def exit_code(error: BaseException) -> int:
    """The §7 exit code for an error."""
    return error.exit_code if isinstance(error, LedgerError) else 1
