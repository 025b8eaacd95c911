-- Time-series tables. With TimescaleDB they become hypertables (1-day chunks, compressed
-- after 7 days, segmented by device, default retention; src/db/timescale.ts re-applies
-- RETENTION_*_DAYS at start). Without it they stay plain tables and a time_bucket() shim
-- keeps every query identical. Each table's unique index leads with (device_id, time DESC):
-- it serves "latest per device" and history reads, and makes a replayed write idempotent.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
     AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    BEGIN
      CREATE EXTENSION timescaledb;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'timescaledb is installed but cannot be loaded (%); using plain tables', SQLERRM;
    END;
  END IF;
END $$;

CREATE TABLE system_metrics (
  time                     timestamptz      NOT NULL,
  device_id                text             NOT NULL,
  cpu_count                integer          NOT NULL,
  cpu_percent              double precision,
  cpu_user_percent         double precision,
  cpu_system_percent       double precision,
  cpu_iowait_percent       double precision,
  cpu_steal_percent        double precision,
  core_percents            real[]           NOT NULL DEFAULT '{}',
  mem_total_bytes          bigint           NOT NULL,
  mem_available_bytes      bigint           NOT NULL,
  mem_used_percent         double precision NOT NULL,
  swap_total_bytes         bigint           NOT NULL,
  swap_free_bytes          bigint           NOT NULL,
  load1                    double precision NOT NULL,
  load5                    double precision NOT NULL,
  load15                   double precision NOT NULL,
  uptime_seconds           double precision NOT NULL,
  process_count            integer,
  net_rx_bytes_per_sec     double precision,
  net_tx_bytes_per_sec     double precision,
  disk_read_bytes_per_sec  double precision,
  disk_write_bytes_per_sec double precision
);
CREATE UNIQUE INDEX system_metrics_device_time ON system_metrics (device_id, time DESC);

CREATE TABLE filesystem_metrics (
  time            timestamptz      NOT NULL,
  device_id       text             NOT NULL,
  mount           text             NOT NULL,
  filesystem      text             NOT NULL,
  fs_type         text,
  size_bytes      bigint           NOT NULL,
  used_bytes      bigint           NOT NULL,
  available_bytes bigint           NOT NULL,
  used_percent    double precision NOT NULL
);
CREATE UNIQUE INDEX filesystem_metrics_device_time ON filesystem_metrics (device_id, time DESC, mount);

CREATE TABLE network_metrics (
  time                timestamptz NOT NULL,
  device_id           text        NOT NULL,
  interface           text        NOT NULL,
  rx_bytes_total      bigint      NOT NULL,
  tx_bytes_total      bigint      NOT NULL,
  rx_bytes_per_sec    double precision,
  tx_bytes_per_sec    double precision,
  rx_packets_per_sec  double precision,
  tx_packets_per_sec  double precision,
  rx_errors_per_sec   double precision,
  tx_errors_per_sec   double precision,
  rx_dropped_per_sec  double precision,
  tx_dropped_per_sec  double precision
);
CREATE UNIQUE INDEX network_metrics_device_time ON network_metrics (device_id, time DESC, interface);

CREATE TABLE disk_io_metrics (
  time                timestamptz NOT NULL,
  device_id           text        NOT NULL,
  disk                text        NOT NULL,
  read_bytes_per_sec  double precision,
  write_bytes_per_sec double precision,
  read_iops           double precision,
  write_iops          double precision,
  util_percent        double precision
);
CREATE UNIQUE INDEX disk_io_metrics_device_time ON disk_io_metrics (device_id, time DESC, disk);

CREATE TABLE drive_health (
  time                 timestamptz NOT NULL,
  device_id            text        NOT NULL,
  drive                text        NOT NULL,
  protocol             text,
  model                text,
  serial               text,
  firmware             text,
  capacity_bytes       bigint,
  temperature_c        double precision,
  power_on_hours       bigint,
  reallocated_sectors  bigint,
  pending_sectors      bigint,
  uncorrectable_errors bigint,
  media_errors         bigint,
  percent_used         double precision,
  smart_passed         boolean,
  health               text        NOT NULL,
  exit_status          integer,
  error                text,
  attributes           jsonb
);
CREATE UNIQUE INDEX drive_health_device_time ON drive_health (device_id, time DESC, drive);

CREATE TABLE container_snapshots (
  time              timestamptz NOT NULL,
  device_id         text        NOT NULL,
  container_id      text        NOT NULL,
  name              text        NOT NULL,
  image             text        NOT NULL,
  state             text        NOT NULL,
  health            text,
  restart_count     integer,
  exit_code         integer,
  created_at        timestamptz,
  started_at        timestamptz,
  cpu_percent       double precision,
  mem_usage_bytes   bigint,
  mem_limit_bytes   bigint,
  net_rx_bytes      bigint,
  net_tx_bytes      bigint,
  block_read_bytes  bigint,
  block_write_bytes bigint,
  pids              integer
);
CREATE UNIQUE INDEX container_snapshots_device_time ON container_snapshots (device_id, time DESC, container_id);

DO $$
DECLARE
  t text;
  retention_days int;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    FOREACH t IN ARRAY ARRAY['system_metrics', 'filesystem_metrics', 'network_metrics',
                             'disk_io_metrics', 'drive_health', 'container_snapshots'] LOOP
      PERFORM create_hypertable(t, 'time', chunk_time_interval => INTERVAL '1 day');
      EXECUTE format('ALTER TABLE %I SET (timescaledb.compress, timescaledb.compress_segmentby = ''device_id'', timescaledb.compress_orderby = ''time DESC'')', t);
      PERFORM add_compression_policy(t, INTERVAL '7 days');
      retention_days := CASE t WHEN 'drive_health' THEN 365 ELSE 30 END;
      PERFORM add_retention_policy(t, make_interval(days => retention_days));
    END LOOP;
  ELSE
    -- TimescaleDB's time_bucket for timestamptz buckets from 2000-01-03 00:00 UTC (a Monday);
    -- date_bin with the same origin gives the same buckets.
    CREATE FUNCTION time_bucket(bucket_width interval, ts timestamptz) RETURNS timestamptz
      LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
      AS $fn$ SELECT date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') $fn$;
  END IF;
END $$;
