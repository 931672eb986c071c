"""Entry point of the ``ledger`` program: the commands register themselves on ``app``."""

from __future__ import annotations

from agreement_ledger.cli import (  # noqa: F401  (importing registers the commands)
    admin,
    audit,
    practice,
    read,
    write,
)
from agreement_ledger.cli.app import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
