"""The lean read path: ``show``, ``list`` and ``flags`` answered without loading Typer,
SQLAlchemy or the event store, when the read models are current.

``ledger show KEY`` is most of what people type, and most of its time was spent
importing. ``answer`` recognises the plain forms of the three commonest queries
on a SQLite ledger; for anything else (another option, ``--help``, an unknown
agreement, read models that are behind, PostgreSQL) it answers ``None`` before
printing anything, and the full command runs as it always did. What is printed
comes from the same renderers as the full command (``cli.render``), so the two
paths cannot differ in what people see; a test compares them.

``append KEY TYPE [--field NAME=VALUE]...`` takes the lean append the same way
(``projections.lean_append``): its fields are read as the full command reads
them (``cli.fields``), and whatever it cannot be sure of, it hands over having
written nothing.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from agreement_ledger.cli.output import (
    fail,
    os_error_text,
    print_json,
    reader_stopped,
    unforeseen,
)
from agreement_ledger.ledger.text import actor_problem, default_actor, visible
from agreement_ledger.projections import lean

DEFAULT_DB = "ledger.db"
COMMANDS = {
    "show": (1, 1, ("table", "json")),
    "list": (0, 0, ("table", "json", "csv")),
    "flags": (0, 1, ("table", "json", "csv")),
}
"""Each query the lean path answers: fewest and most arguments, and its formats."""
GLOBAL_OPTIONS = {"--db": "LEDGER_DB", "--actor": "LEDGER_ACTOR"}
"""The program's options before the command, and the variables that stand for them."""


def answer(argv: list[str]) -> int | None:
    """Answer ``argv`` (the program's arguments) and give the exit code, or ``None``."""
    if sys.stdout is None or not _utf8(sys.stdout):
        return None  # the full command says what it can do with such an output
    request = _parse(argv)
    if request is None:
        return None
    db, actor, command, arguments, output = request
    path = lean.sqlite_file(db)
    if path is None:
        return None
    if command == "append":
        return _append(path, actor, arguments)
    with lean.current_read_models(path) as connection:
        if connection is None:
            return None
        try:
            found = _read(connection, command, arguments)
        except (ValueError, TypeError, KeyError, sqlite3.Error):
            return None  # the full path says what is wrong, in its words
    if found is None:
        return None
    return _say(lambda: _render(command, found, output))


def _say(show: Callable[[], None]) -> int:
    """Print an answer (or what was appended): once anything is printed or stored there is
    no handing over, and a failure of the output is said as the full command says it."""
    try:
        show()
        sys.stdout.flush()
    except BrokenPipeError:
        reader_stopped()
    except OSError as error:  # a full disk, a device that refuses: as the full command says
        fail(os_error_text(error), 2)
    except Exception as error:  # as the full command says of what no layer translated
        fail(*unforeseen(error))
    return 0


def _utf8(stream: TextIO) -> bool:
    return (getattr(stream, "encoding", None) or "").lower().replace("-", "") == "utf8"


Request = tuple[str, str | None, str, list[str], str]
"""The ledger, the actor given (if any), the command, its arguments, the output format."""


def _parse(argv: list[str]) -> Request | None:
    """``[--db DB] [--actor NAME] COMMAND [ARGUMENT] [--format FORMAT]``, or
    ``[--db DB] [--actor NAME] append KEY TYPE [--field NAME=VALUE]...``; ``None`` for
    anything else."""
    given = {option: os.environ.get(variable) for option, variable in GLOBAL_OPTIONS.items()}
    words = list(argv)
    while words and words[0].partition("=")[0] in given:
        taken = _take_option(words)
        if taken is None:
            return None
        given[taken[0]] = taken[1]
    db, actor = given["--db"], given["--actor"]
    if db == "" or (actor is not None and actor_problem(actor) is not None):
        return None  # the full command says what such a setting means
    if words and words[0] == "append":
        return db or DEFAULT_DB, actor, words[0], words[1:], "text"
    if not words or words[0] not in COMMANDS:
        return None
    command = words.pop(0)
    fewest, most, formats = COMMANDS[command]
    output = "table"
    if len(words) >= 2 and words[-2] == "--format" and words[-1] in formats:
        output = words[-1]
        words = words[:-2]
    if not fewest <= len(words) <= most or any(w.startswith("-") or not w for w in words):
        return None
    return db or DEFAULT_DB, actor, command, words, output


def _take_option(words: list[str]) -> tuple[str, str] | None:
    """Take ``--name=value`` or ``--name value`` off the front of ``words``: the name and
    the value, or ``None`` when no value follows."""
    option, sep, value = words.pop(0).partition("=")
    if not sep:
        if not words:
            return None
        value = words.pop(0)
    return option, value


def _append(path: Path, actor: str | None, words: list[str]) -> int | None:
    """``append KEY TYPE [--field NAME=VALUE]...`` on the lean append, when it can (loaded
    here: the queries need none of the rules)."""
    from agreement_ledger.projections import lean_append

    raw = _event_of(words)
    recorded_by = actor or default_actor()
    if raw is None or actor_problem(recorded_by) is not None:
        return None
    event_id = lean_append.append(path, raw, recorded_by)
    if event_id is None:
        return None
    return _say(lambda: print(f"appended {visible(event_id)}"))  # stored: never hand over


def _event_of(words: list[str]) -> dict[str, Any] | None:
    """The event ``append KEY TYPE --field …`` describes, read as the full command reads it,
    or ``None`` for any other form or anything it would refuse."""
    from agreement_ledger.cli.fields import FieldProblem, event_of

    if len(words) < 2 or any(not w or w.startswith("-") for w in words[:2]):
        return None
    key, event_type, options = words[0], words[1], words[2:]
    items = []
    while options:
        taken = _take_option(options)
        if taken is None or taken[0] != "--field":
            return None
        items.append(taken[1])
    try:
        return event_of(key, event_type, items)
    except FieldProblem:
        return None


def _read(connection: sqlite3.Connection, command: str, arguments: list[str]) -> Any:
    if command == "list":
        return lean.listing(connection)
    key = arguments[0] if arguments else None
    state = lean.show(connection, key) if key is not None else None
    if key is not None and state is None:
        return None  # not registered: the full path says so
    if command == "show":
        return state
    return lean.flag_rows(connection, key)


def _render(command: str, found: Any, output: str) -> None:
    """As the full command renders; JSON without loading the table renderer (Rich)."""
    if output == "json":
        print_json(found)
        return
    from agreement_ledger.cli.render import (
        AGREEMENT_COLUMNS,
        Format,
        RowsFormat,
        render_flags,
        render_rows,
        render_state,
    )

    if command == "show":
        render_state(found, Format(output))
    elif command == "list":
        render_rows(
            RowsFormat(output), "Agreements", AGREEMENT_COLUMNS, found, empty="no agreements"
        )
    else:
        render_flags(found, RowsFormat(output))
