"""Fuzzing the writing and reading commands with input nobody here wrote.

Mutated import lines (values of every JSON type and any Unicode, keys added and
removed, bytes flipped) and random option values go through the real CLI
against a real ledger on SQLite and PostgreSQL. Whatever comes in:

- the process never ends in a traceback, only with a documented exit code;
- a refusal is one ``Error:`` line on stderr, and leaves every table unchanged;
- what is accepted can be read back: ``list`` and ``flags`` still answer.

The suite runs a bounded number of examples; ``LEDGER_FUZZ_EXAMPLES=2000``
(for instance) runs a longer campaign with the same test.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from agreement_ledger.projections import store
from tests.conftest import EXAMPLE, example_lines

EXAMPLES = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("LEDGER_FUZZ_EXAMPLES") is None,  # the suite is repeatable
)

NASTY = st.sampled_from(
    [
        "\x00",
        "\ud800",
        "\udcff",
        "\x1b[2J",
        "[/]",
        "[link=x]y[/link]",
        "\u2028",
        "\u0085",
        "\u202e",
        "",
        " ",
        "9999-12-31",
        "0001",
        "P0.5M",
        "-P30D",
        "KR",
        "tisa-2014/3",
        "Asia/Seoul",
        "2014-12-29T25:00",
        "\t",
        "\n",
        "'",
        '"',
        "\\",
        "%s",
        "{}",
        "null",
    ]
)
TEXT = st.one_of(NASTY, st.text(max_size=40), st.text(alphabet=st.characters(), max_size=8))
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(
    [
        "agreement",
        "type",
        "occurred",
        "id",
        "source",
        "note",
        "after",
        "tz",
        "party",
        "title",
        "parties",
        "body",
        "effective",
        "until",
        "target",
        "replacement",
        "retracted",
        "notify",
        "notice_period",
        "expires",
        "required",
        "by",
        "seq",
        "hash",
        "recorded_at",
    ]
)


@st.composite
def mutated_line(draw) -> bytes:
    """One example line, mutated the way a careless tool or an attacker would."""
    event: dict[str, Any] = dict(draw(st.sampled_from(example_lines())))
    event["id"] = draw(
        st.sampled_from([event.get("id", "x"), "fuzz-" + str(draw(st.integers(0, 9)))])
    )
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["set", "set", "drop", "retype"]))
        key = draw(KEYS)
        if how == "drop":
            event.pop(key, None)
        elif how == "retype" and key in event:
            event[key] = draw(JSON_VALUE)
        else:
            event[key] = draw(JSON_VALUE)
    line = json.dumps(event, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:  # flip some bytes
        position = draw(st.integers(0, max(0, len(line) - 1)))
        line = line[:position] + draw(st.binary(min_size=1, max_size=4)) + line[position + 1 :]
    return line


OPTION_COMMANDS = [
    ["sign", "tisa-2014", "{v}", "--occurred", "2014-12-27"],
    ["sign", "tisa-2014", "KR", "--occurred", "{v}"],
    ["sign", "tisa-2014", "KR", "--occurred", "2014-12-27", "--tz", "{v}"],
    ["sign", "tisa-2014", "KR", "--occurred", "2014-12-27", "--id", "{v}"],
    ["notify", "tisa-2014", "KR", "--body", "{v}", "--occurred", "2014-12-30"],
    ["register", "{v}", "--title", "t"],
    ["register", "fz", "--title", "{v}", "--party", "KR"],
    ["register", "fz", "--title", "t", "--notice-period", "{v}"],
    ["register", "fz", "--title", "t", "--notify", "{v}"],
    ["register", "fz", "--title", "t", "--party-tz", "{v}"],
    ["append", "tisa-2014", "{v}", "--field", "text=x"],
    ["append", "tisa-2014", "noted", "--field", "{v}"],
    ["append", "tisa-2014", "noted", "--json", "{v}"],
    ["replay", "tisa-2014", "--as-of", "{v}"],
    ["replay", "tisa-2014", "--known-at", "{v}"],
    ["flags", "--code", "{v}"],
    ["flags", "--party", "{v}"],
    ["show", "{v}"],
    ["history", "{v}"],
    ["list", "--format", "{v}"],
    ["--actor", "{v}", "sign", "tisa-2014", "KR", "--occurred", "2014-12-27"],
]


def snapshot(db_url: str) -> tuple[int, dict[str, Any]]:
    """Every table that a refused input must leave unchanged."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            events = connection.execute(
                select(func.count()).select_from(store.EVENT_IDS)
            ).scalar_one()
            return int(events), store.dump(connection)
    finally:
        engine.dispose()


def check(result, db_url: str, before: tuple[int, dict[str, Any]]) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert result.exit_code in (0, 2, 3, 4, 5), result.output
    if result.exit_code != 0:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert snapshot(db_url) == before
    else:
        for command in (["list"], ["flags"]):
            after = CliRunner().invoke(app, ["--db", db_url, *command])
            assert after.exit_code == 0, (command, after.output)


@pytest.fixture
def fuzzed_db(db_url: str) -> str:
    assert CliRunner().invoke(app, ["--db", db_url, "import", str(EXAMPLE)]).exit_code == 0
    return db_url


@FUZZ
@given(lines=st.lists(mutated_line(), min_size=1, max_size=3))
def test_mutated_import_lines_never_crash_and_a_refusal_changes_nothing(
    fuzzed_db, tmp_path_factory, lines
):
    path = tmp_path_factory.mktemp("fuzz") / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    before = snapshot(fuzzed_db)
    result = CliRunner().invoke(app, ["--db", fuzzed_db, "import", str(path)])
    check(result, fuzzed_db, before)


@FUZZ
@given(template=st.sampled_from(OPTION_COMMANDS), value=TEXT)
def test_random_option_values_never_crash_and_a_refusal_changes_nothing(fuzzed_db, template, value):
    args = [value if part == "{v}" else part for part in template]
    before = snapshot(fuzzed_db)
    result = CliRunner().invoke(app, ["--db", fuzzed_db, *args])
    check(result, fuzzed_db, before)
