"""Projection spread over worker processes (``ledger.workers``), the caller the writer.

A rebuild, and a catch-up after a large import, project many agreements from
scratch, each independent of the others. Each worker projects its share of the
streams with the same ``project`` as everywhere else and sends back read-model rows
made ready for the database (``store.prepare``): plain values, cheap to pass. The
caller writes them in its one transaction, so exactly-once and all-or-nothing hold.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from agreement_ledger.ledger.domain import Agreement
from agreement_ledger.ledger.eventstore import EventStore
from agreement_ledger.ledger.workers import Send, id_ranges, spread
from agreement_ledger.projections import store
from agreement_ledger.projections.project import project
from agreement_ledger.projections.rows import Prepared

CHUNK = 200
"""Agreements per message from a worker."""


@dataclass(frozen=True)
class Share:
    """One worker's share of the streams: a range of stream ids, or a list of keys."""

    id_range: tuple[UUID | None, UUID | None] | None = None
    keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Batch:
    """What a worker sends: rows ready to write, and how many agreements and events."""

    rows: Prepared
    keys: int
    events: int


def shares_by_range(count: int) -> list[Share]:
    return [Share(id_range=bounds) for bounds in id_ranges(count)]


def shares_by_key(keys: Sequence[str], count: int) -> list[Share]:
    return [Share(keys=tuple(keys[i::count])) for i in range(count) if keys[i::count]]


KEYS_PER_QUERY = 500
"""Agreements read per query when a share is a list of keys (bound parameters are limited)."""


def _streams(events: EventStore, share: Share) -> Iterator[list[Agreement.Event]]:
    if share.keys is None:
        yield from events.streams(id_range=share.id_range)
        return
    for first in range(0, len(share.keys), KEYS_PER_QUERY):
        yield from events.streams(share.keys[first : first + KEYS_PER_QUERY])


def projected_rows(
    url: str, shares: list[Share], now: datetime, backlog: int = 4
) -> Generator[Batch, None, None]:
    """Rows of every agreement in ``shares``, projected as of ``now``, one worker a share
    (each ``backlog`` batches ahead of the caller at most)."""

    def work(share: Share, send: Send) -> None:
        from agreement_ledger.ledger.application import Ledger

        ledger = Ledger(url, check_schema=False)
        dialect = ledger.engine.dialect
        batch, events = [], 0
        for stream in _streams(ledger.store, share):
            events += len(stream)
            projection = project(stream, as_of=now)
            if projection is not None:
                batch.append(projection)
            if len(batch) >= CHUNK:
                send(Batch(store.prepare(dialect, batch), len(batch), events))
                batch, events = [], 0
        send(Batch(store.prepare(dialect, batch), len(batch), events))
        ledger.close()

    for _index, batch in spread(work, shares, backlog):
        yield batch
