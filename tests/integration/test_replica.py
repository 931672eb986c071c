"""Read-only replicas: a real PostgreSQL primary and a streaming hot standby.

The standby is made with ``pg_basebackup -R`` from a primary the test starts.
Queries on it never write: they answer from the replicated read models, compute
in memory what those lag behind on (an event whose writer died before its
catch-up, a scheduled change whose time has come), and say how far they lag.
``follow`` refuses to run there with one line.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.storage import upgrade
from agreement_ledger.projections.projector import Projector
from tests import pgcluster
from tests.conftest import EXAMPLE, REQUIRE_POSTGRES


@pytest.fixture(scope="module")
def replicated():
    reason = pgcluster.unavailable_reason() or (
        None if pgcluster.find_bin("pg_basebackup") else "pg_basebackup not found"
    )
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required: {reason}")
        pytest.skip(reason)
    primary = pgcluster.start()
    standby = None
    try:
        engine = create_engine(primary.url)
        upgrade(engine)
        engine.dispose()
        assert run(primary.url, "import", str(EXAMPLE)).exit_code == 0
        standby = pgcluster.start_standby(primary)
        yield primary.url, standby.url
    finally:
        if standby is not None:
            standby.stop()
        primary.stop()


def run(url: str, *args: str):
    return CliRunner().invoke(app, ["--db", url, *args])


def wait_for_replay(primary: str, standby: str) -> None:
    """Until the standby has replayed everything the primary wrote.

    The test clusters commit asynchronously (``synchronous_commit=off``): the last
    commit may still be in the primary's WAL buffers, past ``pg_current_wal_lsn()``;
    the insert position includes it.
    """
    with create_engine(primary).connect() as connection:
        target = connection.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar()
    engine = create_engine(standby)
    for _ in range(200):
        with engine.connect() as connection:
            done = connection.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:target AS pg_lsn)"),
                {"target": target},
            ).scalar()
        if done:
            engine.dispose()
            return
        time.sleep(0.05)
    raise AssertionError("the standby did not catch up")


def test_queries_on_an_up_to_date_standby_answer_like_the_primary(replicated):
    primary, standby = replicated
    wait_for_replay(primary, standby)
    for args in (
        ["list"],
        ["show", "tisa-2014"],
        ["flags"],
        ["timeline", "tisa-2014"],
        ["parties", "tisa-2014"],
        ["history", "tisa-2014"],
        ["verify"],
    ):
        on_standby = run(standby, *args, "--format", "json")
        assert on_standby.exit_code == 0, (args, on_standby.output)
        assert on_standby.stdout == run(primary, *args, "--format", "json").stdout, args


def test_the_site_and_the_report_written_from_a_standby_match_the_primarys(replicated, tmp_path):
    primary, standby = replicated
    wait_for_replay(primary, standby)
    for url, name in ((primary, "from-primary"), (standby, "from-standby")):
        written = run(url, "site", "-o", str(tmp_path / name))
        assert written.exit_code == 0, written.output
        assert run(url, "report", "tisa-2014", "-o", str(tmp_path / f"{name}.html")).exit_code == 0
    pages = sorted(
        p.relative_to(tmp_path / "from-primary")
        for p in (tmp_path / "from-primary").rglob("*.html")
    )
    assert pages == sorted(
        p.relative_to(tmp_path / "from-standby")
        for p in (tmp_path / "from-standby").rglob("*.html")
    )

    def steady(html: str) -> str:
        """The page without the moments of writing, and the digests made of them."""
        html = re.sub(r"\d{4}-\d\d-\d\dT(?:<wbr>)?\d\d:\d\d:\d\d\.\d+Z", "…", html)
        return re.sub(r'(id="digest">|"digest": ")[0-9a-f]{64}', r"\1…", html)

    for page in [*pages, Path("../from-primary.html")]:
        ours = (tmp_path / "from-primary" / page).read_text()
        theirs = (
            tmp_path / "from-standby" / page.as_posix().replace("from-primary", "from-standby")
        ).read_text()
        assert steady(ours) == steady(theirs), page
    digests = [
        json.loads((tmp_path / name / "digest.json").read_text())
        for name in ("from-primary", "from-standby")
    ]
    assert [(d["merkle_root"], d["streams"], d["verified"]) for d in digests] == [
        (digests[0]["merkle_root"], digests[0]["streams"], True)
    ] * 2


def test_a_standby_whose_read_models_lag_never_writes_and_says_how_far(replicated):
    primary, standby = replicated
    # a scheduled change whose time has come since the read models were written
    late = Ledger(primary)
    late.append(
        [
            Submission(line)
            for line in [
                {
                    "agreement": "short-pact",
                    "type": "registered",
                    "title": "Short",
                    "parties": ["AA", "BB"],
                    "expires": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
                },
                {
                    "agreement": "short-pact",
                    "type": "signed",
                    "party": "AA",
                    "occurred": "2020-01-01",
                },
                {
                    "agreement": "short-pact",
                    "type": "signed",
                    "party": "BB",
                    "occurred": "2020-01-01",
                },
                {"agreement": "short-pact", "type": "entered_into_force", "occurred": "2020-01-02"},
            ]
        ]
    )
    # projected ten days ago: in force then, its expiry (yesterday) still to come
    Projector(late).catch_up(now=datetime.now(UTC) - timedelta(days=10))
    late.close()
    # a writer that died after its commit, before its catch-up: the event, no read model
    writer = Ledger(primary)
    writer.append(
        [
            Submission(
                {
                    "agreement": "tisa-2014",
                    "type": "noted",
                    "text": "late",
                    "occurred": "2015-01-05",
                    "id": "late-note",
                }
            )
        ],
        actor="clerk",
    )
    writer.close()
    wait_for_replay(primary, standby)

    shown = run(standby, "show", "tisa-2014", "--format", "json")
    assert shown.exit_code == 0, shown.output
    state = json.loads(shown.stdout)
    assert state["version"] == 13  # the late event counts, computed from the log
    assert state["read_models"]["replica"] is True
    assert state["read_models"]["behind"] >= 1
    assert "tisa-2014" in state["read_models"]["recomputed"]
    table = run(standby, "show", "tisa-2014")
    assert "read-only replica" in table.stdout and "behind the log" in table.stdout
    for args in (
        ["list"],
        ["flags"],
        ["timeline", "tisa-2014"],
        ["parties", "tisa-2014"],
        ["audit"],
        ["replay", "tisa-2014", "--as-of", "2015-01-06"],
    ):
        result = run(standby, *args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
    listing = {
        r["agreement"]: r for r in json.loads(run(standby, "list", "--format", "json").stdout)
    }
    assert listing["short-pact"]["status"] == "expired"  # by time alone, computed in memory
    assert listing["tisa-2014"]["status"] == "in_force"
    # the standby wrote nothing: its read models are still behind
    with create_engine(standby).connect() as connection:
        position = connection.execute(
            text("SELECT position FROM read_tracking WHERE name = 'read_models'")
        ).scalar()
        newest = connection.execute(text("SELECT max(id) FROM ledger_events")).scalar()
    assert position < newest


def test_follow_and_writes_on_a_standby_are_one_line_exit_5(replicated):
    _, standby = replicated
    for args in (
        ["follow"],
        ["rebuild"],
        ["append", "tisa-2014", "noted", "--field", "text=x", "--field", "occurred=2015"],
    ):
        result = run(standby, *args)
        assert result.exit_code == 5, (args, result.output)
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "read-only replica" in run(standby, "follow").stderr
