"""Alembic environment: runs migrations on a given connection or on a URL.

The ledger passes its own connection (``config.attributes["connection"]``);
the ``alembic`` command line uses ``LEDGER_DB``, else ``sqlalchemy.url`` from
``alembic.ini``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from agreement_ledger.ledger.storage import normalise_url


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


config = context.config
given = config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    url = normalise_url(os.environ.get("LEDGER_DB") or config.get_main_option("sqlalchemy.url"))
    engine = create_engine(url)
    with engine.begin() as connection:
        run_migrations(connection)
    engine.dispose()
