/**
 * The TimescaleDB path of the migrations and the storage layer, on PostgreSQL 17 +
 * TimescaleDB 2.23 in WebAssembly (PGlite) served over the wire protocol, compared with plain
 * PostgreSQL (createTestDatabase) for the same rows.
 */
import fs from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPool } from '../../../src/db/adapter.ts';
import { createPrismaClient, detectTimescale, PrismaClient } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { latestRows, systemHistory, writeBatch, HISTORY_METRICS, type MetricBucket } from '../../../src/storage/index.ts';
import { checkResultHistory, latestCheckResults, writeCheckResults, type CheckResultRow } from '../../../src/storage/checks.ts';
import { applyRetention } from '../../../src/storage/retention.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { startTimescale, type TimescaleServer } from '../../helpers/timescale.ts';
import { batchOf, fullPoll, hardwarePoll, systemRow, systemSeries } from '../../helpers/rows.ts';

const TABLES = ['system_metrics', 'filesystem_metrics', 'network_metrics', 'disk_io_metrics', 'drive_health', 'container_snapshots', 'storage_pools', 'sensor_readings', 'gpu_samples', 'check_results'];
const MIGRATIONS = fs
  .readdirSync(new URL('../../../prisma/migrations/', import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const log = createLogger('silent');

const DAY = 86_400_000;
const HOUR = 3_600_000;
// Three days of whole hours ending at the last full hour: in the past (continuous aggregates
// only materialise completed buckets), and its last 23 hours within the 5-minute policy's
// one-day window whatever the time of day. (It ended at midnight UTC until 2026-12-05: late in
// the day the window, which starts a day before now, held no whole bucket of it, and the policy
// test failed in a .ci/run just before midnight.)
const END = new Date(Math.floor(Date.now() / HOUR) * HOUR);
const START = new Date(END.getTime() - 3 * DAY);
const DEVICES = ['alpha', 'bravo', 'charlie'];
const SERIES = systemSeries({ devices: DEVICES, start: START, end: END });

let ts: TimescaleServer;
let applied: string[];
let reapplied: string[];
let pool: pg.Pool;
let prisma: PrismaClient;
let plain: Awaited<ReturnType<typeof createTestDatabase>>;
let migrateMs = 0;

beforeAll(async () => {
  plain = await createTestDatabase();
  ts = await startTimescale();
  const t0 = Date.now();
  applied = await ts.migrate();
  migrateMs = Date.now() - t0;
  // Before the test's own connection exists: the server takes one client at a time.
  reapplied = await ts.migrate();
  pool = createPool(ts.url, { max: 1 });
  prisma = createPrismaClient(pool, { copyFromStdin: false }); // PGlite's socket server drops COPY FROM STDIN
});

afterAll(async () => {
  await prisma?.$disconnect();
  await pool?.end();
  await ts?.stop();
  await plain?.close();
});

const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => (await pool.query<R>(sql, params)).rows;

describe('migrations on TimescaleDB', () => {
  test('every migration applies and is recorded', async () => {
    console.info(`PGlite+TimescaleDB startup ${ts.startupMs} ms; migrate deploy ${migrateMs} ms`);
    expect(applied).toEqual(MIGRATIONS);
    const rows = await query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1');
    expect(rows.map((r) => r.migration_name)).toEqual(MIGRATIONS);
    // A second deploy finds nothing to do.
    expect(reapplied).toEqual([]);
  });

  test('detectTimescale reports the extension version', async () => {
    expect(await detectTimescale(pool)).toMatch(/^2\.\d+/);
    expect(await detectTimescale(plain.pool)).toBeNull();
  });

  test('the time-series tables are hypertables with 1-day chunks on time', async () => {
    const rows = await query<{ hypertable_name: string; column_name: string; one_day: boolean }>(
      `SELECT hypertable_name, column_name, time_interval = INTERVAL '1 day' AS one_day
         FROM timescaledb_information.dimensions WHERE hypertable_schema = 'public' ORDER BY hypertable_name`,
    );
    expect(rows).toEqual([...TABLES].sort().map((t) => ({ hypertable_name: t, column_name: 'time', one_day: true })));
  });

  test('compression is enabled, segmented by device_id, ordered by time DESC, with a 7-day policy', async () => {
    const enabled = await query<{ hypertable_name: string; compression_enabled: boolean }>(
      "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_schema = 'public' ORDER BY 1",
    );
    expect(enabled).toEqual([...TABLES].sort().map((t) => ({ hypertable_name: t, compression_enabled: true })));
    const settings = await query<{ hypertable_name: string; attname: string; segmentby_column_index: number | null; orderby_asc: boolean | null }>(
      "SELECT hypertable_name, attname, segmentby_column_index, orderby_asc FROM timescaledb_information.compression_settings WHERE hypertable_schema = 'public' ORDER BY 1, 2",
    );
    expect(settings).toEqual(
      [...TABLES].sort().flatMap((t) => [
        // A check's results compress per device and check.
        ...(t === 'check_results' ? [{ hypertable_name: t, attname: 'check_id', segmentby_column_index: 2, orderby_asc: null }] : []),
        { hypertable_name: t, attname: 'device_id', segmentby_column_index: 1, orderby_asc: null },
        { hypertable_name: t, attname: 'time', segmentby_column_index: null, orderby_asc: false },
      ]),
    );
    const policies = await query<{ hypertable_name: string; seven_days: boolean }>(
      "SELECT hypertable_name, (config->>'compress_after')::interval = INTERVAL '7 days' AS seven_days FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' ORDER BY 1",
    );
    expect(policies).toEqual([...TABLES].sort().map((t) => ({ hypertable_name: t, seven_days: true })));
  });

  test('retention policies drop metrics and containers after 30 days, drives after 365', async () => {
    const rows = await query<{ hypertable_name: string; days: number }>(
      "SELECT hypertable_name, extract(day FROM (config->>'drop_after')::interval)::int AS days FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' ORDER BY 1",
    );
    expect(rows).toEqual([...TABLES].sort().map((t) => ({ hypertable_name: t, days: t === 'drive_health' ? 365 : 30 })));
  });

  test('system_metrics_5m and system_metrics_1h are continuous aggregates with refresh policies', async () => {
    const views = await query<{ view_name: string; materialized_only: boolean }>(
      'SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates ORDER BY 1',
    );
    expect(views).toEqual([
      { view_name: 'system_metrics_1h', materialized_only: false },
      { view_name: 'system_metrics_5m', materialized_only: false },
    ]);
    const jobs = await query<{ hypertable_name: string }>("SELECT hypertable_name FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY 1");
    expect(jobs.map((j) => j.hypertable_name)).toEqual(['system_metrics_1h', 'system_metrics_5m']);
  });
});

describe('storage on TimescaleDB', () => {
  test('check results are written once and read back as the latest per device and check', async () => {
    const at = (s: number) => new Date(END.getTime() - s * 1000);
    const rows: CheckResultRow[] = [
      { time: at(120), deviceId: 'full', checkId: 'c1', status: 'OK', exitCode: 0, message: 'fine', values: { age: 1 } },
      { time: at(60), deviceId: 'full', checkId: 'c1', status: 'CRITICAL', exitCode: 2, message: 'late', values: { age: 9e4 } },
      { time: at(60), deviceId: 'full', checkId: 'c2', status: 'TIMEOUT', exitCode: null, message: 'TIMEOUT', values: {} },
    ];
    expect(await writeCheckResults(prisma, rows)).toBe(3);
    expect(await writeCheckResults(prisma, rows)).toBe(0);
    expect(await latestCheckResults(prisma, ['full', 'none'], ['c1', 'c2'])).toEqual([rows[1], rows[2]]);
    expect(await checkResultHistory(prisma, { checkId: 'c1', deviceId: 'full', from: at(3600), to: END, limit: 10 })).toEqual([rows[1], rows[0]]);
  });

  test('writeBatch writes every table, and latestRows reads it back', async () => {
    const time = new Date(END.getTime() - 1000);
    const poll = fullPoll('full', time);
    expect(await writeBatch(prisma, poll)).toBe(11); // two rows per table, one system row
    expect(await writeBatch(prisma, poll)).toBe(0); // replay: the unique indexes hold on hypertables too
    expect(await latestRows(pool, 'system', ['full'])).toEqual(poll.system.map((r) => ({ ...r, seq: expect.any(Number) })));
    expect(await latestRows(pool, 'filesystems', ['full'])).toEqual(poll.filesystems);
    expect(await latestRows(pool, 'networks', ['full'])).toEqual([...poll.networks].sort((a, b) => a.interface.localeCompare(b.interface)));
    expect(await latestRows(pool, 'diskIo', ['full'])).toEqual(poll.diskIo);
    expect(await latestRows(pool, 'drives', ['full'])).toEqual([...poll.drives].sort((a, b) => a.drive.localeCompare(b.drive)));
    expect(await latestRows(pool, 'containers', ['full'])).toEqual(poll.containers);
  });

  test('pools, sensors and GPUs: written to hypertables and read back exactly (jsonb vdev tree, bigints, nulls)', async () => {
    const poll = hardwarePoll('hardware', new Date(END.getTime() - 2000));
    expect(await writeBatch(prisma, poll)).toBe(5);
    expect(await writeBatch(prisma, poll)).toBe(0);
    expect(await latestRows(pool, 'pools', ['hardware'])).toEqual([...poll.pools].sort((a, b) => a.name.localeCompare(b.name)));
    expect(await latestRows(pool, 'sensors', ['hardware'])).toEqual(poll.sensors);
    expect(await latestRows(pool, 'gpus', ['hardware'])).toEqual(poll.gpus);
  });

  test('the same rows are written to TimescaleDB and plain PostgreSQL', async () => {
    expect(SERIES.length).toBeGreaterThan(5000);
    const batch = batchOf({ system: SERIES });
    const t0 = Date.now();
    expect(await writeBatch(prisma, batch)).toBe(SERIES.length);
    const tsMs = Date.now() - t0;
    const t1 = Date.now();
    expect(await writeBatch(plain.prisma, batch)).toBe(SERIES.length);
    console.info(`${SERIES.length} system rows: TimescaleDB (PGlite) ${tsMs} ms, PostgreSQL ${Date.now() - t1} ms`);
    const chunks = await query<{ n: number }>("SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'system_metrics'");
    expect(chunks[0]?.n).toBeGreaterThanOrEqual(3); // one per day: the rows really went into chunks
  });

  const ranges = () => [
    { name: 'the whole series', from: START, to: END },
    { name: 'unaligned', from: new Date(START.getTime() + 12_345_678), to: new Date(END.getTime() - 7_654_321) },
  ];

  test.each([300, 420, 3600, 86_400, 1])('systemHistory with %i-second buckets is identical on TimescaleDB and PostgreSQL', async (bucketSeconds) => {
    let buckets = 0;
    for (const { from, to } of ranges()) {
      for (const deviceId of [...DEVICES, 'nobody']) {
        // One second buckets over three days would be 259,200 points: keep that one to an hour.
        const range = bucketSeconds === 1 ? { from, to: new Date(from.getTime() + 3_600_000) } : { from, to };
        const onTimescale = await systemHistory(pool, { deviceId, ...range, bucketSeconds });
        const onPostgres = await systemHistory(plain.pool, { deviceId, ...range, bucketSeconds });
        expect(onTimescale).toEqual(onPostgres);
        buckets += onTimescale.length;
        if (deviceId === 'nobody') expect(onTimescale).toEqual([]);
      }
    }
    expect(buckets).toBeGreaterThan(0);
  });

  test('the compared series has what makes bucketing hard: nulls, gaps, uneven samples per bucket', async () => {
    const hours = await systemHistory(pool, { deviceId: 'bravo', from: START, to: END, bucketSeconds: 3600 });
    expect(hours.some((b) => b.cpuStealPercent.avg === null)).toBe(true); // bravo never reports steal
    const alpha = await systemHistory(pool, { deviceId: 'alpha', from: START, to: END, bucketSeconds: 300 });
    expect(alpha.length).toBeLessThan(3 * 288); // outages leave buckets out
    expect(new Set(alpha.map((b) => b.samples)).size).toBeGreaterThan(2);
    expect(alpha.some((b) => b.cpuPercent.avg === null) || alpha.some((b) => b.samples > 1 && b.cpuIowaitPercent.avg !== null)).toBe(true);
    // Buckets start on TimescaleDB's origin: 5-minute boundaries in UTC.
    expect(alpha.every((b) => b.time.getTime() % 300_000 === 0)).toBe(true);
  });
});

/** Direct aggregate over raw rows, in the continuous aggregates' column layout. */
const directAggregate = (width: string) => `SELECT time_bucket(INTERVAL '${width}', time) AS bucket, device_id, count(*)::int AS samples,
  ${Object.values(HISTORY_METRICS).map((c) => `avg(${c}) AS ${c}_avg, min(${c}) AS ${c}_min, max(${c}) AS ${c}_max, count(${c})::int AS ${c}_n`).join(', ')}
  FROM system_metrics WHERE device_id = ANY($1) GROUP BY 1, 2 ORDER BY 2, 1`;

const materialised = async (view: string) => {
  const [cagg] = await query<{ schema: string; table: string }>(
    'SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name AS table FROM timescaledb_information.continuous_aggregates WHERE view_name = $1',
    [view],
  );
  if (!cagg) throw new Error(`${view} is not a continuous aggregate`);
  const columns = `bucket, device_id, samples::int AS samples, ${Object.values(HISTORY_METRICS)
    .map((c) => `${c}_avg, ${c}_min, ${c}_max, ${c}_n::int AS ${c}_n`)
    .join(', ')}`;
  return query<Record<string, unknown>>(`SELECT ${columns} FROM ${cagg.schema}.${cagg.table} WHERE device_id = ANY($1) ORDER BY 2, 1`, [DEVICES]);
};

describe('continuous aggregates on TimescaleDB', () => {
  test('the 5-minute policy job (run_job) materialises its window, matching a direct aggregate', async () => {
    expect(await materialised('system_metrics_5m')).toEqual([]);
    const [job] = await query<{ job_id: number }>("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = 'system_metrics_5m'");
    const ranAt = Date.now();
    await pool.query(`CALL run_job(${job!.job_id})`);
    const rows = await materialised('system_metrics_5m');
    // The policy covers [now - 1 day, now - 5 min): the last day of the series, not the first,
    // and only buckets whole by then. The series ends at the last full hour, so in an hour's
    // first 10 minutes its last buckets are still too new to be materialised.
    expect(rows.length).toBeGreaterThan(0);
    const at = (r: Record<string, unknown>): number => (r.bucket as Date).getTime();
    const oldest = Math.min(...rows.map(at));
    const newest = Math.max(...rows.map(at));
    expect(oldest).toBeGreaterThanOrEqual(ranAt - DAY - 300_000);
    expect(newest + 300_000).toBeLessThanOrEqual(Date.now() - 300_000);
    const direct = await query<Record<string, unknown>>(directAggregate('5 minutes'), [DEVICES]);
    expect(rows).toEqual(direct.filter((r) => at(r) >= oldest && at(r) <= newest));
    // Every bucket that had ended 5 minutes before the job ran is there.
    const settled = direct.filter((r) => at(r) >= oldest && at(r) + 600_000 <= ranAt);
    expect(rows.length).toBeGreaterThanOrEqual(settled.length);
  });

  test('refresh_continuous_aggregate materialises the whole range, matching a direct aggregate', async () => {
    for (const view of ['system_metrics_5m', 'system_metrics_1h']) await pool.query(`CALL refresh_continuous_aggregate('${view}', NULL, NULL)`);
    expect(await materialised('system_metrics_5m')).toEqual(await query(directAggregate('5 minutes'), [DEVICES]));
    expect(await materialised('system_metrics_1h')).toEqual(await query(directAggregate('1 hour'), [DEVICES]));
  });

  const close = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));

  /** Count of rollup buckets whose avg differs from raw, per metric; min/max/samples must match exactly. */
  async function compareRollup(source: '5m' | '1h', bucketSeconds: number): Promise<Record<string, number>> {
    const avgMismatches: Record<string, number> = {};
    for (const deviceId of DEVICES) {
      const raw = await systemHistory(pool, { deviceId, from: START, to: END, bucketSeconds });
      const rolled = await systemHistory(pool, { deviceId, from: START, to: END, bucketSeconds, source });
      expect(rolled.map((b) => [b.time, b.samples])).toEqual(raw.map((b) => [b.time, b.samples]));
      raw.forEach((r, i) => {
        const b = rolled[i] as MetricBucket;
        for (const key of Object.keys(HISTORY_METRICS) as (keyof typeof HISTORY_METRICS)[]) {
          expect([key, b[key].min, b[key].max]).toEqual([key, r[key].min, r[key].max]);
          if (!close(b[key].avg, r[key].avg)) avgMismatches[key] = (avgMismatches[key] ?? 0) + 1;
        }
      });
    }
    return avgMismatches;
  }

  const rollups: ['5m' | '1h', number][] = [
    ['5m', 300],
    ['5m', 3600],
    ['5m', 86_400],
    ['1h', 3600],
    ['1h', 86_400],
  ];

  test.each(rollups)('the %s rollup at %i s gives the raw samples, min, max and averages', async (source, bucketSeconds) => {
    // Averages over coarser buckets weight each rollup bucket by that metric's own count, so
    // metrics missing in some rows (rates on a first poll) average exactly as raw rows do.
    expect(await compareRollup(source, bucketSeconds)).toEqual({});
  });
});

describe('retention on TimescaleDB', () => {
  test('applyRetention replaces the policies with the configured days, once', async () => {
    const policies = () =>
      query<{ hypertable_name: string; job_id: number; days: number }>(
        "SELECT hypertable_name, job_id, extract(day FROM (config->>'drop_after')::interval)::int AS days FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' ORDER BY 1",
      );
    const retention = applyRetention({ pool, timescale: await detectTimescale(pool) }, { metrics: 7, drives: 90, containers: 14 }, log);
    await retention.start();
    const after = await policies();
    expect(after.map(({ hypertable_name, days }) => [hypertable_name, days])).toEqual(
      [...TABLES].sort().map((t) => [t, t === 'drive_health' ? 90 : t === 'container_snapshots' ? 14 : 7]),
    );
    expect(await retention.sweep()).toEqual({});
    await retention.stop();
    // Unchanged settings leave the jobs alone.
    const again = applyRetention({ pool, timescale: 'x' }, { metrics: 7, drives: 90, containers: 14 }, log);
    await again.start();
    await again.stop();
    expect(await policies()).toEqual(after);
  });

  test('running the retention job drops chunks older than the configured days and keeps the rest', async () => {
    const old = new Date(END.getTime() - 20 * DAY + 3_600_000);
    await writeBatch(prisma, batchOf({ system: [systemRow('old', old), systemRow('old', new Date(END.getTime() - 60_000))] }));
    const [job] = await query<{ job_id: number }>("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'system_metrics'");
    await pool.query(`CALL run_job(${job!.job_id})`);
    const left = await query<{ time: Date }>("SELECT time FROM system_metrics WHERE device_id = 'old'");
    expect(left.map((r) => r.time.getTime())).toEqual([END.getTime() - 60_000]);
    const kept = await query<{ n: number }>('SELECT count(*)::int AS n FROM system_metrics WHERE device_id = ANY($1)', [DEVICES]);
    expect(kept[0]?.n).toBe(SERIES.length);
  });
});

describe('compression on TimescaleDB', () => {
  test('compressed chunks (the policy job) answer history exactly as before', async () => {
    const before = await Promise.all(DEVICES.map((deviceId) => systemHistory(pool, { deviceId, from: START, to: END, bucketSeconds: 420 })));
    // The policy compresses chunks older than 7 days: make it 1 day so the series qualifies.
    const [job] = await query<{ job_id: number }>("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = 'system_metrics'");
    await pool.query(`SELECT alter_job(job_id, config => jsonb_set(config, '{compress_after}', '"1 day"')) FROM timescaledb_information.jobs WHERE job_id = $1`, [job!.job_id]);
    await pool.query(`CALL run_job(${job!.job_id})`);
    const chunks = await query<{ n: number }>("SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'system_metrics' AND is_compressed");
    expect(chunks[0]?.n).toBeGreaterThanOrEqual(2);
    const after = await Promise.all(DEVICES.map((deviceId) => systemHistory(pool, { deviceId, from: START, to: END, bucketSeconds: 420 })));
    expect(after).toEqual(before);
  });
});
