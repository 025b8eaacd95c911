-- Storage and hardware health beyond SMART (issue 19): ZFS pools, md arrays and btrfs
-- filesystems (storage_pools, the vdev tree or members as jsonb), hwmon temperatures and fans
-- (sensor_readings) and NVIDIA GPUs (gpu_samples). Same pattern as 20261127000100_timeseries:
-- hypertables with compression and 30-day retention where TimescaleDB exists (RETENTION_METRICS_DAYS
-- re-applies at start), plain tables otherwise; each unique index leads with (device_id, time DESC)
-- for latest-per-device and history reads and makes a replayed write idempotent. Rows get an
-- ingest sequence number like the other time-series tables (20261202010000_sample_seq).
-- Per-device intervals for the three new collectors sit beside the others on devices.

ALTER TABLE "devices" ADD COLUMN "storage_interval" INTEGER;
ALTER TABLE "devices" ADD COLUMN "sensor_interval" INTEGER;
ALTER TABLE "devices" ADD COLUMN "gpu_interval" INTEGER;

CREATE TABLE storage_pools (
  time             timestamptz NOT NULL,
  device_id        text        NOT NULL,
  kind             text        NOT NULL,
  name             text        NOT NULL,
  state            text        NOT NULL,
  health           text        NOT NULL,
  level            text,
  size_bytes       bigint,
  alloc_bytes      bigint,
  free_bytes       bigint,
  frag_percent     double precision,
  cap_percent      double precision,
  total_devices    integer,
  active_devices   integer,
  read_errors      bigint,
  write_errors     bigint,
  cksum_errors     bigint,
  scan_kind        text,
  scan_in_progress boolean     NOT NULL DEFAULT false,
  scan_percent     double precision,
  errors           text,
  devices          jsonb,
  seq              bigint      DEFAULT nextval('sample_seq')
);
CREATE UNIQUE INDEX storage_pools_device_time ON storage_pools (device_id, time DESC, kind, name);
CREATE INDEX storage_pools_seq ON storage_pools (seq);

CREATE TABLE sensor_readings (
  time      timestamptz NOT NULL,
  device_id text        NOT NULL,
  sensor    text        NOT NULL,
  chip      text,
  kind      text        NOT NULL,
  label     text        NOT NULL,
  value     double precision,
  min       double precision,
  max       double precision,
  crit      double precision,
  status    text        NOT NULL,
  seq       bigint      DEFAULT nextval('sample_seq')
);
CREATE UNIQUE INDEX sensor_readings_device_time ON sensor_readings (device_id, time DESC, sensor);
CREATE INDEX sensor_readings_seq ON sensor_readings (seq);

CREATE TABLE gpu_samples (
  time                       timestamptz NOT NULL,
  device_id                  text        NOT NULL,
  gpu                        text        NOT NULL,
  gpu_index                  integer,
  name                       text,
  temperature_c              double precision,
  utilization_percent        double precision,
  memory_utilization_percent double precision,
  memory_used_bytes          bigint,
  memory_total_bytes         bigint,
  power_draw_watts           double precision,
  power_limit_watts          double precision,
  fan_percent                double precision,
  seq                        bigint      DEFAULT nextval('sample_seq')
);
CREATE UNIQUE INDEX gpu_samples_device_time ON gpu_samples (device_id, time DESC, gpu);
CREATE INDEX gpu_samples_seq ON gpu_samples (seq);

DO $$
DECLARE
  t text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    FOREACH t IN ARRAY ARRAY['storage_pools', 'sensor_readings', 'gpu_samples'] LOOP
      PERFORM create_hypertable(t, 'time', chunk_time_interval => INTERVAL '1 day');
      EXECUTE format('ALTER TABLE %I SET (timescaledb.compress, timescaledb.compress_segmentby = ''device_id'', timescaledb.compress_orderby = ''time DESC'')', t);
      PERFORM add_compression_policy(t, INTERVAL '7 days');
      PERFORM add_retention_policy(t, INTERVAL '30 days');
    END LOOP;
  END IF;
END $$;
