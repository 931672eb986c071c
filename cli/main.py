"""Entry point of the ``ledger`` program.

A plain query whose read models are current is answered on the lean read path
(``cli.quick``) without loading the command-line parser; everything else goes to
the full application, whose commands register themselves on ``app``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer import Typer


def main() -> None:
    from agreement_ledger.cli.quick import answer

    code = answer(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    full()


def full() -> None:
    """The whole command line (Typer), every command registered."""
    registered_app()()


def registered_app() -> Typer:
    """The Typer application with every command registered on it."""
    from agreement_ledger.cli import (  # noqa: F401  (importing registers the commands)
        admin,
        audit,
        practice,
        read,
        write,
    )
    from agreement_ledger.cli.app import app

    return app


def __getattr__(name: str) -> Any:
    """``from agreement_ledger.cli.main import app`` (tests, embedding): loaded on demand."""
    if name == "app":
        return registered_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
