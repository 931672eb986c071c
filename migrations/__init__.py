"""Alembic migration scripts for the whole ledger schema (shipped with the package)."""
