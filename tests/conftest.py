"""Shared fixtures: a temporary ledger database, the CLI, and row counting."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select, table
from typer.testing import CliRunner, Result

from cli.main import app
from ledger.application import Ledger

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tisa-2014.jsonl"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    app_ = Ledger(db_url)
    yield app_
    app_.close()


def count_events(db_url: str) -> int:
    """How many rows the event table holds (what "nothing was written" is checked by)."""
    engine = create_engine(db_url)
    try:
        if not inspect(engine).has_table("ledger_events"):
            return 0  # the database was not even created
        with engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(table("ledger_events"))
                ).scalar_one()
            )
    finally:
        engine.dispose()


Cli = Callable[..., Result]


@pytest.fixture
def cli(db_url: str) -> Cli:
    """Run ``ledger --db <temp db> ARGS…`` in-process; returns the Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, ["--db", db_url, *args], input=input, env=env)

    return run


def example_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLE.read_text().splitlines() if line.strip()]
