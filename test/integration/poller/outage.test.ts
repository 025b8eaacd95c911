// A database outage while polling continues: nothing collected is lost, nothing is doubled.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../src/db/adapter.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../src/db/embedded.ts';
import { createPrismaClient, PrismaClient } from '../../../src/db/index.ts';
import { migrateDeploy } from '../../../src/db/migrate.ts';
import client from 'prom-client';
import { readPollerStats } from '../../../src/graphql/types/health.ts';
import { createLogger } from '../../../src/log.ts';
import { attachMetrics } from '../../../src/metrics.ts';
import { createPoller, type Poller, type PollerTuning } from '../../../src/poller/index.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import { createAlertEvaluator } from '../../../src/alerts/index.ts';
import type { SampleBatch } from '../../../src/storage/types.ts';
import { newBus, recordEvents, tempDir, testConfig, testSecrets, until } from './setup.ts';

const log = createLogger('silent');
let dir: string;
let pg: EmbeddedPostgres;
let pool: ReturnType<typeof createPool>;
let prisma: PrismaClient;

beforeAll(async () => {
  dir = tempDir('infrapulse-outage-');
  fs.chmodSync(dir, 0o755); // the postgres user must reach its data dir when the tests run as root
  pg = await startEmbeddedPostgres(dir, log);
  await migrateDeploy(pg.url);
  pool = createPool(pg.url, { max: 5, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {
    // Idle connections die when the server stops; that is the point of this test.
  });
  prisma = createPrismaClient(pool);
}, 120_000);
afterAll(async () => {
  await prisma?.$disconnect().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A clock one second further on every call: each poll gets its own, increasing sample time. */
function steppingClock(startMs: number) {
  let t = startMs;
  return () => new Date((t += 1000));
}

function makePoller(spoolDir: string, now: () => Date, tuning: Partial<PollerTuning> = {}, wiring: { events?: ReturnType<typeof newBus>; onBatchWritten?: (b: SampleBatch) => void } = {}): Poller {
  return createPoller({
    config: testConfig(dir),
    db: { prisma },
    events: wiring.events ?? newBus(),
    onBatchWritten: wiring.onBatchWritten,
    log,
    secrets: testSecrets(),
    // Real /proc output from this machine, without SSH: the database is what this test is about.
    runnerFactory: () => createLocalRunner(),
    now,
    tuning: { spoolDir, flushMs: 20, retryBaseMs: 50, retryMaxMs: 200, ...tuning },
  });
}

async function restartDatabase(): Promise<void> {
  const port = pg.port;
  await pg.stop();
  pg = await startEmbeddedPostgres(dir, log, { port });
}

async function systemTimes(deviceId: string): Promise<number[]> {
  // ctid order is insertion order in a plain heap table without updates or deletes.
  const { rows } = await pool.query<{ time: Date }>('SELECT time FROM system_metrics WHERE device_id = $1 ORDER BY ctid', [deviceId]);
  return rows.map((r) => r.time.getTime());
}

describe('database outage', () => {
  it('samples polled while PostgreSQL is down are written once it is back: each exactly once, in order', async () => {
    const device = await prisma.device.create({ data: { name: 'outage-1', hostname: 'localhost', transport: 'LOCAL' } });
    const start = Date.UTC(2026, 0, 1);
    const poller = makePoller(path.join(dir, 'spool-a'), steppingClock(start), { memoryRows: 100 });
    await poller.start();
    const polled: number[] = [];
    const poll = async (expectWrite: string) => {
      const o = await poller.pollNow(device.id, ['system']);
      expect(o.outcomes[0]!.kind).toBe('ok');
      expect(o.write).toBe(expectWrite);
      polled.push(o.time.getTime());
    };

    for (let i = 0; i < 5; i++) await poll('committed');
    await pg.stop();
    for (let i = 0; i < 30; i++) await poll('deferred');
    const during = poller.stats().writer;
    expect(during.outage).toBe(true);
    expect(during.spool.records).toBeGreaterThan(0); // the 100-row memory buffer overflowed to disk
    expect(during.spool.bytes).toBeGreaterThan(0);

    pg = await startEmbeddedPostgres(dir, log, { port: pg.port });
    // Polling goes on meanwhile; these queue behind the backlog instead of overtaking it.
    for (let i = 0; i < 5; i++) {
      const o = await poller.pollNow(device.id, ['system']);
      expect(['committed', 'deferred']).toContain(o.write);
      polled.push(o.time.getTime());
    }
    await until(() => {
      const w = poller.stats().writer;
      return !w.outage && w.bufferedRows === 0 && w.queuedRows === 0 && w.spool.records === 0;
    }, 'the backlog to drain', 30_000);
    await poller.stop();

    expect(polled).toHaveLength(40);
    expect(await systemTimes(device.id)).toEqual(polled);
    const fsRows = await pool.query<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT (time, mount)) AS d FROM filesystem_metrics WHERE device_id = $1', [device.id]);
    expect(fsRows.rows[0]!.n).toBe(fsRows.rows[0]!.d);
    expect(fs.readdirSync(path.join(dir, 'spool-a')).filter((f) => f.endsWith('.seg'))).toEqual([]);
  });

  it('a spool left by a stopped poller is replayed at the next start; a corrupt record is skipped, the rest kept, the segment quarantined and the loss reported', async () => {
    const device = await prisma.device.create({ data: { name: 'outage-2', hostname: 'localhost', transport: 'LOCAL' } });
    const spoolDir = path.join(dir, 'spool-b');
    const start = Date.UTC(2026, 1, 1);
    // memoryRows 1: every deferred poll goes to disk as its own record.
    const first = makePoller(spoolDir, steppingClock(start), { memoryRows: 1 });
    await first.start();
    await pg.stop();
    const polled: number[] = [];
    for (let i = 0; i < 6; i++) {
      const o = await first.pollNow(device.id, ['system']);
      expect(o.write).toBe('deferred');
      polled.push(o.time.getTime());
    }
    await first.stop();

    // Damage the third record's payload, wherever (in which segment) it is.
    const segments = fs.readdirSync(spoolDir).filter((f) => f.endsWith('.seg')).sort();
    let seen = 0;
    let damaged = false;
    for (const name of segments) {
      const file = path.join(spoolDir, name);
      const data = fs.readFileSync(file);
      for (let at = data.indexOf('IPS2'); at >= 0 && !damaged; at = data.indexOf('IPS2', at + 1)) {
        if (++seen === 3) {
          data.write('#garbage#', at + 40, 'latin1');
          fs.writeFileSync(file, data);
          damaged = true;
        }
      }
    }
    expect(damaged).toBe(true);

    pg = await startEmbeddedPostgres(dir, log, { port: pg.port });
    const second = makePoller(spoolDir, steppingClock(start + 3_600_000));
    await second.start();
    await until(() => {
      const w = second.stats().writer;
      return !w.outage && w.spool.records === 0;
    }, 'the spool to replay', 30_000);
    const spool = second.stats().writer.spool;
    expect(spool).toMatchObject({ corruptRecords: 1, quarantinedSegments: 1 });
    expect(spool.skippedRows).toBeGreaterThan(1); // the damaged poll's system row and its filesystem, network and disk rows
    expect(fs.readdirSync(spoolDir).filter((f) => f.endsWith('.seg.corrupt'))).toHaveLength(1);
    // Reported where operators look: Query.health's poller section and /metrics.
    expect(readPollerStats(second.stats())).toMatchObject({ spoolCorruptRecords: 1, spoolSkippedRows: spool.skippedRows, spoolQuarantinedSegments: 1 });
    const detach = attachMetrics({ poller: () => second.stats(), subscribers: { ws: 0, sse: 0 } });
    const text = await client.register.metrics();
    detach();
    expect(text).toContain(`infrapulse_spool_skipped_rows ${spool.skippedRows}`);
    expect(text).toContain('infrapulse_spool_corrupt_records 1');
    expect(text).toContain('infrapulse_spool_quarantined_segments 1');
    await second.stop();

    expect(await systemTimes(device.id)).toEqual(polled.filter((_, i) => i !== 2));
  });

  it('samples replayed after an outage go through the after-commit path: published to subscribers and evaluated by alert rules', async () => {
    const before = await prisma.device.create({ data: { name: 'outage-3a', hostname: 'localhost', transport: 'LOCAL' } });
    // Polled only while the database is down: anything known about it afterwards came through the replay.
    const during = await prisma.device.create({ data: { name: 'outage-3b', hostname: 'localhost', transport: 'LOCAL' } });
    const rule = await prisma.alertRule.create({ data: { name: 'outage-3 any cpu', metric: 'CPU_PERCENT', comparator: 'GTE', threshold: 0, severity: 'WARNING', deviceIds: [during.id] } });
    const events = newBus();
    const samples = recordEvents(events, 'metricCollected');
    const alerts = createAlertEvaluator({ db: { prisma }, events, log, secrets: testSecrets(), tuning: { tickMs: 0, builtins: false, subscribeToStatus: false } });
    await alerts.start();
    // The real clock: the evaluator skips samples older than 15 minutes, and these are fresh.
    const poller = makePoller(path.join(dir, 'spool-c'), () => new Date(), { memoryRows: 1 }, { events, onBatchWritten: alerts.onBatchWritten });
    await poller.start();

    expect((await poller.pollNow(before.id, ['system'])).write).toBe('committed');
    await until(() => samples.seen.some((e) => e.deviceId === before.id), 'the live sample event');
    await pg.stop();
    const outageTimes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const o = await poller.pollNow(during.id, ['system']);
      expect(o.write).toBe('deferred');
      outageTimes.push(o.time.toISOString());
      await new Promise((r) => setTimeout(r, 5)); // distinct sample times
    }
    expect(samples.seen.filter((e) => e.deviceId === during.id)).toEqual([]); // nothing announced before it is stored

    pg = await startEmbeddedPostgres(dir, log, { port: pg.port });
    await until(() => poller.stats().writer.spool.records === 0 && !poller.stats().writer.outage, 'the replay', 30_000);
    await until(() => samples.seen.filter((e) => e.deviceId === during.id).length === 3, 'the replayed samples to be published');
    expect(samples.seen.filter((e) => e.deviceId === during.id).map((e) => new Date(e.sample.time).toISOString())).toEqual(outageTimes);
    expect(samples.seen.filter((e) => e.deviceId === before.id)).toHaveLength(1); // each sample once
    await alerts.idle();
    const fired = await prisma.alert.findMany({ where: { ruleId: rule.id } });
    expect(fired.map((a) => [a.deviceId, a.state])).toEqual([[during.id, 'FIRING']]);

    await poller.stop();
    await alerts.stop();
    await samples.stop();
  });

  it('the restart helper keeps the port, so the pool reconnects by itself', async () => {
    const before = pg.port;
    await restartDatabase();
    expect(pg.port).toBe(before);
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
  });
});
