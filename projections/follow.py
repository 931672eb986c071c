"""The live projector: keeps the read models current as other machines append.

On PostgreSQL it LISTENs on the event table's channel (the event store sends a
NOTIFY with every insert) and catches up on each notification; on SQLite, which
has no notifications, it polls. Either way it also wakes every ``interval``
seconds, so answers that change by time alone (an expiry, a notice taking
effect) are refreshed too. Its position is the tracked position of the read
models, so after ``kill -9`` it resumes where the last committed catch-up
ended: each event's effect is applied exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from agreement_ledger.projections.projector import Projector

Report = Callable[[int], None]


def follow(
    projector: Projector, stop: threading.Event, interval: float = 1.0, report: Report | None = None
) -> None:
    """Catch up now, then whenever events arrive, until ``stop`` is set."""

    def catch_up() -> None:
        done = projector.catch_up()
        if done and report is not None:
            report(done)

    catch_up()
    engine = projector.ledger.engine
    if engine.dialect.name != "postgresql":
        while not stop.wait(interval):
            catch_up()
        return
    from psycopg import sql  # PostgreSQL only: not loaded for SQLite

    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None
        connection.autocommit = True
        channel = projector.ledger.recorder.channel_name  # type: ignore[attr-defined]
        connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        while not stop.is_set():
            for _notification in connection.notifies(timeout=interval, stop_after=1):
                pass
            if not stop.is_set():
                catch_up()
    finally:
        raw.close()
