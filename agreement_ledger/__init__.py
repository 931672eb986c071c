"""The agreement ledger: an event-sourced, tamper-evident record of agreements between parties.

The repository keeps its layers in top-level folders (``ledger/``,
``projections/``, ``cli/``, ``migrations/``); installed, they are the
subpackages ``agreement_ledger.ledger``, ``agreement_ledger.projections``,
``agreement_ledger.cli`` and ``agreement_ledger.migrations`` of this one package.

For scripts and notebooks::

    from agreement_ledger import Ledger, Rejected
    with Ledger("sqlite:///treaties.db") as ledger:
        ledger.show("tisa-2014")

See ``agreement_ledger.api``. The names are loaded on first use, so that the
command line does not pay for what it does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agreement_ledger.api import Ledger
    from agreement_ledger.ledger.errors import (
        InvalidArgument,
        LedgerError,
        Rejected,
        StorageError,
        WriteConflict,
    )

__all__ = ["InvalidArgument", "Ledger", "LedgerError", "Rejected", "StorageError", "WriteConflict"]


def __getattr__(name: str) -> Any:
    if name == "Ledger":
        from agreement_ledger.api import Ledger

        return Ledger
    if name in __all__:
        from agreement_ledger.ledger import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'agreement_ledger' has no attribute {name!r}")
