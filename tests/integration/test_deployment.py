"""The least-privilege role (PostgreSQL), and the follower (both backends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.projections import store
from agreement_ledger.projections.audit import audit
from agreement_ledger.projections.projector import Projector
from tests.conftest import example_lines

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "docs" / "postgresql-roles.sql"


@pytest.fixture
def pg_url(backend, db_url):
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    return db_url


def test_the_application_role_may_append_but_not_update_or_delete(pg_url):
    owner = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(text("DROP ROLE IF EXISTS ledger_app"))  # left by an earlier run
    with owner.begin() as connection:
        connection.exec_driver_sql(ROLES.read_text())
    app_url = make_url(pg_url).set(username="ledger_app").render_as_string(hide_password=False)
    try:
        ledger = Ledger(app_url)
        Projector(ledger).attach()
        ledger.append(Submission(line) for line in example_lines())
        assert ledger.verify().ok
        engine = create_engine(app_url)
        for statement in ("UPDATE ledger_events SET topic = 'x'", "DELETE FROM ledger_events"):
            with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as c:
                c.execute(text(statement))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(text("TRUNCATE ledger_events"))
        engine.dispose()
        ledger.close()
    finally:
        with owner.connect() as connection:
            connection.execute(text("DROP OWNED BY ledger_app"))
            connection.execute(text("DROP ROLE ledger_app"))
        owner.dispose()


def start_follower(url: str) -> subprocess.Popen[str]:
    follower = subprocess.Popen(
        [sys.executable, "-m", "agreement_ledger.cli.main", "--db", url, "follow"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert follower.stdout is not None
    assert follower.stdout.readline().startswith("following")
    return follower


def position(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return store.position(connection)


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def quiet_writer(url: str) -> Ledger:
    """A writer on another machine: it appends and leaves projecting to the follower."""
    return Ledger(url)


def test_follow_keeps_the_read_models_current_as_others_append(db_url):
    writer = quiet_writer(db_url)
    follower = start_follower(db_url)
    try:
        writer.append(Submission(line) for line in example_lines()[:6])
        wait_for(lambda: position(writer) == 6)
        with writer.engine.connect() as connection:
            assert store.show(connection, "tisa-2014")["status"] == "signed"
        writer.append(Submission(line) for line in example_lines()[6:])
        wait_for(lambda: position(writer) == 12)
        with writer.engine.connect() as connection:
            assert store.show(connection, "tisa-2014")["status"] == "in_force"
    finally:
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=20) == 0
        writer.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_follow_stops_cleanly_on_a_signal(db_url, stop):
    follower = start_follower(db_url)
    follower.send_signal(stop)
    assert follower.wait(timeout=20) == 0
    assert follower.stdout is not None and "stopped" in follower.stdout.read()


def test_follow_resumes_after_kill_9_with_exactly_once_effects(db_url):
    writer = quiet_writer(db_url)
    follower = start_follower(db_url)
    lines = [
        {
            "agreement": f"pact-{n}",
            "type": "registered",
            "title": f"Pact {n}",
            "parties": ["KR", "US"],
        }
        for n in range(40)
    ]
    for line in lines:
        writer.append([Submission(line)])
        writer.append(
            [
                Submission(
                    {
                        "agreement": line["agreement"],
                        "type": "signed",
                        "party": "KR",
                        "occurred": "2015-01-01",
                    }
                )
            ]
        )
    follower.send_signal(signal.SIGKILL)
    follower.wait(timeout=20)
    assert position(writer) <= 80
    for line in lines[:10]:
        writer.append(
            [
                Submission(
                    {
                        "agreement": line["agreement"],
                        "type": "signed",
                        "party": "US",
                        "occurred": "2015-01-02",
                    }
                )
            ]
        )
    follower = start_follower(db_url)
    try:
        wait_for(lambda: position(writer) == 90)
    finally:
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=20) == 0
    result = audit(Projector(writer))
    assert result.ok, result.as_json()
    with writer.engine.connect() as connection:
        statuses = [row["status"] for row in store.listing(connection)]
    assert statuses.count("signed") == 10 and statuses.count("signing") == 30
    writer.close()
