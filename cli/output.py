"""Plain output on standard output: lines and JSON (no Rich, no Typer: cheap to load)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from typing import Any

from agreement_ledger.ledger.text import to_json, visible


def echo(line: str) -> None:
    """One line on standard output."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message: str, code: int) -> None:
    """Print one ``Error: …`` line on stderr (control characters made visible) and exit."""
    sys.stderr.write(f"Error: {visible(message)}\n")
    sys.stderr.flush()
    sys.exit(code)


def os_error_text(error: OSError) -> str:
    """An operating-system error as one line: its reason, and the file it concerns."""
    return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)


def reader_stopped() -> None:
    """The reader stopped reading (`ledger export | head`): its choice, not an error."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os._exit(0)  # nothing is left to flush that anyone would read


def print_json(value: Any) -> None:
    echo(to_json(value, indent=2))


def print_json_lines(values: Iterable[dict[str, Any]]) -> None:
    for value in values:
        echo(to_json(value))


STORAGE_ERROR_MODULES = ("sqlalchemy", "eventsourcing", "psycopg", "sqlite3", "alembic")


def unforeseen(error: Exception) -> tuple[str, int]:
    """One line and an exit code for an error no layer translated.

    A database library's error is a storage error (exit 5); anything else is a
    bug in the ledger, said as such (exit 1), never a traceback.
    """
    module = type(error).__module__.split(".")[0]
    detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if module in STORAGE_ERROR_MODULES:
        return f"storage error: {detail or type(error).__name__}", 5
    return f"internal error ({type(error).__name__}: {detail}); please report this", 1
