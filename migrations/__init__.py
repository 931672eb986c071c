"""Alembic migration scripts for the whole ledger schema (shipped with the package)."""

HEAD = "0005"
"""The newest revision. A test keeps it equal to the scripts' head, so that the
ledger can check a database's schema without loading Alembic."""
