"""The agreement ledger: an event-sourced, tamper-evident record of agreements between parties.

The repository keeps its layers in top-level folders (``ledger/``,
``projections/``, ``cli/``, ``migrations/``); installed, they are the
subpackages ``agreement_ledger.ledger``, ``agreement_ledger.projections``,
``agreement_ledger.cli`` and ``agreement_ledger.migrations`` of this one package.
"""
