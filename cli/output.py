"""Plain output on standard output: lines and JSON (no Rich, no Typer: cheap to load)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from typing import Any

from agreement_ledger.ledger.text import to_json


def echo(line: str) -> None:
    """One line on standard output."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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
