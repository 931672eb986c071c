"""The reference a clerk learns from: `ledger types`, the generated docs, --help, --version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreement_ledger.cli import reference
from agreement_ledger.cli.main import app
from agreement_ledger.ledger.vocabulary import EVENT_TYPES, EventKind, read_envelope

DOCS = Path(__file__).resolve().parents[2] / "docs"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_types_lists_every_event_type_with_its_meaning():
    rows = json.loads(run("types", "--format", "json").stdout)
    assert [r["type"] for r in rows] == [kind.value for kind in EventKind]
    assert all(r["meaning"] for r in rows)
    assert "statement_made" in run("types").stdout


@pytest.mark.parametrize("kind", list(EventKind))
def test_each_type_shows_its_fields_and_an_example_that_the_ledger_accepts(kind):
    info = json.loads(run("types", kind.value, "--format", "json").stdout)
    assert [f["field"] for f in info["fields"]] == [f.name for f in EVENT_TYPES[kind].fields]
    assert read_envelope(info["example"]).type is kind


def test_an_unknown_type_is_a_usage_error():
    result = run("types", "ratifyed")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "generate"),
    [("vocabulary.md", reference.vocabulary_markdown), ("cli.md", reference.cli_markdown)],
)
def test_the_generated_reference_in_docs_is_current(name, generate):
    assert (DOCS / name).read_text(encoding="utf-8") == generate(), (
        f"docs/{name} is stale: run `python -m agreement_ledger.cli.reference`"
    )


def test_version_and_short_help():
    assert run("--version").stdout.startswith("ledger (agreement-ledger) ")
    assert run("-h").stdout.startswith("Usage: ")
    shown = run("sign", "-h").stdout
    assert (
        "--occurred DATE" in shown
        and "--tz ZONE" in shown
        and "<str>" not in shown.split("Options:")[1]
    )


WRITING = [
    "register",
    "sign",
    "ratify",
    "deliver",
    "enter-into-force",
    "notify",
    "append",
    "import",
    "add-party",
    "succeed",
    "state",
    "withdraw-statement",
    "apply-provisionally",
    "end-provisional-application",
    "withdraw",
]


@pytest.mark.parametrize("command", WRITING)
def test_every_writing_command_shows_an_example(command):
    shown = run(command, "-h").stdout
    assert "Example: ledger " + command in shown.replace("\n  ", " ")


def test_no_help_names_a_value_by_its_python_type():
    """``--help`` says ``KEY`` or ``DATE``, never ``<str>`` or ``<list[str]>``."""
    every_help = reference.cli_markdown()
    assert "<str>" not in every_help and "<list" not in every_help and "<float>" not in every_help


def test_status_and_severity_are_coloured_on_a_terminal_and_plain_otherwise(tmp_path):
    db = str(tmp_path / "c.db")
    from tests.conftest import EXAMPLE

    assert CliRunner().invoke(app, ["--db", db, "import", str(EXAMPLE)]).exit_code == 0
    coloured = CliRunner().invoke(app, ["--db", db, "list"], env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[32min_force" in coloured
    flags = CliRunner().invoke(app, ["--db", db, "flags"], env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[33mwarning" in flags
    plain = CliRunner().invoke(app, ["--db", db, "list"], env={"NO_COLOR": "1"}).stdout
    assert "\x1b" not in plain and "in_force" in plain
