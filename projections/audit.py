"""Replay and audit: the same projection over other event sources and clocks.

``replay`` projects one agreement from the event log as the world stood at
``as_of`` and as the ledger knew it at ``known_at``. ``audit`` projects every
agreement afresh into a scratch database and compares its rows with the stored
read models, agreement by agreement, so its memory does not grow with the
ledger.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, select
from sqlalchemy.exc import SQLAlchemyError

from agreement_ledger.ledger.collection import bulk_work
from agreement_ledger.ledger.errors import InvalidMoment, Rejected, StorageError, UnknownAgreement
from agreement_ledger.ledger.storage import integrity_problems
from agreement_ledger.ledger.worldtime import as_of_instant, as_utc_text
from agreement_ledger.projections import store
from agreement_ledger.projections.project import Projection, project
from agreement_ledger.projections.projector import Projector


class NotYetKnown(Rejected):
    """Raised when the ledger held nothing about an agreement at ``--known-at``."""

    rule = "not_yet_known"


def replay_projection(
    projector: Projector, key: str, as_of: str | None = None, known_at: str | None = None
) -> tuple[Projection, datetime, datetime | None]:
    """Project ``key`` at world time ``as_of`` as known at ledger time ``known_at``.

    ``as_of`` is read in the agreement's zone (a bare date means the end of that
    day); ``known_at`` is ledger time, read in UTC when it has no offset.
    """
    events = projector.stream(key)
    if not events:
        raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
    zone = events[0].fields.get("tz")
    as_of_at = _moment("as-of", as_of, zone) if as_of is not None else datetime.now(UTC)
    known_at_at = _moment("known-at", known_at, "UTC") if known_at is not None else None
    projection = project(events, as_of=as_of_at, known_at=known_at_at)
    if projection is None:
        raise NotYetKnown(f"the ledger held no event of {key!r} at {known_at}", agreement=key)
    return projection, as_of_at, known_at_at


def _moment(name: str, text: str, zone: str | None) -> datetime:
    """An as-of or known-at moment; one that cannot be read is a usage error."""
    try:
        return as_of_instant(text, zone)
    except Rejected as error:
        raise InvalidMoment(f"cannot read --{name} {text!r}: {error.reason}") from None


def replay(
    projector: Projector, key: str, as_of: str | None = None, known_at: str | None = None
) -> dict[str, Any]:
    """The ``show`` document at ``as_of`` as known at ``known_at``, with both instants."""
    projection, as_of_at, known_at_at = replay_projection(projector, key, as_of, known_at)
    return {
        **projection.show,
        "as_of": as_utc_text(as_of_at),
        "known_at": as_utc_text(known_at_at) if known_at_at else None,
    }


@dataclass(frozen=True)
class Difference:
    table: str
    agreement: str
    problem: str

    def as_json(self) -> dict[str, str]:
        return {"table": self.table, "agreement": self.agreement, "problem": self.problem}


@dataclass
class Audit:
    agreements_checked: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "agreements_checked": self.agreements_checked,
            "differences": [d.as_json() for d in self.differences],
        }


@bulk_work()
def audit(
    projector: Projector,
    now: datetime | None = None,
    *,
    catch_up: bool = True,
    skip: set[str] | None = None,
) -> Audit:
    """Compare the stored read models with a scratch rebuild from the log."""
    now = now or datetime.now(UTC)
    result = Audit()
    try:
        _audit(projector, now, result, catch_up, skip or set())
    except StorageError as error:
        # What cannot be read cannot be compared: that is the audit's finding.
        result.differences.append(Difference("(ledger)", "*", str(error)))
    except (SQLAlchemyError, ValueError, TypeError, KeyError) as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines() or [""]
        result.differences.append(
            Difference(
                "(read models)",
                "*",
                f"the stored read models cannot be read ({type(error).__name__}: {detail[0]}); "
                "run `ledger rebuild`",
            )
        )
    return result


def _audit(
    projector: Projector, now: datetime, result: Audit, catch_up: bool, skip: set[str]
) -> None:
    """Compare every agreement but those in ``skip`` (on a replica: the ones its read models
    are known to be behind on), after catching up where the database can be written."""
    if catch_up:
        projector.catch_up(now)
    seen: set[str] = set()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = create_engine(f"sqlite:///{Path(scratch_dir) / 'scratch.db'}")
        store.metadata.create_all(scratch)
        with projector.ledger.engine.connect() as stored, scratch.begin() as fresh:
            _check_file(result, stored)
            for projection in projector.projections(now):
                seen.add(projection.key)
                if projection.key in skip:
                    continue
                store.write(fresh, projection)
                result.agreements_checked += 1
                _compare(result, projection, stored, fresh)
            for extra in sorted(_stored_keys(stored) - seen):
                result.differences.append(
                    Difference(
                        "read_agreements", extra, "stored, but the log has no such agreement"
                    )
                )
        scratch.dispose()


def _check_file(result: Audit, stored: Connection) -> None:
    problems = integrity_problems(stored)
    if problems:
        result.differences.append(
            Difference(
                "(database)",
                "*",
                f"SQLite's integrity check: {'; '.join(problems)}; the file is damaged: run "
                "`ledger rebuild` if only read_* tables are named, else restore it from a backup",
            )
        )


def _compare(result: Audit, projection: Projection, stored: Connection, fresh: Connection) -> None:
    key = projection.key
    for table in store.READ_MODELS:
        mine, theirs = list(_rows(stored, table, key)), list(_rows(fresh, table, key))
        if mine == theirs:
            continue
        if not mine:
            problem = "missing from the read models"
        else:
            problem = _first_difference(table.name, mine, theirs)
        result.differences.append(Difference(table.name, key, problem))


def _rows(connection: Connection, table: Any, key: str) -> Iterator[tuple[Any, ...]]:
    order = list(table.primary_key.columns)
    for row in connection.execute(select(table).where(table.c.agreement == key).order_by(*order)):
        yield tuple(store.comparable(value) for value in row)


def _first_difference(
    name: str, stored: list[tuple[Any, ...]], fresh: list[tuple[Any, ...]]
) -> str:
    if len(stored) != len(fresh):
        return f"{len(stored)} stored rows, the log gives {len(fresh)}"
    columns = [c.name for c in store.metadata.tables[name].columns]
    for mine, theirs in zip(stored, fresh, strict=True):
        for column, a, b in zip(columns, mine, theirs, strict=True):
            if a != b:
                return f"{column}: stored {_short(a)}, the log gives {_short(b)}"
    return "rows differ"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _stored_keys(connection: Connection) -> set[str]:
    return set(connection.execute(select(store.agreements.c.agreement)).scalars())
