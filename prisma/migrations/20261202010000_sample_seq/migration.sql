-- Every time-series row gets an ingest sequence number when it is inserted: one sequence for
-- all six tables. Live events carry it as their resume cursor, and a subscription resumed
-- with `after: cursor` replays the rows with a larger number before going live (docs/graphql.md).
-- Sample times cannot serve: they are not commit order across devices (a slow host's poll
-- commits after a fast one's later sample; an outage's spool is replayed hours later).
-- Rows stored before this migration keep seq NULL and are never replayed.
-- The same statements work on plain tables and on compressed hypertables (nullable column,
-- default set afterwards, plain index).

CREATE SEQUENCE sample_seq AS bigint;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['system_metrics', 'filesystem_metrics', 'network_metrics', 'disk_io_metrics', 'drive_health', 'container_snapshots'] LOOP
    EXECUTE format('ALTER TABLE %I ADD COLUMN seq bigint', t);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN seq SET DEFAULT nextval(''sample_seq'')', t);
    EXECUTE format('CREATE INDEX %I ON %I (seq)', t || '_seq', t);
  END LOOP;
END $$;
