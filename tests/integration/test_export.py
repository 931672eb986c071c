"""Export writes JSON Lines that an empty ledger imports back to the same state."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from agreement_ledger.ledger.errors import Rejected
from tests.conftest import EXAMPLE
from tests.histories import PARIS, VFA
from tests.strategies import RANDOM_REGISTRATION, lifecycle_event

runner = CliRunner()


def run(db: str, *args: str, input: str | None = None):
    result = runner.invoke(app, ["--db", db, *args], input=input)
    assert result.exit_code in (0, 3), result.stderr
    return result


def shows(db: str) -> dict[str, str]:
    keys = [row["agreement"] for row in json.loads(run(db, "list", "--format", "json").stdout)]
    return {key: run(db, "show", key, "--format", "json").stdout for key in keys}


def round_trip(source: str, target: str) -> None:
    exported = run(source, "export").stdout
    imported = run(target, "import", "-", "--format", "json", input=exported)
    assert imported.exit_code == 0, imported.stderr
    assert json.loads(imported.stdout)["appended"] == len(exported.splitlines())


def test_export_has_the_envelope_and_the_ledgers_own_fields(db_url):
    db = db_url
    run(db, "import", str(EXAMPLE))
    lines = [json.loads(line) for line in run(db, "export").stdout.splitlines()]
    assert [line["seq"] for line in lines] == list(range(1, 13))
    for line in lines:
        assert {
            "agreement",
            "type",
            "id",
            "seq",
            "version",
            "recorded_at",
            "recorded_by",
            "prev_hash",
            "hash",
        } <= set(line)
    assert lines[8]["after"] == ["entered-into-force"]
    single = run(db, "export", "tisa-2014").stdout
    assert single == run(db, "export").stdout


def test_importing_an_export_into_an_empty_ledger_reproduces_every_show(new_db):
    source, target = new_db(), new_db()
    run(source, "import", str(EXAMPLE))
    for history in (PARIS, VFA):
        run(source, "import", "-", input="".join(json.dumps(line) + "\n" for line in history))
    run(
        source,
        "append",
        "tisa-2014",
        "corrected",
        "--field",
        "target=us-signed",
        "--field",
        'replacement={"occurred": "2014-12-22"}',
    )
    round_trip(source, target)
    assert shows(target) == shows(source)
    assert run(target, "verify").stdout.startswith("ok: 34 events checked")
    # and importing the export again skips every line
    again = run(target, "import", "-", "--format", "json", input=run(source, "export").stdout)
    assert json.loads(again.stdout) == {"appended": 0, "skipped": 34}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(lifecycle_event("random"), min_size=1, max_size=12), is_open=st.booleans())
def test_export_then_import_reproduces_the_state_of_random_histories(
    tmp_path_factory, events, is_open
):
    folder = tmp_path_factory.mktemp("export")
    source, target = str(folder / "a.db"), str(folder / "b.db")
    run(source, "import", "-", input=json.dumps({**RANDOM_REGISTRATION, "open": is_open}) + "\n")
    for line in events:
        with contextlib.suppress(Rejected):
            run(source, "import", "-", input=json.dumps(line) + "\n")
    round_trip(source, target)
    assert shows(target) == shows(source)
