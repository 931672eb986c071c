"""The benchmark: one command, a table of figures, and the figures as JSON.

    python -m bench.run                       # 10^4 events, SQLite
    python -m bench.run --events 10000 --events 100000 --postgres
    python -m bench.run --events 1000000 --postgres --write BENCHMARKS.md   # the report

Every figure is measured in this run, on this machine, next to its floor (what the
same work costs with nothing of the ledger in it); nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
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
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich.console import Console
from rich.table import Table

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.projections.projector import Projector
from bench.register import register

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "import_sqlite": ("bulk import, SQLite (events/s)", ">=", None),
    "import_rss_mb": ("import peak RSS, `ledger import FILE` (MB)", "<=", 400),
    "rebuild": ("rebuild (events/s)", ">=", 40_000),
    "verify": ("verify (events/s)", ">=", 150_000),
    "show_ms": ("show, whole process (ms, median)", "<=", 80),
    "append_ms": ("single append, whole process (ms, median)", "<=", 200),
    "import_postgresql": ("bulk import, PostgreSQL (events/s)", ">=", 10_000),
}
"""The targets of issue 14; the import's are ratios (``RATIOS``), measured in the run."""

RATIOS = {
    "import_to_plain": ("import_sqlite", "plain_eventsourcing", ">=", 0.5),
    "import_to_raw": ("import_sqlite", "raw_executemany", ">=", 0.1),
    "rebuild_to_floor": ("rebuild", "decode_floor", None, None),
    "verify_to_floor": ("verify", "hash_floor", None, None),
    "show_to_python": ("show_ms", "python_floor_ms", "<=", 4.0),
    "append_to_python": ("append_ms", "python_floor_ms", None, None),
    "import_rss_to_idle": ("import_rss_mb", "idle_rss_mb", None, None),
    "postgresql_import_to_copy": ("import_postgresql", "copy_floor_postgresql", None, None),
}
"""Each figure over its floor, measured in the same run (with the issue's bound, if any)."""


def log(message: str) -> None:
    """Progress on stderr, so that a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def ledger_import(db: str, lines: list[dict[str, Any]]) -> dict[str, float]:
    """The `ledger import` code path: one all-or-nothing batch, its read models projected
    while it writes (``Projector.attach``, as the command wires it)."""
    ledger = Ledger(db)
    Projector(ledger).attach()
    total = timed(lambda: ledger.append([Submission(line) for line in lines]))
    ledger.close()
    return {"import": len(lines) / total, "import_seconds": total}


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


def hash_floor(db: Path) -> float:
    """Verification's floor: read every stored state in stream order and SHA-256 it."""
    return _per_state(db, lambda state: hashlib.sha256(state).hexdigest())


def decode_floor(db: Path) -> float:
    """A rebuild's floor: read every stored state in stream order and decode its JSON."""
    return _per_state(db, orjson.loads)


def _per_state(db: Path, work: Callable[[bytes], object]) -> float:
    """Events per second of reading every stored state, in stream order, and ``work``."""
    connection = sqlite3.connect(db)
    started = time.perf_counter()
    count = 0
    for (state,) in connection.execute(
        "SELECT state FROM ledger_events ORDER BY originator_id, originator_version"
    ):
        work(state)
        count += 1
    seconds = time.perf_counter() - started
    connection.close()
    return count / seconds


def file_import(program: str, folder: Path, lines: list[dict[str, Any]]) -> dict[str, float]:
    """``ledger import FILE`` as a user runs it: its events/s and its own peak RSS."""
    source = folder / "register.jsonl"
    with source.open("w") as out:
        for line in lines:
            out.write(json.dumps(line) + "\n")
    measured = rss_of_child([program, "--db", str(folder / "from-file.db"), "import", str(source)])
    return {
        "import_file_sqlite": len(lines) / measured["seconds"],
        "import_rss_mb": measured["peak_rss_mb"],
        "file_mb": source.stat().st_size / 2**20,
    }


def rss_of_child(args: list[str]) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.rss", "child", *args],
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
    path = folder / "ledger.db"
    db = f"sqlite:///{path}"
    log("ledger import")
    imported = ledger_import(db, lines)
    figures["import_sqlite"] = imported["import"]
    program = shutil.which("ledger") or str(Path(sys.executable).with_name("ledger"))
    log("ledger import FILE, as a process")
    figures.update(file_import(program, folder, lines))
    log("floors: read and hash, read and decode")
    figures["hash_floor"] = hash_floor(path)
    figures["decode_floor"] = decode_floor(path)
    for operation in ("rebuild", "verify", "export"):
        log(operation)
        measured = rss(operation, db)
        figures[operation] = len(lines) / measured["seconds"]
        figures[f"{operation}_rss_mb"] = measured["peak_rss_mb"]
    figures["idle_rss_mb"] = rss("open", db)["peak_rss_mb"]
    env = {**os.environ, "LEDGER_DB": db}
    key = lines[-1]["agreement"]
    log("whole-process latencies")
    figures["python_floor_ms"] = process_ms([sys.executable, "-c", "pass"], env, runs)
    figures["show_ms"] = process_ms([program, "show", key], env, runs)  # the default: a table
    figures["show_json_ms"] = process_ms([program, "show", key, "--format", "json"], env, runs)
    figures["flags_ms"] = process_ms([program, "flags", key, "--format", "json"], env, runs)
    figures["append_ms"] = process_ms(
        [program, "append", key, "noted", "--field", "text=benchmark", "--field", "occurred=2020"],
        env,
        runs,
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
        log(f"PostgreSQL: COPY floor, {len(lines)} rows")
        copy_floor = postgresql_copy_floor(db, lines)
        log(f"PostgreSQL: import {len(lines)} events")
        imported = ledger_import(db, lines)
        ledger = Ledger(db)
        rebuild = len(lines) / timed(Projector(ledger).rebuild)
        verify = len(lines) / timed(ledger.verify)
        ledger.close()
        return {
            "events": len(lines),
            "import_postgresql": imported["import"],
            "rebuild_postgresql": rebuild,
            "verify_postgresql": verify,
            "copy_floor_postgresql": copy_floor,
        }
    finally:
        cluster.stop()


def postgresql_copy_floor(db: str, lines: list[dict[str, Any]]) -> float:
    """PostgreSQL's floor: ``COPY`` rows of the same size into a table of the same shape."""
    import psycopg

    url = db.replace("postgresql+psycopg://", "postgresql://")
    rows = [
        (
            uuid4(),
            n,
            "ledger.domain:Agreement.Signed",
            json.dumps({**line, "hash": "0" * 64}).encode(),
        )
        for n, line in enumerate(lines)
    ]
    with psycopg.connect(url) as connection:
        connection.execute(
            "CREATE TABLE copy_floor (id BIGSERIAL PRIMARY KEY, originator_id UUID NOT NULL, "
            "originator_version BIGINT NOT NULL, topic TEXT NOT NULL, state BYTEA NOT NULL, "
            "UNIQUE (originator_id, originator_version))"
        )
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY copy_floor (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        connection.commit()
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE copy_floor")
        connection.commit()
    return len(rows) / seconds


def profile_summary(size: int) -> dict[str, list[tuple[str, float]]]:
    """Where the time of import, rebuild and verify goes (one process, ``cProfile``):
    the share of each part of the code in the operation's own time."""
    lines = list(register(size))
    summaries: dict[str, list[tuple[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{Path(folder) / 'profiled.db'}"
        ledger = Ledger(db)
        ledger.workers = 1
        projector = Projector(ledger, workers=1)
        operations: dict[str, Callable[[], Any]] = {
            "import": lambda: (
                ledger.append([Submission(line) for line in lines]),
                projector.catch_up(),
            ),
            "rebuild": projector.rebuild,
            "verify": ledger.verify,
        }
        for name, action in operations.items():
            log(f"profile: {name}")
            profiler = cProfile.Profile()
            profiler.runcall(action)
            summaries[name] = _shares(profiler)
        ledger.close()
    return summaries


PARTS = [
    ("sqlalchemy", "SQLAlchemy and the database driver"),
    ("sqlite3", "SQLAlchemy and the database driver"),
    ("psycopg", "SQLAlchemy and the database driver"),
    ("eventsourcing", "the event-sourcing library"),
    ("ledger/vocabulary", "reading and checking each event (vocabulary)"),
    ("ledger/text", "reading and checking each event (vocabulary)"),
    ("ledger/rules", "the rules (admit, fold)"),
    ("ledger/domain", "the rules (admit, fold)"),
    ("ledger/worldtime", "world time (occurred, zones, order)"),
    ("ledger/chain", "hash chain (record, canonical JSON, SHA-256)"),
    ("ledger/verification", "chain check"),
    ("ledger/eventstore", "event store (encoding, decoding rows)"),
    ("ledger/application", "bulk writer"),
    ("projections/facts", "projection: facts and chronology"),
    ("projections/state", "projection: state"),
    ("projections/flags", "projection: flag rules"),
    ("projections/project", "projection: show"),
    ("projections/store", "read-model rows"),
    ("json", "JSON (standard library)"),
    ("orjson", "JSON (orjson)"),
    ("hashlib", "hash chain (record, canonical JSON, SHA-256)"),
    ("_sha256", "hash chain (record, canonical JSON, SHA-256)"),
    ("isodate", "world time (occurred, zones, order)"),
    ("datetime", "world time (occurred, zones, order)"),
    ("zoneinfo", "world time (occurred, zones, order)"),
]


def _shares(profiler: cProfile.Profile) -> list[tuple[str, float]]:
    import pstats

    stats = pstats.Stats(profiler)
    by_part: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        own = entry[2]
        total += own
        where = f"{filename} {function}"
        part = next((label for needle, label in PARTS if needle in where), "other Python")
        by_part[part] += own
    ranked = sorted(by_part.items(), key=lambda item: -item[1])
    return [(part, own / total) for part, own in ranked[:7] if total]


def _figure(value: float | None) -> str:
    return "" if value is None else (f"{value:,.2f}" if value < 10 else f"{value:,.0f}")


def _met(value: float | None, op: str | None, goal: float | None) -> str:
    if value is None or op is None or goal is None:
        return ""
    return "yes" if (value >= goal if op == ">=" else value <= goal) else "no"


def rows(results: dict[str, Any]) -> list[tuple[str, list[str], str, str]]:
    """Each figure: label, value per size, target, and whether the largest size met it."""
    sizes = list(results["sizes"])
    names = sorted({name for figures in results["sizes"].values() for name in figures})
    table = []
    for name in names:
        label, op, goal = TARGETS.get(name, (name, None, None))
        cells = [_figure(results["sizes"][size].get(name)) for size in sizes]
        target = f"{op} {goal:,}" if goal is not None else ""
        met = _met(results["sizes"][sizes[-1]].get(name), op, goal)
        table.append((label, cells, target, met))
    return table


def ratio_rows(results: dict[str, Any]) -> list[tuple[str, list[str], str, str]]:
    """Each figure over its floor, per size, with the issue's bound where it sets one."""
    sizes = list(results["sizes"])
    table = []
    for figure, floor, op, goal in RATIOS.values():
        values = []
        for size in sizes:
            figures = results["sizes"][size]
            both = figures.get(figure), figures.get(floor)
            values.append(both[0] / both[1] if None not in both and both[1] else None)
        if all(v is None for v in values):
            continue
        target = f"{op} {goal}" if goal is not None else ""
        table.append(
            (
                f"{figure} / {floor}",
                [_figure(v) for v in values],
                target,
                _met(values[-1], op, goal),
            )
        )
    return table


def render(results: dict[str, Any]) -> None:
    console = Console(width=120)
    for title, table_rows in (
        ("figures", rows(results)),
        ("ratios to floors", ratio_rows(results)),
    ):
        table = Table(
            title=f"agreement ledger benchmark, {title} — {results['machine']['summary']}"
        )
        table.add_column("figure")
        for size in results["sizes"]:
            table.add_column(f"{int(float(size)):,} events", justify="right")
        table.add_column("target")
        table.add_column("met")
        for label, cells, target, met in table_rows:
            table.add_row(label, *cells, target, met)
        console.print(table)


def _markdown_table(results: dict[str, Any], table_rows: list[Any]) -> str:
    sizes = list(results["sizes"])
    head = "| figure | " + " | ".join(f"{int(size):,} events" for size in sizes)
    lines = [head + " | target | met |", "|" + " --- |" * (len(sizes) + 3)]
    for label, cells, target, met in table_rows:
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} | {met} |")
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    """The figures and the ratios as Markdown tables."""
    return (
        _markdown_table(results, rows(results))
        + "\n\n"
        + _markdown_table(results, ratio_rows(results))
    )


def report(results: dict[str, Any], command: str) -> str:
    """BENCHMARKS.md: how the figures were made, the tables, and where the time goes."""
    parts = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {results['machine']['platform']} "
        f"({results['machine']['summary']}). Every figure comes from that one run; "
        "nothing here is edited by hand. The register is generated (`bench/register.py`): "
        "whole agreements of 2 to 4 parties in eight time zones, about 11 events each, "
        "about 180 bytes of JSON per event.",
        "",
        "## Figures",
        "",
        _markdown_table(results, rows(results)),
        "",
        "## Each figure over its floor",
        "",
        "A floor is the same work with nothing of the ledger in it, measured in the same run: "
        "`raw_executemany` (rows of the same size into a table of the same shape, one "
        "`executemany`), `plain_eventsourcing` (the library's own SQLite application saving "
        "equivalent aggregates in batches), `hash_floor` (read every stored state and "
        "SHA-256 it), `decode_floor` (read every stored state and decode its JSON), "
        "`python_floor_ms` (`python -c pass`), `idle_rss_mb` (a process that opens the "
        "ledger and stops), `copy_floor_postgresql` (`COPY` of the same rows into a plain "
        "table).",
        "",
        _markdown_table(results, ratio_rows(results)),
        "",
        "## Where the time goes now",
        "",
        "`cProfile` of one process (workers off) on the smallest register of the run, each "
        "part's share of the operation's own time:",
        "",
    ]
    for operation, shares in results.get("profile", {}).items():
        listed = "; ".join(f"{part} {share:.0%}" for part, share in shares)
        parts.append(f"- **{operation}**: {listed}.")
    parts += ["", NOTES]
    return "\n".join(parts) + "\n"


NOTES = (
    (Path(__file__).resolve().parent / "NOTES.md").read_text()
    if (Path(__file__).resolve().parent / "NOTES.md").exists()
    else ""
)


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
    parser.add_argument("--write", metavar="FILE", help="also write the report (BENCHMARKS.md)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    options = parser.parse_args()
    if options.markdown:
        print(markdown(json.loads(Path(options.markdown).read_text())))
        return
    sizes = options.events or [10_000]
    results: dict[str, Any] = {
        "machine": {
            "summary": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
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
    if options.write:
        results["profile"] = profile_summary(min(min(sizes), 20_000))
    Path(options.out).write_text(json.dumps(results, indent=2))
    render(results)
    print(f"figures written to {options.out}")
    if options.write:
        command = "python -m bench.run " + " ".join(sys.argv[1:])
        Path(options.write).write_text(report(results, command))
        print(f"report written to {options.write}")


if __name__ == "__main__":
    main()
