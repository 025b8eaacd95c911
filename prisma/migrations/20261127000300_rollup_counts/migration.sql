-- The rollups gain a per-metric count (<metric>_n): a coarser bucket's average must weight
-- each rollup bucket by how many samples had that metric, not by rows (rates are null on a
-- device's first poll). Rebuilt from system_metrics, so nothing is lost.

DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    EXECUTE 'DROP MATERIALIZED VIEW system_metrics_1h';
    EXECUTE 'DROP MATERIALIZED VIEW system_metrics_5m';
    EXECUTE $q$CREATE MATERIALIZED VIEW system_metrics_5m
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max, count(cpu_percent) AS cpu_percent_n,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max, count(cpu_iowait_percent) AS cpu_iowait_percent_n,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max, count(cpu_steal_percent) AS cpu_steal_percent_n,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max, count(mem_used_percent) AS mem_used_percent_n,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max, count(load1) AS load1_n,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max, count(load5) AS load5_n,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max, count(load15) AS load15_n,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max, count(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_n,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max, count(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_n,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max, count(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_n,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max, count(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_n
  FROM system_metrics GROUP BY 1, 2
  WITH NO DATA$q$;
    EXECUTE $q$CREATE MATERIALIZED VIEW system_metrics_1h
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max, count(cpu_percent) AS cpu_percent_n,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max, count(cpu_iowait_percent) AS cpu_iowait_percent_n,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max, count(cpu_steal_percent) AS cpu_steal_percent_n,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max, count(mem_used_percent) AS mem_used_percent_n,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max, count(load1) AS load1_n,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max, count(load5) AS load5_n,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max, count(load15) AS load15_n,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max, count(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_n,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max, count(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_n,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max, count(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_n,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max, count(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_n
  FROM system_metrics GROUP BY 1, 2
  WITH NO DATA$q$;
    PERFORM add_continuous_aggregate_policy('system_metrics_5m',
      start_offset => INTERVAL '1 day', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');
    PERFORM add_continuous_aggregate_policy('system_metrics_1h',
      start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
  ELSE
    EXECUTE 'DROP VIEW system_metrics_1h';
    EXECUTE 'DROP VIEW system_metrics_5m';
    EXECUTE $q$CREATE VIEW system_metrics_5m AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max, count(cpu_percent) AS cpu_percent_n,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max, count(cpu_iowait_percent) AS cpu_iowait_percent_n,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max, count(cpu_steal_percent) AS cpu_steal_percent_n,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max, count(mem_used_percent) AS mem_used_percent_n,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max, count(load1) AS load1_n,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max, count(load5) AS load5_n,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max, count(load15) AS load15_n,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max, count(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_n,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max, count(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_n,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max, count(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_n,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max, count(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_n
  FROM system_metrics GROUP BY 1, 2$q$;
    EXECUTE $q$CREATE VIEW system_metrics_1h AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, device_id, count(*) AS samples,
         avg(cpu_percent) AS cpu_percent_avg, min(cpu_percent) AS cpu_percent_min, max(cpu_percent) AS cpu_percent_max, count(cpu_percent) AS cpu_percent_n,
         avg(cpu_iowait_percent) AS cpu_iowait_percent_avg, min(cpu_iowait_percent) AS cpu_iowait_percent_min, max(cpu_iowait_percent) AS cpu_iowait_percent_max, count(cpu_iowait_percent) AS cpu_iowait_percent_n,
         avg(cpu_steal_percent) AS cpu_steal_percent_avg, min(cpu_steal_percent) AS cpu_steal_percent_min, max(cpu_steal_percent) AS cpu_steal_percent_max, count(cpu_steal_percent) AS cpu_steal_percent_n,
         avg(mem_used_percent) AS mem_used_percent_avg, min(mem_used_percent) AS mem_used_percent_min, max(mem_used_percent) AS mem_used_percent_max, count(mem_used_percent) AS mem_used_percent_n,
         avg(load1) AS load1_avg, min(load1) AS load1_min, max(load1) AS load1_max, count(load1) AS load1_n,
         avg(load5) AS load5_avg, min(load5) AS load5_min, max(load5) AS load5_max, count(load5) AS load5_n,
         avg(load15) AS load15_avg, min(load15) AS load15_min, max(load15) AS load15_max, count(load15) AS load15_n,
         avg(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_avg, min(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_min, max(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_max, count(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_n,
         avg(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_avg, min(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_min, max(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_max, count(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_n,
         avg(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_avg, min(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_min, max(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_max, count(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_n,
         avg(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_avg, min(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_min, max(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_max, count(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_n
  FROM system_metrics GROUP BY 1, 2$q$;
  END IF;
END $do$;
