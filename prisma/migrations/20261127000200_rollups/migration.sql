-- Rollups of system_metrics at 5 minutes and 1 hour (avg/min/max per metric, and the sample
-- count so coarser buckets can weight averages). With TimescaleDB they are real-time
-- continuous aggregates refreshed by policies; without it, plain views with the same columns,
-- so src/storage/ reads them with the same SQL either way.

DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    EXECUTE $q$CREATE MATERIALIZED VIEW system_metrics_5m
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max
  FROM system_metrics GROUP BY 1, 2
  WITH NO DATA$q$;
    EXECUTE $q$CREATE MATERIALIZED VIEW system_metrics_1h
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max
  FROM system_metrics GROUP BY 1, 2
  WITH NO DATA$q$;
    PERFORM add_continuous_aggregate_policy('system_metrics_5m',
      start_offset => INTERVAL '1 day', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');
    PERFORM add_continuous_aggregate_policy('system_metrics_1h',
      start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
  ELSE
    EXECUTE $q$CREATE VIEW system_metrics_5m AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max
  FROM system_metrics GROUP BY 1, 2$q$;
    EXECUTE $q$CREATE VIEW system_metrics_1h AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max
  FROM system_metrics GROUP BY 1, 2$q$;
  END IF;
END $do$;
