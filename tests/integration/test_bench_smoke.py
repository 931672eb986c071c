"""The benchmark runs end to end at a tiny size (figures are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_writes_its_figures(tmp_path):
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--events", "150", "--runs", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())["sizes"]["150"]
    for name in (
        "import_sqlite",
        "raw_executemany",
        "plain_eventsourcing",
        "rebuild",
        "verify",
        "export",
        "show_ms",
        "append_ms",
        "rebuild_rss_mb",
    ):
        assert figures[name] > 0
    assert "bulk import, SQLite (events/s)" in result.stdout
