"""Shared fixtures: a temporary ledger database, the CLI, and row counting."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from agreement_ledger.cli.main import app
from agreement_ledger.ledger.application import Ledger
from agreement_ledger.ledger.storage import upgrade
from tests import pgcluster

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tisa-2014.jsonl"


REQUIRE_POSTGRES = os.environ.get("LEDGER_TEST_REQUIRE_POSTGRES") == "1"
BACKENDS = ("sqlite", "postgresql")


class PostgresServer:
    """A PostgreSQL server the tests may create databases on."""

    TEMPLATE = "ledger_template"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._count = 0
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.TEMPLATE}"'))
            connection.execute(text(f'CREATE DATABASE "{self.TEMPLATE}"'))
        template = create_engine(self.url_of(self.TEMPLATE))
        upgrade(template)
        template.dispose()

    def url_of(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def new_database(self, migrated: bool = True) -> str:
        """A fresh database, migrated to the newest schema unless asked for a blank one."""
        self._count += 1
        name = f"ledger_test_{os.getpid()}_{self._count}_{uuid.uuid4().hex[:6]}"
        template = self.TEMPLATE if migrated else "template0"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return self.url_of(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | str]:
    """The server named by LEDGER_TEST_POSTGRES_URL, else a throwaway local cluster.

    Yields the reason as a string when neither is available.
    """
    url = os.environ.get("LEDGER_TEST_POSTGRES_URL")
    if url:
        yield PostgresServer(url)
        return
    reason = pgcluster.unavailable_reason()
    if reason:
        yield reason
        return
    cluster = pgcluster.start()
    try:
        server = PostgresServer(cluster.url)
        yield server
        server.admin.dispose()
    finally:
        cluster.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        if isinstance(server, str):
            if REQUIRE_POSTGRES:
                pytest.fail(f"PostgreSQL is required (LEDGER_TEST_REQUIRE_POSTGRES=1): {server}")
            pytest.skip(f"no PostgreSQL here: {server}")
    return str(request.param)


NewDb = Callable[..., str]


@pytest.fixture
def new_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> NewDb:
    """Make a fresh, empty ledger database on the backend under test.

    SQLite files are created (and migrated) on first use; PostgreSQL databases
    are migrated here, as a deployment would (``migrated=False`` for a blank one).
    """
    counter = iter(range(1_000_000))

    def make(migrated: bool = True) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'ledger-{next(counter)}.db'}"
        server = request.getfixturevalue("postgres_server")
        return server.new_database(migrated)

    return make


@pytest.fixture
def db_url(new_db: NewDb) -> str:
    return new_db()


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


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium(tmp_path: Path) -> Callable[..., str]:
    """Run headless Chromium with ARGS; returns what it prints (``--dump-dom``: the DOM)."""
    program = shutil.which("chromium") or shutil.which("chromium-browser")
    if program is None:
        if os.environ.get("LEDGER_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (LEDGER_TEST_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("no Chromium here: apt-get install chromium")

    profiles = iter(range(1_000_000))

    def run(*args: str, console: list[str] | None = None) -> str:
        """Chromium's standard output; its console messages appended to ``console``."""
        profile = tmp_path / f"chromium-profile-{next(profiles)}"
        logging = ["--enable-logging=stderr", "--v=0"] if console is not None else []
        result = subprocess.run(
            [program, *CHROMIUM_FLAGS, *logging, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        if console is not None:
            console.extend(line for line in result.stderr.splitlines() if ":CONSOLE" in line)
        return result.stdout

    return run


def as_at_a_terminal() -> None:
    """Ctrl-C acting as it does at a terminal, in a process about to be started
    (``preexec_fn``): a test run started in the background (``.ci/run &``) ignores
    SIGINT, and its children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def ctrl_c_as_at_a_terminal() -> Iterator[None]:
    """The same for processes forked by the test (their Ctrl-C a ``KeyboardInterrupt``),
    and this process's own disposition back afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
