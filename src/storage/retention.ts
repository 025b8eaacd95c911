/**
 * Retention of the time-series tables from RETENTION_*_DAYS. With TimescaleDB the migration's
 * default drop_chunks policies are replaced by the configured intervals (TimescaleDB's job
 * scheduler then drops whole chunks). On plain PostgreSQL a periodic job deletes old rows in
 * small batches with a pause between them, so no statement holds locks or bloats WAL for long.
 */
import type pg from 'pg';
import type { Logger } from '../log.ts';

export interface RetentionDays {
  metrics: number;
  drives: number;
  containers: number;
}

export const RETENTION_TABLES: Record<string, keyof RetentionDays> = {
  system_metrics: 'metrics',
  filesystem_metrics: 'metrics',
  network_metrics: 'metrics',
  disk_io_metrics: 'metrics',
  drive_health: 'drives',
  container_snapshots: 'containers',
  storage_pools: 'metrics',
  sensor_readings: 'metrics',
  gpu_samples: 'metrics',
  check_results: 'metrics',
};

export interface RetentionOptions {
  /** Plain PostgreSQL: time between sweeps (default 1 h; the first sweep starts at start()). */
  intervalMs?: number;
  /** Plain PostgreSQL: rows per DELETE (default 5,000). */
  batchRows?: number;
  /** Plain PostgreSQL: pause between two DELETEs (default 200 ms). */
  pauseMs?: number;
}

export interface Retention {
  /** TimescaleDB: policies replaced when they differ. Plain: sweeps scheduled (not awaited). */
  start(): Promise<void>;
  /** Ends the schedule; a sweep in progress stops after its current DELETE. */
  stop(): Promise<void>;
  /** Plain PostgreSQL: one sweep now; rows deleted per table. TimescaleDB: nothing to do ({}). */
  sweep(): Promise<Record<string, number>>;
}

async function replacePolicies(pool: pg.Pool, days: RetentionDays, log: Logger): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const [table, kind] of Object.entries(RETENTION_TABLES)) {
      const wanted = days[kind];
      const { rows } = await client.query<{ same: boolean }>(
        `SELECT (config->>'drop_after')::interval = make_interval(days => $2) AS same
           FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_schema = current_schema() AND hypertable_name = $1`,
        [table, wanted],
      );
      if (rows.length === 1 && rows[0]?.same) continue;
      await client.query('SELECT remove_retention_policy($1::regclass, if_exists => true)', [table]);
      await client.query('SELECT add_retention_policy($1::regclass, make_interval(days => $2))', [table, wanted]);
      log.info({ table, days: wanted }, 'retention policy set');
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

export function applyRetention(db: { pool: pg.Pool; timescale: string | null }, days: RetentionDays, log: Logger, options: RetentionOptions = {}): Retention {
  const intervalMs = options.intervalMs ?? 3_600_000;
  const batchRows = options.batchRows ?? 5000;
  const pauseMs = options.pauseMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopping = false;

  async function sweep(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    if (db.timescale) return deleted;
    for (const [table, kind] of Object.entries(RETENTION_TABLES)) {
      let n = 0;
      // ctid batches: the unique index leads with device_id, so "time < cutoff" alone cannot
      // use it; old rows sit at the start of the heap, where the scan finds them first.
      const sql = `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(
          SELECT ctid FROM ${table} WHERE time < now() - make_interval(days => $1) LIMIT $2))`;
      for (;;) {
        if (stopping) break;
        const { rowCount } = await db.pool.query(sql, [days[kind], batchRows]);
        n += rowCount ?? 0;
        if ((rowCount ?? 0) < batchRows) break;
        await new Promise((r) => setTimeout(r, pauseMs));
      }
      deleted[table] = n;
      if (n > 0) log.info({ table, rows: n, days: days[kind] }, 'old rows deleted');
      if (stopping) break;
    }
    return deleted;
  }

  function scheduled(): void {
    if (stopping || running) return;
    running = sweep()
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'retention sweep failed; retrying at the next interval'))
      .finally(() => {
        running = undefined;
      });
  }

  return {
    async start() {
      stopping = false;
      if (db.timescale) {
        await replacePolicies(db.pool, days, log);
        return;
      }
      scheduled();
      timer = setInterval(scheduled, intervalMs);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
    sweep,
  };
}
