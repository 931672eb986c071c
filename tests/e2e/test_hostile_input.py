"""Hostile input: every refusal is one line, a documented exit code, and an unchanged ledger.

Each case here was a traceback, a crash for every later reader, or a silent loss
before; each test reproduces it through the CLI on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import EXAMPLE, count_events

TITLE = {"agreement": "hx", "type": "registered", "title": "Hostile", "parties": ["KR", "US"]}


def one_line_error(result, code: int) -> str:
    """Assert the refusal's shape and return its line."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


def append_json(cli, event: dict) -> object:
    event = dict(event)
    return cli("append", event.pop("agreement"), event.pop("type"), "--json", json.dumps(event))


def import_text(cli, tmp_path: Path, content: str | bytes):
    path = tmp_path / "events.jsonl"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return cli("import", str(path))


@pytest.fixture
def seeded(cli, db_url):
    assert cli("import", str(EXAMPLE)).exit_code == 0
    return count_events(db_url)


# -- 1. text the ledger cannot store --------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {**TITLE, "title": "nul \u0000 inside"},
        {**TITLE, "parties": [{"code": "KR", "name": "Korea\u0000"}]},
        {**TITLE, "id": "reg\u0000"},
        {**TITLE, "note": "\u0000"},
        {**TITLE, "source": "lone surrogate \ud800"},
    ],
    ids=["title", "party name", "id", "note", "lone surrogate"],
)
def test_text_no_database_can_store_is_refused_and_readers_keep_working(cli, db_url, seeded, event):
    line = one_line_error(append_json(cli, event), 3)
    assert "cannot store" in line or "must be" in line
    assert count_events(db_url) == seeded
    for command in (["list"], ["show", "tisa-2014"], ["flags"], ["audit"]):
        assert cli(*command).exit_code == 0, command


def test_a_nul_in_an_import_line_names_the_line(cli, db_url, seeded, tmp_path):
    lines = [json.dumps(TITLE), json.dumps({**TITLE, "agreement": "hy", "title": "a\u0000b"})]
    line = one_line_error(import_text(cli, tmp_path, "\n".join(lines)), 3)
    assert "line 2" in line and "U+0000" in line
    assert count_events(db_url) == seeded


# -- 2 and 3. stored text is shown as text ------------------------------------------


@pytest.mark.parametrize(
    "title",
    ["[/]", "[link=https://evil.example]click[/link]", "[bold red]x", "\x1b[2J\x1b]0;owned\x07"],
)
def test_markup_and_escape_sequences_in_stored_text_are_shown_as_text(cli, db_url, title):
    assert append_json(cli, {**TITLE, "title": title}).exit_code == 0
    assert (
        cli(
            "append",
            "hx",
            "noted",
            "--json",
            json.dumps({"text": f"note {title}", "occurred": "2020-01-01"}),
        ).exit_code
        == 0
    )
    for command in (
        ["list"],
        ["show", "hx"],
        ["timeline", "hx"],
        ["timeline", "hx", "--chart"],
        ["history", "hx"],
        ["flags"],
    ):
        result = cli(*command)
        assert result.exit_code == 0, (command, result.output)
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout, command
    shown = cli("show", "hx").stdout
    if title.startswith("\x1b"):
        assert "\\x1b[2J\\x1b]0;owned\\x07" in shown
    else:
        assert title in shown  # literally, not interpreted as markup


def test_an_actor_with_control_characters_is_a_usage_error(cli, db_url, seeded):
    result = cli("--actor", "clerk\x1b[2J", "sign", "tisa-2014", "KR", "--occurred", "2014-12-27")
    assert "'--actor'" in one_line_error(result, 2)
    assert count_events(db_url) == seeded


def test_error_messages_show_control_characters_visibly(cli, db_url, seeded):
    result = append_json(
        cli,
        {
            "agreement": "tisa-2014",
            "type": "noted",
            "text": "x",
            "occurred": "2014-12-29",
            "category": "\x1b[31mred",
        },
    )
    line = one_line_error(result, 3)
    assert "\x1b" not in line and "\\x1b" in line


@pytest.mark.parametrize("event_id", ["   ", "a\x1bb", "tab\there", "line\nbreak"])
def test_a_blank_or_control_character_id_is_refused(cli, db_url, seeded, event_id):
    one_line_error(
        append_json(
            cli,
            {
                "agreement": "tisa-2014",
                "type": "noted",
                "text": "x",
                "occurred": "2014-12-29",
                "id": event_id,
            },
        ),
        3,
    )
    one_line_error(cli("sign", "tisa-2014", "KR", "--occurred", "2014-12-27", "--id", event_id), 2)
    assert count_events(db_url) == seeded


# -- 4. export and import agree on what a line is -----------------------------------


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0b", "\x1c"])
def test_an_export_with_line_separators_in_text_imports_again(
    cli, db_url, new_db, tmp_path, separator
):
    note = f"first{separator}second"
    assert append_json(cli, {**TITLE, "note": note}).exit_code == 0
    exported = cli("export").stdout
    assert separator not in exported  # escaped in the JSON text: the same value
    assert len(exported.splitlines()) == 1
    path = tmp_path / "export.jsonl"
    path.write_text(exported, encoding="utf-8")
    other = new_db()
    from typer.testing import CliRunner

    from agreement_ledger.cli.main import app

    result = CliRunner().invoke(app, ["--db", other, "import", str(path)])
    assert result.exit_code == 0, result.output
    shown = CliRunner().invoke(app, ["--db", other, "history", "hx", "--format", "json"]).stdout
    assert json.loads(shown)["note"] == note


# -- 5. tracebacks that became one line ------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"agreement": "tisa-2014", "type": "noted", "text": "x", "occurred": "9999-12-31"},
        {"agreement": "tisa-2014", "type": "noted", "text": "x", "occurred": "9999"},
        {"agreement": "tisa-2014", "type": "noted", "text": "x", "occurred": "0001"},
        {
            "agreement": "tisa-2014",
            "type": "noted",
            "text": "x",
            "occurred": "0001-01-01T00:00+09:00",
        },
        {
            "agreement": "tisa-2014",
            "type": "corrected",
            "target": "kr-signed",
            "replacement": {"occurred": "0001"},
        },
        {
            "agreement": "tisa-2014",
            "type": "extended",
            "until": "9999-12-31",
            "occurred": "2015-01-01",
        },
        {
            "agreement": "tisa-2014",
            "type": "termination_notified",
            "party": "KR",
            "effective": "0001-01-01",
            "occurred": "2015-01-01",
        },
    ],
    ids=[
        "9999-12-31",
        "9999",
        "0001 in Seoul",
        "0001 with an offset",
        "in a correction",
        "until at the calendar's end",
        "effective at the calendar's start",
    ],
)
def test_dates_at_the_calendars_edges_are_refused(cli, db_url, seeded, event):
    one_line_error(append_json(cli, event), 3)
    assert count_events(db_url) == seeded


@pytest.mark.parametrize(
    ("option", "moment"),
    [
        ("--as-of", "9999-12-31"),
        ("--as-of", "0001"),  # in the agreement's zone, Seoul, it begins before year 1
        ("--as-of", "0001-01-01"),
        ("--as-of", ""),
        ("--known-at", "9999-12-31"),
        ("--known-at", ""),
        ("--known-at", "yesterday"),
    ],
)
def test_unreadable_moments_are_usage_errors_naming_the_option(cli, seeded, option, moment):
    line = one_line_error(cli("replay", "tisa-2014", option, moment), 2)
    assert option in line


def test_bytes_that_are_not_utf8_in_an_import_file_name_the_line(cli, db_url, seeded, tmp_path):
    content = (json.dumps(TITLE) + "\n").encode() + b'{"agreement": "hy\xff"}\n'
    line = one_line_error(import_text(cli, tmp_path, content), 3)
    assert "line 2" in line and "0xff" in line
    assert count_events(db_url) == seeded


def test_bytes_that_are_not_utf8_on_stdin_are_refused(cli, db_url, seeded):
    result = cli("import", "-", input=b'{"agreement": "\xff\xfe"}\n')
    assert "line 1" in one_line_error(result, 3)
    assert count_events(db_url) == seeded


def test_undecodable_arguments_are_refused(cli, db_url, seeded):
    # what Python makes of a byte \xff in argv (surrogateescape)
    one_line_error(
        cli("sign", "tisa-2014", "KR", "--occurred", "2014-12-27", "--signatory", "x\udcff"), 2
    )
    one_line_error(cli("--actor", "\udcff", "list"), 2)
    one_line_error(
        append_json(
            cli,
            {"agreement": "tisa-2014", "type": "noted", "text": "\udcff", "occurred": "2014-12-29"},
        ),
        3,
    )
    assert count_events(db_url) == seeded


def test_json_nested_thousands_deep_is_refused(cli, db_url, seeded, tmp_path):
    deep = (
        '{"agreement": "hx", "type": "registered", "title": "t", "x": '
        + "[" * 5000
        + "]" * 5000
        + "}"
    )
    assert "nested deeper" in one_line_error(import_text(cli, tmp_path, deep), 3)
    result = cli("append", "tisa-2014", "noted", "--json", "[" * 5000 + "]" * 5000)
    one_line_error(result, 2)
    assert count_events(db_url) == seeded


def test_an_integer_of_thousands_of_digits_is_refused(cli, db_url, seeded, tmp_path):
    huge = json.dumps(TITLE)[:-1] + ', "open": ' + "9" * 5000 + "}"
    assert "digits" in one_line_error(import_text(cli, tmp_path, huge), 3)
    assert count_events(db_url) == seeded


def test_nan_is_not_json(cli, db_url, seeded, tmp_path):
    line = json.dumps(TITLE)[:-1] + ', "open": NaN}'
    assert "NaN" in one_line_error(import_text(cli, tmp_path, line), 3)


def test_db_upgrade_on_a_schema_from_a_newer_release_is_one_line(cli, db_url, seeded):
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    assert "newer" in one_line_error(cli("db", "upgrade"), 5)
    assert "newer" in one_line_error(cli("list"), 5)


# -- 8. databases that keep nothing --------------------------------------------------


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file::memory:?uri=true"]
)
@pytest.mark.parametrize(
    "command", [["import", str(EXAMPLE)], ["list"], ["register", "x", "--title", "t"]]
)
def test_in_memory_databases_are_refused(url, command):
    from typer.testing import CliRunner

    from agreement_ledger.cli.main import app

    result = CliRunner().invoke(app, ["--db", url, *command])
    assert "in-memory" in one_line_error(result, 2)


# -- 9. every import error names its line ----------------------------------------------


def test_a_field_error_in_an_import_names_the_line(cli, db_url, seeded, tmp_path):
    lines = [
        json.dumps({"agreement": "ln-1", "type": "registered", "title": "t", "parties": ["KR"]}),
        json.dumps(
            {
                "agreement": "ln-1",
                "type": "signed",
                "party": "KR",
                "occurred": "2020-01-01",
                "signatory": "",
            }
        ),
    ]
    line = one_line_error(import_text(cli, tmp_path, "\n".join(lines)), 3)
    assert line.startswith("Error: ln-1, line 2, signed event: field 'signatory'")
    assert count_events(db_url) == seeded


# -- 10. bad option values are usage errors naming the option -------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["register", "x", "--title", "t", "--kind", "pact"], "--kind"),
        (["register", "x", "--title", "t", "--binding", "moral"], "--binding"),
        (["register", "x", "--title", "t", "--tz", "Mars/Olympus"], "--tz"),
        (["register", "x", "--title", "t", "--expires", "2020-02-30"], "--expires"),
        (["register", "x", "--title", "t", "--notice-period", "P0.5M"], "--notice-period"),
        (["register", "x", "--title", "t", "--notice-period", "-P30D"], "--notice-period"),
        (["register", "x", "--title", "t", "--notify", "KR:Assembly:P1.5D"], "--notify"),
        (["register", "x", "--title", "t", "--party", "kr"], "--party"),
        (["register", "x", "--title", "t", "--party-tz", "KR=Nowhere"], "--party-tz"),
        (["sign", "tisa-2014", "KR", "--occurred", "29 Dec 2014"], "--occurred"),
        (["sign", "tisa-2014", "KR", "--occurred", "2014-02-30"], "--occurred"),
        (["sign", "tisa-2014", "KR", "--occurred", "2014-12-27", "--tz", "Asia/Soul"], "--tz"),
        (
            ["ratify", "tisa-2014", "KR", "--occurred", "2014-12-27", "--instrument", "x"],
            "--instrument",
        ),
        (["flags", "--code", "nope"], "--code"),
        (["flags", "--severity", "fatal"], "--severity"),
        (["flags", "--party", "ZZ"], "--party"),
        (["list", "--format", "yaml"], "--format"),
        (["follow", "--interval", "0"], "--interval"),
        (["follow", "--interval", "-1"], "--interval"),
        (["report", "tisa-2014", "-o", "x.html", "--as-of", "soon"], "--as-of"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_naming_it(cli, db_url, seeded, args, option):
    line = one_line_error(cli(*args), 2)
    assert f"'{option}'" in line
    assert count_events(db_url) == seeded


@pytest.mark.parametrize("period", ["P0.5M", "-P30D", "P", "PT", "P1Y2", "P99999Y"])
def test_durations_with_fractions_signs_or_no_bound_are_refused_at_registration(
    cli, db_url, seeded, period
):
    result = append_json(cli, {**TITLE, "notice_period": period})
    assert "notice_period" in one_line_error(result, 3)
    result = append_json(cli, {**TITLE, "notify": [{"party": "KR", "body": "A", "within": period}]})
    assert "within" in one_line_error(result, 3)
    assert count_events(db_url) == seeded


# -- found by an adversarial pass over the first fixes --------------------------------


@pytest.mark.parametrize(
    ("event", "rule"),
    [
        ({**TITLE, "notify": [{"party": "ZZ", "body": "Parliament"}]}, "[unknown_party]"),
        ({**TITLE, "requires_ratification": ["ZZ"]}, "[unknown_party]"),
        ({**TITLE, "parties": ["KR", "KR"]}, "[duplicate_party]"),
        ({**TITLE, "parties": [{"code": "KR", "tz": "UTC"}, {"code": "KR"}]}, "[duplicate_party]"),
        (
            {
                "agreement": "tisa-2014",
                "type": "corrected",
                "target": "registered",
                "replacement": {"notify": [{"party": "ZZ", "body": "x"}]},
            },
            "[invalid_correction]",
        ),
    ],
    ids=[
        "notify a stranger",
        "ratification by a stranger",
        "a party twice",
        "a party twice, two zones",
        "a correction adding a stranger",
    ],
)
def test_a_registration_naming_strangers_or_twins_is_refused_and_breaks_nobody(
    cli, db_url, seeded, event, rule
):
    assert rule in one_line_error(append_json(cli, event), 3)
    assert count_events(db_url) == seeded
    for command in (
        ["list"],
        ["show", "tisa-2014"],
        ["flags"],
        ["replay", "tisa-2014", "--as-of", "2014-12-27"],
    ):
        assert cli(*command).exit_code == 0, command


@pytest.mark.parametrize("content", ["null", "true", "0", '""', "[]", "{}"])
def test_a_digest_file_that_is_no_digest_fails_verification(cli, seeded, tmp_path, content):
    digest = tmp_path / "digest.json"
    digest.write_text(content)
    result = cli("verify", "--digest", str(digest))
    assert result.exit_code == 1 and "not a ledger digest" in result.stdout


def test_events_at_the_first_instant_of_the_calendar_can_be_drawn(cli, tmp_path):
    assert (
        cli("register", "y1", "--title", "t", "--party", "KR", "--tz", "America/New_York").exit_code
        == 0
    )
    assert (
        cli(
            "append", "y1", "noted", "--field", "text=x", "--field", "occurred=0001-01-01T00:00Z"
        ).exit_code
        == 0
    )
    assert cli("timeline", "y1", "--chart").exit_code == 0
    assert cli("report", "y1", "-o", str(tmp_path / "y1.html")).exit_code == 0


def test_a_day_that_never_existed_in_its_zone_is_impossible(cli, db_url, seeded):
    result = append_json(
        cli,
        {
            "agreement": "tisa-2014",
            "type": "noted",
            "text": "x",
            "occurred": "2011-12-30",
            "tz": "Pacific/Apia",
        },
    )
    assert "does not exist in Pacific/Apia" in one_line_error(result, 3)
    assert count_events(db_url) == seeded


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "postgresql+asyncpg://u@h/d", "sqlite:////tmp/x.db?timeout=abc"]
)
def test_databases_the_ledger_cannot_use_are_one_line(url):
    from typer.testing import CliRunner

    from agreement_ledger.cli.main import app

    result = CliRunner().invoke(app, ["--db", url, "list"])
    one_line_error(result, 5)


def test_a_command_group_without_its_command_is_one_line(cli):
    one_line_error(cli("db"), 2)


def test_party_names_and_zones_for_parties_not_listed_are_usage_errors(cli, db_url):
    line = one_line_error(
        cli("register", "z6", "--title", "T", "--party", "KR", "--party-tz", "ZZ=UTC"), 2
    )
    assert "'--party-tz'" in line
    one_line_error(
        cli("register", "z6", "--title", "T", "--party", "KR", "--party-name", "ZZ=Nobody"), 2
    )
    assert count_events(db_url) == 0


@pytest.mark.parametrize("user", ["\x1b[31mevil", "x" * 300])
def test_an_operating_system_user_that_cannot_be_recorded_is_refused(cli, db_url, seeded, user):
    env = {"LEDGER_ACTOR": None, "LOGNAME": user, "USER": user, "LNAME": user, "USERNAME": user}
    result = cli(
        "append", "tisa-2014", "noted", "--field", "text=y", "--field", "occurred=2014", env=env
    )
    assert "--actor" in one_line_error(result, 2)
    assert count_events(db_url) == seeded


def test_the_arabic_letter_mark_is_shown_visibly(cli):
    assert append_json(cli, {**TITLE, "title": "mark \u061c here"}).exit_code == 0
    shown = cli("show", "hx").stdout
    assert "\u061c" not in shown and "\\u061c" in shown


def test_a_notification_body_may_hold_colons(cli):
    assert (
        cli(
            "register",
            "nc",
            "--title",
            "T",
            "--party",
            "KR",
            "--notify",
            "KR:Assembly: Committee:P30D",
        ).exit_code
        == 0
    )
    history = json.loads(cli("history", "nc", "--format", "json").stdout)
    assert history["notify"] == [{"party": "KR", "body": "Assembly: Committee", "within": "P30D"}]


def test_repeated_keys_in_an_import_line_are_refused(cli, db_url, seeded, tmp_path):
    line = '{"agreement": "hx", "type": "registered", "title": "A", "title": "B"}'
    assert "given twice" in one_line_error(import_text(cli, tmp_path, line), 3)
    assert count_events(db_url) == seeded


def test_a_digest_can_go_to_standard_output_and_a_failed_write_names_the_file(cli, seeded):
    result = cli("digest", "-o", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["format"].startswith("agreement-ledger-digest/")
    line = one_line_error(cli("digest", "-o", "/dev/full"), 2)
    assert "/dev/full" in line


def _ledger_process(db: Path, *args: str, **kwargs):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "agreement_ledger.cli.main", "--db", str(db), *args],
        capture_output=True,
        timeout=60,
        **kwargs,
    )


def test_closed_standard_output_is_one_line_and_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "p.db"
    assert _ledger_process(db, "import", str(EXAMPLE)).returncode == 0
    closed = subprocess.run(
        [
            "bash",
            "-c",
            f'exec 1>&-; "{sys.executable}" -m agreement_ledger.cli.main --db "{db}" export',
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert closed.returncode == 2 and closed.stderr.startswith("Error: ")
    assert closed.stderr.count("\n") == 1
    for command in ("export", "history tisa-2014 --format json", "show tisa-2014"):
        piped = subprocess.run(
            [
                "bash",
                "-c",
                f'set -o pipefail; "{sys.executable}" -m agreement_ledger.cli.main '
                f'--db "{db}" {command} | head -c1 >/dev/null; echo "${{PIPESTATUS[0]}}"',
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert piped.stdout.strip() == "0", (command, piped.stderr)
        assert piped.stderr == "", command


def test_import_reads_a_named_pipe(tmp_path):
    import os
    import threading

    db = tmp_path / "f.db"
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(EXAMPLE.read_bytes()))
    writer.start()
    done = _ledger_process(db, "import", str(fifo))
    writer.join(timeout=10)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"appended 12, skipped 0\n"
    folder = _ledger_process(db, "import", str(tmp_path))
    assert folder.returncode == 2 and b"is a folder" in folder.stderr
