"""What the event table's lock costs concurrent writers on PostgreSQL.

    python -m bench.writers                 # 1 and 8 writers, 200 appends each
    python -m bench.writers --writers 1 --writers 4 --writers 8 --appends 300

The eventsourcing library takes ``LOCK TABLE … IN EXCLUSIVE MODE`` for every
insert on PostgreSQL, so that notification ids commit in order (a projector
never skips an event that commits late). Each writer here is a process that
appends single events to its own agreement, as clerks on several machines
would, each append a transaction with its read-model catch-up. The same run is
repeated with the lock taken away (measurement only: the ledger never runs so)
to show what the lock costs. Figures, never assertions.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from typing import Any

from sqlalchemy import create_engine, text

from agreement_ledger.ledger.storage import upgrade
from tests import pgcluster


def _writer(url: str, index: int, appends: int, locked: bool, start: Any, out: Any) -> None:
    from agreement_ledger.ledger.application import Ledger, Submission
    from agreement_ledger.ledger.eventstore import BatchingRecorder
    from agreement_ledger.projections.projector import Projector

    if not locked:
        BatchingRecorder._lock_table = lambda self, session: None  # type: ignore[method-assign]
    ledger = Ledger(url)
    Projector(ledger).attach()
    key = f"writer-{index}"
    ledger.append([Submission({"agreement": key, "type": "registered", "title": key})])
    start.wait()
    began = time.perf_counter()
    latencies = []
    for n in range(appends):
        before = time.perf_counter()
        event = {"agreement": key, "type": "noted", "text": f"note {n}", "occurred": "2020-01-01"}
        ledger.append([Submission(event)], actor="bench")
        latencies.append(time.perf_counter() - before)
    out.put((time.perf_counter() - began, latencies))
    ledger.close()


def measure(url: str, writers: int, appends: int, locked: bool) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(writers + 1), context.Queue()
    processes = [
        context.Process(target=_writer, args=(url, i, appends, locked, start, out))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    start.wait()
    results = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    wall = max(seconds for seconds, _ in results)
    latencies = sorted(x for _, samples in results for x in samples)
    return {
        "appends_per_second": writers * appends / wall,
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def _fresh(cluster: pgcluster.Cluster, name: str) -> str:
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = cluster.url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, action="append")
    parser.add_argument("--appends", type=int, default=200)
    args = parser.parse_args()
    counts = args.writers or [1, 8]
    cluster = pgcluster.start()
    try:
        print("| writers | table lock | appends/s | median ms | p95 ms |")
        print("| ---: | --- | ---: | ---: | ---: |")
        for count in counts:
            for locked in (True, False):
                url = _fresh(cluster, f"writers_{count}_{'lock' if locked else 'nolock'}")
                figures = measure(url, count, args.appends, locked)
                lock = "taken (as shipped)" if locked else "removed (measurement only)"
                print(
                    f"| {count} | {lock} | {figures['appends_per_second']:.0f}"
                    f" | {figures['median_ms']:.1f} | {figures['p95_ms']:.1f} |",
                    flush=True,
                )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
