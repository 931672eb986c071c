"""The benchmark: one command, a table of figures, and the figures as JSON.

    python -m bench.run                       # 10^4 events, SQLite
    python -m bench.run --events 10000 --events 100000 --postgres
    python -m bench.run --events 1000000      # the register scale of the targets

Every figure is measured in this run, on this machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich.console import Console
from rich.table import Table

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.projections.projector import Projector
from bench.register import register

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "import_sqlite": ("bulk import, SQLite (events/s)", ">=", 50_000),
    "rebuild": ("rebuild (events/s)", ">=", 100_000),
    "verify": ("verify (events/s)", ">=", 200_000),
    "show_ms": ("show, whole process (ms, median)", "<=", 300),
    "append_ms": ("single append, whole process (ms, median)", "<=", 400),
    "rebuild_rss_mb": ("rebuild peak RSS (MB)", "<=", 300),
    "verify_rss_mb": ("verify peak RSS (MB)", "<=", 300),
    "export_rss_mb": ("export peak RSS (MB)", "<=", 300),
    "import_postgresql": ("bulk import, PostgreSQL (events/s)", ">=", 20_000),
}


def log(message: str) -> None:
    """Progress on stderr, so that a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def ledger_import(db: str, lines: list[dict[str, Any]]) -> dict[str, float]:
    """The `ledger import` code path: one all-or-nothing batch, then the read models."""
    ledger = Ledger(db)
    append = timed(lambda: ledger.append([Submission(line) for line in lines]))
    project = timed(Projector(ledger).catch_up)
    ledger.close()
    total = append + project
    return {
        "import": len(lines) / total,
        "append_only": len(lines) / append,
        "import_seconds": total,
    }


def raw_executemany(folder: Path, lines: list[dict[str, Any]]) -> float:
    """The physical limit: rows of the same size into a table of the same shape."""
    connection = sqlite3.connect(folder / "raw.db")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, originator_id BLOB NOT NULL, "
        "originator_version INTEGER NOT NULL, topic TEXT NOT NULL, state BLOB NOT NULL)"
    )
    connection.execute(
        "CREATE UNIQUE INDEX events_idx ON events (originator_id, originator_version)"
    )
    topic = "ledger.domain:Agreement.Signed"
    ids: dict[str, bytes] = {}
    versions: dict[str, int] = {}
    rows = []
    for line in lines:
        key = line["agreement"]
        ids.setdefault(key, uuid4().bytes)
        versions[key] = versions.get(key, 0) + 1
        state = json.dumps(
            {
                **line,
                "hash": "0" * 64,
                "prev_hash": "0" * 64,
                "timestamp": "2026-11-26T00:00:00.000000+00:00",
                "recorded_by": "bench",
            }
        ).encode()
        rows.append((ids[key], versions[key], topic, state))

    def insert() -> None:
        with connection:
            connection.executemany(
                "INSERT INTO events (originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    seconds = timed(insert)
    connection.close()
    return len(lines) / seconds


class Record(Aggregate):
    """The plain library's aggregate: one stream of payloads (an agreement's events)."""

    @event("Opened")
    def __init__(self, payload: dict[str, Any]) -> None:
        self.payloads = [payload]

    @event("Recorded")
    def record(self, payload: dict[str, Any]) -> None:
        self.payloads.append(payload)


class Plain(Application[Any]):
    """A plain eventsourcing application on the library's own SQLite module."""


def plain_eventsourcing(folder: Path, lines: list[dict[str, Any]]) -> float:
    """A plain eventsourcing application on the library's own SQLite module, saving in batches."""
    app = Plain(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(folder / "plain.db"),
        }
    )
    by_key: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_key.setdefault(line["agreement"], []).append(line)

    def save_all() -> None:
        batch = []
        for payloads in by_key.values():
            aggregate = Record(payloads[0])
            for payload in payloads[1:]:
                aggregate.record(payload)
            batch.append(aggregate)
            if len(batch) >= 100:
                app.save(*batch)
                batch = []
        if batch:
            app.save(*batch)

    seconds = timed(save_all)
    app.close()
    return len(lines) / seconds


def process_ms(args: list[str], env: dict[str, str], runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, capture_output=True, check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def rss(operation: str, db: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.rss", operation, db],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def sqlite_figures(size: int, folder: Path, runs: int = 5) -> dict[str, float]:
    lines = list(register(size))
    figures: dict[str, float] = {"events": len(lines)}
    log(f"{len(lines)} events: raw executemany")
    figures["raw_executemany"] = raw_executemany(folder, lines)
    log("plain eventsourcing")
    figures["plain_eventsourcing"] = plain_eventsourcing(folder, lines)
    db = f"sqlite:///{folder / 'ledger.db'}"
    log("ledger import")
    imported = ledger_import(db, lines)
    figures["import_sqlite"] = imported["import"]
    figures["append_only_sqlite"] = imported["append_only"]
    figures["ratio_to_raw"] = figures["import_sqlite"] / figures["raw_executemany"]
    figures["ratio_to_plain"] = figures["import_sqlite"] / figures["plain_eventsourcing"]
    for operation in ("rebuild", "verify", "export"):
        log(operation)
        measured = rss(operation, db)
        figures[operation] = len(lines) / measured["seconds"]
        figures[f"{operation}_rss_mb"] = measured["peak_rss_mb"]
    program = shutil.which("ledger") or str(Path(sys.executable).with_name("ledger"))
    env = {**os.environ, "LEDGER_DB": db}
    key = lines[-1]["agreement"]
    log("whole-process latencies")
    figures["python_floor_ms"] = process_ms([sys.executable, "-c", "pass"], env)
    figures["show_ms"] = process_ms([program, "show", key, "--format", "json"], env)
    figures["flags_ms"] = process_ms([program, "flags", key, "--format", "json"], env)
    figures["append_ms"] = process_ms(
        [program, "append", key, "noted", "--field", "text=benchmark", "--field", "occurred=2020"],
        env,
    )
    return figures


def postgresql_figures(size: int) -> dict[str, float]:
    from sqlalchemy import create_engine, text

    from agreement_ledger.ledger.storage import upgrade
    from tests import pgcluster

    cluster = pgcluster.start()
    try:
        admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE bench"))
        admin.dispose()
        db = cluster.url.rsplit("/", 1)[0] + "/bench"
        engine = create_engine(db)
        upgrade(engine)
        engine.dispose()
        lines = list(register(size))
        log(f"PostgreSQL: import {len(lines)} events")
        imported = ledger_import(db, lines)
        ledger = Ledger(db)
        rebuild = len(lines) / timed(Projector(ledger).rebuild)
        verify = len(lines) / timed(ledger.verify)
        ledger.close()
        return {
            "events": len(lines),
            "import_postgresql": imported["import"],
            "append_only_postgresql": imported["append_only"],
            "rebuild_postgresql": rebuild,
            "verify_postgresql": verify,
        }
    finally:
        cluster.stop()


def _figure(value: float | None) -> str:
    return "" if value is None else (f"{value:,.2f}" if value < 10 else f"{value:,.0f}")


def rows(results: dict[str, Any]) -> list[tuple[str, list[str], str, str]]:
    """Each figure: label, value per size, target, and whether the largest size met it."""
    sizes = list(results["sizes"])
    names = sorted({name for figures in results["sizes"].values() for name in figures})
    table = []
    for name in names:
        label, op, goal = TARGETS.get(name, (name, "", None))
        cells = [_figure(results["sizes"][size].get(name)) for size in sizes]
        target, met = "", ""
        largest = results["sizes"][sizes[-1]].get(name)
        if goal is not None:
            target = f"{op} {goal:,}"
            if largest is not None:
                met = "yes" if (largest >= goal if op == ">=" else largest <= goal) else "no"
        table.append((label, cells, target, met))
    return table


def render(results: dict[str, Any]) -> None:
    console = Console(width=120)
    table = Table(title=f"agreement ledger benchmark — {results['machine']['summary']}")
    table.add_column("figure")
    for size in results["sizes"]:
        table.add_column(f"{int(float(size)):,} events", justify="right")
    table.add_column("target")
    for label, cells, target, _met in rows(results):
        table.add_row(label, *cells, target)
    console.print(table)


def markdown(results: dict[str, Any]) -> str:
    """The figures as a Markdown table (for BENCHMARKS.md)."""
    sizes = list(results["sizes"])
    head = "| figure | " + " | ".join(f"{int(size):,} events" for size in sizes)
    lines = [head + " | target | met |", "|" + " --- |" * (len(sizes) + 3)]
    for label, cells, target, met in rows(results):
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} | {met} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, action="append", help="register size (repeatable)")
    parser.add_argument("--postgres", action="store_true", help="also measure PostgreSQL")
    parser.add_argument("--runs", type=int, default=5, help="samples per process latency")
    parser.add_argument(
        "--markdown", metavar="RESULTS", help="print RESULTS (JSON) as Markdown; run nothing"
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    options = parser.parse_args()
    if options.markdown:
        print(markdown(json.loads(Path(options.markdown).read_text())))
        return
    sizes = options.events or [10_000]
    results: dict[str, Any] = {
        "machine": {
            "summary": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "platform": platform.platform(),
        },
        "sizes": {},
    }
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            figures = sqlite_figures(size, Path(folder), options.runs)
        if options.postgres:
            figures.update(postgresql_figures(size))
        results["sizes"][str(size)] = figures
    Path(options.out).write_text(json.dumps(results, indent=2))
    render(results)
    print(f"figures written to {options.out}")


if __name__ == "__main__":
    main()
