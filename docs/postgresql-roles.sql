-- Least-privilege roles for a PostgreSQL deployment of the agreement ledger.
-- Run as the database owner after `ledger db upgrade` (which the owner runs).
-- The application role may read and append events, never change or delete them.

CREATE ROLE ledger_app LOGIN;

GRANT USAGE ON SCHEMA public TO ledger_app;
GRANT SELECT ON alembic_version TO ledger_app;

-- The event store: read and append only. TRUNCATE is granted only because the
-- library takes `LOCK TABLE ledger_events IN EXCLUSIVE MODE` to keep inserts in
-- commit order, which PostgreSQL allows to holders of UPDATE, DELETE or TRUNCATE;
-- the table's BEFORE TRUNCATE trigger still refuses any truncation.
GRANT SELECT, INSERT, TRUNCATE ON ledger_events TO ledger_app;
GRANT USAGE ON SEQUENCE ledger_events_id_seq TO ledger_app;

-- The read models are derived and rebuildable: the application maintains them.
GRANT SELECT, INSERT, UPDATE, DELETE
    ON read_agreements, read_parties, read_flags, read_tracking
    TO ledger_app;
