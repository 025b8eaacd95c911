-- Checks over SSH (issue #18): a check is a command an ADMIN stores verbatim, run on the devices
-- in its scope (device ids and/or tags; neither: every device) every interval_seconds, its
-- output read by kind (EXIT_CODE: Monitoring-Plugins convention and perfdata; PROMETHEUS: text
-- exposition; JSON: values at json_paths). Each run is a row of check_results, a time-series
-- table like the others (20261127000100_timeseries): a hypertable with compression and
-- retention where TimescaleDB exists, a plain indexed table otherwise (src/storage/retention.ts
-- sweeps it with the metrics' RETENTION_METRICS_DAYS).

CREATE TYPE "CheckKind" AS ENUM ('EXIT_CODE', 'PROMETHEUS', 'JSON');

CREATE TABLE "checks" (
  "id"               TEXT         NOT NULL,
  "name"             TEXT         NOT NULL,
  "command"          TEXT         NOT NULL,
  "kind"             "CheckKind"  NOT NULL DEFAULT 'EXIT_CODE',
  "interval_seconds" INTEGER      NOT NULL DEFAULT 300,
  "timeout_seconds"  INTEGER      NOT NULL DEFAULT 10,
  "device_ids"       TEXT[]       DEFAULT ARRAY[]::TEXT[],
  "tags"             TEXT[]       DEFAULT ARRAY[]::TEXT[],
  "json_paths"       TEXT[]       DEFAULT ARRAY[]::TEXT[],
  "enabled"          BOOLEAN      NOT NULL DEFAULT true,
  "created_at"       TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at"       TIMESTAMP(3) NOT NULL,
  CONSTRAINT "checks_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "checks_name_key" ON "checks"("name");

-- One row per run of a check on a device. check_id has no foreign key (hypertables take
-- none to relational tables): results of a deleted check stay until retention, unread.
CREATE TABLE check_results (
  time       timestamptz NOT NULL,
  device_id  text        NOT NULL,
  check_id   text        NOT NULL,
  status     text        NOT NULL,
  exit_code  integer,
  message    text        NOT NULL,
  "values"   jsonb       NOT NULL DEFAULT '{}',
  seq        bigint      DEFAULT nextval('sample_seq')
);
-- Latest result per (device, check) and a check's history on a device are both index probes.
CREATE UNIQUE INDEX check_results_device_check_time ON check_results (device_id, check_id, time DESC);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    PERFORM create_hypertable('check_results', 'time', chunk_time_interval => INTERVAL '1 day');
    ALTER TABLE check_results SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id, check_id', timescaledb.compress_orderby = 'time DESC');
    PERFORM add_compression_policy('check_results', INTERVAL '7 days');
    PERFORM add_retention_policy('check_results', INTERVAL '30 days');
  END IF;
END $$;
