"""Entry point of the ``ledger`` program.

A plain query whose read models are current is answered on the lean read path
(``cli.quick``) without loading the command-line parser; everything else goes to
the full application, whose commands register themselves on ``app``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer import Typer


def main() -> None:
    """Run one command, then leave without tearing the interpreter down (see ``leave``)."""
    try:
        from agreement_ledger.cli.quick import answer

        code = answer(sys.argv[1:])
        if code is None:
            full()
    except SystemExit as stop:
        leave(stop.code)
    except KeyboardInterrupt:  # Ctrl-C on the lean path: as Typer ends the full one
        leave(130)
    leave(code)


def leave(code: object) -> None:
    """End the process at once once the command is done.

    Tearing down the interpreter (freeing every module of SQLAlchemy, the event
    store and Typer) took longer than a single append's own work (issue 14). By the
    time a command returns, its ledger is closed (``ctx.call_on_close``: the SQLite
    write-ahead log is checkpointed, a PostgreSQL session ended), its temporary
    files are removed by their context managers and its workers joined; what is
    left is to flush the two streams, which this does before ``os._exit``. Only the
    program's entry point calls this: an embedding or a test runner keeps its
    interpreter, and under a profiler or a tracer (coverage) the exit is the normal one.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # ``sys.exit("message")``: Python prints it and exits 1
        print(code, file=sys.stderr)
        status = 1
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(status)  # a profiler or coverage writes its findings at a normal exit
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # a reader that left: the command already said what it had to
    os._exit(status)


def full() -> None:
    """The whole command line (Typer): the command asked for, or every command."""
    registered_app(sys.argv[1:])()


COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(
        ["register", "sign", "deliver", "ratify", "enter-into-force", "notify", "append", "import"],
        "write",
    ),
    **dict.fromkeys(
        [
            "add-party",
            "succeed",
            "state",
            "withdraw-statement",
            "apply-provisionally",
            "end-provisional-application",
            "withdraw",
        ],
        "practice",
    ),
    **dict.fromkeys(
        ["list", "show", "flags", "due", "timeline", "history", "rebuild", "parties", "types"],
        "read",
    ),
    **dict.fromkeys(
        ["replay", "verify", "digest", "keygen", "prove", "audit", "export", "report", "site"],
        "audit",
    ),
    **dict.fromkeys(["follow", "db"], "admin"),
}
"""The module that registers each command (a test holds this to the registrations)."""


def registered_app(argv: list[str] | None = None) -> Typer:
    """The Typer application with the commands ``argv`` may need registered on it.

    Building every command's parameters costs a write or a query tens of milliseconds
    (issue 14); when ``argv`` names a known command, only its module is loaded. Help,
    completion, a mistyped command or no ``argv`` loads them all, so that Typer lists
    and suggests every command.
    """
    from agreement_ledger.cli.app import app

    module = _module_of(argv)
    if module is not None:
        importlib.import_module(f"agreement_ledger.cli.{module}")
        return app
    from agreement_ledger.cli import (  # noqa: F401  (importing registers the commands)
        admin,
        audit,
        practice,
        read,
        write,
    )

    return app


def _module_of(argv: list[str] | None) -> str | None:
    """The one command module ``argv`` needs, or ``None`` when it may need them all."""
    from agreement_ledger.cli.quick import GLOBAL_OPTIONS

    if argv is None or any(name.startswith("_LEDGER_COMPLETE") for name in os.environ):
        return None
    words = list(argv)
    while words and words[0].startswith("--"):
        option = words.pop(0)
        if option in GLOBAL_OPTIONS and words:
            words.pop(0)
        elif option.split("=", 1)[0] not in GLOBAL_OPTIONS:
            return None  # --help, --version, --install-completion …: the whole tree
    return COMMAND_MODULES.get(words[0]) if words else None


def __getattr__(name: str) -> Any:
    """``from agreement_ledger.cli.main import app`` (tests, embedding): loaded on demand."""
    if name == "app":
        return registered_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
