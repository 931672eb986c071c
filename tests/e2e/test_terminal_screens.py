"""What people read, in a real terminal: the main commands run in tmux at 100 and 80
columns, each screen compared with the one kept in ``tests/fixtures/screens/``.

A screen that changes on purpose is written again with ``LEDGER_UPDATE_SCREENS=1``
(then look at the new files before committing them). Whatever the screen, no line is
wider than the terminal and no id, code or date is cut short or broken.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "tests" / "fixtures" / "screens"
HISTORIES = ROOT / "tests" / "fixtures" / "histories"
EXAMPLE = ROOT / "examples" / "tisa-2014.jsonl"
UPDATE = os.environ.get("LEDGER_UPDATE_SCREENS") == "1"

COMMANDS = {
    "list": "list",
    "show": "show open-skies-1992",
    "show-tisa": "show tisa-2014",
    "flags": "flags",
    "parties": "parties wipo-convention-1967",
    "parties-of-ru": "parties --party RU",
    "types": "types",
    "types-one": "types termination_notified",
    "replay": "replay open-skies-1992 --as-of 2020-06-01",
    "verify": "verify",
}
"""Screens that do not change with the day they are made (no recording times, no today)."""

WORDS_KEPT_WHOLE = re.compile(
    r"\b(?:tisa-2014|open-skies-1992|wipo-convention-1967|notified_after_entry_into_force|"
    r"notified_late|ratification_disputed|termination_notified|\d{4}-\d\d-\d\d)\b"
)


@pytest.fixture(scope="module")
def tmux():
    program = shutil.which("tmux")
    if program is None:
        if os.environ.get("LEDGER_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail("tmux is required in CI (LEDGER_TEST_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("no tmux here: apt-get install tmux")
    socket = f"ledger-test-{uuid.uuid4().hex[:8]}"
    yield [program, "-L", socket]
    subprocess.run([program, "-L", socket, "kill-server"], capture_output=True)


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("screens") / "register.db"
    for source in [EXAMPLE, *sorted(HISTORIES.glob("*.jsonl"))]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "agreement_ledger.cli.main",
                "--db",
                str(db),
                "import",
                str(source),
            ],
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr
    return db


def screen(tmux: list[str], db: Path, width: int, command: str) -> str:
    """The whole screen (scrollback included) of ``ledger COMMAND`` in a terminal ``width`` wide."""
    session = f"s{uuid.uuid4().hex[:8]}"
    ledger = f"{sys.executable} -m agreement_ledger.cli.main"
    script = f"unset COLUMNS LINES; {ledger} --db {db} {command}; echo __END__ $?; sleep 600"
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            str(width),
            "-y",
            "50",
            "sh",
            "-c",
            script,
        ],
        check=True,
    )
    subprocess.run([*tmux, "set-option", "-t", session, "history-limit", "5000"], check=True)
    try:
        for _ in range(200):
            text = subprocess.run(
                [*tmux, "capture-pane", "-t", session, "-p", "-S", "-", "-E", "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if "__END__" in text:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"ledger {command} did not finish")
    finally:
        subprocess.run([*tmux, "kill-session", "-t", session], capture_output=True)
    shown, status = text.split("__END__", 1)
    assert status.split()[0] == "0", f"ledger {command} failed:\n{shown}"
    lines = shown.rstrip("\n").split("\n")
    return "\n".join(line.rstrip() for line in lines) + "\n"


@pytest.mark.parametrize("width", [100, 80])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_screen_is_the_one_kept(tmux, register, name, width):
    shown = screen(tmux, register, width, COMMANDS[name])
    assert all(len(line) <= width for line in shown.splitlines())
    assert "…" not in shown.replace("acceptance, …", "")  # nothing cut short
    fixture = SCREENS / f"{name}-{width}.txt"
    if UPDATE or not fixture.exists():
        fixture.parent.mkdir(parents=True, exist_ok=True)
        fixture.write_text(shown, encoding="utf-8")
        if not UPDATE:
            pytest.fail(
                f"no kept screen for {name} at {width} columns: wrote {fixture}; look at it"
            )
    assert shown == fixture.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [100, 80])
def test_ids_codes_and_dates_are_never_broken_across_lines(tmux, register, width):
    for command in (
        "show open-skies-1992",
        "flags",
        "history open-skies-1992",
        "timeline tisa-2014",
    ):
        shown = screen(tmux, register, width, command)
        assert all(len(line) <= width for line in shown.splitlines())
        joined = re.sub(r"\s+", " ", shown)
        # Every id, code and date the data holds appears whole on some line…
        for word in set(WORDS_KEPT_WHOLE.findall(joined)):
            assert word in shown, (command, word)
        # …and no line ends with the start of one that the next line finishes.
        for upper, lower in zip(shown.splitlines(), shown.splitlines()[1:], strict=False):
            tail = re.search(r"([\w-]+)\s*[│┃]?\s*$", upper)
            head = re.search(r"^\s*[│┃]?\s*([\w-]+)", lower)
            if tail and head:
                assert not WORDS_KEPT_WHOLE.fullmatch(tail.group(1) + head.group(1)), (
                    command,
                    upper,
                    lower,
                )


@pytest.mark.parametrize("width", [100, 80])
def test_the_chart_fits_the_terminal_and_keeps_every_lane(tmux, register, width):
    shown = screen(tmux, register, width, "timeline open-skies-1992 --chart")
    lines = shown.splitlines()
    assert all(len(line) <= width for line in lines)
    for lane in ("agreement", "US", "RU", "CA", "DE", "FR", "GB", "KG"):
        assert any(line.startswith(f"{lane} ") for line in lines), lane
    assert "≈" in lines[1] and "2020-05-22 notice of termination or" in shown
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"chart-open-skies-{width}.txt").write_text(shown, encoding="utf-8")


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")


@pytest.mark.parametrize("width", [24, 28, 34, 40, 48, 60])
def test_on_a_narrow_terminal_nothing_is_wider_and_timestamps_stay_whole(register, width):
    """Below a table's width the rows are records; a value that does not fit beside its
    label goes under it, so a timestamp or a date is broken only where it is wider than
    the terminal itself."""
    env = {**os.environ, "COLUMNS": str(width)}
    for command in (
        ["history", "open-skies-1992"],
        ["timeline", "tisa-2014"],
        ["show", "wipo-convention-1967"],
        ["timeline", "open-skies-1992", "--chart"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "agreement_ledger.cli.main", "--db", str(register), *command],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert all(len(line) <= width for line in lines), (command, max(lines, key=len))
        if command[0] == "history" and width >= 28:  # a timestamp is 27 characters
            assert len(TIMESTAMP.findall(done.stdout)) == 28, command
        if command[0] == "show":
            dates = re.findall(r"\b\d{4}-\d\d-\d\d\b", done.stdout)
            assert "1970-04-26" in dates and "1993-01-01" in dates
